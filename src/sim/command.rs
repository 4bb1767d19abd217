//! `faultline simulate`: write a storm's events (NDJSON) and its ground truth (JSON).

use std::path::PathBuf;

use clap::Args;

use super::{generate, StormOptions};
use crate::input::NetworkArgs;

/// Arguments of `faultline simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The network and how to load it.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// The generator's seed: the same seed gives the same storm.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Faults.
    #[arg(long, default_value_t = 20)]
    pub faults: usize,
    /// Share of dark customers who call.
    #[arg(long, default_value_t = 0.10)]
    pub call_rate: f64,
    /// Share of smart meters (last gasps).
    #[arg(long, default_value_t = 0.3)]
    pub ami_share: f64,
    /// Share of AMI messages lost.
    #[arg(long, default_value_t = 0.2)]
    pub ami_loss: f64,
    /// Unrelated calls per hour over the network.
    #[arg(long, default_value_t = 6.0)]
    pub noise_per_hour: f64,
    /// Share of breakers (feeder heads included) that SCADA watches: the others trip
    /// and close without a SCADA message.
    #[arg(long, default_value_t = 1.0)]
    pub scada_share: f64,
    /// Over how many minutes faults start.
    #[arg(long, default_value_t = 180)]
    pub duration_min: i64,
    /// Start time (RFC 3339).
    #[arg(long)]
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    /// No repairs during the simulated time.
    #[arg(long)]
    pub no_restore: bool,
    /// Where to write the events.
    #[arg(long, default_value = "storm.ndjson")]
    pub out: PathBuf,
    /// Where to write the ground truth.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Play the storm with this many simulated crews answering faultline's orders, and
    /// write the whole log (roster, storm, crews' actions, ticks): `faultline replay`
    /// of it shows every order from creation to close. Crews repair, so the storm does
    /// not repair itself.
    #[arg(long, default_value_t = 0)]
    pub crews: usize,
}

/// Generate and write the storm.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let network = args.network.load()?;
    let mut options = StormOptions {
        seed: args.seed,
        faults: args.faults,
        call_rate: args.call_rate,
        ami_share: args.ami_share,
        ami_loss: args.ami_loss,
        noise_per_hour: args.noise_per_hour,
        duration_min: args.duration_min,
        restore: !args.no_restore && args.crews == 0,
        scada_share: args.scada_share,
        ..StormOptions::default()
    };
    if let Some(start) = args.start {
        options.start = start;
    }
    let mut storm = generate(&network, &options);
    if args.crews > 0 {
        let run = super::crews::run(
            &network,
            &storm.events,
            &super::crews::CrewOptions {
                crews: args.crews,
                seed: args.seed,
                ..Default::default()
            },
            crate::engine::EngineOptions::default(),
            chrono::Duration::hours(48),
        );
        eprintln!(
            "{} orders, {} closed by crews",
            run.engine.dispatch().orders().count(),
            run.engine
                .dispatch()
                .orders()
                .filter(|o| o
                    .life
                    .first_time(crate::orders::OrderState::Restored)
                    .is_some())
                .count()
        );
        storm.events = run.events;
    }
    storm.write(&args.out, args.truth.as_deref())?;
    eprintln!(
        "{} events, {} faults, written to {}",
        storm.events.len(),
        storm.truth.faults.len(),
        args.out.display()
    );
    Ok(())
}
