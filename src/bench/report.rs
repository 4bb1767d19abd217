//! `faultline bench report`: a report over a simulated year of storms, beside the replay
//! of the same events (the baseline, measured in the same run).
//!
//! The year: a quiet day has a fault with probability 0.3, at any hour; about one day
//! in fifteen is a storm day with 10–30 faults in six hours. The whole year is played with
//! simulated crews in the loop (`sim::crews::run`), so the log has orders, crew
//! actions and dispatch as `serve` would store them. Then, timed:
//! - **baseline**: replay of the year's log through a fresh engine (what `serve` does at
//!   start and `faultline replay` does offline);
//! - the report's steps: the engine's objects copied out (as the API does under the
//!   engine's lock), the customer units of the network, the whole-year report, one month
//!   for one feeder, and rendering as JSON and CSV.

use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::{Engine, EngineOptions};
use crate::events::Event;
use crate::network::{LoadOptions, Network};
use crate::reports::{build, csv, render, Format, Query, QueryText, Records, Units};
use crate::sim::crews::{self, CrewOptions};
use crate::sim::{generate, StormOptions};

/// Arguments of `faultline bench report`.
#[derive(Debug, Args)]
pub struct ReportBenchArgs {
    /// The network.
    #[arg(long, default_value = "gis-data/bdgd_mux_energia.geojson")]
    pub network: PathBuf,
    /// Days simulated.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Simulated crews.
    #[arg(long, default_value_t = 20)]
    pub crews: usize,
    /// Seed of the year.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// A year of faults: quiet days and storm days, with crews in the loop.
pub fn simulated_year(net: &Network, days: u32, crews: usize, seed: u64) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start: DateTime<Utc> = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(); // 2026-01-01
    let mut storm = Vec::new();
    for d in 0..days {
        let storm_day = rng.random_bool(1.0 / 15.0);
        let (faults, duration_min, hour) = if storm_day {
            (rng.random_range(10..=30), 360, rng.random_range(0..12))
        } else {
            (usize::from(rng.random_bool(0.3)), 23 * 60, 0)
        };
        if faults == 0 {
            continue;
        }
        let s = generate(
            net,
            &StormOptions {
                seed: seed * 1000 + u64::from(d),
                faults,
                duration_min,
                noise_per_hour: 2.0,
                meter_failures: 1,
                restore: false,
                start: start + Duration::days(i64::from(d)) + Duration::hours(hour),
                ..StormOptions::default()
            },
        );
        storm.extend(s.events);
    }
    storm.sort_by_key(|e| e.at);
    crews::run(
        net,
        &storm,
        &CrewOptions {
            crews,
            seed,
            ..CrewOptions::default()
        },
        EngineOptions::default(),
        Duration::hours(48),
    )
    .events
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Run the benchmark.
pub fn run(args: ReportBenchArgs) -> anyhow::Result<()> {
    println!("{}", crate::bench::machine_line());
    let text = std::fs::read_to_string(&args.network)?;
    let net = Network::from_geojson(&text, &LoadOptions::default())?;
    let t = Instant::now();
    let events = simulated_year(&net, args.days, args.crews, args.seed);
    let simulate = secs(t);
    println!(
        "faultline bench report: {} days on {} ({} customers), {} crews: {} events in the log (simulated with crews in the loop in {:.1} s)",
        args.days,
        args.network.display(),
        net.summary().customers,
        args.crews,
        events.len(),
        simulate
    );

    // Baseline: the replay of the same log.
    let t = Instant::now();
    let mut engine = Engine::new(net.clone(), EngineOptions::default());
    let mut messages = 0usize;
    for e in &events {
        messages += engine.apply(e).len();
    }
    messages += engine.flush().len();
    let replay = secs(t);

    let t = Instant::now();
    let records = Records::from_engine(&engine, events.first().map(|e| e.at))?;
    let copy = secs(t);
    let t = Instant::now();
    let units = Units::new(&net);
    let unit_time = secs(t);
    let year = Query::parse(
        &QueryText {
            from: events.first().map(|e| e.at.format("%Y-%m-%d").to_string()),
            to: Some(records.as_of.format("%Y-%m-%d").to_string()),
            ..QueryText::default()
        },
        &net,
        records.as_of,
    )?;
    let t = Instant::now();
    let report = build(&net, &units, &records, &year);
    let whole = secs(t);
    let feeder = net.feeder_ids().next().map(str::to_owned);
    let month = Query::parse(
        &QueryText {
            from: Some("2026-06-01".into()),
            to: Some("2026-06-30".into()),
            feeder: feeder.clone(),
            ..QueryText::default()
        },
        &net,
        records.as_of,
    )?;
    let t = Instant::now();
    let month_report = build(&net, &units, &records, &month);
    let month_time = secs(t);
    let t = Instant::now();
    let json = render(&report, Format::Json);
    let json_time = secs(t);
    let t = Instant::now();
    let csv_text = csv::to_csv(&report);
    let csv_time = secs(t);

    let r = &report.reliability;
    println!(
        "the year: {} outages, {} still out at the end ({} cancelled as merged or withdrawn are not counted), {} orders, {} output messages; SAIDI {:.1} min, SAIFI {:.3} ({:.1} min and {:.3} without the {} MEDs, T_MED {:.1} min over {} days)",
        r.outages,
        r.outages_ongoing,
        records.outages.iter().filter(|o| o.is_cancelled()).count(),
        records.orders.len(),
        messages,
        r.all_days.saidi_min,
        r.all_days.saifi,
        r.excluding_med.saidi_min,
        r.excluding_med.saifi,
        r.med.major_event_days.len(),
        r.med.t_med_min.unwrap_or(f64::NAN),
        r.med.history_days,
    );
    let mut minutes: Vec<f64> = report.outages.iter().map(|o| o.minutes).collect();
    minutes.sort_by(f64::total_cmp);
    let q = |p: f64| {
        minutes
            .get(((minutes.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "outage durations: median {:.0} min, 90th percentile {:.0} min, longest {:.0} min",
        q(0.5),
        q(0.9),
        q(1.0)
    );
    if let Some(o) = report.outages.iter().max_by(|a, b| {
        (a.minutes * a.customers_out as f64).total_cmp(&(b.minutes * b.customers_out as f64))
    }) {
        println!(
            "largest: {} {} {} {} customers from {} for {:.0} min ({}; its order's last step: {})",
            o.id,
            o.kind,
            o.device,
            o.customers_out,
            o.started_at,
            o.minutes,
            o.status,
            records
                .orders
                .iter()
                .find(|w| w.outage == o.id)
                .and_then(|w| w.history.last())
                .map_or("no order".to_owned(), |s| format!(
                    "{} at {} by {}",
                    s.state, s.at, s.by
                ))
        );
    }
    println!(
        "one month, feeder {}: {} outages, SAIDI {:.1} min",
        feeder.as_deref().unwrap_or("-"),
        month_report.reliability.outages,
        month_report.reliability.all_days.saidi_min
    );
    println!("{:<58} {:>10} {:>14}", "stage", "ms", "vs replay");
    let rows = [
        (
            "baseline: replay of the year's log (engine rebuild)",
            replay,
        ),
        ("copy the engine's outage and order objects", copy),
        (
            "customer units of the network (once per network)",
            unit_time,
        ),
        ("report: the whole year, whole network", whole),
        ("report: one month, one feeder", month_time),
        ("render the year as JSON", json_time),
        ("render the year as CSV", csv_time),
        (
            "API request for the year: copy + report + JSON",
            copy + whole + json_time,
        ),
    ];
    for (name, s) in rows {
        println!("{:<58} {:>10.1} {:>13.3}x", name, s * 1000.0, s / replay);
    }
    println!(
        "faultline report (offline) = replay + the above: {:.2} s; JSON {:.1} MB, CSV {:.1} MB ({} rows)",
        replay + copy + unit_time + whole + json_time,
        json.len() as f64 / 1e6,
        csv_text.len() as f64 / 1e6,
        csv_text.lines().count() - 1
    );
    Ok(())
}
