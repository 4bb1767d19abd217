//! How long a crew takes to drive somewhere.
//!
//! Without a road graph, the model every OMS falls back to: great-circle distance times
//! a circuity factor (roads are not straight: 1.3–1.5 is typical for distribution
//! service areas) divided by a speed that depends on the zone of the destination, plus
//! a fixed time to get going. Distances use the equirectangular approximation around
//! the destination's latitude: within 0.1 % of the great circle for the tens of
//! kilometres a crew drives, and a few nanoseconds a pair (the assignment prices every
//! crew against every order).
//!
//! Road graphs (`kind: "road"` LineStrings) are kept in the network file but not yet
//! used: none of the bundled networks has one.

use serde::Serialize;

use crate::network::ZoneKind;

use crate::network::spatial::EARTH_RADIUS_M;

/// The travel-time model; every field can be set per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TravelModel {
    /// Road distance over straight-line distance.
    pub circuity: f64,
    /// Average speed by the destination's zone, km/h: urban, suburban, rural.
    pub speed_kmh: [f64; 3],
    /// Minutes from taking an order to driving off.
    pub mobilise_min: f64,
}

impl Default for TravelModel {
    fn default() -> Self {
        Self {
            circuity: 1.4,
            speed_kmh: [25.0, 40.0, 60.0],
            mobilise_min: 5.0,
        }
    }
}

/// A destination, with what the model needs precomputed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Place {
    lon: f64,
    lat: f64,
    cos_lat: f64,
    metres_per_minute: f64,
}

impl TravelModel {
    /// A destination at `lon`/`lat` in `zone`.
    pub fn place(&self, lon: f64, lat: f64, zone: ZoneKind) -> Place {
        let kmh = self.speed_kmh[zone.index()].max(1.0);
        Place {
            lon,
            lat,
            cos_lat: lat.to_radians().cos(),
            metres_per_minute: kmh * 1000.0 / 60.0 / self.circuity.max(1.0),
        }
    }

    /// Straight-line metres from `lon`/`lat` to `to`.
    pub fn distance_m(&self, lon: f64, lat: f64, to: &Place) -> f64 {
        let dx = (to.lon - lon).to_radians() * to.cos_lat;
        let dy = (to.lat - lat).to_radians();
        EARTH_RADIUS_M * (dx * dx + dy * dy).sqrt()
    }

    /// Minutes of driving from `lon`/`lat` to `to` (without getting going).
    pub fn drive_min(&self, lon: f64, lat: f64, to: &Place) -> f64 {
        self.distance_m(lon, lat, to) / to.metres_per_minute
    }

    /// Minutes from a crew taking the order at `lon`/`lat` to arriving at `to`.
    pub fn minutes(&self, lon: f64, lat: f64, to: &Place) -> f64 {
        self.mobilise_min + self.drive_min(lon, lat, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::spatial::haversine_m;

    #[test]
    fn close_to_the_great_circle_at_city_scale() {
        let m = TravelModel::default();
        let to = m.place(116.40, 39.90, ZoneKind::Urban);
        for (lon, lat) in [(116.30, 39.95), (116.55, 39.80), (116.40, 40.10)] {
            let approx = m.distance_m(lon, lat, &to);
            let exact = haversine_m((lon, lat), (116.40, 39.90));
            assert!(
                (approx - exact).abs() / exact < 0.002,
                "{approx} vs {exact}"
            );
        }
    }

    #[test]
    fn rural_roads_are_faster_and_getting_going_takes_its_time() {
        let m = TravelModel::default();
        let urban = m.place(116.5, 39.9, ZoneKind::Urban);
        let rural = m.place(116.5, 39.9, ZoneKind::Rural);
        // 0.1 degree of longitude at 39.9°N is about 8.5 km; × 1.4 road = 11.9 km.
        let u = m.minutes(116.4, 39.9, &urban);
        assert!((u - (5.0 + 11.93 / 25.0 * 60.0)).abs() < 0.5, "{u}");
        assert!(m.minutes(116.4, 39.9, &rural) < u);
        assert_eq!(m.minutes(116.5, 39.9, &urban), 5.0);
    }
}
