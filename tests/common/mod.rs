//! Small networks written in the contract's GeoJSON, for tests.
#![allow(dead_code)]

pub mod db;
pub mod server;

use serde_json::{json, Value};

/// A bundled network from `gis-data/`, loaded with the default options.
pub fn bundled(file: &str) -> faultline::network::Network {
    bundled_with(file, &faultline::network::LoadOptions::default())
}

/// A bundled network from `gis-data/`, loaded with `options`.
pub fn bundled_with(
    file: &str,
    options: &faultline::network::LoadOptions,
) -> faultline::network::Network {
    let path = format!("{}/gis-data/{file}", env!("CARGO_MANIFEST_DIR"));
    faultline::network::Network::from_geojson(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
        options,
    )
    .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A port free on 127.0.0.1 right now (for a server started as a child process).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A FeatureCollection under construction.
#[derive(Default)]
pub struct NetBuilder {
    features: Vec<Value>,
}

impl NetBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn node(mut self, id: &str, kind: &str, lon: f64, lat: f64) -> Self {
        self.features.push(json!({"type":"Feature","geometry":{"type":"Point","coordinates":[lon,lat]},"properties":{"id":id,"kind":kind}}));
        self
    }

    pub fn transformer(mut self, id: &str, lon: f64, lat: f64, customers: u32) -> Self {
        self.features.push(json!({"type":"Feature","geometry":{"type":"Point","coordinates":[lon,lat]},"properties":{"id":id,"kind":"transformer","customers":customers}}));
        self
    }

    pub fn customer(mut self, id: &str, bus: &str, lon: f64, lat: f64, critical: bool) -> Self {
        self.features.push(json!({"type":"Feature","geometry":{"type":"Point","coordinates":[lon,lat]},"properties":{"id":id,"kind":"customer","bus":bus,"critical":critical}}));
        self
    }

    pub fn depot(mut self, id: &str, lon: f64, lat: f64) -> Self {
        self.features.push(json!({"type":"Feature","geometry":{"type":"Point","coordinates":[lon,lat]},"properties":{"id":id,"kind":"depot","name":id}}));
        self
    }

    pub fn edge(self, id: &str, kind: &str, from: &str, to: &str) -> Self {
        self.edge_with(id, kind, from, to, json!({}))
    }

    pub fn edge_with(mut self, id: &str, kind: &str, from: &str, to: &str, extra: Value) -> Self {
        let mut props = json!({"id":id,"kind":kind,"from":from,"to":to});
        if let (Some(p), Some(e)) = (props.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.features.push(json!({"type":"Feature","geometry":{"type":"LineString","coordinates":[[116.0,39.0],[116.001,39.001]]},"properties":props}));
        self
    }

    pub fn raw(mut self, feature: Value) -> Self {
        self.features.push(feature);
        self
    }

    pub fn text(&self) -> String {
        json!({"type":"FeatureCollection","metadata":{"source":"test"},"features":self.features})
            .to_string()
    }
}

/// A feeder: substation S → breaker BRK → bus A → line → bus B → fuse F1 → bus C,
/// with transformer T1 (3 customers listed on its LV bus) below C, and a tie from
/// bus B's neighbour D to a second feeder (S2 → BRK2 → E) through normally-open TIE.
///
/// ```text
///  S ─BRK─ A ─L1─ B ─F1─ C ─XF1─ T1 ── c1 c2 c3(critical)
///                 └─L2─ D ─TIE(open)─ E ─BRK2─ S2
/// ```
pub fn two_feeders() -> NetBuilder {
    NetBuilder::new()
        .node("S", "substation", 116.0, 39.0)
        .node("A", "bus", 116.001, 39.0)
        .node("B", "bus", 116.002, 39.0)
        .node("C", "bus", 116.003, 39.0)
        .node("D", "bus", 116.002, 39.001)
        .node("T1", "transformer", 116.004, 39.0)
        .node("E", "bus", 116.003, 39.002)
        .node("S2", "substation", 116.004, 39.003)
        .customer("c1", "T1", 116.0041, 39.0, false)
        .customer("c2", "T1", 116.0042, 39.0, false)
        .customer("c3", "T1", 116.0043, 39.0, true)
        .customer("d1", "D", 116.002, 39.0011, false)
        .customer("e1", "E", 116.003, 39.0021, false)
        .edge("BRK", "breaker", "S", "A")
        .edge("L1", "line", "A", "B")
        .edge("F1", "fuse", "B", "C")
        .edge_with(
            "XF1",
            "transformer",
            "C",
            "T1",
            json!({"subtype":"distribution"}),
        )
        .edge("L2", "line", "B", "D")
        .edge_with("TIE", "switch", "D", "E", json!({"normally_open": true}))
        .edge("BRK2", "breaker", "S2", "E")
}
