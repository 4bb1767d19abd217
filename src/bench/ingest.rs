//! `faultline bench ingest`: how many events per second the server makes durable, as
//! NDJSON batches and as single-event requests, how long an acknowledgement takes,
//! and what bounds each.
//!
//! # What is measured
//! The real server ([`super::server`]: this executable as `faultline serve`, in a
//! child process, on a fresh SQLite log with `synchronous = FULL`) is driven over
//! 127.0.0.1 by the closed-loop load generator of [`super::loadgen`] in this process.
//! Four phases of `--seconds` each, at `--concurrency` connections:
//! 1. `GET /healthz`: the HTTP floor (the handler pings the read pool, so it includes
//!    one hop to a SQLite thread);
//! 2. `GET` of a path that does not exist: the pure HTTP floor (routing, a 404);
//! 3. NDJSON batches of `--batch` reports: events acknowledged per second;
//! 4. single-event `application/json` reports: requests per second and the
//!    acknowledgement latency (p50, p99, max, from every request, sorted).
//!
//! # The baselines beside them, from the same run
//! - the **fsync floor**: 4 KiB appended and `fdatasync`ed in a loop, in the directory
//!   of the database: how many durable writes per second the disk allows one thread.
//!   Events per second ÷ fsyncs per second is the events each fsync carries: above 1
//!   only if group commit works;
//! - the **parse floor**: [`parse_ndjson`] over the same batch bodies, in this
//!   process on one thread, alone and with what the server also does per event before
//!   the log (`check_against` the network, the canonical JSON stored);
//! - **CPU per thread** of the server (from `/proc`, see [`super::usage`]) and of the
//!   load generator, and the **commits** the writer logged: which of parsing, fsync,
//!   the single writer, HTTP or the load generator is the bound.
//!
//! At the end every stored event is read back (`GET /api/v1/events`, paged): the seqs
//! must be gap-free and the benchmark's reports must be exactly the ones acknowledged,
//! no id twice. Events the server appends by itself (the live engine's `tick` when
//! the log is quiet) are counted apart.
//! The server is then stopped with SIGTERM and must exit cleanly.

use std::collections::{BTreeMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use clap::Args;

use super::loadgen::{self, Latencies, Outcome, Target, Workload};
use super::scratch::ScratchDir;
use super::server::{ServerChild, ServerSetup};
use super::usage::{self, CpuUsage, ThreadTimes};
use crate::events::parse_ndjson;
use crate::network::{LoadOptions, Network};

/// Goal of the Foundation issue: NDJSON batches, events per second.
const GOAL_BATCH_EVENTS_PER_S: f64 = 50_000.0;
/// Goal: single-event requests per second.
const GOAL_SINGLE_REQUESTS_PER_S: f64 = 5_000.0;
/// Goal: p99 acknowledgement of a single event.
const GOAL_SINGLE_P99: Duration = Duration::from_millis(20);
/// The parse floor runs at most this long per measure.
const PARSE_FLOOR_TIME: Duration = Duration::from_secs(3);
/// A page of the final read-back.
const READ_BACK_PAGE: u64 = 100_000;
/// The server must answer /healthz within this after starting.
const SERVER_READY_WITHIN: Duration = Duration::from_secs(60);

/// `faultline bench ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// Seconds each load phase runs (the fsync floor too).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub seconds: u64,
    /// Requests in flight at once (connections).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub concurrency: u64,
    /// Reports per NDJSON request.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch: u64,
    /// The network the server loads; the reports name its customers.
    #[arg(long, default_value = "gis-data/ieee123.geojson")]
    pub network: PathBuf,
    /// The server's log filter (`FAULTLINE_LOG`); keep `faultline::store=debug` in it
    /// for commits to be counted. The default is the server's own default (`info`,
    /// which logs every request) plus that.
    #[arg(long, default_value = "info,faultline::store=debug")]
    pub server_log: String,
    /// HTTP worker threads of the server (default: the server's, one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Load-generator threads in this process, sharing the connections.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub client_threads: u64,
    /// Leave the temporary directory (database, server log) in place.
    #[arg(long)]
    pub keep: bool,
    /// A `postgres://` URL: run the server on a fresh schema of that database (dropped
    /// afterwards) instead of a SQLite file.
    #[arg(long)]
    pub db: Option<String>,
}

/// `faultline bench ingest`.
pub fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let seconds = Duration::from_secs(args.seconds);
    let concurrency = args.concurrency as usize;
    let batch = args.batch as usize;
    let client_threads = args.client_threads as usize;
    println!("{}", super::machine_line());

    let text = std::fs::read_to_string(&args.network)
        .with_context(|| format!("reading {}", args.network.display()))?;
    let network = Network::from_geojson(&text, &LoadOptions::default())
        .with_context(|| format!("loading {}", args.network.display()))?;
    let customers: Vec<String> = network.customers().iter().map(|c| c.id.clone()).collect();
    ensure!(
        !customers.is_empty(),
        "{} has no service points for the reports to name",
        args.network.display()
    );
    let mut scratch = ScratchDir::new("ingest")?;
    if args.keep {
        scratch.keep();
    }
    println!(
        "bench ingest: network {} ({} service points), {} s per phase, {concurrency} connections on {client_threads} load thread(s), batches of {batch}, server log filter {:?}",
        args.network.display(),
        customers.len(),
        args.seconds,
        args.server_log
    );

    let pg = args
        .db
        .as_deref()
        .map(super::server::PgScratch::new)
        .transpose()?;
    println!(
        "event log: {}",
        match &args.db {
            Some(url) => format!(
                "PostgreSQL {} (a fresh schema)",
                crate::store::redacted(url)
            ),
            None => "SQLite file in a temporary directory".into(),
        }
    );
    let fsync = fsync_floor(scratch.path(), seconds)?;
    let parse = parse_floor(&network, &customers, batch)?;

    let server = ServerChild::start(
        &ServerSetup {
            db: pg.as_ref().map(|p| p.url.as_str()),
            network: &args.network,
            dir: scratch.path(),
            workers: args.workers,
            log_filter: &args.server_log,
        },
        SERVER_READY_WITHIN,
    )?;
    let target = Target {
        base: server.base.clone(),
        bearer: format!("Bearer {}", server.token),
        customers: Arc::new(customers),
        next_id: Arc::new(AtomicU64::new(1)),
    };
    let workloads = [
        (
            "GET /healthz",
            Workload::Get {
                path: "/healthz",
                expect: 200,
            },
        ),
        (
            "GET /no-such-path (404)",
            Workload::Get {
                path: "/bench/no-such-path",
                expect: 404,
            },
        ),
        ("NDJSON batches", Workload::Batches(batch)),
        ("single events", Workload::Single),
    ];
    let mut phases = Vec::new();
    for (name, workload) in workloads {
        let phase = measure_phase(
            &server,
            &target,
            name,
            workload,
            concurrency,
            client_threads,
            seconds,
        )?;
        if phase.outcome.failures > 0 {
            eprintln!(
                "{name}: {} failed request(s); first: {}",
                phase.outcome.failures,
                phase.outcome.first_failure.as_deref().unwrap_or("?")
            );
        }
        phases.push(phase);
    }
    let acked: u64 = phases.iter().map(|p| p.outcome.events_acked).sum();
    let read_back = actix_web::rt::System::new().block_on(read_back(&target));
    let server_peak_kib = server.pid().and_then(usage::peak_rss_kib_of);
    let stopped = server.stop();
    if !matches!(&stopped, Ok(status) if status.success()) {
        scratch.keep(); // the server's log tells why
    }

    print_report(&Report {
        fsync: &fsync,
        parse: &parse,
        phases: &phases,
        concurrency,
        batch,
        server_peak_kib,
    });
    let read_back = read_back?;
    let others: Vec<String> = read_back
        .others
        .iter()
        .map(|(kind, n)| format!("{kind} ×{n}"))
        .collect();
    println!(
        "\nverified: {} benchmark reports stored, {} acknowledged, {} distinct ids; seqs 1..{} gap-free: {}; events the server appended itself: {}",
        read_back.bench_reports,
        acked,
        read_back.distinct_bench_ids,
        read_back.last_seq,
        if read_back.gap_free { "yes" } else { "NO" },
        if others.is_empty() { "none".to_owned() } else { others.join(", ") }
    );
    match &stopped {
        Ok(status) if status.success() => println!("server stopped by SIGTERM: clean exit"),
        Ok(status) => println!(
            "server stopped by SIGTERM: exit {status} (its log: {})",
            scratch.path().join("server.log").display()
        ),
        Err(e) => println!("server stop: {e:#}"),
    }
    ensure!(
        read_back.bench_reports == acked
            && read_back.distinct_bench_ids == acked
            && read_back.gap_free
            && read_back.events == read_back.last_seq as u64,
        "the log does not hold exactly the acknowledged events"
    );
    let failures: u64 = phases.iter().map(|p| p.outcome.failures).sum();
    ensure!(failures == 0, "{failures} request(s) failed (see above)");
    stopped?;
    Ok(())
}

/// Appending 4 KiB and `fdatasync`ing, in a loop, for `duration`.
struct FsyncFloor {
    per_s: f64,
    latencies: Latencies,
}

fn fsync_floor(dir: &Path, duration: Duration) -> anyhow::Result<FsyncFloor> {
    let path = dir.join("fsync-floor.bin");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    let block = [0x5au8; 4096];
    let mut latencies = Latencies::default();
    let started = Instant::now();
    // Bounded in count too: a disk that lies about fsync would otherwise fill up.
    while started.elapsed() < duration && latencies.0.len() < 2_000_000 {
        let t = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        latencies
            .0
            .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    let elapsed = started.elapsed();
    drop(file);
    std::fs::remove_file(&path)?;
    latencies.sort();
    Ok(FsyncFloor {
        per_s: latencies.0.len() as f64 / elapsed.as_secs_f64(),
        latencies,
    })
}

/// Events per second of the server's per-event CPU work, on one thread of this process.
struct ParseFloor {
    parse_per_s: f64,
    full_per_s: f64,
}

fn parse_floor(
    network: &Network,
    customers: &[String],
    batch: usize,
) -> anyhow::Result<ParseFloor> {
    let bodies: Vec<String> = (0..8u64)
        .map(|i| loadgen::ndjson_body(i * batch as u64, batch, customers))
        .collect();
    let measure = |full: bool| -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut events = 0u64;
        let mut sink = 0usize;
        while started.elapsed() < PARSE_FLOOR_TIME && events < 100_000_000 {
            for body in &bodies {
                let parsed = parse_ndjson(body)?;
                if full {
                    for e in &parsed {
                        e.check_against(network)?;
                        sink += e.to_json().len();
                    }
                }
                events += parsed.len() as u64;
            }
        }
        std::hint::black_box(sink);
        Ok(events as f64 / started.elapsed().as_secs_f64())
    };
    Ok(ParseFloor {
        parse_per_s: measure(false)?,
        full_per_s: measure(true)?,
    })
}

/// One load phase and what the server and this process did meanwhile.
struct Phase {
    name: String,
    workload: Workload,
    outcome: Outcome,
    server_cpu: CpuUsage,
    server_cpu_total: Option<f64>,
    client_cpu: Option<f64>,
    commits: Option<u64>,
}

fn measure_phase(
    server: &ServerChild,
    target: &Target,
    name: &str,
    workload: Workload,
    concurrency: usize,
    client_threads: usize,
    duration: Duration,
) -> anyhow::Result<Phase> {
    let pid = server.pid();
    let threads_before = ThreadTimes::read(pid);
    let server_before = pid.and_then(|p| usage::process_cpu_seconds(Some(p)));
    let client_before = usage::process_cpu_seconds(None);
    let commits_before = server.commits_logged();
    let started = Instant::now();
    let outcome = loadgen::drive(target, workload, concurrency, client_threads, duration)?;
    let wall = started.elapsed();
    let per_s = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(b), Some(a)) => Some((a - b) / wall.as_secs_f64()),
        _ => None,
    };
    let commits = match (commits_before, server.commits_logged()) {
        (Some(b), Some(a)) if a > 0 => Some(a - b),
        _ => None,
    };
    Ok(Phase {
        name: match workload {
            Workload::Batches(n) => format!("{name} of {n}"),
            _ => name.to_owned(),
        },
        workload,
        server_cpu: ThreadTimes::read(pid).usage_since(&threads_before, wall),
        server_cpu_total: per_s(
            server_before,
            pid.and_then(|p| usage::process_cpu_seconds(Some(p))),
        ),
        client_cpu: per_s(client_before, usage::process_cpu_seconds(None)),
        commits,
        outcome,
    })
}

/// What the final read-back found.
struct ReadBack {
    /// Every stored event, the benchmark's and the server's own.
    events: u64,
    last_seq: i64,
    gap_free: bool,
    /// Stored reports whose id the load generator made (`BENCH-…`).
    bench_reports: u64,
    /// Distinct ids among them.
    distinct_bench_ids: u64,
    /// Events the server appended itself (such as `tick`), by type.
    others: BTreeMap<String, u64>,
}

/// Read every stored event back, page by page, checking seqs and report ids.
async fn read_back(target: &Target) -> anyhow::Result<ReadBack> {
    let client = awc::Client::builder()
        .timeout(loadgen::REQUEST_TIMEOUT)
        .finish();
    let mut found = ReadBack {
        events: 0,
        last_seq: 0,
        gap_free: true,
        bench_reports: 0,
        distinct_bench_ids: 0,
        others: BTreeMap::new(),
    };
    let mut ids: HashSet<String> = HashSet::new();
    // Bounded: at most this many pages (10^10 events), far beyond any run.
    for _ in 0..100_000 {
        let mut response = client
            .get(format!(
                "{}/api/v1/events?since={}&limit={READ_BACK_PAGE}",
                target.base, found.last_seq
            ))
            .insert_header(("Authorization", target.bearer.as_str()))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("reading the log back: {e}"))?;
        ensure!(
            response.status().as_u16() == 200,
            "reading the log back: status {}",
            response.status()
        );
        let body = response
            .body()
            .limit(1 << 30)
            .await
            .map_err(|e| anyhow::anyhow!("reading the log back: {e}"))?;
        let text = std::str::from_utf8(&body).context("the log is not UTF-8")?;
        if text.trim().is_empty() {
            found.distinct_bench_ids = ids.len() as u64;
            return Ok(found);
        }
        for line in text.lines() {
            let v: serde_json::Value =
                serde_json::from_str(line).context("a stored line is not JSON")?;
            let seq = v["seq"].as_i64().context("a stored line has no seq")?;
            found.gap_free &= seq == found.last_seq + 1;
            found.last_seq = seq;
            found.events += 1;
            match v["id"].as_str() {
                Some(id) if v["type"] == "report" && id.starts_with(loadgen::REPORT_ID_PREFIX) => {
                    found.bench_reports += 1;
                    ids.insert(id.to_owned());
                }
                _ => {
                    let kind = v["type"].as_str().unwrap_or("?").to_owned();
                    *found.others.entry(kind).or_default() += 1;
                }
            }
        }
    }
    bail!("the log did not end after 100,000 pages")
}

struct Report<'a> {
    fsync: &'a FsyncFloor,
    parse: &'a ParseFloor,
    phases: &'a [Phase],
    concurrency: usize,
    batch: usize,
    server_peak_kib: Option<u64>,
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.2}", d.as_secs_f64() * 1e3))
}

fn cores(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{x:.2}"))
}

/// Thousands separated by commas: `51234.5` → `51,235`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_report(r: &Report<'_>) {
    println!("\nbaselines (same run)");
    println!(
        "  fsync floor: 4 KiB append + fdatasync, one thread, same directory: {} /s (p50 {} ms, p99 {} ms)",
        thousands(r.fsync.per_s),
        ms(r.fsync.latencies.percentile(50.0)),
        ms(r.fsync.latencies.percentile(99.0))
    );
    println!(
        "  parse floor, one thread: parse_ndjson {} events/s; + check_against + canonical JSON {} events/s",
        thousands(r.parse.parse_per_s),
        thousands(r.parse.full_per_s)
    );

    println!("\nload phases ({} connections, closed loop)", r.concurrency);
    println!(
        "  {:<26} {:>9} {:>10} {:>8} {:>8} {:>8} {:>9} {:>10} {:>7} {:>7}",
        "phase",
        "req/s",
        "events/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "commits/s",
        "ev/commit",
        "server",
        "client"
    );
    for p in r.phases {
        let o = &p.outcome;
        let secs = o.elapsed.as_secs_f64().max(1e-9);
        let (commits_per_s, per_commit) = match p.commits {
            Some(c) if c > 0 && o.events_acked > 0 => (
                if c as f64 / secs < 100.0 {
                    format!("{:.1}", c as f64 / secs)
                } else {
                    thousands(c as f64 / secs)
                },
                format!("{:.1}", o.events_acked as f64 / c as f64),
            ),
            _ => ("-".into(), "-".into()),
        };
        println!(
            "  {:<26} {:>9} {:>10} {:>8} {:>8} {:>8} {:>9} {:>10} {:>7} {:>7}",
            p.name,
            thousands(o.requests_per_s()),
            if o.events_acked > 0 {
                thousands(o.events_per_s())
            } else {
                "-".into()
            },
            ms(o.latencies.percentile(50.0)),
            ms(o.latencies.percentile(99.0)),
            ms(o.latencies.max()),
            commits_per_s,
            per_commit,
            cores(p.server_cpu_total),
            cores(p.client_cpu)
        );
    }
    println!(
        "  (server, client: CPU used, in cores; {} available)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  server peak RSS over the run: {}",
        r.server_peak_kib
            .map_or("n/a".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
    );
    println!("\nbusiest server threads (cores)");
    for p in r.phases {
        println!("  {:<26} {}", p.name, p.server_cpu.describe(4));
    }

    println!("\nratios (against the same run's baselines)");
    let floor_of = |path: &str| {
        r.phases
            .iter()
            .find(|p| matches!(p.workload, Workload::Get { path: q, .. } if q == path))
            .map(|p| p.outcome.requests_per_s())
    };
    let http_floor = floor_of("/bench/no-such-path");
    let healthz = floor_of("/healthz");
    let ratio = |x: f64, floor: Option<f64>| {
        floor.map_or("n/a".into(), |f| format!("{:.2}", x / f.max(1e-9)))
    };
    for p in r.phases {
        let o = &p.outcome;
        if o.events_acked == 0 {
            continue;
        }
        println!("  {}:", p.name);
        println!(
            "    events/s ÷ fsyncs/s of the floor = {:.1} events per fsync (group commit: more than 1 only if it works)",
            o.events_per_s() / r.fsync.per_s.max(1e-9)
        );
        if let Some(c) = p.commits.filter(|&c| c > 0) {
            let commits_per_s = c as f64 / o.elapsed.as_secs_f64().max(1e-9);
            println!(
                "    commits: {:.1} requests and {:.0} events per commit; commits/s ÷ fsyncs/s = {:.2}%",
                o.ok_requests as f64 / c as f64,
                o.events_acked as f64 / c as f64,
                100.0 * commits_per_s / r.fsync.per_s.max(1e-9)
            );
        }
        println!(
            "    events/s ÷ one-thread parse floor (parse + check + canonical JSON) = {:.2}",
            o.events_per_s() / r.parse.full_per_s.max(1e-9)
        );
        if matches!(p.workload, Workload::Single) {
            println!(
                "    requests/s ÷ 404 floor (pure HTTP) = {}; ÷ /healthz = {}",
                ratio(o.requests_per_s(), http_floor),
                ratio(o.requests_per_s(), healthz)
            );
        }
        println!(
            "    Little's law: {} connections ÷ {} req/s = {} ms; measured mean {} ms",
            r.concurrency,
            thousands(o.requests_per_s()),
            ms(Some(Duration::from_secs_f64(
                r.concurrency as f64 / o.requests_per_s().max(1e-9)
            ))),
            ms(o.latencies.mean())
        );
    }

    println!("\ngoals");
    for p in r.phases {
        let o = &p.outcome;
        match p.workload {
            Workload::Batches(_) => println!(
                "  NDJSON batches of {}: {} events/s, goal ≥ {}: {}",
                r.batch,
                thousands(o.events_per_s()),
                thousands(GOAL_BATCH_EVENTS_PER_S),
                verdict(o.events_per_s() >= GOAL_BATCH_EVENTS_PER_S)
            ),
            Workload::Single => {
                let p99 = o.latencies.percentile(99.0);
                println!(
                    "  single events: {} req/s, goal ≥ {}: {}; p99 {} ms, goal < {} ms: {}",
                    thousands(o.requests_per_s()),
                    thousands(GOAL_SINGLE_REQUESTS_PER_S),
                    verdict(o.requests_per_s() >= GOAL_SINGLE_REQUESTS_PER_S),
                    ms(p99),
                    GOAL_SINGLE_P99.as_millis(),
                    verdict(p99.is_some_and(|d| d < GOAL_SINGLE_P99))
                );
            }
            Workload::Get { .. } => {}
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "MISSED"
    }
}
