//! `faultline bench inference`: faultline's inference against the classic rule and the
//! oracle, on storms over every bundled network.

use std::path::PathBuf;

use clap::Args;

use crate::network::{LoadOptions, Network};
use crate::sim::score::{score, StormScore, CHECKPOINTS_MIN};
use crate::sim::{generate, StormOptions};

/// Arguments of `faultline bench inference`.
#[derive(Debug, Args)]
pub struct InferenceBenchArgs {
    /// The networks (default: every `*.geojson` in gis-data/).
    #[arg(long)]
    pub network: Vec<PathBuf>,
    /// Call-in rates to try.
    #[arg(long, value_delimiter = ',', default_values_t = vec![0.05, 0.10, 0.30])]
    pub call_rates: Vec<f64>,
    /// Storms (seeds) per network and rate, at least.
    #[arg(long, default_value_t = 12)]
    pub seeds: u64,
    /// Play more storms until this many faults are counted at +10 min (a small
    /// network's storm has 5 faults: a dozen storms give 30 counted faults, where one
    /// unlucky fault moves a share by 3 points). At most 20 times `--seeds` storms.
    #[arg(long, default_value_t = 200)]
    pub min_counted: usize,
    /// Unrelated calls per customer per hour.
    #[arg(long, default_value_t = 3.0e-4)]
    pub noise_per_customer_hour: f64,
    /// Share of smart meters.
    #[arg(long, default_value_t = 0.3)]
    pub ami_share: f64,
    /// Share of breakers that SCADA watches (the others trip without a SCADA message).
    #[arg(long, default_value_t = 1.0)]
    pub scada_share: f64,
    /// Share of AMI messages lost on the way.
    #[arg(long, default_value_t = 0.2)]
    pub ami_loss: f64,
    /// Median delay before a dark customer calls, minutes (faultline assumes 12).
    #[arg(long, default_value_t = 10.0)]
    pub call_delay_median_min: f64,
    /// Faults per storm (default: a tenth of the network's devices, 5 to 25).
    #[arg(long)]
    pub faults: Option<usize>,
    /// Over how many minutes a storm's faults start.
    #[arg(long, default_value_t = 180)]
    pub duration_min: i64,
    /// Print every miss (a fault the oracle found and faultline did not).
    #[arg(long)]
    pub verbose: bool,
}

#[derive(Default)]
struct Totals {
    counted: [usize; 4],
    found: [usize; 4],
    oracle: [usize; 4],
    of_oracle: [usize; 4],
    false_end_max: usize,
    first_correct: Vec<f64>,
    events: usize,
    seconds: f64,
}

impl Totals {
    fn add(&mut self, s: &StormScore) {
        for i in 0..4 {
            self.counted[i] += s.counted[i];
            self.found[i] += s.found[i];
            self.oracle[i] += s.oracle_found[i];
            self.of_oracle[i] += s.found_of_oracle[i];
        }
        self.false_end_max = self.false_end_max.max(s.false_outages_at_end);
        self.first_correct
            .extend_from_slice(&s.minutes_to_first_correct);
        self.events += s.events;
        self.seconds += s.engine_seconds;
    }

    fn median_first(&self) -> f64 {
        let mut v = self.first_correct.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "  -  ".into()
    } else {
        format!("{:5.1}", 100.0 * a as f64 / b as f64)
    }
}

fn default_networks() -> Vec<PathBuf> {
    let dir = std::path::Path::new("gis-data");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "geojson"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Run the benchmark and print its table.
pub fn run(args: InferenceBenchArgs) -> anyhow::Result<()> {
    let networks = if args.network.is_empty() {
        default_networks()
    } else {
        args.network.clone()
    };
    println!("faultline bench inference: storms with noise ({} calls per customer-hour), {}% smart meters, {}% of AMI messages lost, {}% of breakers watched by SCADA, calls after a median {} min, faults over {} min, {} seeds each or more, until {} faults are counted at +10 min", args.noise_per_customer_hour, args.ami_share * 100.0, args.ami_loss * 100.0, args.scada_share * 100.0, args.call_delay_median_min, args.duration_min, args.seeds, args.min_counted);
    println!("exact device found at +5/+10/+15/+30 min, % of faults with ≥ 2 pieces of evidence; 'of oracle' = % of the faults the oracle finds");
    println!();
    println!("{:<28} {:>5} {:>9} | {:<23} | {:<23} | {:<23} | {:<23} | {:>5} {:>5} | {:>6} {:>6} | {:>9}",
        "network", "calls", "faults", "faultline found", "baseline found", "faultline of oracle", "baseline of oracle", "false", "false", "first", "first", "replay");
    println!("{:<28} {:>5} {:>9} | {:<23} | {:<23} | {:<23} | {:<23} | {:>5} {:>5} | {:>6} {:>6} | {:>9}",
        "", "", "(counted)", "+5    +10   +15   +30", "+5    +10   +15   +30", "+5    +10   +15   +30", "+5    +10   +15   +30", "fl", "base", "fl min", "base", "events/s");
    for path in networks {
        let text = std::fs::read_to_string(&path)?;
        let plain = Network::from_geojson(&text, &LoadOptions::default())?;
        // A network published without lateral protection gets the documented rule:
        // a storm on a network with no fuses tests nothing but SCADA.
        let fuses = plain.summary().devices.get("fuse").copied().unwrap_or(0);
        let (net, note) = if fuses == 0 {
            (
                Network::from_geojson(
                    &text,
                    &LoadOptions {
                        add_protection: true,
                        ..LoadOptions::default()
                    },
                )?,
                " +prot",
            )
        } else {
            (plain, "")
        };
        let customers = net.summary().customers as f64;
        let faults = args
            .faults
            .unwrap_or((net.device_count() / 10).clamp(5, 25));
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for &rate in &args.call_rates {
            let mut fl = Totals::default();
            let mut base = Totals::default();
            let mut misses = Vec::new();
            let mut seeds = 0;
            while seeds < args.seeds
                || (fl.counted[1] < args.min_counted && seeds < args.seeds.saturating_mul(20))
            {
                seeds += 1;
                let seed = seeds;
                let options = StormOptions {
                    seed,
                    faults,
                    call_rate: rate,
                    ami_share: args.ami_share,
                    noise_per_hour: (customers * args.noise_per_customer_hour).max(1.0),
                    scada_share: args.scada_share,
                    ami_loss: args.ami_loss,
                    call_delay_median_min: args.call_delay_median_min,
                    duration_min: args.duration_min,
                    ..StormOptions::default()
                };
                let storm = generate(&net, &options);
                let f = score(&net, &storm, false);
                misses.extend(f.misses.iter().map(|m| format!("seed {seed}: {m}")));
                fl.add(&f);
                base.add(&score(&net, &storm, true));
            }
            let row = |t: &Totals, of: bool| -> String {
                (0..4)
                    .map(|i| {
                        if of {
                            pct(t.of_oracle[i], t.oracle[i])
                        } else {
                            pct(t.found[i], t.counted[i])
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            println!(
                "{:<28} {:>5.2} {:>9} | {} | {} | {} | {} | {:>5} {:>5} | {:>6.1} {:>6.1} | {:>9.0}",
                format!("{name}{note}"),
                rate,
                format!("{}×{} ({})", seeds, faults, fl.counted[1]),
                row(&fl, false),
                row(&base, false),
                row(&fl, true),
                row(&base, true),
                fl.false_end_max,
                base.false_end_max,
                fl.median_first(),
                base.median_first(),
                fl.events as f64 / fl.seconds.max(1e-9),
            );
            if args.verbose {
                for m in misses {
                    println!("    miss {m}");
                }
            }
        }
    }
    println!();
    println!("checkpoints (min): {CHECKPOINTS_MIN:?}; 'false' = device outages left at the end of the storm on devices that never failed (worst seed)");
    Ok(())
}

/// Arguments of `faultline bench replay`.
#[derive(Debug, Args)]
pub struct ReplayBenchArgs {
    /// The network (default: the largest bundled one).
    #[arg(long, default_value = "gis-data/bdgd_mux_energia.geojson")]
    pub network: PathBuf,
    /// Events to replay, at least (storms are added day after day until there are this many).
    #[arg(long, default_value_t = 2_000_000)]
    pub events: usize,
}

/// Replay speed: a plain JSON parse of the file (the ceiling), faultline's event
/// parsing, the engine alone, and `replay` end to end (parse, sort, apply, write).
pub fn run_replay(args: ReplayBenchArgs) -> anyhow::Result<()> {
    use std::io::Write;
    use std::time::Instant;
    let text = std::fs::read_to_string(&args.network)?;
    let net = Network::from_geojson(&text, &LoadOptions::default())?;
    let mut events = Vec::new();
    let mut day = 0;
    while events.len() < args.events {
        let storm = generate(
            &net,
            &StormOptions {
                seed: 1000 + day,
                faults: 40,
                call_rate: 0.3,
                ami_share: 0.8,
                start: StormOptions::default().start + chrono::Duration::days(day as i64),
                ..StormOptions::default()
            },
        );
        events.extend(storm.events);
        day += 1;
    }
    let mut ndjson = String::with_capacity(events.len() * 200);
    for e in &events {
        ndjson.push_str(&e.to_json());
        ndjson.push('\n');
    }
    let n = events.len() as f64;
    println!(
        "faultline bench replay: {} events ({} storm days) on {}, {:.0} MB of NDJSON",
        events.len(),
        day,
        args.network.display(),
        ndjson.len() as f64 / 1e6
    );

    let t = Instant::now();
    let mut fields = 0usize;
    for line in ndjson.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        fields += v.as_object().map_or(0, |o| o.len());
    }
    let ceiling = t.elapsed().as_secs_f64();
    std::hint::black_box(fields);

    let t = Instant::now();
    let parsed = crate::events::parse_ndjson(&ndjson)?;
    let parse = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut engine =
        crate::engine::Engine::new(net.clone(), crate::engine::EngineOptions::default());
    let mut outputs = 0usize;
    for e in &parsed {
        outputs += engine.apply(e).len();
    }
    let apply = t.elapsed().as_secs_f64();
    // The snapshot `serve` would keep of this engine: its size, the time to write it
    // out, and where the bytes go.
    let t = Instant::now();
    let snapshot_bytes = engine.snapshot().len();
    let snapshot_secs = t.elapsed().as_secs_f64();
    let parts: Vec<String> = engine
        .snapshot_parts()
        .iter()
        .map(|(name, bytes)| {
            format!(
                "{name} {:.0}%",
                100.0 * *bytes as f64 / snapshot_bytes.max(1) as f64
            )
        })
        .collect();
    drop(engine);

    let t = Instant::now();
    let mut parsed = crate::events::parse_ndjson(&ndjson)?;
    parsed.sort_by_key(|e| e.at);
    let mut engine =
        crate::engine::Engine::new(net.clone(), crate::engine::EngineOptions::default());
    let mut sink = std::io::BufWriter::new(std::io::sink());
    // As `faultline replay` writes: one line buffer for every message.
    let mut line = String::new();
    for e in &parsed {
        for o in engine.apply(e) {
            line.clear();
            o.push_json(&mut line);
            line.push('\n');
            sink.write_all(line.as_bytes())?;
        }
    }
    sink.flush()?;
    let full = t.elapsed().as_secs_f64();

    // A restart of `serve`: the engine rebuilt from the SQLite log (and the messages
    // written once), the way `faultline serve` starts; that start keeps a snapshot of
    // the engine at the end of the log, and a second restart begins from it.
    let (restart, restart_from_snapshot) = {
        let dir = tempfile_dir()?;
        let db = dir.join("log.db");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let secs = rt.block_on(async {
            let (store, writer) = crate::store::Store::open(
                &db.to_string_lossy(),
                crate::store::StoreOptions::default(),
            )
            .await?;
            for chunk in parsed.chunks(20_000) {
                store.append(chunk).await?;
            }
            let mut secs = Vec::new();
            for _ in 0..2 {
                let t = Instant::now();
                let (stop, shutdown) = tokio::sync::watch::channel(false);
                let engine = crate::engine::Engine::new(
                    net.clone(),
                    crate::engine::EngineOptions::default(),
                );
                let live = crate::live::Live::start(engine, store.clone(), shutdown).await?;
                secs.push(t.elapsed().as_secs_f64());
                let _ = stop.send(true);
                drop(live);
            }
            drop(store);
            writer.finish(std::time::Duration::from_secs(10)).await;
            anyhow::Ok((secs[0], secs[1]))
        })?;
        let _ = std::fs::remove_dir_all(&dir);
        secs
    };
    println!("{:<44} {:>12} {:>10}", "stage", "events/s", "vs ceiling");
    for (name, secs) in [
        ("serde_json::Value parse of each line (ceiling)", ceiling),
        ("faultline event parsing (validated, typed)", parse),
        ("engine apply alone", apply),
        ("replay end to end (parse, sort, apply, write)", full),
        ("serve restart: rebuild from the SQLite log", restart),
        ("serve restart from the snapshot", restart_from_snapshot),
    ] {
        println!("{:<44} {:>12.0} {:>9.2}x", name, n / secs, ceiling / secs);
    }
    println!(
        "snapshot of the engine at the end: {:.1} MB, written out in {:.2} s; {}",
        snapshot_bytes as f64 / 1e6,
        snapshot_secs,
        parts.join(", ")
    );
    println!(
        "{} output messages; a restart of serve over this log took {:.1} s from the whole log, {:.2} s from the snapshot kept by that restart ({:.0}x faster)",
        outputs,
        restart,
        restart_from_snapshot,
        restart / restart_from_snapshot.max(1e-9)
    );
    Ok(())
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("faultline-bench-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
