//! `GET /api/v1/network`: the network as the pages draw it — feeder lines, the
//! protective devices with the device each hangs below, depots — in a compact JSON
//! computed once, on the first request, and kept.
//!
//! ```json
//! {"bbox":[lon0,lat0,lon1,lat1],
//!  "devices":[{"id":"FUSE-88","kind":"fuse","parent":3,"feeder":"BRK-3","customers":212,
//!              "critical":1,"lon":..,"lat":..}],
//!  "lines":[{"device":5,"cable":false,"c":[lon,lat,lon,lat,…]}],
//!  "depots":[{"id":"D-1","name":"…","lon":..,"lat":..}]}
//! ```
//! `parent` and `device` are indexes into `devices` (`null` at a feeder head, or for a
//! line no device is above). A line's `device` is the first protective device above it
//! (for a device's own edge, that device): when an outage names device `D`, every line
//! whose device is `D` or hangs below `D` is dark. Coordinates are rounded to 1e-6°
//! (about 0.1 m) and flattened, which keeps a 13,000-customer network near a megabyte.
//! The layout is the normal state (as loaded): switching during a storm does not
//! redraw it.

use std::sync::OnceLock;

use actix_web::{web, web::Bytes, HttpResponse};
use serde::Serialize;

use super::auth::Caller;
use super::AppState;
use crate::network::{DeviceKind, Network};

/// The drawing, computed once.
#[derive(Default)]
pub struct MapCache {
    json: OnceLock<Bytes>,
}

#[derive(Serialize)]
struct MapDevice<'a> {
    id: &'a str,
    kind: DeviceKind,
    parent: Option<usize>,
    feeder: Option<&'a str>,
    customers: u64,
    critical: u32,
    lon: f64,
    lat: f64,
}

#[derive(Serialize)]
struct MapLine {
    device: Option<usize>,
    cable: bool,
    c: Vec<f64>,
}

#[derive(Serialize)]
struct MapDepot<'a> {
    id: &'a str,
    name: Option<&'a str>,
    lon: f64,
    lat: f64,
}

#[derive(Serialize)]
struct Map<'a> {
    bbox: [f64; 4],
    devices: Vec<MapDevice<'a>>,
    lines: Vec<MapLine>,
    depots: Vec<MapDepot<'a>>,
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn flat(coordinates: &[[f64; 2]]) -> Vec<f64> {
    coordinates
        .iter()
        .flat_map(|p| [round6(p[0]), round6(p[1])])
        .collect()
}

/// The drawing of `network` as JSON text (see the module docs).
pub fn map_json(network: &Network) -> String {
    let devices: Vec<_> = network.devices().collect();
    let index: std::collections::HashMap<_, usize> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.idx(), i))
        .collect();
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let mut extend = |c: &[[f64; 2]]| {
        for p in c {
            bbox[0] = bbox[0].min(p[0]);
            bbox[1] = bbox[1].min(p[1]);
            bbox[2] = bbox[2].max(p[0]);
            bbox[3] = bbox[3].max(p[1]);
        }
    };
    let mut lines = Vec::new();
    for s in network.segments() {
        if let Some(edge) = network.edge(s.id) {
            extend(&edge.coordinates);
            lines.push(MapLine {
                device: index.get(&s.device).copied(),
                cable: edge.kind == crate::network::EdgeKind::Cable,
                c: flat(&edge.coordinates),
            });
        }
    }
    for (i, d) in devices.iter().enumerate() {
        if let Some(edge) = network.edge(d.id()) {
            extend(&edge.coordinates);
            lines.push(MapLine {
                device: Some(i),
                cable: false,
                c: flat(&edge.coordinates),
            });
        }
    }
    let map = Map {
        bbox: if bbox[0] <= bbox[2] {
            bbox.map(round6)
        } else {
            [0.0; 4]
        },
        devices: devices
            .iter()
            .map(|d| {
                let (lon, lat) = d.location();
                MapDevice {
                    id: d.id(),
                    kind: d.kind(),
                    parent: d.parent().and_then(|p| index.get(&p.idx()).copied()),
                    feeder: d.feeder(),
                    customers: d.customers_below(),
                    critical: d.critical_below(),
                    lon: round6(lon),
                    lat: round6(lat),
                }
            })
            .collect(),
        lines,
        depots: network
            .depots()
            .iter()
            .map(|d| MapDepot {
                id: &d.id,
                name: d.name.as_deref(),
                lon: round6(d.lon),
                lat: round6(d.lat),
            })
            .collect(),
    };
    // Plain fields and finite numbers always serialize.
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
}

/// The network drawing; any role may read it (the crew page draws its small map).
#[utoipa::path(get,
    path = "/api/v1/network",
    tag = "state",
    description = "The network as the pages draw it. Roles: any token.",
    responses((status = 200, description = "The drawing", body = Object), (status = 401, description = "No token, or not a valid one", body = crate::api::openapi::ErrorBody)),
    security(("bearer" = []), ("token_query" = [])))]
pub(super) async fn get_network(
    _: Caller,
    state: web::Data<AppState>,
    cache: web::Data<MapCache>,
) -> HttpResponse {
    let json = cache
        .json
        .get_or_init(|| {
            let started = std::time::Instant::now();
            let network = state.network.clone();
            let json = Bytes::from(map_json(&network));
            tracing::info!(
                bytes = json.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "network drawing computed"
            );
            json
        })
        .clone();
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(json)
}
