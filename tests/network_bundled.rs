//! The bundled networks of gis-data/ load, trace and answer the questions the engine asks.

use faultline::network::{DeviceKind, LoadOptions, Network};

fn load(name: &str, options: &LoadOptions) -> Network {
    let path = format!("{}/gis-data/{name}.geojson", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("bundled network is readable");
    Network::from_geojson(&text, options).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_bundled_network_loads_and_matches_its_metadata() {
    for name in [
        "bdgd_mux_energia",
        "ieee8500",
        "epri_j1",
        "ieee123",
        "simbench_mv_semiurb",
    ] {
        let net = load(name, &LoadOptions::default());
        let s = net.summary();
        let stats = &net.metadata()["stats"];
        eprintln!("{name}: {s:?}");
        if let Some(nodes) = stats["node_kinds"].as_object() {
            let graph_nodes: u64 = ["substation", "bus", "transformer"]
                .iter()
                .map(|k| nodes.get(*k).and_then(|v| v.as_u64()).unwrap_or(0))
                .sum();
            assert_eq!(s.nodes as u64, graph_nodes, "{name}: graph nodes");
        }
        // Every service point counts once; transformers add only customers they feed
        // beyond the ones listed below them.
        let listed: u64 = net.customers().iter().map(|c| u64::from(c.customers)).sum();
        assert!(s.customers >= listed, "{name}: customers");
        if name != "bdgd_mux_energia" {
            assert_eq!(
                s.customers,
                stats["customers_total"].as_u64().unwrap(),
                "{name}: customers"
            );
        }
        if let Some(feeders) = stats["feeders"].as_u64() {
            assert_eq!(s.feeders as u64, feeders, "{name}: feeders");
        }
        // Every service point that is fed has a chain that ends at its feeder's head.
        for (k, sp) in net.customers().iter().enumerate() {
            let idx = net.customer_idx(&sp.id).unwrap();
            assert_eq!(idx.index(), k);
            let chain: Vec<_> = net.chain_of_customer(idx).collect();
            if let Some(feeder) = net.feeder_of_customer(idx) {
                let top = net.device(*chain.last().expect("a fed customer has a chain"));
                assert_eq!(top.id(), feeder, "{name}: {} chain top", sp.id);
                assert_eq!(top.kind(), DeviceKind::Breaker);
            }
        }
        // Feeder heads carry every customer of their feeder.
        let on_feeders: u64 = net.feeder_heads().map(|h| h.customers_below()).sum();
        let fed: u64 = net
            .customers()
            .iter()
            .filter(|sp| {
                net.feeder_of_customer(net.customer_idx(&sp.id).unwrap())
                    .is_some()
            })
            .map(|sp| u64::from(sp.customers))
            .sum::<u64>();
        assert!(
            on_feeders >= fed,
            "{name}: heads {on_feeders} < fed service points {fed}"
        );
    }
}

#[test]
fn bdgd_fuse_counts_the_customers_on_its_lateral() {
    let net = load("bdgd_mux_energia", &LoadOptions::default());
    let s = net.summary();
    assert_eq!(s.devices.get("fuse"), Some(&92));
    assert_eq!(s.devices.get("recloser"), Some(&1));
    // A fuse's count equals the service points whose chain passes through it.
    for fuse in net
        .devices()
        .filter(|d| d.kind() == DeviceKind::Fuse)
        .take(20)
    {
        let below: u64 = net
            .customers_below(fuse.idx())
            .iter()
            .map(|&c| u64::from(net.customer(c).customers))
            .sum();
        let through: u64 = net
            .customers()
            .iter()
            .enumerate()
            .filter(|(k, _)| {
                let idx = net.customer_idx(&net.customers()[*k].id).unwrap();
                net.chain_of_customer(idx).any(|d| d == fuse.idx())
            })
            .map(|(_, sp)| u64::from(sp.customers))
            .sum();
        assert!(fuse.customers_below() >= below, "{}", fuse.id());
        assert_eq!(below, through, "{}", fuse.id());
    }
}

#[test]
fn add_protection_fuses_the_laterals_of_j1_and_ieee123_and_says_so() {
    for name in ["epri_j1", "ieee123"] {
        let plain = load(name, &LoadOptions::default());
        assert_eq!(
            plain.summary().devices.get("fuse"),
            None,
            "{name} ships without fuses"
        );
        let opts = LoadOptions {
            add_protection: true,
            ..Default::default()
        };
        let fused = load(name, &opts);
        let fuses: Vec<_> = fused
            .devices()
            .filter(|d| d.kind() == DeviceKind::Fuse)
            .collect();
        assert!(fuses.len() >= 3, "{name}: {} fuses", fuses.len());
        assert!(
            fused.notes().iter().any(|n| n.contains(fuses[0].id())),
            "{name}: the note names the fuses"
        );
        for f in &fuses {
            assert!(f.customers_below() > 0, "{name}: {} feeds nobody", f.id());
            assert!(f.customers_below() < fused.feeder_heads().next().unwrap().customers_below());
        }
        // Deterministic: the same file gives the same fuses.
        let again = load(name, &opts);
        let ids = |n: &Network| {
            n.devices()
                .filter(|d| d.kind() == DeviceKind::Fuse)
                .map(|d| d.id().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&fused), ids(&again));
    }
}

#[test]
fn a_network_read_from_a_file_as_a_stream_is_the_one_read_from_its_text() {
    for (name, protect) in [
        ("bdgd_mux_energia", false),
        ("ieee8500", false),
        ("epri_j1", true),
        ("ieee123", true),
        ("simbench_mv_semiurb", true),
    ] {
        let options = LoadOptions {
            add_protection: protect,
            ..LoadOptions::default()
        };
        let from_text = load(name, &options);
        let path = format!("{}/gis-data/{name}.geojson", env!("CARGO_MANIFEST_DIR"));
        let file = std::fs::File::open(&path).unwrap();
        let streamed = Network::from_geojson_reader(file, &options).unwrap();
        assert_eq!(streamed.fingerprint(), from_text.fingerprint(), "{name}");
        assert_eq!(streamed.metadata(), from_text.metadata(), "{name}");
        assert_eq!(streamed.summary(), from_text.summary(), "{name}");
    }
}
