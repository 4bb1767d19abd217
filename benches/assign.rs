//! One re-solve of the crew assignment on a large storm board: 1,000 waiting orders ×
//! 300 free crews (issue goal: under 50 ms), beside building the same board's cost
//! matrix alone (the part that is not the solver) and a 100 × 30 board.
//!
//! `cargo bench --bench assign`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use faultline::dispatch::synthetic_board;

fn resolve(c: &mut Criterion) {
    let mut group = c.benchmark_group("assignment");
    group.sample_size(20);
    for (orders, crews) in [(100, 30), (1000, 300)] {
        let (board, at) = synthetic_board(orders, crews, 7);
        group.bench_function(format!("re-solve {orders} orders x {crews} crews"), |b| {
            b.iter_batched(
                || board.clone(),
                |mut d| {
                    d.solve(at);
                    d
                },
                BatchSize::LargeInput,
            )
        });
        group.bench_function(format!("price only {orders} orders x {crews} crews"), |b| {
            b.iter(|| board.price_all(at).rows())
        });
    }
    group.finish();
}

criterion_group!(benches, resolve);
criterion_main!(benches);
