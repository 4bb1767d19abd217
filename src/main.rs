//! The `faultline` command line: a thin shell over the library.

use clap::{Parser, Subcommand};

use faultline::config::ServeSettings;

#[derive(Parser)]
#[command(
    name = "faultline",
    version,
    about = "Outage and repair dispatch for electric distribution utilities"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the command system: HTTP API over the event log.
    Serve(ServeSettings),
    /// Import an OpenDSS model (or check a GeoJSON file) into a contract network file.
    Import(faultline::import::command::ImportArgs),
    /// Apply an events file with the same engine (a log's export in seq order, any other file in time order); the stream on stdout.
    Replay(faultline::replay::ReplayArgs),
    /// Reliability (IEEE 1366) and workload report from an events file.
    Report(faultline::reports::command::ReportArgs),
    /// Generate a storm: events (NDJSON) and ground truth.
    Simulate(faultline::sim::command::SimulateArgs),
    /// The command system on the bundled real network, ready to try.
    Demo(faultline::demo::DemoArgs),
    /// Whole-system benchmarks (numbers for BENCHMARKS.md; built with `--features bench`).
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(faultline::bench::BenchCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    faultline::telemetry::init()?;
    match cli.command {
        Command::Serve(settings) => {
            actix_web::rt::System::new().block_on(faultline::serve::run(settings))
        }
        Command::Demo(args) => actix_web::rt::System::new().block_on(faultline::demo::run(args)),
        Command::Replay(args) => faultline::replay::run(args),
        Command::Report(args) => faultline::reports::command::run(args),
        Command::Simulate(args) => faultline::sim::command::run(args),
        Command::Import(args) => faultline::import::command::run(args),
        #[cfg(feature = "bench")]
        Command::Bench(command) => faultline::bench::run(command),
    }
}
