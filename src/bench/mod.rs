//! `faultline bench …`: whole-system figures, the numbers quoted in BENCHMARKS.md.
//!
//! # What is here
//! - [`network`]: `bench network`, load time and peak memory of a network file (the
//!   largest bundled one, and a synthetic one of a million customers made by
//!   replicating it), each beside a plain `serde_json` parse of the same text.
//! - [`ingest`]: `bench ingest`, durable ingest through the real server: the same
//!   executable started as `faultline serve` in a child process, driven over loopback
//!   by a load generator in this one, beside the HTTP floor, the fsync floor and the
//!   parse-only rate measured in the same run.
//! - [`stream`]: `bench stream`, many websocket readers of the stream at a fixed
//!   message rate: delivery latency, messages lost, the server's memory.
//! - [`public`]: `bench public`, the dispatchers' API latency with and without 1,000
//!   public requests a second to the public outage feed.
//! - [`server`]: `faultline serve` as a child process, always stopped.
//! - [`loadgen`]: the closed-loop HTTP load generator (`awc`, its own threads).
//! - [`usage`]: what a process uses (peak and resident memory, heap in use, CPU time
//!   per thread): what tells *where* the time and memory went.
//! - [`scratch`]: a temporary directory that removes itself.
//! - `bench inference` and `bench replay` live with the simulator (`crate::sim::bench`)
//!   and are only dispatched from here; so is `bench report` (`crate::reports::bench`).
//!
//! # Rules every benchmark here keeps
//! - Every figure is printed beside a baseline measured **in the same run**, on the
//!   same machine, so a reader can judge the ratio even when the machine is busy.
//! - Every loop is bounded in time and in count; network traffic goes only to
//!   127.0.0.1; files go to a temporary directory, never into the repository.
//! - A child process is always stopped and waited for, on success and on error.
//! - Numbers only mean something from a release build (`cargo build --release`); a
//!   debug build says so on its first line.

pub mod dispatch;
pub mod inference;
pub mod ingest;
pub mod instances;
pub mod loadgen;
pub mod network;
pub mod public;
pub mod report;
pub mod scratch;
pub mod server;
pub mod stream;
pub mod usage;

use clap::Subcommand;

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Network load time and peak memory: the bundled network and a synthetic one of
    /// N customers made by replicating it, each beside a plain JSON parse.
    Network(network::NetworkArgs),
    /// Durable ingest through `faultline serve` in a child process: NDJSON batches and
    /// single events, beside the HTTP, fsync and parse-only floors.
    Ingest(ingest::IngestArgs),
    /// Two instances on one PostgreSQL log: from a POST at one to the message on the
    /// other's stream, beside the same instance's own stream.
    Instances(instances::InstancesArgs),
    /// Websocket readers of the stream: delivery latency, messages lost, server memory,
    /// beside one reader in the same run.
    Stream(stream::StreamBenchArgs),
    /// Dispatchers' API latency alone and beside 1,000 public requests a second to
    /// `/public/v1/outages.json`, in the same run.
    Public(public::PublicBenchArgs),
    /// Inference against the classic rule and the oracle on simulated storms.
    Inference(inference::InferenceBenchArgs),
    /// Replay speed: how long a serve restart takes to rebuild the engine from the log.
    Replay(inference::ReplayBenchArgs),
    /// Dispatch: optimal assignment against nearest-free-crew on storms with simulated
    /// crews (plenty and scarce), and the time of one large re-solve.
    Dispatch(dispatch::DispatchBenchArgs),
    /// Reliability and workload report over a simulated year of storms, beside the
    /// replay of the same log.
    Report(report::ReportBenchArgs),
    /// Load (or only parse) one network file and print one JSON line of figures; run by
    /// `bench network` in a child so each phase's peak memory is its own.
    #[command(hide = true)]
    NetworkLoadOnce(network::LoadOnceArgs),
}

/// Run one benchmark.
pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Network(args) => network::run(&args),
        BenchCommand::Ingest(args) => ingest::run(&args),
        BenchCommand::Instances(args) => instances::run(&args),
        BenchCommand::Stream(args) => stream::run(&args),
        BenchCommand::Public(args) => public::run(&args),
        BenchCommand::Inference(args) => inference::run(args),
        BenchCommand::Replay(args) => inference::run_replay(args),
        BenchCommand::Dispatch(args) => dispatch::run(args),
        BenchCommand::Report(args) => report::run(args),
        BenchCommand::NetworkLoadOnce(args) => network::load_once(&args),
    }
}

/// One line naming the machine and how busy it is, printed first by every benchmark:
/// cores, kernel, load average, and whether this is a release build.
pub fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let v: Vec<&str> = s.split_whitespace().take(3).collect();
            (v.len() == 3).then(|| v.join(" "))
        })
        .unwrap_or_else(|| "unknown".into());
    let build = if cfg!(debug_assertions) {
        "DEBUG build: numbers are meaningless, use --release"
    } else {
        "release build"
    };
    format!("machine: {cores} cores, kernel {kernel}, load average {load}; {build}")
}
