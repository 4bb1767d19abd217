//! Quick look at one storm's scores (development aid; the real bench is `faultline bench inference`).
use faultline::network::{LoadOptions, Network};
use faultline::sim::{generate, score::score, StormOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let file = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("gis-data/bdgd_mux_energia.geojson");
    let rate: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0.10);
    let prot = args.get(3).is_some_and(|s| s == "prot");
    let net = Network::from_geojson(
        &std::fs::read_to_string(file).unwrap(),
        &LoadOptions {
            add_protection: prot,
            ..Default::default()
        },
    )
    .unwrap();
    let customers = net.summary().customers as f64;
    let faults = (net.device_count() / 10).clamp(5, 25);
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let bench_opts = StormOptions {
        seed,
        faults,
        call_rate: rate,
        noise_per_hour: (customers * 3e-4).max(1.0),
        ..Default::default()
    };
    if let Some(dev) = args.get(5) {
        let storm = generate(&net, &bench_opts);
        debug_device(&net, &storm, dev, 1);
        return;
    }
    if args.get(4).is_some() {
        let storm = generate(&net, &bench_opts);
        debug_end(&net, &storm);
        return;
    }
    for seed in 1..=3 {
        let storm = generate(
            &net,
            &StormOptions {
                seed,
                call_rate: rate,
                ..Default::default()
            },
        );
        let f = score(&net, &storm, false);
        let b = score(&net, &storm, true);
        for m in &f.misses {
            println!("   miss {m}");
        }
        println!("seed {seed}: counted {:?}\n  faultline found {:?} of-oracle {:?} oracle {:?} false_end {}\n  baseline  found {:?} of-oracle {:?} false_end {}",
            f.counted, f.found, f.found_of_oracle, f.oracle_found, f.false_outages_at_end, b.found, b.found_of_oracle, b.false_outages_at_end);
    }
}

#[allow(dead_code)]
pub fn debug_end(net: &Network, storm: &faultline::sim::Storm) {
    use faultline::engine::{Engine, EngineOptions};
    let mut e = Engine::new(net.clone(), EngineOptions::default());
    for ev in &storm.events {
        e.apply(ev);
    }
    let faults: std::collections::HashSet<&str> = storm
        .truth
        .faults
        .iter()
        .map(|f| f.device.as_str())
        .collect();
    for o in e.active_outages().filter(|o| o.device_kind.is_some()) {
        println!(
            "{} {} {:?} faulted={} reports={} ami={} cust={} started={} rule={} alt={:?}",
            o.id(),
            o.device,
            o.device_kind,
            faults.contains(o.device.as_str()),
            o.reports,
            o.ami_off,
            o.customers_out,
            o.started_at,
            o.rule,
            o.alternatives
        );
    }
    for f in &storm.truth.faults {
        println!(
            "truth {} {} {:?} {} -> {:?} cust={} {}",
            f.id, f.device, f.device_kind, f.started_at, f.restored_at, f.customers, f.cause
        );
    }
}

#[allow(dead_code)]
pub fn debug_device(net: &Network, storm: &faultline::sim::Storm, device: &str, every_min: i64) {
    use faultline::engine::{Engine, EngineOptions};
    use faultline::inference::Analyzer;
    let mut e = Engine::new(net.clone(), EngineOptions::default());
    let d = net.device_by_id(device).unwrap().idx();
    let mut last = 0;
    for ev in &storm.events {
        e.apply(ev);
        let m = ev.at.timestamp() / 60 / every_min;
        if m != last {
            last = m;
            if let Analyzer::Scored(s) = e.analyzer() {
                println!("{} {}", ev.at, s.describe(net, d));
            }
        }
    }
}
