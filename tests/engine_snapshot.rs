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
            let mut first = Engine::new(net.clone(), EngineOptions::default());
            let mut got: Vec<String> = events[..cut]
                .iter()
                .flat_map(|e| first.apply(e))
                .map(|o| o.to_json())
                .collect();
            let text = first.snapshot();
            let fingerprint = first.fingerprint().to_owned();
            drop(first);
            let mut restored = Engine::new(net.clone(), EngineOptions::default());
            restored
                .restore(&fingerprint, &text)
                .expect("the snapshot restores");
            got.extend(lines(&mut restored, &events[cut..]));
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
    let mut first = Engine::new(net.clone(), EngineOptions::default());
    let mut got: Vec<String> = events[..2]
        .iter()
        .flat_map(|e| first.apply(e))
        .map(|o| o.to_json())
        .collect();
    let mut restored = Engine::new(net.clone(), EngineOptions::default());
    restored
        .restore(first.fingerprint(), &first.snapshot())
        .unwrap();
    assert_eq!(
        restored.network().is_closed("line.sw7"),
        Some(true),
        "the tie closed before the snapshot is closed after the restore"
    );
    got.extend(lines(&mut restored, &events[2..]));
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
