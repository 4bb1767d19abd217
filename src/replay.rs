//! `faultline replay`: the engine over an events file, the stream on standard output.
//!
//! The same [`Engine`] as `faultline serve`, on the events' own clock: events are
//! applied in time order (a stable sort, so events with equal times keep their file
//! order), or in the log's order for an export of a log ([`read_events`]), with no
//! waiting. Identical input gives byte-identical output. Nothing in a file stops it:
//! what `serve` would refuse or set aside is set aside here too, and said.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::Args;

use chrono::Utc;

use crate::engine::{Engine, EngineOptions, Output};
use crate::input::{apply_all, read_events, NetworkArgs};

/// Arguments of `faultline replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The network and how to load it.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// The events, one JSON object per line (as `GET /api/v1/events` or `faultline simulate` write them).
    #[arg(long)]
    pub events: PathBuf,
    /// Use the classic OMS roll-up rule instead of faultline's inference.
    #[arg(long)]
    pub baseline: bool,
    /// Service targets, travel and dispatch timers (the same as the log was served with).
    #[command(flatten)]
    pub engine: crate::config::EngineSettings,
}

/// Run the engine over the file and write the stream.
pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let network = args.network.load()?;
    let file = read_events(&args.events, Utc::now())?;
    let options = EngineOptions {
        baseline: args.baseline,
        ..args.engine.options()?
    };
    let stdout = std::io::stdout();
    let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut line = String::new();
    let write = |o: &Output| {
        line.clear();
        o.push_json(&mut line);
        line.push('\n');
        w.write_all(line.as_bytes())
    };
    let engine = apply_all(Engine::new(network, options), &file, write)?;
    w.flush()?;
    if engine.rejected() > 0 {
        tracing::warn!(
            skipped = engine.rejected(),
            "events naming something the network does not have were skipped"
        );
    }
    // The stream is written and flushed; `main` returns and the process ends right after
    // this (`run` is the `replay` command, called from nowhere else). Freeing a
    // storm's engine and events (millions of small allocations) would only delay the
    // exit, so they are left to the operating system.
    std::mem::forget(engine);
    std::mem::forget(file);
    Ok(())
}
