//! Development aid: one storm through the engine, for a profiler.
use faultline::engine::{Engine, EngineOptions};
use faultline::network::{LoadOptions, Network};
use faultline::sim::{generate, StormOptions};
fn main() {
    let file = std::env::args()
        .nth(1)
        .unwrap_or("gis-data/bdgd_mux_energia.geojson".into());
    let net = Network::from_geojson(
        &std::fs::read_to_string(file).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap();
    let storm = generate(
        &net,
        &StormOptions {
            seed: 1,
            faults: 25,
            call_rate: 0.3,
            noise_per_hour: 4.0,
            ..Default::default()
        },
    );
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..3 {
        let mut e = Engine::new(net.clone(), EngineOptions::default());
        for ev in &storm.events {
            n += e.apply(ev).len();
        }
    }
    eprintln!(
        "{} events x3, {} outputs, {:?}",
        storm.events.len(),
        n,
        t.elapsed()
    );
}
