//! Baseline comparison verdicts: tolerances, noise floors, several baselines.

mod common;

use gauntlet_reports::compare::{Row, Tolerances, Verdict, compare};

fn row<'a>(rows: &'a [Row], name: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.name() == name)
        .unwrap_or_else(|| panic!("no row {name}"))
}

#[test]
fn an_identical_run_passes_every_judged_metric() {
    let r = common::run();
    let c = compare(&[("b.json".into(), r.clone())], &r, &Tolerances::default());
    assert!(!c.regressed());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let names: Vec<String> = c.rows.iter().map(Row::name).collect();
    for n in [
        "throughput{op=ask}",
        "p50{op=ask}",
        "p99{op=ask}",
        "p999{op=ask}",
        "max{op=ask}",
        "errors{op=ask}",
        "throughput{op=tell}",
        "rss",
        "rss_growth",
        "tasks",
    ] {
        assert!(names.contains(&n.to_owned()), "{n} in {names:?}");
    }
    assert_eq!(
        row(&c.rows, "max{op=ask}").verdict,
        Verdict::Info,
        "max is off by default"
    );
    assert_eq!(row(&c.rows, "p99{op=ask}").verdict, Verdict::Pass);
    assert_eq!(
        row(&c.rows, "rss").current,
        Some(20_090_000.0),
        "peak over the measured window"
    );
    assert_eq!(row(&c.rows, "tasks").current, Some(12.0));
}

#[test]
fn moves_past_the_default_tolerances_regress_and_within_them_pass() {
    let base = common::run();
    let mut r = common::run();
    r.ops[0].throughput_per_s = base.ops[0].throughput_per_s * 0.89; // -11% < -10%
    r.ops[1].throughput_per_s = base.ops[1].throughput_per_s * 0.91; // -9%
    r.ops[0].latency.p99_ns = base.ops[0].latency.p99_ns * 125 / 100; // +25% > +20%
    r.ops[1].latency.p99_ns = base.ops[1].latency.p99_ns * 115 / 100; // +15%, but below the 1µs floor? no: tell p99 is µs-scale
    for t in &mut r.timeline {
        t.process.rss_bytes = t.process.rss_bytes.map(|b| b * 12 / 10); // +20% > +15%
    }
    let c = compare(
        &[("b.json".into(), base.clone())],
        &r,
        &Tolerances::default(),
    );
    assert_eq!(
        row(&c.rows, "throughput{op=ask}").verdict,
        Verdict::Regressed
    );
    assert_eq!(row(&c.rows, "throughput{op=tell}").verdict, Verdict::Pass);
    assert_eq!(row(&c.rows, "p99{op=ask}").verdict, Verdict::Regressed);
    assert_eq!(row(&c.rows, "rss").verdict, Verdict::Regressed);
    let t = row(&c.rows, "throughput{op=ask}");
    assert!((t.delta.unwrap() + 0.11).abs() < 1e-9);
    assert_eq!(t.limit, Some(base.ops[0].throughput_per_s * 0.9));
    assert!(c.console_table().contains("✗ REGRESSED"));
    assert!(
        c.console_table()
            .contains("COMPARISON ✗ 3 regression(s): throughput{op=ask}, p99{op=ask}, rss")
    );

    let mut loose = Tolerances::default();
    loose
        .apply([("throughput", "15%"), ("p99", "30%"), ("rss", "off")])
        .unwrap();
    let c = compare(&[("b.json".into(), base)], &r, &loose);
    assert!(!c.regressed(), "{}", c.console_table());
    assert_eq!(row(&c.rows, "rss").verdict, Verdict::Info);
}

#[test]
fn noise_floors_keep_tiny_values_from_failing() {
    let base = common::run();
    let mut r = common::run();
    // Tasks 12 -> 14 is +17% but within the floor of 2.
    for t in &mut r.timeline {
        t.runtime.alive_tasks = 14;
    }
    // p50 of tell: +600ns is +30%, but under the 1µs floor.
    r.ops[1].latency.p50_ns = base.ops[1].latency.p50_ns + 600;
    let c = compare(&[("b.json".into(), base)], &r, &Tolerances::default());
    assert_eq!(row(&c.rows, "tasks").verdict, Verdict::Pass);
    assert_eq!(
        row(&c.rows, "p50{op=tell}").verdict,
        Verdict::Pass,
        "{}",
        c.console_table()
    );
}

#[test]
fn several_baselines_widen_the_allowance_by_their_range() {
    let mut a = common::run();
    let mut b = common::run();
    a.ops[0].throughput_per_s = 1000.0;
    b.ops[0].throughput_per_s = 800.0;
    let mut r = common::run();
    // Mean 900, 10% = 90, range 200: limit 610.
    r.ops[0].throughput_per_s = 650.0;
    let baselines = [("a.json".to_owned(), a.clone()), ("b.json".to_owned(), b)];
    let c = compare(&baselines, &r, &Tolerances::default());
    let t = row(&c.rows, "throughput{op=ask}");
    assert_eq!(t.reference, Some(900.0));
    assert_eq!(t.baseline_range, Some((800.0, 1000.0)));
    assert_eq!(t.limit, Some(610.0));
    assert_eq!(t.verdict, Verdict::Pass);
    assert!(
        t.baseline_text().contains("(800.0/s..1000.0/s)"),
        "{}",
        t.baseline_text()
    );
    // Against the first baseline alone the same run regresses.
    let c = compare(&baselines[..1], &r, &Tolerances::default());
    assert_eq!(
        row(&c.rows, "throughput{op=ask}").verdict,
        Verdict::Regressed
    );
}

#[test]
fn improvements_missing_ops_and_unmeasured_values_are_told_apart() {
    let base = common::run();
    let mut r = common::run();
    r.ops[0].latency.p99_ns /= 2;
    r.ops.remove(1);
    r.leaks.rss_growth_bytes_per_min = None;
    let mut other = base.clone();
    other.scenario.name = "other".to_owned();
    let c = compare(&[("b.json".into(), other)], &r, &Tolerances::default());
    assert_eq!(row(&c.rows, "p99{op=ask}").verdict, Verdict::Improved);
    assert_eq!(row(&c.rows, "throughput{op=tell}").current, Some(0.0));
    assert_eq!(
        row(&c.rows, "throughput{op=tell}").verdict,
        Verdict::Regressed
    );
    assert_eq!(row(&c.rows, "p99{op=tell}").verdict, Verdict::NotMeasured);
    assert_eq!(row(&c.rows, "rss_growth").verdict, Verdict::NotMeasured);
    assert!(
        c.warnings.iter().any(|w| w.contains("of scenario `other`")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings.iter().any(|w| w.contains("op `tell`")),
        "{:?}",
        c.warnings
    );
}
