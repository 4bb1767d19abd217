//! Engine snapshots: an engine restored from a snapshot taken anywhere in a storm, then
//! given the rest of the log, says exactly what the engine that applied the whole log
//! says — message for message, byte for byte — and a snapshot taken under another
//! network or other settings is refused.

use chrono::Duration;
use faultline::engine::{Engine, EngineOptions, SnapshotError};
use faultline::events::Event;
use faultline::network::{LoadOptions, Network};
use faultline::sim::crews::{self, CrewOptions};
use faultline::sim::{generate, StormOptions};

fn network(file: &str) -> Network {
    let text = std::fs::read_to_string(format!("gis-data/{file}")).unwrap();
    Network::from_geojson(&text, &LoadOptions::default()).unwrap()
}

/// A storm with crews in the loop (orders, acknowledgements, restorations, ticks).
fn closed_loop(net: &Network, seed: u64) -> Vec<Event> {
    let storm = generate(
        net,
        &StormOptions {
            seed,
            faults: 10,
            duration_min: 90,
            restore: false,
            ..StormOptions::default()
        },
    )
    .events;
    crews::run(
        net,
        &storm,
        &CrewOptions {
            crews: 6,
            seed,
            ..CrewOptions::default()
        },
        EngineOptions::default(),
        Duration::hours(30),
    )
    .events
}

fn lines(engine: &mut Engine, events: &[Event]) -> Vec<String> {
    let mut out: Vec<String> = events
        .iter()
        .flat_map(|e| engine.apply(e))
        .map(|o| o.to_json())
        .collect();
    out.extend(engine.flush().iter().map(|o| o.to_json()));
    out
}

/// What the API reads from an engine: outages, crews, orders, notices, callbacks.
fn views(engine: &Engine) -> Vec<String> {
    let mut v: Vec<String> = engine.outages().map(|o| o.to_json()).collect();
    v.extend(engine.crews_json());
    v.extend(engine.dispatch().orders().map(|o| o.to_json()));
    v.extend(engine.planned().notices().map(|n| n.to_json()));
    v.extend(engine.callbacks().items().map(|c| c.to_json()));
    v
}

/// The stream of `events` applied with a snapshot taken after the first `cut`: one
/// engine applies those and is dropped; a fresh engine restored from its snapshot
/// applies the rest. Also the restored engine.
fn through_a_snapshot(net: &Network, events: &[Event], cut: usize) -> (Vec<String>, Engine) {
    let mut first = Engine::new(net.clone(), EngineOptions::default());
    let mut got: Vec<String> = events[..cut]
        .iter()
        .flat_map(|e| first.apply(e))
        .map(|o| o.to_json())
        .collect();
    let (text, fingerprint) = (first.snapshot(), first.fingerprint().to_owned());
    let mut restored = Engine::new(net.clone(), EngineOptions::default());
    restored
        .restore(&fingerprint, &text)
        .expect("the snapshot restores");
    assert_eq!(
        views(&restored),
        views(&first),
        "cut {cut}: the restored engine answers a read differently"
    );
    drop(first);
    let mut probe = restored.clone();
    got.extend(lines(&mut probe, &events[cut..]));
    (got, restored)
}

#[test]
fn a_restored_engine_continues_exactly_where_the_snapshot_was_taken() {
    let net = network("bdgd_mux_energia.geojson");
    for seed in [1, 2] {
        let events = closed_loop(&net, seed);
        assert!(events.len() > 500, "{} events", events.len());
        let whole = lines(
            &mut Engine::new(net.clone(), EngineOptions::default()),
            &events,
        );
        for cut in [1, events.len() / 3, events.len() / 2, events.len() - 1] {
            let (got, _) = through_a_snapshot(&net, &events, cut);
            assert_eq!(got.len(), whole.len(), "seed {seed}, cut {cut}");
            if let Some(k) = got.iter().zip(&whole).position(|(a, b)| a != b) {
                panic!(
                    "seed {seed}, cut {cut}: message {k} differs:\n restored: {}\n whole:    {}",
                    got[k], whole[k]
                );
            }
        }
    }
}

#[test]
fn switching_before_the_snapshot_is_replayed_on_the_loaded_network() {
    let net = network("ieee123.geojson");
    let at = |m: u32| format!("2026-07-14T03:{m:02}:00Z");
    let events: Vec<Event> = [
        format!(r#"{{"type":"scada","at":"{}","device":"line.sw7","state":"closed"}}"#, at(0)),
        format!(r#"{{"type":"scada","at":"{}","device":"line.sw2","state":"open"}}"#, at(1)),
        format!(r#"{{"type":"report","at":"{}","id":"R-1","customer":"load.s1a","source":"call","problem":"no_power"}}"#, at(2)),
        format!(r#"{{"type":"scada","at":"{}","device":"line.sw2","state":"closed"}}"#, at(20)),
        format!(r#"{{"type":"report","at":"{}","id":"R-2","customer":"load.s2b","source":"call","problem":"no_power"}}"#, at(30)),
    ]
    .iter()
    .map(|t| Event::parse(&serde_json::from_str(t).unwrap()).unwrap())
    .collect();
    let whole = lines(
        &mut Engine::new(net.clone(), EngineOptions::default()),
        &events,
    );
    let (got, restored) = through_a_snapshot(&net, &events, 2);
    assert_eq!(
        restored.network().is_closed("line.sw7"),
        Some(true),
        "the tie closed before the snapshot is closed after the restore"
    );
    assert_eq!(got, whole);
}

#[test]
fn a_snapshot_from_another_network_or_other_settings_is_refused() {
    let net = network("ieee123.geojson");
    let engine = Engine::new(net.clone(), EngineOptions::default());
    let (text, fingerprint) = (engine.snapshot(), engine.fingerprint().to_owned());
    let mut other_net = Engine::new(
        network("bdgd_mux_energia.geojson"),
        EngineOptions::default(),
    );
    assert!(matches!(
        other_net.restore(&fingerprint, &text),
        Err(SnapshotError::Mismatch)
    ));
    let mut options = EngineOptions::default();
    options.targets.on_site_min[0] += 5;
    let mut other_settings = Engine::new(net.clone(), options);
    assert!(matches!(
        other_settings.restore(&fingerprint, &text),
        Err(SnapshotError::Mismatch)
    ));
    let mut same = Engine::new(net, EngineOptions::default());
    assert!(matches!(
        same.restore(&fingerprint, "{not a snapshot"),
        Err(SnapshotError::Unreadable(_))
    ));
    assert!(
        same.restore(&fingerprint, &text).is_ok(),
        "after a failed try, a good snapshot restores"
    );
}

#[test]
fn planned_work_callbacks_and_switching_survive_a_snapshot_at_every_point() {
    let net = network("ieee123.geojson");
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-07-14T02:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let ev = |min: i64, mut v: serde_json::Value| {
        v["at"] = serde_json::json!(faultline::events::format_time(t0 + Duration::minutes(min)));
        Event::parse(&v).unwrap()
    };
    let time = |min: i64| faultline::events::format_time(t0 + Duration::minutes(min));
    let report = |id: &str, customer: &str| serde_json::json!({"type":"report","id":id,"customer":customer,"source":"call","problem":"no_power"});
    let scada = |device: &str, state: &str| serde_json::json!({"type":"scada","device":device,"state":state});
    let events = vec![
        ev(
            0,
            serde_json::json!({"type":"planned_outage","id":"PO-1","device":"line.sw3",
            "start":time(60),"end":time(180),"kind":"urgent","reason":"pole replacement"}),
        ),
        ev(1, scada("line.sw7", "closed")),
        ev(61, scada("line.sw3", "open")),
        ev(70, report("R-1", "load.s1a")),
        ev(75, scada("line.sw1", "open")),
        ev(80, report("R-2", "load.s2b")),
        ev(81, report("R-3", "load.s4c")),
        ev(120, scada("line.sw1", "closed")),
        ev(130, serde_json::json!({"type":"tick"})),
        ev(
            140,
            serde_json::json!({"type":"callback","outage":"OUT-1","customer":"load.s2b","outcome":"still_out","agent":"A-1"}),
        ),
        ev(150, report("R-4", "load.s5c")),
        ev(181, scada("line.sw3", "closed")),
        ev(200, serde_json::json!({"type":"tick"})),
    ];
    let whole = lines(
        &mut Engine::new(net.clone(), EngineOptions::default()),
        &events,
    );
    assert!(
        whole.iter().any(|m| m.contains("notice."))
            && whole.iter().any(|m| m.contains("callback.")),
        "the storm exercises notices and callbacks"
    );
    for cut in 0..events.len() {
        let (got, _) = through_a_snapshot(&net, &events, cut);
        assert_eq!(got, whole, "cut at event {cut}");
    }
}
