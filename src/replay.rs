//! `faultline replay`: the engine over an events file, the stream on standard output.
//!
//! The same [`Engine`] as `faultline serve`, on the events' own clock: events are
//! applied in time order (a stable sort, so events with equal times keep their file
//! order), with no waiting. Identical input gives byte-identical output.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::engine::{Engine, EngineOptions};
use crate::events::{parse_ndjson, Event};
use crate::serve::load_network;

/// Arguments of `faultline replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The network file (contract GeoJSON).
    #[arg(long)]
    pub network: PathBuf,
    /// The events, one JSON object per line (as `GET /api/v1/events` or `faultline simulate` write them).
    #[arg(long)]
    pub events: PathBuf,
    /// Use the classic OMS roll-up rule instead of faultline's inference.
    #[arg(long)]
    pub baseline: bool,
    /// Add lateral fuses to a network that has none (see `network::protection`).
    #[arg(long)]
    pub add_protection: bool,
    /// Load a network with invalid features set aside instead of refusing it.
    #[arg(long)]
    pub set_aside_invalid: bool,
    /// Service targets, travel and dispatch timers (the same as the log was served with).
    #[command(flatten)]
    pub engine: crate::config::EngineSettings,
}

/// Read an events file, refusing it whole (with the line) if a line is bad.
pub fn read_events(path: &std::path::Path) -> anyhow::Result<Vec<Event>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut events = parse_ndjson(&text).with_context(|| format!("{}", path.display()))?;
    events.sort_by_key(|e| e.at);
    Ok(events)
}

/// Run the engine over the file and write the stream.
pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let network = load_network(&args.network, args.add_protection, args.set_aside_invalid)?;
    let events = read_events(&args.events)?;
    let options = EngineOptions {
        baseline: args.baseline,
        ..args.engine.options()?
    };
    let mut engine = Engine::new(network, options);
    let stdout = std::io::stdout();
    let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut line = String::new();
    let mut write = |o: &crate::engine::Output| {
        line.clear();
        o.push_json(&mut line);
        line.push('\n');
        w.write_all(line.as_bytes())
    };
    // Every event's service point is looked up first, in one pass (see
    // `Engine::apply_resolved`).
    let customers: Vec<_> = events.iter().map(|e| engine.customer_of(e)).collect();
    for (e, customer) in events.iter().zip(customers) {
        for o in engine.apply_resolved(e, customer) {
            write(&o)?;
        }
    }
    for o in engine.flush() {
        write(&o)?;
    }
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
    std::mem::forget(events);
    Ok(())
}
