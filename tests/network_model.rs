//! The network model on small hand-made files: validation (one test per rule of
//! CONTRACT section 1), tracing, switching, nearest-point queries.

mod common;

use common::{two_feeders, NetBuilder};
use faultline::network::{DeviceKind, LoadOptions, Network, NetworkError};
use serde_json::json;

fn load(b: &NetBuilder) -> Result<Network, NetworkError> {
    Network::from_geojson(&b.text(), &LoadOptions::default())
}

fn problems(b: &NetBuilder) -> Vec<(String, String)> {
    match load(b) {
        Err(NetworkError::Invalid(p)) => p.into_iter().map(|p| (p.feature, p.message)).collect(),
        Err(other) => panic!("expected a list of problems, got {other}"),
        Ok(_) => panic!("expected the file to be refused"),
    }
}

fn ids(b: &NetBuilder) -> Vec<String> {
    let mut v: Vec<String> = problems(b).into_iter().map(|p| p.0).collect();
    v.sort();
    v
}

#[test]
fn a_valid_network_loads() {
    let net = load(&two_feeders()).unwrap();
    let s = net.summary();
    assert_eq!((s.nodes, s.edges, s.customers, s.feeders), (8, 7, 5, 2));
}

#[test]
fn duplicate_ids_are_refused_naming_the_id() {
    let b = two_feeders()
        .node("A", "bus", 116.0, 39.0)
        .edge("L1", "line", "A", "C");
    assert_eq!(ids(&b), vec!["A", "L1"]);
}

#[test]
fn an_edge_to_a_missing_node_is_refused_naming_the_edge_and_node() {
    let p = problems(&two_feeders().edge("L9", "line", "C", "NOWHERE"));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, "L9");
    assert!(p[0].1.contains("NOWHERE"), "{}", p[0].1);
}

#[test]
fn a_customer_on_a_missing_node_is_refused_naming_the_customer() {
    let p = problems(&two_feeders().customer("c9", "GHOST", 116.0, 39.0, false));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, "c9");
    assert!(p[0].1.contains("GHOST"));
}

#[test]
fn coordinates_out_of_range_are_refused_naming_the_feature() {
    let b = two_feeders()
        .node("Z", "bus", 200.0, 39.0)
        .customer("c8", "A", 116.0, -95.0, false);
    assert_eq!(ids(&b), vec!["Z", "c8"]);
}

#[test]
fn a_loop_through_closed_edges_is_refused_naming_its_edges() {
    let p = problems(&two_feeders().edge("L3", "line", "C", "D"));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, "L3");
    // The loop is B─F1─C─L3─D─L2─B: every edge of it is named, and nothing else.
    for edge in ["F1", "L2", "L3"] {
        assert!(p[0].1.contains(edge), "{} should name {edge}", p[0].1);
    }
    assert!(!p[0].1.contains("L1"), "{}", p[0].1);
}

#[test]
fn two_feeders_tied_closed_form_a_loop_through_the_sources() {
    let b = two_feeders().edge_with("TIE2", "switch", "C", "E", json!({"normally_open": false}));
    assert_eq!(ids(&b), vec!["TIE2"]);
}

#[test]
fn a_node_no_substation_reaches_is_refused() {
    let b = two_feeders()
        .node("X", "bus", 116.0, 39.0)
        .node("Y", "bus", 116.0, 39.0)
        .edge("LXY", "line", "X", "Y");
    assert_eq!(ids(&b), vec!["X", "Y"]);
}

#[test]
fn every_offending_feature_is_named_at_once() {
    let b = two_feeders()
        .node("A", "bus", 116.0, 39.0)
        .edge("L9", "line", "C", "NOWHERE")
        .customer("c9", "GHOST", 116.0, 39.0, false)
        .node("Z", "bus", 200.0, 39.0);
    assert_eq!(ids(&b), vec!["A", "L9", "Z", "c9"]);
}

#[test]
fn unknown_kinds_and_missing_ids_are_named() {
    let b = two_feeders()
        .edge("L9", "fuze", "A", "B")
        .raw(json!({"type":"Feature","geometry":{"type":"Point","coordinates":[116.0,39.0]},"properties":{"kind":"bus"}}));
    let p = problems(&b);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].0, "L9");
    assert!(p[0].1.contains("fuze"));
    assert!(p[1].0.starts_with("feature #"), "{}", p[1].0);
}

#[test]
fn parallel_closed_edges_are_a_regulator_bypass_not_a_loop() {
    let b = two_feeders()
        .edge_with(
            "REG",
            "transformer",
            "A",
            "B",
            json!({"subtype":"regulator"}),
        )
        .edge("BYPASS", "switch", "A", "B");
    assert!(load(&b).is_ok());
}

#[test]
fn edges_between_substation_nodes_are_the_station_inside() {
    let b = two_feeders().edge("COUPLER", "breaker", "S", "S2");
    let net = load(&b).unwrap();
    assert_eq!(net.summary().feeders, 2);
}

#[test]
fn a_node_behind_a_normally_open_point_is_dark_until_the_tie_closes() {
    let b = two_feeders()
        .node("F", "bus", 116.0, 39.0)
        .edge_with("OPEN", "switch", "E", "F", json!({"normally_open": true}))
        .customer("f1", "F", 116.0, 39.0, false);
    let mut net = load(&b).unwrap();
    assert_eq!(net.feeder_of_node("F"), None);
    net.set_closed("OPEN", true).unwrap();
    assert_eq!(net.feeder_of_node("F"), Some("BRK2"));
    assert_eq!(net.device_by_id("BRK2").unwrap().customers_below(), 2);
}

#[test]
fn a_lenient_load_sets_aside_the_offending_features_and_lists_them() {
    let b = two_feeders()
        .edge("L9", "line", "C", "NOWHERE")
        .edge("L3", "line", "C", "D");
    let opts = LoadOptions {
        set_aside_invalid: true,
        ..Default::default()
    };
    let net = Network::from_geojson(&b.text(), &opts).unwrap();
    let mut aside: Vec<&str> = net.set_aside().iter().map(|p| p.feature.as_str()).collect();
    aside.sort();
    assert_eq!(aside, vec!["L3", "L9"]);
    assert!(!net.has_edge("L3") && !net.has_edge("L9"));
    assert_eq!(net.summary().customers, 5);

    // Read as a stream (as `serve` reads a file), the same problems, in the same words.
    let text = b.text();
    let streamed = Network::from_geojson_reader(text.as_bytes(), &opts).unwrap();
    assert_eq!(
        format!("{:?}", streamed.set_aside()),
        format!("{:?}", net.set_aside())
    );
    let strict = LoadOptions::default();
    assert_eq!(
        Network::from_geojson_reader(text.as_bytes(), &strict)
            .err()
            .map(|e| e.to_string()),
        Network::from_geojson(&text, &strict)
            .err()
            .map(|e| e.to_string())
    );
}

#[test]
fn chains_run_from_the_transformer_up_to_the_feeder_head() {
    let net = load(&two_feeders()).unwrap();
    let c3 = net.customer_idx("c3").unwrap();
    let chain: Vec<(&str, DeviceKind)> = net
        .chain_of_customer(c3)
        .map(|d| (net.device(d).id(), net.device(d).kind()))
        .collect();
    assert_eq!(
        chain,
        vec![
            ("XF1", DeviceKind::Transformer),
            ("F1", DeviceKind::Fuse),
            ("BRK", DeviceKind::Breaker)
        ]
    );
    let f1 = net.device_by_id("F1").unwrap();
    assert_eq!((f1.customers_below(), f1.critical_below()), (3, 1));
    assert_eq!(net.device_by_id("BRK").unwrap().customers_below(), 4);
    assert_eq!(net.feeder_of_customer(c3), Some("BRK"));
    assert!(net.is_at_or_above(net.device_by_id("BRK").unwrap().idx(), f1.idx()));
    assert!(!net.is_at_or_above(f1.idx(), net.device_by_id("BRK").unwrap().idx()));
}

#[test]
fn a_feeder_head_that_is_not_a_breaker_acts_as_one() {
    let b = NetBuilder::new()
        .node("S", "substation", 116.0, 39.0)
        .node("A", "bus", 116.0, 39.0)
        .customer("a1", "A", 116.0, 39.0, false)
        .edge_with("HEAD", "line", "S", "A", json!({"feeder_head": true}));
    let net = load(&b).unwrap();
    let head = net.device_by_id("HEAD").unwrap();
    assert_eq!(head.kind(), DeviceKind::Breaker);
    assert_eq!(head.customers_below(), 1);
}

#[test]
fn a_transformer_point_without_a_transformer_edge_is_its_own_device() {
    let b = NetBuilder::new()
        .node("S", "substation", 116.0, 39.0)
        .transformer("TP", 116.0, 39.0, 12)
        .customer("t1", "TP", 116.0, 39.0, false)
        .edge("BRK", "breaker", "S", "TP");
    let net = load(&b).unwrap();
    let tp = net.device_by_id("TP").unwrap();
    assert_eq!(tp.kind(), DeviceKind::Transformer);
    // 12 customers fed, one of them listed: 12 in all, not 13.
    assert_eq!(tp.customers_below(), 12);
    assert_eq!(net.device_by_id("BRK").unwrap().customers_below(), 12);
    // One meter: the 11 customers not listed one by one have none to gasp with.
    assert_eq!(tp.points_below(), 1);
    assert_eq!(net.device_by_id("BRK").unwrap().points_below(), 1);
}

#[test]
fn opening_a_switch_retraces_only_what_it_feeds_and_a_closed_tie_backfeeds() {
    let mut net = load(&two_feeders()).unwrap();
    let r = net.set_closed("TIE", true).unwrap();
    // TIE closed while both sides are fed: a parallel path, nothing moves.
    assert_eq!(r.nodes_retraced, 0);
    assert_eq!(net.feeder_of_node("D"), Some("BRK"));
    let r = net.set_closed("L2", false).unwrap();
    assert_eq!(r.nodes_retraced, 1, "only D hangs below L2");
    assert_eq!(r.nodes_dark, 0, "D is fed again through the tie");
    assert_eq!(net.feeder_of_node("D"), Some("BRK2"));
    assert_eq!(net.device_by_id("BRK").unwrap().customers_below(), 3);
    assert_eq!(net.device_by_id("BRK2").unwrap().customers_below(), 2);
    // Open the tie: D is dark and counts nowhere.
    let r = net.set_closed("TIE", false).unwrap();
    assert_eq!((r.nodes_retraced, r.nodes_dark), (1, 1));
    assert_eq!(net.feeder_of_node("D"), None);
    assert_eq!(net.device_by_id("BRK2").unwrap().customers_below(), 1);
    assert!(matches!(
        net.set_closed("NOPE", true),
        Err(NetworkError::UnknownEdge(_))
    ));
}

#[test]
fn nearest_queries_find_the_closest_service_point_transformer_and_depot() {
    let b = two_feeders()
        .depot("DEP1", 116.0, 39.0)
        .depot("DEP2", 116.0045, 39.003);
    let net = load(&b).unwrap();
    let (c, metres) = net.nearest_customer(116.00421, 39.00001).unwrap();
    assert_eq!(net.customer(c).id, "c2");
    assert!(metres < 5.0, "{metres}");
    let (t, _) = net.nearest_transformer(116.0039, 39.0).unwrap();
    assert_eq!(net.device(t).id(), "XF1");
    let (d, _) = net.nearest_depot(116.004, 39.0029).unwrap();
    assert_eq!(net.depots()[d].id, "DEP2");
}

#[test]
fn the_fingerprint_is_the_same_for_the_same_file_and_changes_with_any_gis_edit() {
    let base = || two_feeders().depot("DEPOT", 116.0, 39.0);
    let same = load(&base()).unwrap().fingerprint();
    assert_eq!(load(&base()).unwrap().fingerprint(), same);
    let edits: Vec<(&str, NetBuilder)> = vec![
        // A line made a fuse: the same ids, another device list.
        (
            "kind",
            base()
                .node("X", "bus", 116.0025, 39.0)
                .edge("LX", "line", "B", "X"),
        ),
        (
            "ends",
            base()
                .node("X", "bus", 116.0025, 39.0)
                .edge("LX", "line", "A", "X"),
        ),
        ("a depot", base().depot("DEPOT-2", 116.01, 39.01)),
        (
            "a customer",
            base().customer("c4", "T1", 116.0044, 39.0, false),
        ),
    ];
    // The two edits of the same new edge differ from each other, too.
    let mut seen = vec![same];
    for (what, b) in edits {
        let f = load(&b).unwrap().fingerprint();
        assert!(!seen.contains(&f), "{what}: the fingerprint did not change");
        seen.push(f);
    }
    let fused = load(
        &base()
            .node("X", "bus", 116.0025, 39.0)
            .edge("LX", "fuse", "B", "X"),
    )
    .unwrap()
    .fingerprint();
    assert!(
        !seen.contains(&fused),
        "a line made a fuse: unchanged fingerprint"
    );
}

/// The error of a load that must fail as a whole, as a user reads it.
fn refusal(text: &str) -> (NetworkError, String) {
    match Network::from_geojson(text, &LoadOptions::default()) {
        Err(e) => {
            let message = e.to_string();
            (e, message)
        }
        Ok(_) => panic!("expected the file to be refused"),
    }
}

// See: #19.
#[test]
fn a_network_without_a_substation_is_refused_even_when_a_normally_open_edge_keeps_it_dark() {
    let b = NetBuilder::new()
        .node("A", "bus", 116.0, 39.0)
        .node("B", "bus", 116.001, 39.0)
        .customer("a1", "A", 116.0, 39.0, false)
        .edge_with("TIE", "switch", "A", "B", json!({"normally_open": true}));
    for options in [
        LoadOptions::default(),
        LoadOptions {
            set_aside_invalid: true,
            ..Default::default()
        },
    ] {
        let e = Network::from_geojson(&b.text(), &options).err();
        assert!(matches!(e, Some(NetworkError::NoSubstation)), "{e:?}");
    }
    let (_, message) = refusal(&b.text());
    assert!(
        message.contains("the network has no substation"),
        "{message}"
    );
}

// See: #19.
#[test]
fn an_empty_feature_collection_is_refused() {
    for text in [
        r#"{"type":"FeatureCollection","features":[]}"#,
        r#"{"type":"FeatureCollection"}"#,
    ] {
        let (e, message) = refusal(text);
        assert!(matches!(e, NetworkError::NoFeatures), "{text}: {e:?}");
        assert!(
            message.contains("the network file has no features"),
            "{message}"
        );
    }
}

// See: #19.
#[test]
fn a_self_loop_edge_is_refused_naming_the_edge() {
    let p = problems(&two_feeders().edge("LOOPY", "line", "C", "C"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "LOOPY");
    assert!(p[0].1.contains("to itself"), "{}", p[0].1);
}

// See: #19. Python's json.dumps writes NaN and Infinity.
#[test]
fn nan_and_infinity_coordinates_are_refused_naming_the_feature_id() {
    let b = two_feeders()
        .node("NAN-NODE", "bus", 999.25, 39.0)
        .edge_with("INF-EDGE", "line", "C", "NAN-NODE", json!({}))
        .raw(json!({"type":"Feature","geometry":{"type":"LineString","coordinates":[[116.0,39.0],[999.75,39.0]]},"properties":{"id":"INF-LINE","kind":"line","from":"A","to":"E"}}));
    let text = b
        .text()
        .replace("999.25", "NaN")
        .replace("999.75", "-Infinity");
    let p = match Network::from_geojson(&text, &LoadOptions::default()) {
        Err(NetworkError::Invalid(p)) => p,
        other => panic!("expected a list of problems, got {other:?}"),
    };
    let named: Vec<&str> = p.iter().map(|p| p.feature.as_str()).collect();
    assert!(named.contains(&"NAN-NODE"), "{p:?}");
    assert!(named.contains(&"INF-LINE"), "{p:?}");
    let nan = p.iter().find(|p| p.feature == "NAN-NODE").unwrap();
    assert!(nan.message.contains("NaN"), "{}", nan.message);
    assert!(
        !named.iter().any(|f| f.starts_with("feature #")),
        "no feature is named by its place: {p:?}"
    );
}

// See: #19. Ids are strings (CONTRACT).
#[test]
fn a_numeric_id_is_refused_naming_the_feature_by_its_place_and_value() {
    let b = two_feeders()
        .raw(json!({"type":"Feature","geometry":{"type":"Point","coordinates":[116.0,39.0]},"properties":{"id":7,"kind":"bus"}}));
    let p = problems(&b);
    assert_eq!(p.len(), 1, "{p:?}");
    // two_feeders has 20 features: the numeric one is #20, counting from 0.
    assert_eq!(p[0].0, "feature #20");
    assert!(p[0].1.contains("the number 7"), "{}", p[0].1);
    assert!(p[0].1.contains("strings"), "{}", p[0].1);
}

// See: #19. One bad coordinate used to come back as one "missing node" per edge that
// touches the node and one "no substation reaches" per node below it.
#[test]
fn one_refused_node_is_named_once_not_once_per_edge_and_node_below_it() {
    let mut b = NetBuilder::new()
        .node("S", "substation", 116.0, 39.0)
        .node("A", "bus", 116.001, 39.0)
        .node("BAD", "bus", 200.0, 39.0)
        .edge("BRK", "breaker", "S", "A")
        .edge("L0", "line", "A", "BAD")
        .customer("on-bad", "BAD", 116.0, 39.0, false);
    let mut up = "BAD".to_owned();
    for k in 0..300 {
        let id = format!("N{k}");
        b = b
            .node(&id, "bus", 116.002, 39.0)
            .edge(&format!("L{}", k + 1), "line", &up, &id);
        up = id;
    }
    let p = problems(&b);
    assert!(p.iter().all(|p| p.0 == "BAD"), "{p:?}");
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(p[0].1.contains("out of range"), "{}", p[0].1);
    assert!(
        p[1].1.contains("2 edge(s) (L0, L1)") && p[1].1.contains("1 customer(s) (on-bad)"),
        "{}",
        p[1].1
    );
    assert!(p[2].1.contains("300 node(s)"), "{}", p[2].1);

    // A refused edge cuts off what only it reached, in one problem too.
    let cut = NetBuilder::new()
        .node("S", "substation", 116.0, 39.0)
        .node("A", "bus", 116.001, 39.0)
        .node("B", "bus", 116.002, 39.0)
        .node("C", "bus", 116.003, 39.0)
        .edge("BRK", "breaker", "S", "A")
        .edge("FUZE", "fuze", "A", "B")
        .edge("L2", "line", "B", "C");
    let p = problems(&cut);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p.iter().all(|p| p.0 == "FUZE"), "{p:?}");
    assert!(p[1].1.contains("2 node(s)"), "{}", p[1].1);
}
