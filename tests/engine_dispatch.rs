//! Storms played end to end with simulated crews in the loop: every outage gets an
//! order, crews take them to the end, and the log replays to the same stream.

use std::collections::HashMap;

use chrono::Duration;
use faultline::dispatch::{DispatchOptions, Policy};
use faultline::engine::{Engine, EngineOptions};
use faultline::network::{LoadOptions, Network};
use faultline::orders::{is_valid_path, OrderState};
use faultline::sim::crews::{self, CrewOptions};
use faultline::sim::{generate, StormOptions};

fn bdgd() -> Network {
    let text = std::fs::read_to_string("gis-data/bdgd_mux_energia.geojson").unwrap();
    Network::from_geojson(&text, &LoadOptions::default()).unwrap()
}

fn storm(net: &Network, seed: u64, faults: usize) -> Vec<faultline::events::Event> {
    generate(
        net,
        &StormOptions {
            seed,
            faults,
            duration_min: 90,
            restore: false,
            ..StormOptions::default()
        },
    )
    .events
}

#[test]
fn a_storm_with_crews_runs_to_the_end_and_replays_identically() {
    let net = bdgd();
    let events = storm(&net, 3, 12);
    let run = crews::run(
        &net,
        &events,
        &CrewOptions {
            crews: 8,
            seed: 3,
            ..CrewOptions::default()
        },
        EngineOptions::default(),
        Duration::hours(36),
    );
    let orders: Vec<_> = run.engine.dispatch().orders().collect();
    assert!(orders.len() >= 10, "{} orders", orders.len());
    for o in &orders {
        assert!(
            is_valid_path(o.life.history()),
            "{}: {:?}",
            o.id(),
            o.life.history()
        );
    }
    // Crews took the work to the end: every order is closed or cancelled.
    let open: Vec<_> = orders
        .iter()
        .filter(|o| !o.state().is_final())
        .map(|o| format!("{} {:?}", o.id(), o.state()))
        .collect();
    assert!(open.is_empty(), "orders left open: {open:?}");
    // No storm event restores anything here: crews did. Every fault is repaired (a
    // prediction off by a level still sends a crew to the right place most of the
    // time), and orders closed "power is back" were reached by a crew.
    let restored_by_crews = orders
        .iter()
        .filter(|o| o.life.first_time(OrderState::Restored).is_some())
        .count();
    assert!(
        restored_by_crews >= 12 * 3 / 4,
        "crews restored {restored_by_crews}"
    );
    for o in &orders {
        if o.state() == OrderState::Closed && o.life.first_time(OrderState::Restored).is_some() {
            assert!(
                o.life.first_time(OrderState::OnSite).is_some(),
                "{}",
                o.id()
            );
        }
    }
    // Every active outage is gone: restored by the crews.
    assert_eq!(run.engine.active_outages().count(), 0);

    // Replaying the log gives the stream the live run produced, byte for byte.
    let mut again = Engine::new(net.clone(), EngineOptions::default());
    let mut stream = Vec::new();
    for e in &run.events {
        stream.extend(again.apply(e).into_iter().map(|m| m.to_json()));
    }
    stream.extend(again.flush().into_iter().map(|m| m.to_json()));
    assert_eq!(stream.len(), run.stream.len());
    assert!(stream == run.stream, "the replay differs from the run");
    // The stream shows each order from creation to close.
    let mut last_state: HashMap<String, String> = HashMap::new();
    for line in &stream {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        if m["type"].as_str().is_some_and(|t| t.starts_with("order.")) {
            last_state.insert(
                m["data"]["id"].as_str().unwrap().to_owned(),
                m["data"]["state"].as_str().unwrap().to_owned(),
            );
        }
    }
    assert_eq!(last_state.len(), orders.len());
    assert!(last_state
        .values()
        .all(|s| s == "closed" || s == "cancelled"));
}

#[test]
fn no_crew_is_ever_on_two_orders_through_a_storm() {
    let net = bdgd();
    let events = storm(&net, 5, 15);
    let run = crews::run(
        &net,
        &events,
        &CrewOptions {
            crews: 4,
            seed: 5,
            ..CrewOptions::default()
        },
        EngineOptions::default(),
        Duration::hours(36),
    );
    // Walk the log again, checking after every event.
    let mut engine = Engine::new(net, EngineOptions::default());
    for e in &run.events {
        engine.apply(e);
        let mut holders: HashMap<&str, u64> = HashMap::new();
        for o in engine.dispatch().orders() {
            if o.state().holds_crew() {
                let crew = o.crew().unwrap();
                assert!(
                    holders.insert(crew, o.number).is_none(),
                    "{crew} on two orders at {}",
                    e.at
                );
            }
        }
    }
}

#[test]
fn with_scarce_crews_optimal_assignment_is_on_site_in_time_at_least_as_often_as_greedy() {
    let net = bdgd();
    let mut in_time = [0usize; 2];
    // The scarce scenario of `faultline bench dispatch`: 3 crews, 40 faults in 2 hours.
    for seed in 1..=2 {
        let events = generate(
            &net,
            &StormOptions {
                seed,
                faults: 40,
                duration_min: 120,
                restore: false,
                ..StormOptions::default()
            },
        )
        .events;
        for (i, policy) in [Policy::Optimal, Policy::Greedy].into_iter().enumerate() {
            let run = crews::run(
                &net,
                &events,
                &CrewOptions {
                    crews: 3,
                    seed,
                    ..CrewOptions::default()
                },
                EngineOptions {
                    dispatch: DispatchOptions {
                        policy,
                        ..DispatchOptions::default()
                    },
                    ..EngineOptions::default()
                },
                Duration::hours(36),
            );
            let f = faultline::sim::dispatch_bench::service_figures(&run.engine);
            in_time[i] += f.on_site_in_time;
        }
    }
    assert!(
        in_time[0] >= in_time[1],
        "optimal {} < greedy {}",
        in_time[0],
        in_time[1]
    );
}
