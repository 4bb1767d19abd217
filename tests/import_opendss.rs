//! `faultline import` of OpenDSS models, against the real published models in
//! `shared/data/opendss` and the ready-made network files in `shared/data/geojson`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use faultline::import::{import_opendss, import_opendss_text, ImportError, Imported, Placement};
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data");

fn opendss(relative: &str) -> PathBuf {
    Path::new(DATA).join("opendss").join(relative)
}

/// The placement the ready files were made with (feet).
const FEET: Placement = Placement {
    lon: 116.4,
    lat: 39.9,
    metres_per_unit: 0.3048,
};

fn import(relative: &str) -> Imported {
    import_opendss(&opendss(relative), &FEET)
        .unwrap_or_else(|e| panic!("{relative} must import: {e}"))
}

fn ready(name: &str) -> Value {
    let path = Path::new(DATA).join(name);
    let text = std::fs::read_to_string(&path).expect("ready file is readable");
    serde_json::from_str(&text).expect("ready file is JSON")
}

fn features(collection: &Value) -> &[Value] {
    collection["features"].as_array().expect("features array")
}

fn prop<'a>(feature: &'a Value, key: &str) -> &'a Value {
    &feature["properties"][key]
}

fn is_point(feature: &Value) -> bool {
    feature["geometry"]["type"] == "Point"
}

/// CONTRACT.md section 1, the rules an importer can break: unique ids, edges between
/// existing nodes, customers on existing nodes, coordinates in range, known kinds.
fn contract_problems(collection: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if collection["type"] != "FeatureCollection" || !collection["metadata"].is_object() {
        problems.push("not a FeatureCollection with metadata".to_string());
    }
    let mut node_ids = HashSet::new();
    let mut edge_ids = HashSet::new();
    let in_range = |c: &Value| {
        let lon = c[0].as_f64().unwrap_or(f64::NAN);
        let lat = c[1].as_f64().unwrap_or(f64::NAN);
        (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
    };
    for f in features(collection) {
        let id = prop(f, "id").as_str().unwrap_or_default().to_string();
        let kind = prop(f, "kind").as_str().unwrap_or_default();
        if is_point(f) {
            if !node_ids.insert(id.clone()) {
                problems.push(format!("duplicate node id {id}"));
            }
            if !["substation", "bus", "transformer", "customer", "depot"].contains(&kind) {
                problems.push(format!("{id}: unknown node kind {kind}"));
            }
            if !in_range(&f["geometry"]["coordinates"]) {
                problems.push(format!("{id}: coordinates out of range"));
            }
        } else {
            if !edge_ids.insert(id.clone()) {
                problems.push(format!("duplicate edge id {id}"));
            }
            let kinds = [
                "line",
                "cable",
                "switch",
                "breaker",
                "recloser",
                "sectionalizer",
                "fuse",
                "transformer",
            ];
            if !kinds.contains(&kind) {
                problems.push(format!("{id}: unknown edge kind {kind}"));
            }
            let coordinates = f["geometry"]["coordinates"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if coordinates.len() < 2 || !coordinates.iter().all(in_range) {
                problems.push(format!("{id}: bad LineString"));
            }
        }
    }
    for f in features(collection) {
        let id = prop(f, "id").as_str().unwrap_or_default();
        if is_point(f) {
            if prop(f, "kind") == "customer" {
                let bus = prop(f, "bus").as_str().unwrap_or_default();
                if !node_ids.contains(bus) {
                    problems.push(format!("{id}: customer on missing node {bus}"));
                }
            }
        } else {
            for end in ["from", "to"] {
                let node = prop(f, end).as_str().unwrap_or_default();
                if !node_ids.contains(node) {
                    problems.push(format!("{id}: {end} {node} is not a node"));
                }
            }
        }
    }
    problems
}

/// What an outage system relies on, in a form two files can be compared by.
#[derive(Debug, PartialEq)]
struct Summary {
    /// Ids of fuse / recloser / breaker / sectionalizer edges.
    protective: BTreeSet<String>,
    /// Switch id → normally open.
    switches: BTreeMap<String, bool>,
    transformer_edges: usize,
    distribution_transformers: usize,
    customers: u64,
    /// Edges flagged `feeder_head` or leaving a substation node for a non-substation node.
    feeder_heads: BTreeSet<String>,
}

fn summary(collection: &Value) -> Summary {
    let substations: HashSet<&str> = features(collection)
        .iter()
        .filter(|f| is_point(f) && prop(f, "kind") == "substation")
        .filter_map(|f| prop(f, "id").as_str())
        .collect();
    let mut s = Summary {
        protective: BTreeSet::new(),
        switches: BTreeMap::new(),
        transformer_edges: 0,
        distribution_transformers: 0,
        customers: 0,
        feeder_heads: BTreeSet::new(),
    };
    for f in features(collection) {
        let id = prop(f, "id").as_str().unwrap_or_default().to_string();
        let kind = prop(f, "kind").as_str().unwrap_or_default();
        if is_point(f) {
            if kind == "customer" {
                s.customers += prop(f, "customers").as_u64().unwrap_or(1);
            }
            continue;
        }
        match kind {
            "fuse" | "recloser" | "breaker" | "sectionalizer" => {
                s.protective.insert(id.clone());
            }
            "switch" => {
                s.switches.insert(
                    id.clone(),
                    prop(f, "normally_open").as_bool().unwrap_or(false),
                );
            }
            "transformer" => {
                s.transformer_edges += 1;
                if prop(f, "subtype") == "distribution" {
                    s.distribution_transformers += 1;
                }
            }
            _ => {}
        }
        let from_sub = substations.contains(prop(f, "from").as_str().unwrap_or_default());
        let to_sub = substations.contains(prop(f, "to").as_str().unwrap_or_default());
        let closed = !prop(f, "normally_open").as_bool().unwrap_or(false);
        if prop(f, "feeder_head") == true || (closed && from_sub != to_sub) {
            s.feeder_heads.insert(id);
        }
    }
    s
}

const EVERY_MODEL: [&str; 10] = [
    "IEEETestCases/13Bus/IEEE13Nodeckt.dss",
    "IEEETestCases/34Bus/ieee34Mod1.dss",
    "IEEETestCases/34Bus/ieee34Mod2.dss",
    "IEEETestCases/34Bus/Run_IEEE34Mod1.dss",
    "IEEETestCases/123Bus/IEEE123Master.dss",
    "IEEETestCases/123Bus/IEEE123Switches.dss",
    "IEEETestCases/123Bus/Run_IEEE123Bus.DSS",
    "IEEETestCases/8500-Node/Master.dss",
    "IEEETestCases/8500-Node/Run_RecloserSiting.DSS",
    "EPRITestCircuits/epri_dpv/J1/Master_noPV.dss",
];

#[test]
fn every_published_model_imports_into_a_contract_valid_file() {
    for model in EVERY_MODEL {
        let imported = import(model);
        let problems = contract_problems(&imported.collection());
        assert!(problems.is_empty(), "{model}: {problems:?}");
        let nodes = features(&imported.collection())
            .iter()
            .filter(|f| is_point(f))
            .count();
        assert!(nodes > 10, "{model}: only {nodes} nodes");
        let substations = features(&imported.collection())
            .iter()
            .filter(|f| prop(f, "kind") == "substation")
            .count();
        assert!(substations >= 1, "{model}: no substation");
    }
}

#[test]
fn ieee123_with_tie_switches_agrees_with_the_ready_file() {
    let imported = import("IEEETestCases/123Bus/IEEE123Switches.dss");
    let ours = summary(&imported.collection());
    let theirs = summary(&ready("ieee123.geojson"));
    assert_eq!(ours, theirs);
    assert_eq!(ours.switches.values().filter(|open| **open).count(), 2);
    assert_eq!(ours.feeder_heads, BTreeSet::from(["line.sw1".to_string()]));
    assert_eq!(ours.customers, 91);
}

#[test]
fn ieee8500_with_its_relay_and_fuses_agrees_with_the_ready_file() {
    // The ready file was made from Master.dss plus the relay and fuses that
    // Run_RecloserSiting.DSS adds: that script is the same model.
    let imported = import("IEEETestCases/8500-Node/Run_RecloserSiting.DSS");
    let ours = summary(&imported.collection());
    let theirs = summary(&ready("ieee8500.geojson"));
    assert_eq!(ours, theirs);
    assert_eq!(ours.protective.len(), 31);
    assert!(ours.protective.contains("relay.subbreaker"));
    assert!(ours.protective.contains("fuse.ln6201670-1"));
    assert_eq!(ours.transformer_edges, 1182);
    assert_eq!(ours.customers, 1177);
}

#[test]
fn ieee8500_master_alone_differs_from_the_ready_file_only_by_the_devices_it_does_not_load() {
    // Master.dss defines no Fuse and no Relay (Run_RecloserSiting.DSS adds them), so the
    // 30 fuses and the station relay of the ready file are missing — nothing else.
    let ours = summary(&import("IEEETestCases/8500-Node/Master.dss").collection());
    let mut theirs = summary(&ready("ieee8500.geojson"));
    assert_eq!(theirs.protective.len(), 31);
    theirs.protective.clear();
    assert_eq!(ours, theirs);
}

#[test]
fn epri_j1_agrees_with_the_ready_file() {
    let imported = import("EPRITestCircuits/epri_dpv/J1/Master_noPV.dss");
    let ours = summary(&imported.collection());
    let theirs = summary(&ready("epri_j1.geojson"));
    assert_eq!(ours, theirs);
    assert!(ours.protective.is_empty());
    assert_eq!(
        ours.feeder_heads,
        BTreeSet::from(["line.temp_sub".to_string()])
    );
    // The 6 disabled lines are normally open, as in the ready file.
    let disabled: BTreeSet<String> = features(&imported.collection())
        .iter()
        .filter(|f| prop(f, "src_disabled") == true && prop(f, "normally_open") == true)
        .filter_map(|f| prop(f, "id").as_str().map(str::to_string))
        .collect();
    assert_eq!(disabled.len(), 6);
    // A real, deliberate difference: the ready file placed the 6 buses beyond those lines
    // at their neighbour (`xy_inferred`, "no coordinates in the source") because OpenDSS
    // leaves buses of disabled elements out of its bus list and so drops their
    // coordinates. Buscoords.dss does give them (e.g. line 57: `B4536A, 1576859,
    // 14293349`), and the importer keeps what the source gives: nothing is inferred.
    let inferred = |c: &Value| {
        features(c)
            .iter()
            .filter(|f| prop(f, "xy_inferred") == true)
            .filter_map(|f| prop(f, "id").as_str().map(str::to_string))
            .collect::<BTreeSet<String>>()
    };
    assert!(inferred(&imported.collection()).is_empty());
    let far_ends: BTreeSet<String> = [
        "b4536a",
        "b19046a",
        "5865228330",
        "b38623a",
        "b13624a",
        "5965127404a",
    ]
    .map(String::from)
    .into();
    assert_eq!(inferred(&ready("epri_j1.geojson")), far_ends);
}

#[test]
fn ieee13_station_regulator_bank_and_switch_come_out_as_in_the_ready_files() {
    let imported = import("IEEETestCases/13Bus/IEEE13Nodeckt.dss");
    let by_id = |id: &str| {
        features(&imported.collection())
            .iter()
            .find(|f| prop(f, "id") == id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .clone()
    };
    for bus in ["sourcebus", "650", "rg60"] {
        assert_eq!(prop(&by_id(bus), "kind"), "substation", "{bus}");
    }
    let bank = by_id("transformer.reg1+transformer.reg2+transformer.reg3");
    assert_eq!(prop(&bank, "subtype"), "regulator");
    assert_eq!(prop(&by_id("transformer.sub"), "subtype"), "substation");
    assert_eq!(prop(&by_id("transformer.xfm1"), "subtype"), "distribution");
    assert_eq!(prop(&by_id("634"), "kind"), "transformer");
    assert_eq!(prop(&by_id("line.650632"), "feeder_head"), true);
    assert_eq!(prop(&by_id("line.671692"), "kind"), "switch");
    assert_eq!(prop(&by_id("line.650632"), "length_m"), 609.6);
    assert_eq!(summary(&imported.collection()).customers, 15);
}

#[test]
fn unsupported_elements_are_listed_with_file_and_line() {
    let imported = import("IEEETestCases/13Bus/IEEE13Nodeckt.dss");
    let text = std::fs::read_to_string(opendss("IEEETestCases/13Bus/IEEE13Nodeckt.dss"))
        .expect("readable");
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect("line exists")
    };
    for (needle, id) in [
        ("Capacitor.Cap1", "Capacitor.cap1"),
        ("Capacitor.Cap2", "Capacitor.cap2"),
    ] {
        let expected = format!(
            "IEEE13Nodeckt.dss:{}: {id} (capacitor: not a network element faultline models)",
            line_of(needle)
        );
        assert!(
            imported.unsupported.contains(&expected),
            "{expected} not in {:?}",
            imported.unsupported
        );
    }
    let metadata = &imported.collection()["metadata"];
    assert_eq!(metadata["stats"]["unsupported_elements"], 2);
}

#[test]
fn a_model_without_bus_coordinates_is_laid_out_and_says_so() {
    let imported = import("IEEETestCases/34Bus/ieee34Mod1.dss");
    let notes = imported.notes.join("\n");
    assert!(notes.contains("no BusCoords command ran"), "{notes}");
    assert!(features(&imported.collection())
        .iter()
        .filter(|f| is_point(f) && prop(f, "kind") != "customer")
        .all(|f| prop(f, "xy_schematic") == true));
}

#[test]
fn a_model_given_as_text_imports_as_it_does_from_its_files() {
    let read = |name: &str| {
        std::fs::read_to_string(opendss(&format!("IEEETestCases/13Bus/{name}"))).expect("readable")
    };
    let (master, xy) = (read("IEEE13Nodeckt.dss"), read("IEEE13Node_BusXY.csv"));
    // 13Bus/IEEELineCodes.DSS only redirects to the folder above: the text is that file.
    let codes = read("../IEEELineCodes.DSS");
    let from_text = import_opendss_text(
        &[
            ("IEEE13Nodeckt.dss", &master),
            ("ieee13node_busxy.CSV", &xy),
            ("IEEELineCodes.DSS", &codes),
        ],
        &FEET,
    )
    .expect("13Bus imports from text");
    let from_files = import("IEEETestCases/13Bus/IEEE13Nodeckt.dss");
    assert_eq!(
        features(&from_text.collection()),
        features(&from_files.collection())
    );
    assert_eq!(from_text.unsupported.len(), from_files.unsupported.len());
}

#[test]
fn a_model_given_as_text_names_no_file_outside_it() {
    let text = format!("{HEAD}Redirect /etc/hostname\n");
    let err = import_opendss_text(&[("Master.dss", &text)], &FEET).expect_err("must fail");
    assert!(
        err.to_string()
            .starts_with("Master.dss:3: Redirect: file not found"),
        "{err}"
    );
}

/// A scratch folder of its own per test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-import-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const HEAD: &str = "Clear\nNew Circuit.bad basekv=12.47 bus1=src\n";

fn import_error(name: &str, files: &[(&str, &str)]) -> String {
    let dir = scratch(name);
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write");
    }
    match import_opendss(&dir.join(files[0].0), &FEET) {
        Ok(_) => panic!("{name} must fail"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_line_without_bus2_is_refused_with_file_and_line() {
    let text = format!("{HEAD}New Line.L1 bus1=src bus2=a\n\nNew Line.L12 bus1=a.1 phases=1\n");
    let err = import_error("nobus2", &[("Lines.dss", &text)]);
    assert_eq!(err, "Lines.dss:5: line.l12: bus2 is missing");
}

#[test]
fn an_unterminated_bracket_is_refused_with_file_and_line() {
    let text = format!("{HEAD}New Transformer.T1 buses=[src b\n");
    let err = import_error("bracket", &[("Master.dss", &text)]);
    assert!(err.starts_with("Master.dss:3: unterminated `[`"), "{err}");
}

#[test]
fn a_redirect_to_a_missing_file_is_refused_with_file_and_line() {
    let text = format!("{HEAD}Redirect Lines.dss\nRedirect nothere.dss\n");
    let lines = "New Line.L1 bus1=src bus2=a\n";
    let err = import_error("redirect", &[("Master.dss", &text), ("Lines.dss", lines)]);
    assert!(
        err.starts_with("Master.dss:4: Redirect: file not found"),
        "{err}"
    );
    assert!(err.contains("nothere.dss"), "{err}");
}

#[test]
fn a_fuse_on_a_line_that_does_not_exist_is_refused_with_file_and_line() {
    let text = format!("{HEAD}New Line.L1 bus1=src bus2=a\n! fuses\nNew Fuse.F1 MonitoredObj=Line.L2 MonitoredTerm=1\n");
    let err = import_error("fuse", &[("Master.dss", &text)]);
    assert_eq!(
        err,
        "Master.dss:5: fuse.f1: MonitoredObj line.l2 does not exist"
    );
}

#[test]
fn a_missing_master_is_named() {
    let err = import_opendss(Path::new("/nonexistent/Master.dss"), &FEET).expect_err("must fail");
    assert!(matches!(err, ImportError::MasterNotFound { .. }));
    assert!(err.to_string().contains("/nonexistent/Master.dss"));
}

#[test]
fn small_scripts_use_the_opendss_forms_the_published_models_use() {
    // Positional fuse properties, `Open` with a bare terminal, `~` continuation,
    // `like=`, `wdg=`/`bus=` windings, `Edit`, `Class.name.prop=` edits, comments.
    let master = format!(
        "{HEAD}New LineCode.x nphases=3 units=kft\n\
         New Line.L1 src a linecode=x length=1 units=kft  ! positional buses\n\
         New Line.L2 bus1=a.1.2.3 bus2=b\n\
         ~ switch=yes\n\
         New Line.L3 like=L2 bus1=b bus2=c\n\
         Open Line.L3 1\n\
         New Transformer.T1 windings=2\n\
         ~ wdg=1 bus=c kv=12.47 kva=50\n\
         ~ wdg=2 bus=c_lv kv=0.24\n\
         Edit Transformer.T1 wdg=1 kva=75\n\
         Line.L1.length=2\n\
         New Fuse.F1 Line.L2 2 fusecurve=tlink\n\
         New Load.C1 bus=c_lv kv=0.24 kw=3 numcust=4\n\
         New Capacitor.K1 bus1=b kvar=300\n\
         BusCoords xy.csv\n"
    );
    let dir = scratch("forms");
    std::fs::write(dir.join("Master.dss"), master).expect("write");
    std::fs::write(
        dir.join("xy.csv"),
        "Bus,X,Y\nsrc,0,0\na,1000,0\nb,1000,500\n",
    )
    .expect("write");
    let imported = import_opendss(&dir.join("Master.dss"), &FEET).expect("imports");
    assert!(contract_problems(&imported.collection()).is_empty());
    let by_id = |id: &str| {
        features(&imported.collection())
            .iter()
            .find(|f| prop(f, "id") == id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .clone()
    };
    assert_eq!(prop(&by_id("line.l1"), "length_m"), 609.6);
    assert_eq!(prop(&by_id("line.l1"), "feeder_head"), true);
    assert_eq!(prop(&by_id("line.l3"), "kind"), "switch");
    assert_eq!(prop(&by_id("line.l3"), "normally_open"), true);
    assert_eq!(prop(&by_id("line.l2"), "normally_open"), false);
    let fuse = by_id("fuse.f1");
    assert_eq!(prop(&fuse, "kind"), "fuse");
    assert_eq!(prop(&fuse, "from"), "b", "terminal 2 is the bus2 end");
    assert_eq!(prop(&fuse, "to"), "line.l2~fuse.f1");
    assert_eq!(prop(&by_id("line.l2"), "to"), "line.l2~fuse.f1");
    let t1 = by_id("transformer.t1");
    assert_eq!(prop(&t1, "sn_kva"), 75.0);
    assert_eq!(prop(&t1, "subtype"), "distribution");
    assert_eq!(prop(&by_id("c_lv"), "kind"), "transformer");
    assert_eq!(prop(&by_id("c"), "xy_inferred"), true);
    assert_eq!(prop(&by_id("load.c1"), "customers"), 4);
    assert_eq!(imported.unsupported.len(), 1);
    assert!(
        imported.unsupported[0].starts_with("Master.dss:16: Capacitor.k1"),
        "{:?}",
        imported.unsupported
    );
}

/// What the network model makes of a file: feeders, devices by kind, customers.
fn as_network(collection: &Value) -> (Vec<String>, BTreeMap<String, usize>, u64) {
    use faultline::network::{LoadOptions, Network};
    let net = Network::from_geojson(&collection.to_string(), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("the network model refuses the file: {e}"));
    let s = net.summary();
    let feeders = net.feeder_ids().map(str::to_owned).collect();
    (feeders, s.devices.into_iter().collect(), s.customers)
}

#[test]
fn imported_models_load_into_the_network_model_like_the_ready_files() {
    for (model, ready_file) in [
        (
            "IEEETestCases/123Bus/IEEE123Switches.dss",
            "ieee123.geojson",
        ),
        (
            "IEEETestCases/8500-Node/Run_RecloserSiting.DSS",
            "ieee8500.geojson",
        ),
        (
            "EPRITestCircuits/epri_dpv/J1/Master_noPV.dss",
            "epri_j1.geojson",
        ),
    ] {
        let ours = as_network(&import(model).collection());
        let theirs = as_network(&ready(ready_file));
        assert_eq!(ours, theirs, "{model}: feeders, devices by kind, customers");
    }
    // Every other published model loads too.
    for model in EVERY_MODEL {
        let (feeders, _, _) = as_network(&import(model).collection());
        assert!(!feeders.is_empty(), "{model}: no feeder");
    }
}

/// A feeder with two loops and a bypass: two step transformers between the same two
/// buses with a fuse split out of one (a loop in the file), a switch closing a ring
/// through them, and a regulator with its bypass (parallel closed edges between the
/// same two nodes, which the contract allows).
const LOOPS: &str = "Clear\n\
New Circuit.loops basekv=12.47 bus1=src\n\
New Line.feed bus1=src bus2=a length=1 units=kft\n\
New Transformer.step1 phases=3 windings=2 buses=[a b] kvs=[12.47 4.16] kvas=[500 500]\n\
New Transformer.step2 phases=3 windings=2 buses=[a b] kvs=[12.47 4.16] kvas=[500 500]\n\
New Fuse.fs1 MonitoredObj=Transformer.step1 MonitoredTerm=1\n\
New Line.l2 bus1=b bus2=c length=1 units=kft\n\
New Line.l3 bus1=c bus2=d length=1 units=kft\n\
New Line.sw bus1=d bus2=a switch=yes length=0.01 units=kft\n\
New Transformer.reg phases=3 windings=2 buses=[c e] kvs=[4.16 4.16] kvas=[500 500]\n\
New RegControl.rc transformer=reg winding=2 vreg=122\n\
New Line.bypass bus1=c bus2=e switch=yes length=0.01 units=kft\n\
New Line.l4 bus1=e bus2=f length=1 units=kft\n\
New Load.x bus1=f kv=4.16 kw=10\n";

fn faultline_import(master: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("import")
        .arg("--opendss")
        .arg(master)
        .args(["--place-at", "-84.39,33.75", "-o"])
        .arg(output)
        .args(extra)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("faultline runs")
}

// See: #19. A real model (EPRI ckt24's parallel step transformers) was refused with
// its loops named and no way past them.
#[test]
fn a_model_with_loops_is_refused_pointing_to_break_loops_and_no_file_is_written() {
    let dir = scratch("loops-refused");
    std::fs::write(dir.join("Master.dss"), LOOPS).expect("write");
    let output = dir.join("out.geojson");
    let out = faultline_import(&dir.join("Master.dss"), &output, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("rerun with --break-loops"), "{stderr}");
    assert!(
        stderr.contains("line.sw") && stderr.contains("transformer.step2"),
        "{stderr}"
    );
    assert!(!output.exists());
}

// See: #19.
#[test]
fn break_loops_opens_a_switch_and_one_of_a_parallel_pair_but_never_a_bypass() {
    use faultline::import::{import_opendss_with, ImportOptions};
    let dir = scratch("loops-broken");
    std::fs::write(dir.join("Master.dss"), LOOPS).expect("write");
    let options = ImportOptions { break_loops: true };
    let imported = import_opendss_with(&dir.join("Master.dss"), &FEET, &options).expect("imports");
    let opened: Vec<&str> = imported.opened.iter().map(|o| o.id.as_str()).collect();
    // One edge per loop: the ring's switch, and the later of the two step transformers
    // (the earlier keeps its fuse). The regulator and its bypass stay closed.
    assert_eq!(opened, ["transformer.step2", "line.sw"]);
    assert!(
        imported.opened[0]
            .why
            .starts_with("parallel to transformer.step1 between buses a and b"),
        "{}",
        imported.opened[0].why
    );
    assert!(
        imported.opened[1]
            .why
            .starts_with("a switch on the loop through line.sw"),
        "{}",
        imported.opened[1].why
    );
    let collection = imported.collection();
    let edge = |id: &str| {
        features(&collection)
            .iter()
            .find(|f| prop(f, "id") == id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .clone()
    };
    for id in ["transformer.step2", "line.sw"] {
        assert_eq!(prop(&edge(id), "normally_open"), true, "{id}");
        assert!(prop(&edge(id), "opened_by_import").is_string(), "{id}");
    }
    for id in [
        "transformer.step1",
        "transformer.reg",
        "line.bypass",
        "line.l2",
    ] {
        assert_eq!(prop(&edge(id), "normally_open"), false, "{id}");
    }
    let (feeders, _, customers) = as_network(&collection);
    assert_eq!((feeders.len(), customers), (1, 1));
    // Models without loops (a regulator bank, tie switches): nothing opened, the same
    // file as without the flag.
    for model in [
        "IEEETestCases/13Bus/IEEE13Nodeckt.dss",
        "IEEETestCases/123Bus/IEEE123Switches.dss",
    ] {
        let plain = import_opendss_with(&opendss(model), &FEET, &options).expect("imports");
        assert!(plain.opened.is_empty(), "{model}: {:?}", plain.opened);
        assert_eq!(plain.geojson, import(model).geojson, "{model}");
    }

    // Through the command: the file is written and every opened edge printed.
    let output = dir.join("out.geojson");
    let out = faultline_import(&dir.join("Master.dss"), &output, &["--break-loops"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("opened transformer.step2: parallel to transformer.step1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("opened line.sw: a switch on the loop"),
        "{stderr}"
    );
    assert!(output.exists());
}
