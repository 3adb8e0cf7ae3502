//! From levels to conclusions: fit, best level within the SLO, statement and summary;
//! and the report drawn from them (capacity charts, `capacity.html`).

use gauntlet_reports::capacity::analysis::conclude;
use gauntlet_reports::capacity::model::UslModel;
use gauntlet_reports::capacity_schema::{
    CAPACITY_SCHEMA_VERSION, CapacityResult, ConcurrencySource, Level, LevelOp, LoadVariable,
    Saturated, Slo, Source, Stop, StopReason,
};
use gauntlet_reports::schema::{LatencySummary, RunStatus, ScenarioInfo};

fn level(index: usize, clients: f64, throughput: f64, passed: bool) -> Level {
    let latency = LatencySummary {
        p99_ns: 1_000_000 * (index as u64 + 1),
        ..LatencySummary::empty()
    };
    Level {
        index,
        offered: clients,
        results: None,
        status: RunStatus::Completed,
        passed,
        failures: if passed {
            vec![]
        } else {
            vec!["threshold failed: latency{op=ask} p(99) < 5ms".into()]
        },
        throughput_per_s: throughput,
        concurrency: Some(clients),
        ops: vec![LevelOp {
            op: "ask".into(),
            count: 1000,
            errors: 0,
            throughput_per_s: throughput,
            latency,
            service_time: latency,
        }],
        errors: 0,
        error_rate: 0.0,
        dropped_iterations: 0,
        rss_max_bytes: Some(10_000_000),
        alive_tasks_max: Some(9),
        little: None,
        repeats: vec![],
        throughput_ci_95: None,
        throughput_cv: None,
        p99_mean_ns: None,
        p99_ci_95: None,
        unstable: false,
        saturated: Saturated::None,
        saturation: None,
        utilization_bound_per_s: None,
        utilization: None,
        noise: None,
    }
}

fn result(levels: Vec<Level>) -> CapacityResult {
    let mut r = CapacityResult {
        schema_version: CAPACITY_SCHEMA_VERSION,
        gauntlet_version: "test".into(),
        scenario: ScenarioInfo {
            name: "cap".into(),
            description: String::new(),
            file: "cap.toml".into(),
            seed: 0,
            duration_s: 5.0,
            warmup_s: 1.0,
            tick_s: 1.0,
            workload: "actors".into(),
            baseline_tolerances: Default::default(),
        },
        started_at_unix_ms: 0,
        elapsed_s: 0.0,
        source: Source::Sweep,
        load: "askers".into(),
        op: "ask".into(),
        variable: LoadVariable::Concurrency,
        concurrency_source: ConcurrencySource::Configured,
        sweep: None,
        slo: Slo {
            thresholds: vec!["latency{op=ask}: p(99) < 5ms".into()],
            summary: "p99 < 5ms".into(),
            latency_limits: vec![],
        },
        levels,
        stop: Stop {
            reason: StopReason::ThresholdBroken,
            level: Some(5),
            detail: "breakpoint".into(),
        },
        fit: None,
        fit_error: None,
        max_within_slo: None,
        statement: String::new(),
        bounds: None,
    };
    conclude(&mut r);
    r
}

#[test]
fn a_retrograde_sweep_gets_a_peak_and_the_last_level_before_the_break() {
    let truth = UslModel {
        lambda: 1000.0,
        sigma: 0.03,
        kappa: 0.0004,
    };
    let clients = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
    // Breaks at 32 clients; 128 passes again by chance but is past the breakpoint.
    let levels: Vec<Level> = clients
        .iter()
        .enumerate()
        .map(|(i, &n)| level(i, n, truth.throughput(n), !(32.0..=100.0).contains(&n)))
        .collect();
    let r = result(levels);
    let fit = r.fit.as_ref().expect("a model");
    assert!((fit.sigma - 0.03).abs() < 1e-6);
    assert_eq!(fit.peak_concurrency, Some(49));
    assert_eq!(r.max_within_slo.map(|m| m.level), Some(4));
    assert!(
        r.statement.starts_with("One node sustains 10 k ask ops/s at p99 < 5ms (level 4: 16 clients); the USL model predicts a peak of 14 k ops/s (95% CI 14 k–14 k) at 49 concurrent clients (σ=0.0300, κ=0.000400, R²=1.00; N* 95% CI 49–49)."),
        "{}",
        r.statement
    );
    let md = gauntlet_reports::capacity::statement::markdown(&r);
    assert!(md.contains("| 5 | 32 | "), "{md}");
    assert!(
        md.contains("| ❌ threshold failed: latency{op=ask} p(99) \\< 5ms |"),
        "{md}"
    );
    assert!(md.contains("| peak N\\* | 49 | 49–49 |"), "{md}");
}

#[test]
fn too_few_levels_give_a_reason_instead_of_a_model() {
    let r = result(vec![
        level(0, 1.0, 100.0, true),
        level(1, 2.0, 190.0, false),
    ]);
    assert!(r.fit.is_none());
    assert!(r.fit_error.as_deref().unwrap().contains("at least 4"));
    assert!(
        r.statement
            .contains("no USL model: 2 level(s) of distinct concurrency"),
        "{}",
        r.statement
    );
    let json = r.to_json().unwrap();
    assert_eq!(CapacityResult::from_json(&json).unwrap(), r);
    let future = json.replacen("\"schema_version\": 2", "\"schema_version\": 3", 1);
    assert!(
        CapacityResult::from_json(&future)
            .unwrap_err()
            .to_string()
            .contains("schema_version 3; this build reads 1 to 2")
    );
}

#[test]
fn an_open_loop_whose_inferred_concurrency_does_not_rise_gets_no_model() {
    let rates = [5000.0, 10000.0, 20000.0, 40000.0, 80000.0];
    let n = [0.08, 0.16, 0.13, 0.34, 0.27];
    let levels: Vec<Level> = rates
        .iter()
        .zip(n)
        .enumerate()
        .map(|(i, (&rate, n))| Level {
            concurrency: Some(n),
            ..level(i, rate, rate, true)
        })
        .collect();
    let mut r = result(levels);
    r.variable = LoadVariable::ArrivalRate;
    r.concurrency_source = ConcurrencySource::LittlesLaw;
    conclude(&mut r);
    assert!(r.fit.is_none());
    let e = r.fit_error.as_deref().unwrap();
    assert!(
        e.contains("does not rise with the offered rate (level 1: N = 0.160, level 2: N = 0.130)"),
        "{e}"
    );
    assert!(
        r.statement.starts_with("One node sustains 80 k ask ops/s"),
        "{}",
        r.statement
    );
}

// The report of a sweep: charts and capacity.html.

use gauntlet_reports::capacity_schema::LatencyLimit;
use gauntlet_reports::chart::{self, Size};
use gauntlet_reports::html;

fn retrograde() -> CapacityResult {
    let truth = UslModel {
        lambda: 1000.0,
        sigma: 0.03,
        kappa: 0.0004,
    };
    let levels = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
        .iter()
        .enumerate()
        .map(|(i, &n)| level(i, n, truth.throughput(n), n < 32.0))
        .collect();
    let mut r = result(levels);
    r.slo.latency_limits = vec![LatencyLimit {
        op: "ask".into(),
        statistic: "p99".into(),
        limit_ns: 5e6,
    }];
    r
}

fn labels(plot: &chart::Plot) -> Vec<&str> {
    plot.series.iter().map(|s| s.label.as_str()).collect()
}

fn svgs(r: &CapacityResult) -> Vec<(chart::Plot, String)> {
    chart::capacity::charts(r)
        .into_iter()
        .map(|p| {
            let svg = chart::draw::svg(&p, Size::default()).unwrap();
            (p, svg)
        })
        .collect()
}

#[test]
fn charts_of_a_fitted_sweep_show_points_curve_peak_and_slo() {
    let r = retrograde();
    let charts = svgs(&r);
    let names: Vec<&str> = charts.iter().map(|(p, _)| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "capacity-throughput",
            "capacity-latency",
            "capacity-efficiency"
        ]
    );
    let (tp, tp_svg) = &charts[0];
    assert_eq!(
        labels(tp),
        [
            "USL model (R² = 1.000)",
            "peak N* = 49, X = 14 k ops/s",
            "measured"
        ]
    );
    // One dot per level, the peak a vertical line at N* up to X(N*).
    assert_eq!(tp.series[2].segments.len(), 7);
    let peak: Vec<(f64, f64)> = tp.series[1].points().collect();
    assert_eq!(peak[0], (49.0, 0.0));
    assert!((peak[1].1 - r.fit.as_ref().unwrap().peak_throughput_per_s.unwrap()).abs() < 1e-6);
    // The curve reaches past the measured levels to show the fall after the peak.
    let curve_end = tp.series[0].points().last().unwrap().0;
    assert!(curve_end >= 64.0, "{curve_end}");
    for text in [
        "peak N* = 49",
        "USL model",
        "measured",
        "Throughput vs concurrency",
    ] {
        assert!(tp_svg.contains(text), "{text} missing from the SVG");
    }
    let (lat, lat_svg) = &charts[1];
    assert_eq!(labels(lat), ["p50", "p99", "SLO p99 < 5.00ms"]);
    let slo: Vec<(f64, f64)> = lat.series[2].points().collect();
    assert!(slo.iter().all(|p| p.1 == 5e6));
    assert_eq!(lat.series[1].points().count(), 7);
    assert!(lat_svg.contains("SLO p99"));
    let (eff, eff_svg) = &charts[2];
    assert_eq!(labels(eff), ["linear scaling", "USL model", "measured"]);
    let measured: Vec<(f64, f64)> = eff.series[2].points().collect();
    assert_eq!(measured.len(), 7);
    assert!((measured[0].1 - 1.0).abs() < 1e-6, "{measured:?}");
    assert!(measured[6].1 < measured[0].1);
    assert!(eff_svg.contains("Efficiency"));
}

#[test]
fn charts_without_a_model_draw_the_points_and_say_why() {
    let mut r = result(vec![
        level(0, 1.0, 1000.0, true),
        level(1, 2.0, 1900.0, true),
    ]);
    assert!(r.fit.is_none());
    r.levels[1].ops.clear(); // a level whose latency was not recorded
    let charts = svgs(&r);
    let (tp, tp_svg) = &charts[0];
    assert_eq!(labels(tp), ["measured"]);
    assert_eq!(tp.series[0].points().count(), 2);
    assert!(tp.notes[0].starts_with("no USL model: "), "{:?}", tp.notes);
    assert!(tp_svg.contains("no USL model"));
    assert_eq!(charts[1].0.series[1].points().count(), 1);
    let eff = &charts[2].0;
    let points: Vec<(f64, f64)> = eff.series[0].points().collect();
    assert_eq!(points, [(1.0, 1.0), (2.0, 0.95)]);
    assert!(eff.notes[0].starts_with("no USL model"));
}

#[test]
fn one_level_and_no_level_still_draw() {
    let mut one = result(vec![level(0, 4.0, 4000.0, true)]);
    one.levels[0].concurrency = None;
    let charts = svgs(&one);
    assert!(
        charts[0]
            .0
            .notes
            .iter()
            .any(|n| n.contains("no level has a concurrency"))
    );
    assert_eq!(charts[1].0.series[1].points().count(), 1);
    let none = result(vec![]);
    for (plot, svg) in svgs(&none) {
        assert!(svg.contains(&plot.title));
        assert!(!plot.notes.is_empty(), "{}", plot.name);
    }
}

#[test]
fn capacity_html_has_the_statement_tables_and_charts_with_text_escaped() {
    let mut r = retrograde();
    r.scenario.name = "<script>alert(1)</script>".into();
    r.levels[5].failures = vec!["p99 <b>too</b> high".into()];
    let charts = html::capacity::render_charts(&r).unwrap();
    let page = html::capacity::render(&r, &charts);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script"), "unescaped text in the page");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("p99 &lt;b&gt;too&lt;/b&gt; high"));
    assert!(page.contains(&*html::esc(&r.statement)));
    for text in [
        "<th>throughput (ops/s)</th>",
        "<th>offered (clients)</th>",
        "σ (contention)",
        "<tr><td>peak N*</td><td class=\"num\">49</td><td class=\"num\">49–49</td></tr>",
        "<th>saturated</th>",
        "<th>95% CI</th>",
        "Little&#x27;s law",
        "Why the sweep stopped",
        "breakpoint",
        "p99 &lt; 5ms",
    ] {
        assert!(page.contains(text), "{text} missing");
    }
    assert_eq!(page.matches("<svg").count(), 3);
    // Levels, the model's parameters (λ, σ, κ, R², N*, X(N*)), the model per point.
    assert_eq!(page.matches("<tr>").count(), (1 + 7) + (1 + 6) + (1 + 7));
}

#[test]
fn a_sweep_without_a_model_says_why_on_its_page() {
    let r = result(vec![level(0, 1.0, 1000.0, true)]);
    let dir = tempfile::tempdir().unwrap();
    let written = gauntlet_reports::bundle::write_capacity(dir.path(), &r).unwrap();
    let page = std::fs::read_to_string(&written.html).unwrap();
    assert!(page.contains("No USL model: "), "{page}");
    let junit = std::fs::read_to_string(&written.junit).unwrap();
    assert!(junit.contains("name=\"USL model\""), "{junit}");
    assert_eq!(written.charts.len(), 6);
    for f in &written.charts {
        assert!(std::fs::metadata(f).unwrap().len() > 0, "{}", f.display());
    }
}
