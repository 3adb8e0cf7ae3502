//! How long rendering a report takes: the charts as SVG, the HTML page, and every file
//! of a report (SVG + PNG charts, report.html, summary.md, junit.xml) written to disk.
//!
//! `cargo bench -p gauntlet-reports --bench render`. The input is a run of two ops
//! and ten ticks with a fault (`tests/data/tiny.json`), the size of a smoke run.

use criterion::{Criterion, criterion_group, criterion_main};
use gauntlet_reports::RunResult;
use gauntlet_reports::outcome::Outcome;
use gauntlet_reports::{bundle, chart, html};

fn render(c: &mut Criterion) {
    // Criterion's own plots (when its plotters feature is on) share plotters' font
    // registry, which knows only the fonts registered: register ours first.
    chart::draw::register_fonts().expect("embedded font");
    let result = RunResult::from_json(include_str!("../tests/data/tiny.json")).expect("fixture");
    let outcome = Outcome::new(&result);
    let mut group = c.benchmark_group("report");
    group.sample_size(20);
    group.bench_function("charts-svg", |b| {
        b.iter(|| html::render_charts(&outcome).expect("charts"))
    });
    let charts = html::render_charts(&outcome).expect("charts");
    group.bench_function("html-page", |b| b.iter(|| html::render(&outcome, &charts)));
    let dir = tempfile::tempdir().expect("temp dir");
    group.bench_function("all-files", |b| {
        b.iter(|| bundle::write(dir.path(), &outcome).expect("report"))
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
