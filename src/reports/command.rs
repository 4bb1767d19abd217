//! `faultline report`: a report from an events file, offline.
//!
//! The events are applied with the same engine as `serve` and `replay` (same flags, so
//! the same outages and orders), then the report is built from the engine's final
//! outage and order objects, exactly as `GET /api/v1/reports` builds it from the live
//! engine.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{build, render, Format, QueryText, Records, Units};
use crate::engine::{Engine, EngineOptions};
use crate::input::{apply_all, read_events, EventsFile, NetworkArgs};
use crate::network::Network;

/// Arguments of `faultline report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The network and how to load it (as the log was served with).
    #[command(flatten)]
    pub network: NetworkArgs,
    /// The events, one JSON object per line (as `GET /api/v1/events` or `faultline simulate` write them).
    #[arg(long)]
    pub events: PathBuf,
    /// Start of the period: RFC 3339 time or a date (default: the first event's day).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period (exclusive): RFC 3339 time, or a date (its end) (default: the
    /// end of the last event's day).
    #[arg(long)]
    pub to: Option<String>,
    /// Only this service-target zone: urban, suburban or rural.
    #[arg(long)]
    pub zone: Option<String>,
    /// Only this feeder (its head's id).
    #[arg(long)]
    pub feeder: Option<String>,
    /// The local day's offset from UTC, e.g. +08:00 (days for the MED method).
    #[arg(long, allow_hyphen_values = true)]
    pub utc_offset: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Write here instead of standard output.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Service targets, travel and dispatch timers (the same as the log was served with).
    #[command(flatten)]
    pub engine: crate::config::EngineSettings,
}

fn cli_error(e: super::ReportError) -> anyhow::Error {
    anyhow::anyhow!("--{}: {}", e.parameter.replace('_', "-"), e.message)
}

/// Apply a file's events (as `faultline replay` does) and collect the records a report reads.
pub fn replay_records(
    network: &Network,
    file: &EventsFile,
    options: EngineOptions,
) -> anyhow::Result<Records> {
    let engine = Engine::new(network.clone(), options);
    let engine = apply_all(engine, file, |_| Ok::<_, std::convert::Infallible>(()))
        .unwrap_or_else(|never| match never {});
    Records::from_engine(&engine, file.events.first().map(|e| e.at))
        .context("reading the engine's outage and order objects")
}

/// Run `faultline report`.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let network = args.network.load()?;
    let file = read_events(&args.events, chrono::Utc::now())?;
    let options = args.engine.options()?;
    let records = replay_records(&network, &file, options)?;
    let first = file.events.first().map(|e| e.at).unwrap_or(records.as_of);
    let text = QueryText {
        from: args.from.clone(),
        to: args.to.clone(),
        zone: args.zone.clone(),
        feeder: args.feeder.clone(),
        utc_offset: args.utc_offset.clone(),
    };
    // Without --from, the period starts on the first event's day.
    let start = super::Query::parse(&text, &network, first).map_err(cli_error)?;
    let mut query = super::Query::parse(&text, &network, records.as_of).map_err(cli_error)?;
    if args.from.is_none() {
        query.from = start.from;
    }
    if query.to <= query.from {
        anyhow::bail!("--to: must be after --from");
    }
    let units = Units::new(&network);
    let report = build(&network, &units, &records, &query);
    let body = render(&report, args.format);
    match &args.out {
        Some(path) => std::fs::write(path, body + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(body.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}
