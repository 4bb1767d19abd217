//! `faultline bench dispatch`: faultline's optimal assignment against the classic
//! nearest-free-crew rule, on storms played end to end with simulated crews, with
//! plenty of crews and with scarce ones; and the time of one re-solve of a large board.

use std::path::PathBuf;
use std::time::Instant;

use chrono::Duration;
use clap::Args;

use crate::dispatch::{synthetic_board, DispatchOptions, Policy};
use crate::engine::EngineOptions;
use crate::network::{LoadOptions, Network};
use crate::sim::crews::{self, CrewOptions};
use crate::sim::score::{service_figures, ServiceFigures};
use crate::sim::{generate, StormOptions};

/// Arguments of `faultline bench dispatch`.
#[derive(Debug, Args)]
pub struct DispatchBenchArgs {
    /// The network.
    #[arg(long, default_value = "gis-data/bdgd_mux_energia.geojson")]
    pub network: PathBuf,
    /// Crews on shift, one scenario each.
    #[arg(long, value_delimiter = ',', default_values_t = vec![3, 6, 30])]
    pub crews: Vec<usize>,
    /// Faults per storm.
    #[arg(long, default_value_t = 40)]
    pub faults: usize,
    /// Over how many minutes the faults start.
    #[arg(long, default_value_t = 120)]
    pub duration_min: i64,
    /// Storms (seeds) per scenario.
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Waiting orders on the board timed for one re-solve.
    #[arg(long, default_value_t = 1000)]
    pub solve_orders: usize,
    /// Free crews on the board timed for one re-solve.
    #[arg(long, default_value_t = 300)]
    pub solve_crews: usize,
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        100.0 * a as f64 / b as f64
    }
}

/// Run the benchmark and print its table.
pub fn run(args: DispatchBenchArgs) -> anyhow::Result<()> {
    println!("{}", crate::bench::machine_line());
    let text = std::fs::read_to_string(&args.network)?;
    let net = Network::from_geojson(&text, &LoadOptions::default())?;
    println!(
        "faultline bench dispatch: {} ({} customers), storms of {} faults over {} min, 10% call-in, {} seeds per scenario; crews simulated (decline 5%, cannot restore 3%, drive and repair times log-normal)",
        args.network.display(),
        net.summary().customers,
        args.faults,
        args.duration_min,
        args.seeds
    );
    println!();
    println!(
        "{:>6} | {:>15} | {:>20} | {:>20} | {:>20} | {:>8}",
        "crews", "orders", "on site in time %", "restored in time %", "mean min to arrive", "run s"
    );
    println!(
        "{:>6} | {:>7} {:>7} | {:>9} {:>10} | {:>9} {:>10} | {:>9} {:>10} | {:>8}",
        "", "fl", "greedy", "faultline", "greedy", "faultline", "greedy", "faultline", "greedy", ""
    );
    for &crews in &args.crews {
        let mut totals = [ServiceFigures::default(); 2];
        let started = Instant::now();
        for seed in 1..=args.seeds {
            let storm = generate(
                &net,
                &StormOptions {
                    seed,
                    faults: args.faults,
                    duration_min: args.duration_min,
                    restore: false,
                    ..StormOptions::default()
                },
            );
            for (i, policy) in [Policy::Optimal, Policy::Greedy].into_iter().enumerate() {
                let options = EngineOptions {
                    dispatch: DispatchOptions {
                        policy,
                        ..DispatchOptions::default()
                    },
                    ..EngineOptions::default()
                };
                let run = crews::run(
                    &net,
                    &storm.events,
                    &CrewOptions {
                        crews,
                        seed,
                        ..CrewOptions::default()
                    },
                    options,
                    Duration::hours(48),
                );
                totals[i].add(&service_figures(&run.engine));
            }
        }
        let [fl, gr] = totals;
        let mean = |f: &ServiceFigures| f.arrive_min_sum / f.arrived.max(1) as f64;
        println!(
            "{:>6} | {:>7} {:>7} | {:>9.1} {:>10.1} | {:>9.1} {:>10.1} | {:>9.1} {:>10.1} | {:>8.1}",
            crews,
            fl.orders,
            gr.orders,
            pct(fl.on_site_in_time, fl.orders),
            pct(gr.on_site_in_time, gr.orders),
            pct(fl.restored_in_time, fl.orders),
            pct(gr.restored_in_time, gr.orders),
            mean(&fl),
            mean(&gr),
            started.elapsed().as_secs_f64()
        );
    }
    println!();
    // One re-solve of a large board, beside building its cost matrix alone.
    let (board, at) = synthetic_board(args.solve_orders, args.solve_crews, 7);
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut d = board.clone();
        let t = Instant::now();
        d.solve(at);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let assigned = d.orders().filter(|o| o.crew().is_some()).count();
        assert_eq!(assigned, args.solve_orders.min(args.solve_crews));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "one re-solve, {} waiting orders × {} free crews: median {:.1} ms (of 5; criterion: cargo bench --bench assign)",
        args.solve_orders,
        args.solve_crews,
        times[times.len() / 2]
    );
    Ok(())
}
