//! Nearest service point, transformer or depot to a longitude/latitude.
//!
//! Three R-trees, bulk-loaded once at load time. Points are stored on a local
//! equirectangular plane (longitude scaled by the cosine of the network's mean
//! latitude), so "nearest" is right to well under a metre across a distribution
//! network; distances returned are great-circle metres.

use rstar::primitives::GeomWithData;
use rstar::RTree;

use super::{CustomerIdx, DeviceIdx, DeviceKind, Network};

type Entry = GeomWithData<[f64; 2], u32>;

/// The spatial index of a [`Network`].
#[derive(Debug, Clone, Default)]
pub struct SpatialIndex {
    lon_scale: f64,
    customers: RTree<Entry>,
    transformers: RTree<Entry>,
    depots: RTree<Entry>,
}

/// Mean earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two lon/lat points.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

impl SpatialIndex {
    pub(crate) fn build(net: &Network) -> Self {
        let lats: Vec<f64> = net.graph.node_weights().map(|n| n.lat).collect();
        let mean_lat = if lats.is_empty() {
            0.0
        } else {
            lats.iter().sum::<f64>() / lats.len() as f64
        };
        let lon_scale = mean_lat.to_radians().cos().max(1e-6);
        let at = |lon: f64, lat: f64, i: usize| Entry::new([lon * lon_scale, lat], i as u32);
        let customers = net
            .customers
            .iter()
            .enumerate()
            .map(|(i, s)| at(s.lon, s.lat, i))
            .collect();
        let transformers = net
            .devices()
            .filter(|d| d.kind() == DeviceKind::Transformer)
            .map(|d| {
                let (lon, lat) = d.location();
                at(lon, lat, d.idx().index())
            })
            .collect();
        let depots = net
            .depots
            .iter()
            .enumerate()
            .map(|(i, d)| at(d.lon, d.lat, i))
            .collect();
        Self {
            lon_scale,
            customers: RTree::bulk_load(customers),
            transformers: RTree::bulk_load(transformers),
            depots: RTree::bulk_load(depots),
        }
    }

    fn query(&self, tree: &RTree<Entry>, lon: f64, lat: f64) -> Option<u32> {
        tree.nearest_neighbor(&[lon * self.lon_scale, lat])
            .map(|e| e.data)
    }
}

impl Network {
    /// The service point nearest to a lon/lat, with its distance in metres.
    pub fn nearest_customer(&self, lon: f64, lat: f64) -> Option<(CustomerIdx, f64)> {
        let i = self.spatial.query(&self.spatial.customers, lon, lat)?;
        let s = &self.customers[i as usize];
        Some((CustomerIdx(i), haversine_m((lon, lat), (s.lon, s.lat))))
    }

    /// The distribution transformer nearest to a lon/lat, with its distance in metres.
    pub fn nearest_transformer(&self, lon: f64, lat: f64) -> Option<(DeviceIdx, f64)> {
        let i = self.spatial.query(&self.spatial.transformers, lon, lat)?;
        let d = DeviceIdx(i);
        Some((d, haversine_m((lon, lat), self.device(d).location())))
    }

    /// The depot nearest to a lon/lat (index into [`Network::depots`]), with its distance in metres.
    pub fn nearest_depot(&self, lon: f64, lat: f64) -> Option<(usize, f64)> {
        let i = self.spatial.query(&self.spatial.depots, lon, lat)? as usize;
        let d = &self.depots[i];
        Some((i, haversine_m((lon, lat), (d.lon, d.lat))))
    }
}
