//! From levels to conclusions: fit, best level within the SLO, statement and summary.

use gauntlet_reports::capacity::analysis::conclude;
use gauntlet_reports::capacity::model::UslModel;
use gauntlet_reports::capacity_schema::{
    CAPACITY_SCHEMA_VERSION, CapacityResult, ConcurrencySource, Level, LevelOp, LoadVariable, Slo,
    Source, Stop, StopReason,
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
        r.statement.starts_with("One node sustains 10 k ask ops/s at p99 < 5ms (level 4: 16 clients); the USL model predicts a peak of 14 k ops/s at 49 concurrent clients (σ=0.0300, κ=0.000400, R²=1.00)"),
        "{}",
        r.statement
    );
    let md = gauntlet_reports::capacity::statement::markdown(&r);
    assert!(md.contains("| 5 | 32 | "), "{md}");
    assert!(md.contains("**fail**"));
    assert!(md.contains("peak: N* = 49"));
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
        r.statement.contains("no USL model: 2 point(s)"),
        "{}",
        r.statement
    );
    let json = r.to_json().unwrap();
    assert_eq!(CapacityResult::from_json(&json).unwrap(), r);
    let future = json.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1);
    assert!(
        CapacityResult::from_json(&future)
            .unwrap_err()
            .to_string()
            .contains("schema_version 2")
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
