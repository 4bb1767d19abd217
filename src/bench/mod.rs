//! `faultline bench …`: whole-system figures (see BENCHMARKS.md).

use clap::Subcommand;

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {}

/// Run one benchmark.
pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {}
}
