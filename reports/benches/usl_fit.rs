//! Cost of one USL fit: the 32-point Cisco dataset and a 7-point sweep.
//!
//! `cargo bench -p gauntlet-reports --bench usl_fit`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gauntlet_reports::capacity::fit::{Point, fit};
use gauntlet_reports::capacity::model::UslModel;

fn points(model: &UslModel, ns: &[f64]) -> Vec<Point> {
    ns.iter()
        .map(|&n| Point {
            concurrency: n,
            throughput: model.throughput(n) * (1.0 + 0.01 * (n * 7.0).sin()),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let model = UslModel {
        lambda: 995.6,
        sigma: 0.0267,
        kappa: 7.7e-4,
    };
    let ns32: Vec<f64> = (1..=32).map(f64::from).collect();
    let p32 = points(&model, &ns32);
    let p7 = points(&model, &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
    c.bench_function("usl_fit_32_points", |b| b.iter(|| fit(black_box(&p32))));
    c.bench_function("usl_fit_7_points", |b| b.iter(|| fit(black_box(&p7))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
