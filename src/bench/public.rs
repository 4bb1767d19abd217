//! `faultline bench public`: does a storm of public visitors slow the dispatchers?
//!
//! One `faultline serve` child on the bundled BDGD network, fed a simulated storm (so
//! there are outages, orders and dark areas to publish). Then two phases of the same
//! length, in the same run:
//! 1. **baseline**: dispatcher consoles alone — `connections` of them, each asking
//!    `GET /api/v1/orders` (then `/outages`, `/crews`, in turn) every `interval_ms`;
//! 2. **with the public**: the same consoles, plus `GET /public/v1/outages.json` paced at
//!    `rate` requests a second (open loop: a request leaves on its schedule whether or not
//!    the last was answered, over `public_connections` connections).
//!
//! It prints the dispatchers' p50, p99 and max in both phases and their ratio, what the
//! public load achieved (rate, status counts, p99) and the server's CPU in each phase.
//! The server runs with the public rate limit off (`FAULTLINE_PUBLIC_RATE=0`): every
//! request is served, from the feed's cache, which is the cost a deployment that limits
//! at its proxy pays; with the limit on, one address's excess is a cheaper 429.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::loadgen::Latencies;
use super::scratch::ScratchDir;
use super::server::{ServerChild, ServerSetup};
use super::usage::process_cpu_seconds;

/// How long the server has to come up.
const SERVER_READY_WITHIN: Duration = Duration::from_secs(120);
/// Events per request while feeding the storm.
const FEED_BATCH: usize = 2000;

/// `faultline bench public`.
#[derive(Debug, Args)]
pub struct PublicBenchArgs {
    /// The network file.
    #[arg(long, default_value = "gis-data/bdgd_mux_energia.geojson")]
    pub network: PathBuf,
    /// Seconds each phase lasts.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Public requests a second in the second phase.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Connections the public load is spread over.
    #[arg(long, default_value_t = 32)]
    pub public_connections: usize,
    /// Dispatcher consoles.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Milliseconds between two requests of one console.
    #[arg(long, default_value_t = 50)]
    pub interval_ms: u64,
    /// Faults in the simulated storm fed first.
    #[arg(long, default_value_t = 40)]
    pub faults: usize,
    /// The server's log filter.
    #[arg(long, default_value = "warn")]
    pub server_log: String,
}

/// What one paced driver saw.
#[derive(Default)]
struct Seen {
    latencies: Latencies,
    ok: u64,
    other: std::collections::BTreeMap<String, u64>,
    /// Requests that left later than scheduled by more than one interval (the client
    /// could not keep the pace).
    late: u64,
}

impl Seen {
    fn merge(&mut self, o: Seen) {
        self.latencies.0.extend(o.latencies.0);
        self.ok += o.ok;
        for (k, v) in o.other {
            *self.other.entry(k).or_default() += v;
        }
        self.late += o.late;
    }
}

/// Run the benchmark.
pub fn run(args: &PublicBenchArgs) -> anyhow::Result<()> {
    println!("{}", super::machine_line());
    let network = crate::input::load_network(&args.network, false, false)?;
    let storm = crate::sim::generate(
        &network,
        &crate::sim::StormOptions {
            seed: 24,
            faults: args.faults,
            restore: false,
            ..crate::sim::StormOptions::default()
        },
    );
    let scratch = ScratchDir::new("public")?;
    // Every public request is served (see the module docs); set before the child starts.
    std::env::set_var("FAULTLINE_PUBLIC_RATE", "0");
    let server = ServerChild::start(
        &ServerSetup {
            network: &args.network,
            dir: scratch.path(),
            db: None,
            workers: None,
            log_filter: &args.server_log,
        },
        SERVER_READY_WITHIN,
    )?;
    let base = server.base.clone();
    let bearer = format!("Bearer {}", server.token);
    let lines: Vec<String> = storm.events.iter().map(|e| e.to_json()).collect();
    feed(&base, &bearer, &lines)?;
    println!(
        "network {}: {} customers; storm of {} faults, {} events fed",
        args.network.display(),
        network.customers().len(),
        args.faults,
        lines.len()
    );
    // Let the engine apply the storm before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let phase = Duration::from_secs(args.seconds);
    let pid = server.pid();

    let cpu0 = process_cpu_seconds(pid);
    let baseline = consoles(&base, &bearer, args, phase)?;
    let cpu1 = process_cpu_seconds(pid);
    let public_thread = {
        let (base, rate, conns) = (base.clone(), args.rate, args.public_connections);
        std::thread::spawn(move || paced(&base, rate, conns, phase))
    };
    let loaded = consoles(&base, &bearer, args, phase)?;
    let public = public_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the public load thread panicked"))??;
    let cpu2 = process_cpu_seconds(pid);
    server.stop()?;

    let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
    let show = |name: &str, s: &Seen, cpu: Option<f64>| {
        println!(
            "{name:<26} {:>7} ok  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  server CPU {:>5.2} cores  other {:?}",
            s.ok,
            ms(s.latencies.percentile(50.0)),
            ms(s.latencies.percentile(99.0)),
            ms(s.latencies.max()),
            cpu.unwrap_or(f64::NAN) / phase.as_secs_f64(),
            s.other
        );
    };
    show(
        "dispatchers alone",
        &baseline,
        cpu1.zip(cpu0).map(|(b, a)| b - a),
    );
    show(
        "dispatchers + public",
        &loaded,
        cpu2.zip(cpu1).map(|(b, a)| b - a),
    );
    let public_rate = public.ok as f64 / phase.as_secs_f64();
    println!(
        "public outages.json        {:>7} ok  ({public_rate:.0}/s of {} asked)  p50 {:>7.2} ms  p99 {:>7.2} ms  late sends {}  other {:?}",
        public.ok,
        args.rate,
        ms(public.latencies.percentile(50.0)),
        ms(public.latencies.percentile(99.0)),
        public.late,
        public.other
    );
    let ratio = |p: f64| ms(loaded.latencies.percentile(p)) / ms(baseline.latencies.percentile(p));
    println!(
        "dispatchers' latency with the public load / without: p50 ×{:.2}, p99 ×{:.2}",
        ratio(50.0),
        ratio(99.0)
    );
    Ok(())
}

/// Post the storm as NDJSON batches.
fn feed(base: &str, bearer: &str, lines: &[String]) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        for chunk in lines.chunks(FEED_BATCH) {
            let mut body = chunk.join("\n");
            body.push('\n');
            let mut resp = client
                .post(format!("{base}/api/v1/events"))
                .insert_header(("Authorization", bearer))
                .insert_header(("Content-Type", "application/x-ndjson"))
                .send_body(body)
                .await
                .map_err(|e| anyhow::anyhow!("feeding the storm: {e}"))?;
            if resp.status().as_u16() != 202 {
                let text = resp.body().await.unwrap_or_default();
                anyhow::bail!(
                    "feeding the storm: {} {}",
                    resp.status(),
                    String::from_utf8_lossy(&text)
                );
            }
        }
        Ok(())
    })
}

/// The dispatcher consoles for `phase`: each asks for orders, outages, crews in turn,
/// one request every `interval_ms`.
fn consoles(
    base: &str,
    bearer: &str,
    args: &PublicBenchArgs,
    phase: Duration,
) -> anyhow::Result<Seen> {
    const PATHS: [&str; 3] = ["/api/v1/orders", "/api/v1/outages", "/api/v1/crews"];
    let interval = Duration::from_millis(args.interval_ms.max(1));
    let (base, bearer, n) = (base.to_owned(), bearer.to_owned(), args.connections);
    std::thread::Builder::new()
        .name("bench-consoles".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let client = awc::Client::builder()
                    .connector(awc::Connector::new().limit(n.max(1)))
                    .timeout(Duration::from_secs(30))
                    .finish();
                let end = Instant::now() + phase;
                let tasks: Vec<_> = (0..n)
                    .map(|i| {
                        let (client, base, bearer) = (client.clone(), base.clone(), bearer.clone());
                        actix_web::rt::spawn(async move {
                            let mut seen = Seen::default();
                            let mut next = Instant::now() + interval * i as u32 / n.max(1) as u32;
                            let mut k = i;
                            while next < end {
                                actix_web::rt::time::sleep_until(next.into()).await;
                                let path = PATHS[k % PATHS.len()];
                                k += 1;
                                let req = client
                                    .get(format!("{base}{path}"))
                                    .insert_header(("Authorization", bearer.as_str()));
                                one(req, &mut seen).await;
                                next += interval;
                                if Instant::now() > next + interval {
                                    seen.late += 1;
                                    next = Instant::now();
                                }
                            }
                            seen
                        })
                    })
                    .collect();
                let mut all = Seen::default();
                for t in tasks {
                    if let Ok(s) = t.await {
                        all.merge(s);
                    }
                }
                all.latencies.sort();
                all
            })
        })
        .context("starting the consoles' thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("the consoles' thread panicked"))
}

/// `GET /public/v1/outages.json` at `rate` a second over `connections` connections.
fn paced(base: &str, rate: u32, connections: usize, phase: Duration) -> anyhow::Result<Seen> {
    let connections = connections.max(1);
    let interval = Duration::from_secs_f64(connections as f64 / f64::from(rate.max(1)));
    let base = base.to_owned();
    Ok(actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder()
            .connector(awc::Connector::new().limit(connections))
            .timeout(Duration::from_secs(30))
            .finish();
        let end = Instant::now() + phase;
        let tasks: Vec<_> = (0..connections)
            .map(|i| {
                let (client, base) = (client.clone(), base.clone());
                actix_web::rt::spawn(async move {
                    let mut seen = Seen::default();
                    let mut next = Instant::now() + interval * i as u32 / connections as u32;
                    while next < end {
                        actix_web::rt::time::sleep_until(next.into()).await;
                        one(
                            client.get(format!("{base}/public/v1/outages.json")),
                            &mut seen,
                        )
                        .await;
                        next += interval;
                        if Instant::now() > next + interval {
                            seen.late += 1;
                            next = Instant::now();
                        }
                    }
                    seen
                })
            })
            .collect();
        let mut all = Seen::default();
        for t in tasks {
            if let Ok(s) = t.await {
                all.merge(s);
            }
        }
        all.latencies.sort();
        all
    }))
}

/// Send one GET, read the whole answer, and count it.
async fn one(req: awc::ClientRequest, seen: &mut Seen) {
    let started = Instant::now();
    match req.send().await {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let body = resp.body().limit(1 << 26).await;
            let latency = started.elapsed();
            match (status, body) {
                (200, Ok(_)) => {
                    seen.ok += 1;
                    seen.latencies
                        .0
                        .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
                }
                (s, _) => *seen.other.entry(format!("status {s}")).or_default() += 1,
            }
        }
        Err(e) => {
            let kind = e.to_string();
            let kind = kind.split(':').next().unwrap_or("error").to_owned();
            *seen.other.entry(kind).or_default() += 1;
        }
    }
}
