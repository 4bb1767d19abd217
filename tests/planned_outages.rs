//! Planned outages (停电预告, issue 7 item 1) through the engine, on the bundled IEEE 123
//! feeder: what a notice darkens, evidence during and after its window, notice periods,
//! changes and cancellations, and replay.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use faultline::engine::{Engine, EngineOptions, NoticeStatus, Output};
use faultline::events::{format_time, Event};
use faultline::network::{LoadOptions, Network};
use serde_json::{json, Value};

fn ieee123_json() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/gis-data/ieee123.geojson");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The bundled IEEE 123 feeder, with these service points marked critical.
fn ieee123(critical: &[&str]) -> Network {
    let mut v = ieee123_json();
    for f in v["features"].as_array_mut().unwrap() {
        let id = f["properties"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if critical.contains(&id.as_str()) {
            f["properties"]["critical"] = json!(true);
        }
    }
    Network::from_geojson(&v.to_string(), &LoadOptions::default()).unwrap()
}

/// What opening `device` darkens, worked out from the file alone (not from faultline's
/// trace): the service points on nodes that substations reach through closed edges
/// with the device, and not without it.
fn oracle_darkened(device: &str) -> BTreeSet<String> {
    let v = ieee123_json();
    let features = v["features"].as_array().unwrap();
    let reach = |without: Option<&str>| -> HashSet<String> {
        let mut adj: HashMap<String, Vec<String>> = HashMap::new();
        for f in features {
            let p = &f["properties"];
            if f["geometry"]["type"] != "LineString" || p["normally_open"] == json!(true) {
                continue;
            }
            if Some(p["id"].as_str().unwrap()) == without {
                continue;
            }
            let (a, b) = (
                p["from"].as_str().unwrap().to_owned(),
                p["to"].as_str().unwrap().to_owned(),
            );
            adj.entry(a.clone()).or_default().push(b.clone());
            adj.entry(b).or_default().push(a);
        }
        let mut seen: HashSet<String> = features
            .iter()
            .filter(|f| f["properties"]["kind"] == "substation")
            .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
            .collect();
        let mut queue: VecDeque<String> = seen.iter().cloned().collect();
        while let Some(n) = queue.pop_front() {
            for m in adj.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    queue.push_back(m.clone());
                }
            }
        }
        seen
    };
    let (all, left) = (reach(None), reach(Some(device)));
    features
        .iter()
        .filter(|f| f["properties"]["kind"] == "customer")
        .filter(|f| {
            let p = &f["properties"];
            let node = p["bus"].as_str().or(p["transformer"].as_str()).unwrap();
            all.contains(node) && !left.contains(node)
        })
        .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-07-01T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// An event at `t0 + min` minutes.
fn ev(min: i64, mut v: Value) -> Event {
    v["at"] = json!(format_time(t0() + Duration::minutes(min)));
    Event::parse(&v).unwrap_or_else(|e| panic!("{v}: {e}"))
}

const DAY: i64 = 24 * 60;

/// A planned outage of `device` from `start` for `hours`, `kind`, told at the event's time.
fn planned(id: &str, device: &str, start_min: i64, hours: i64, kind: &str) -> Value {
    json!({"type":"planned_outage","id":id,"device":device,
        "start":format_time(t0() + Duration::minutes(start_min)),
        "end":format_time(t0() + Duration::minutes(start_min + hours * 60)),
        "kind":kind,"reason":"pole <replacement> & re-conductoring"})
}

fn report(id: &str, customer: &str) -> Value {
    json!({"type":"report","id":id,"customer":customer,"source":"call","problem":"no_power"})
}

fn ami(customer: &str, state: &str) -> Value {
    json!({"type":"ami","customer":customer,"state":state})
}

fn apply_all(engine: &mut Engine, events: &[Event]) -> Vec<Output> {
    let mut out = Vec::new();
    for e in events {
        e.check_against(engine.network()).unwrap();
        engine.apply(e).into_iter().for_each(|o| out.push(o));
    }
    out.extend(engine.flush());
    out
}

fn kinds(out: &[Output], kind: &str) -> usize {
    out.iter().filter(|o| o.kind() == kind).count()
}

#[test]
fn a_planned_outage_darkens_exactly_the_customers_below_its_device() {
    let net = ieee123(&[]);
    let mut engine = Engine::new(net.clone(), EngineOptions::default());
    // Every switch and transformer edge that feeds customers in the normal state.
    let file = ieee123_json();
    let devices: Vec<String> = file["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["properties"])
        .filter(|p| matches!(p["kind"].as_str(), Some("switch" | "transformer")))
        .filter(|p| p["normally_open"] != json!(true) && p["from"].is_string())
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .filter(|id| !oracle_darkened(id).is_empty())
        .collect();
    assert!(devices.len() >= 8, "{devices:?}");
    for (i, device) in devices.iter().enumerate() {
        let id = format!("PO-{i}");
        engine.apply(&ev(0, planned(&id, device, 10 * DAY, 4, "planned")));
        let notice = engine.planned().get(&id).expect("scheduled");
        let got: BTreeSet<String> = notice
            .darkened
            .points
            .iter()
            .map(|c| net.customer(*c).id.clone())
            .collect();
        let expected = oracle_darkened(device);
        assert_eq!(got, expected, "{device}");
        assert_eq!(notice.darkened.customers, expected.len() as u64, "{device}");
        assert_eq!(notice.status, NoticeStatus::Scheduled);
    }
}

#[test]
fn reports_inside_the_window_create_no_outage_and_a_report_after_it_does() {
    let net = ieee123(&[]);
    let below: Vec<String> = oracle_darkened("line.sw2").into_iter().collect();
    assert!(below.len() >= 6);
    let mut engine = Engine::new(net, EngineOptions::default());
    let start = 8 * DAY;
    let end = start + 4 * 60;
    let mut events = vec![ev(0, planned("PO-1", "line.sw2", start, 4, "planned"))];
    // During the window: calls and last gasps from the customers below.
    for (i, c) in below.iter().take(5).enumerate() {
        events.push(ev(start + 5 + i as i64, report(&format!("R-{i}"), c)));
    }
    events.push(ev(start + 2, ami(&below[5], "off")));
    events.push(ev(start + 3, ami(&below[4], "off")));
    // One meter comes back during the work.
    events.push(ev(start + 100, ami(&below[4], "on")));
    let out = apply_all(&mut engine, &events);
    assert_eq!(
        kinds(&out, "outage.created"),
        0,
        "no outage during the window"
    );
    let n = engine.planned().get("PO-1").unwrap();
    assert_eq!(n.status, NoticeStatus::Active);
    assert_eq!(n.reports, 5);
    assert_eq!(n.ami_off, 2);

    // The window ends: the meter still silent is a real outage; the calls are not.
    let out = apply_all(&mut engine, &[ev(end + 1, json!({"type":"tick"}))]);
    assert_eq!(
        engine.planned().get("PO-1").unwrap().status,
        NoticeStatus::Completed
    );
    let created: Vec<Value> = out
        .iter()
        .filter(|o| o.kind() == "outage.created")
        .map(|o| serde_json::from_str(&o.data_json()).unwrap())
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["device"], json!(below[5]));

    // After the window, a call is analysed as any other.
    let out = apply_all(&mut engine, &[ev(end + 30, report("R-late", &below[0]))]);
    let created: Vec<Value> = out
        .iter()
        .filter(|o| o.kind() == "outage.created")
        .map(|o| serde_json::from_str(&o.data_json()).unwrap())
        .collect();
    assert_eq!(
        created.len(),
        1,
        "a report after the window makes an outage"
    );
    assert_eq!(created[0]["device"], json!(below[0]));
}

#[test]
fn a_report_from_outside_the_planned_area_is_analysed_as_usual() {
    let net = ieee123(&[]);
    let inside = oracle_darkened("line.sw2");
    let outside = net
        .customers()
        .iter()
        .map(|c| c.id.clone())
        .find(|c| !inside.contains(c))
        .unwrap();
    let mut engine = Engine::new(net, EngineOptions::default());
    let start = 8 * DAY;
    let out = apply_all(
        &mut engine,
        &[
            ev(0, planned("PO-1", "line.sw2", start, 4, "planned")),
            ev(start + 5, report("R-1", &outside)),
        ],
    );
    assert_eq!(kinds(&out, "outage.created"), 1);
}

#[test]
fn the_feeder_breaker_opened_for_the_work_is_not_a_fault() {
    let mut engine = Engine::new(ieee123(&[]), EngineOptions::default());
    let start = 8 * DAY;
    let out = apply_all(
        &mut engine,
        &[
            ev(0, planned("PO-1", "line.sw1", start, 2, "planned")),
            ev(
                start,
                json!({"type":"scada","device":"line.sw1","state":"open"}),
            ),
            ev(start + 30, report("R-1", "load.s1a")),
            ev(
                start + 110,
                json!({"type":"scada","device":"line.sw1","state":"closed"}),
            ),
            ev(start + 200, json!({"type":"tick"})),
        ],
    );
    assert_eq!(kinds(&out, "outage.created"), 0);

    // Left open past the end of the window: now it is an outage.
    let start = 20 * DAY;
    let out = apply_all(
        &mut engine,
        &[
            ev(DAY, planned("PO-2", "line.sw1", start, 2, "planned")),
            ev(
                start,
                json!({"type":"scada","device":"line.sw1","state":"open"}),
            ),
            ev(start + 130, json!({"type":"tick"})),
        ],
    );
    assert_eq!(kinds(&out, "outage.created"), 1);
}

#[test]
fn late_notices_are_flagged_by_both_rules() {
    let below: Vec<String> = oracle_darkened("line.sw3").into_iter().collect();
    let critical = below[0].clone();
    let mut engine = Engine::new(ieee123(&[&critical]), EngineOptions::default());
    let cases = [
        // (id, device, starts in, kind, late?)
        ("P-ontime", "line.sw3", 7 * DAY + 1, "planned", false),
        ("P-late", "line.sw3", 3 * DAY, "planned", true),
        ("U-late", "line.sw3", 12 * 60, "urgent", true),
        ("U-ontime", "line.sw3", 30 * 60, "urgent", false),
        // No critical customer below line.sw5: urgent work needs no 24 hours.
        ("U-nocritical", "line.sw5", 2 * 60, "urgent", false),
    ];
    for (id, device, starts_in, kind, late) in cases {
        engine.apply(&ev(0, planned(id, device, starts_in, 2, kind)));
        let n = engine.planned().get(id).unwrap();
        assert_eq!(n.late, late, "{id}: {:?}", n.late_reason);
        let json: Value = serde_json::from_str(&n.to_json()).unwrap();
        assert_eq!(json["late"], json!(late), "{id}");
        if late {
            let why = json["late_reason"].as_str().unwrap();
            assert!(
                why.contains(if kind == "planned" {
                    "7 days"
                } else {
                    "24 hours"
                }),
                "{why}"
            );
        }
    }
    let u = engine.planned().get("U-late").unwrap();
    assert_eq!(u.darkened.critical, 1);
    assert_eq!(u.critical_ids, vec![critical]);
}

#[test]
fn a_notice_can_be_changed_and_cancelled() {
    let mut engine = Engine::new(ieee123(&[]), EngineOptions::default());
    let out = apply_all(
        &mut engine,
        &[ev(0, planned("PO-1", "line.sw2", 10 * DAY, 4, "planned"))],
    );
    assert_eq!(kinds(&out, "notice.created"), 1);
    assert!(!engine.planned().get("PO-1").unwrap().late);
    // Moved later: still the first notice.
    let out = apply_all(
        &mut engine,
        &[ev(DAY, planned("PO-1", "line.sw2", 12 * DAY, 4, "planned"))],
    );
    assert_eq!(kinds(&out, "notice.updated"), 1);
    let n = engine.planned().get("PO-1").unwrap();
    assert_eq!((n.revision, n.late), (2, false));
    assert_eq!(n.noticed_at, t0());
    // Moved earlier: customers are told now, too late.
    engine.apply(&ev(
        2 * DAY,
        planned("PO-1", "line.sw2", 5 * DAY, 4, "planned"),
    ));
    let n = engine.planned().get("PO-1").unwrap();
    assert_eq!(n.revision, 3);
    assert!(n.late);
    // Another device under the same id is refused.
    let other = ev(2 * DAY, planned("PO-1", "line.sw3", 5 * DAY, 4, "planned"));
    assert!(engine.check(&other).unwrap_err().contains("cancel it"));
    // Cancelled: the window explains nothing, a call in it is an outage.
    let out = apply_all(
        &mut engine,
        &[
            ev(
                3 * DAY,
                json!({"type":"planned_outage_cancel","id":"PO-1","reason":"storm warning"}),
            ),
            ev(5 * DAY + 10, report("R-1", "load.s1a")),
        ],
    );
    assert_eq!(kinds(&out, "notice.cancelled"), 1);
    assert_eq!(
        engine.planned().get("PO-1").unwrap().status,
        NoticeStatus::Cancelled
    );
    let cancel_again = ev(4 * DAY, json!({"type":"planned_outage_cancel","id":"PO-1"}));
    assert!(engine.check(&cancel_again).is_ok(), "a repeat is accepted");
    let unknown = ev(4 * DAY, json!({"type":"planned_outage_cancel","id":"PO-9"}));
    assert!(engine.check(&unknown).is_err());
}

#[test]
fn an_unknown_device_is_refused_naming_the_device_field() {
    let net = ieee123(&[]);
    let e = ev(0, planned("PO-1", "no-such-edge", DAY, 2, "planned"));
    assert_eq!(e.check_against(&net).unwrap_err().field, "device");
}

#[test]
fn replaying_the_same_log_gives_the_same_messages() {
    let below: Vec<String> = oracle_darkened("line.sw2").into_iter().collect();
    let start = 8 * DAY;
    let events = vec![
        ev(0, planned("PO-1", "line.sw2", start, 4, "planned")),
        ev(1, planned("PO-2", "line.sw4", 60, 2, "urgent")),
        ev(start + 1, ami(&below[0], "off")),
        ev(start + 2, report("R-1", &below[1])),
        ev(start + 3, ami(&below[2], "off")),
        ev(start + 300, json!({"type":"tick"})),
    ];
    let run = || {
        let mut engine = Engine::new(ieee123(&[]), EngineOptions::default());
        apply_all(&mut engine, &events)
            .iter()
            .map(Output::to_json)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let first = run();
    assert!(first.contains("notice.created"));
    assert_eq!(first, run());
}

#[test]
fn the_start_and_the_end_of_the_work_are_new_revisions_for_the_feed() {
    let mut engine = Engine::new(ieee123(&[]), EngineOptions::default());
    apply_all(
        &mut engine,
        &[ev(0, planned("PO-1", "line.sw3", 60, 2, "urgent"))],
    );
    let notice = |e: &Engine| e.planned().get("PO-1").unwrap().clone();
    assert_eq!(notice(&engine).revision, 1);
    apply_all(&mut engine, &[ev(61, json!({"type":"tick"}))]);
    let started = notice(&engine);
    assert_eq!(started.status, faultline::engine::NoticeStatus::Active);
    assert_eq!(started.revision, 2, "the start is news for a feed reader");
    assert_eq!(started.updated_at, t0() + Duration::minutes(60));
    assert_eq!(started.previous_at, Some(t0()));
    apply_all(&mut engine, &[ev(181, json!({"type":"tick"}))]);
    let ended = notice(&engine);
    assert_eq!(ended.status, faultline::engine::NoticeStatus::Completed);
    assert_eq!(ended.revision, 3);
    assert_eq!(ended.updated_at, t0() + Duration::minutes(180));
}
