//! Runs `faultline bench replay` before it is wired into the CLI.
use clap::Parser;
#[derive(Parser)]
struct A {
    #[command(flatten)]
    a: faultline::sim::bench::ReplayBenchArgs,
}
fn main() {
    faultline::sim::bench::run_replay(A::parse().a).unwrap();
}
