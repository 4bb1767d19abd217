//! Runs `faultline bench inference` before it is wired into the CLI.
use clap::Parser;
#[derive(Parser)]
struct A {
    #[command(flatten)]
    a: faultline::sim::bench::InferenceBenchArgs,
}
fn main() {
    faultline::sim::bench::run(A::parse().a).unwrap();
}
