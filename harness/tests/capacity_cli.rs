//! `gauntlet capacity`: bad input exits 2 with a message naming what is wrong; a quick
//! sweep over the synthetic workload writes per-level results, `capacity.json`,
//! `summary.md`, `capacity.html` and the capacity charts; `--from` fits the same
//! levels from those results files and writes the same report.

mod common;

use common::{gauntlet, text};

use std::path::Path;

use gauntlet_reports::capacity_schema::{CapacityResult, LoadVariable, StopReason};

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

fn read_capacity(dir: &Path) -> CapacityResult {
    let text = std::fs::read_to_string(dir.join("capacity.json")).unwrap();
    CapacityResult::from_json(&text).unwrap()
}

/// Closed-loop clients, each op an awaited 4 ms sleep: throughput grows with clients
/// on any machine (the load thread only waits), so every level passes and the sweep
/// runs to its last level (patience is larger than the sweep).
const SLEEPY: &str = r#"name = "cap-sleepy"
duration = "5s"
tick = "100ms"
grace = "2s"
[target]
workload = "synthetic"
delay = "4ms"
[[load]]
name = "clients"
op = "call"
executor = "constant-concurrency"
concurrency = 2
[thresholds]
"latency{op=call}" = ["max < 2s"]
"errors{op=call}" = ["count == 0"]
[capacity]
steps = [1, 2, 4, 8]
step_duration = "600ms"
settle = "200ms"
patience = 10
"#;

#[test]
fn repeats_interleave_and_give_intervals_labels_and_noise() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "sleepy.toml", SLEEPY);
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "capacity",
        &scenario,
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
        "--repeats",
        "2",
        "--steps",
        "1,2,4,8",
    ]);
    let t = text(&o);
    let r = read_capacity(&out);
    assert_eq!(r.sweep.as_ref().unwrap().repeats, 2);
    assert_eq!(r.levels.len(), 4, "{t}");
    // The second round runs from the top down.
    let order: Vec<&str> = t
        .lines()
        .filter(|l| l.starts_with("capacity: repeat 2/2: level"))
        .collect();
    assert_eq!(order.len(), 4, "{t}");
    assert!(order[0].contains("level 3 (8 clients)"), "{order:?}");
    assert!(order[3].contains("level 0 (1 clients)"), "{order:?}");
    for l in &r.levels {
        assert_eq!(l.repeats.len(), 2, "level {}", l.index);
        assert!(l.throughput_ci_95.is_some());
        assert!(l.p99_ci_95.is_some());
        for rep in &l.repeats {
            let file = out.join(rep.results.as_deref().unwrap());
            assert!(file.exists(), "{} missing", file.display());
        }
        // Sleeping clients: neither the load thread nor the workers are busy.
        assert_ne!(
            l.saturated,
            gauntlet_reports::capacity_schema::Saturated::Generator
        );
        assert!(l.saturation.is_some());
        if cfg!(target_os = "linux") {
            assert!(l.noise.is_some(), "noise measured from /proc");
        }
    }
    let f = r.fit.as_ref().expect("a model from 8 points");
    assert_eq!(f.points, 8);
    assert!(f.uncertainty.is_some());
    // Each repeat's results carry the per-tick noise and load-thread figures.
    let run = std::fs::read_to_string(out.join(r.levels[3].repeats[1].results.as_deref().unwrap()))
        .unwrap();
    let run = gauntlet_reports::schema::RunResult::from_json(&run).unwrap();
    if cfg!(target_os = "linux") {
        let measured: Vec<_> = run.timeline.iter().filter(|t| !t.warmup).collect();
        assert!(measured.iter().all(|t| t.process.steal_percent.is_some()));
        assert!(
            measured
                .iter()
                .all(|t| t.process.other_cpu_percent.is_some())
        );
        // The load threads live while the load runs (not in the run's last tick).
        assert!(
            measured
                .iter()
                .any(|t| t.process.load_threads_busy_ratio.is_some()),
            "{:?}",
            measured.iter().map(|t| t.process).collect::<Vec<_>>()
        );
    }
    assert!(t.contains("saturated: "), "{t}");

    // `--from` with every repeat's file: runs at one level are its repeats.
    let files: Vec<String> = r
        .levels
        .iter()
        .flat_map(|l| &l.repeats)
        .map(|rep| {
            out.join(rep.results.as_deref().unwrap())
                .display()
                .to_string()
        })
        .collect();
    let again = dir.path().join("again");
    let mut args = vec!["capacity", "--out", again.to_str().unwrap(), "--from"];
    args.extend(files.iter().map(String::as_str));
    let o = gauntlet(&args);
    let from = read_capacity(&again);
    assert_eq!(from.levels.len(), 4, "{}", text(&o));
    assert!(from.levels.iter().all(|l| l.repeats.len() == 2));
    for (a, b) in r.levels.iter().zip(&from.levels) {
        assert_eq!(a.throughput_ci_95, b.throughput_ci_95);
    }
}

#[test]
fn a_quick_sweep_writes_levels_capacity_and_summary_and_from_refits_them() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "sleepy.toml", SLEEPY);
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "capacity",
        &scenario,
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    let t = text(&o);
    let r = read_capacity(&out);
    assert_eq!(r.variable, LoadVariable::Concurrency);
    assert_eq!(r.levels.len(), 4, "{t}");
    assert_eq!(r.stop.reason, StopReason::AllLevels, "{t}");
    let offered: Vec<f64> = r.levels.iter().map(|l| l.offered).collect();
    assert_eq!(offered, [1.0, 2.0, 4.0, 8.0]);
    for l in &r.levels {
        assert!(l.passed, "level {}: {:?}", l.index, l.failures);
        assert_eq!(l.concurrency, Some(l.offered));
        let file = out.join(l.results.as_deref().unwrap());
        assert!(file.exists(), "{} missing", file.display());
        assert!(l.little.is_some());
    }
    // 8 sleeping clients complete far more than 1 does.
    assert!(r.levels[3].throughput_per_s > 2.0 * r.levels[0].throughput_per_s);
    // Four points: a model or a typed reason, never neither; and a statement.
    assert!(r.fit.is_some() != r.fit_error.is_some());
    assert_eq!(
        o.status.code(),
        Some(if r.fit.is_some() { 0 } else { 1 }),
        "{t}"
    );
    assert!(
        r.statement.starts_with("One node sustains"),
        "{}",
        r.statement
    );
    assert_eq!(r.max_within_slo.map(|m| m.level), Some(3));
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("## Capacity: cap-sleepy"), "{summary}");
    assert!(summary.contains(&r.statement));
    assert!(t.contains("capacity: level 4/4"), "progress lines: {t}");
    assert_report_written(&out, &r);

    // The same levels from their results files, given in any order.
    let mut files: Vec<String> = r
        .levels
        .iter()
        .map(|l| {
            out.join(l.results.as_deref().unwrap())
                .display()
                .to_string()
        })
        .collect();
    files.reverse();
    let again = dir.path().join("again");
    let mut args = vec!["capacity", "--out", again.to_str().unwrap(), "--from"];
    args.extend(files.iter().map(String::as_str));
    let o = gauntlet(&args);
    let from = read_capacity(&again);
    assert_eq!(from.levels.len(), 4, "{}", text(&o));
    let offered: Vec<f64> = from.levels.iter().map(|l| l.offered).collect();
    assert_eq!(offered, [1.0, 2.0, 4.0, 8.0]);
    for (a, b) in r.levels.iter().zip(&from.levels) {
        assert_eq!(a.throughput_per_s, b.throughput_per_s);
    }
    assert_eq!(
        from.fit.as_ref().map(|f| f.sigma),
        r.fit.as_ref().map(|f| f.sigma)
    );
    assert_report_written(&again, &from);
}

/// `capacity.html` (statement, levels, three inline charts) and the chart files,
/// mentioned in summary.md.
fn assert_report_written(dir: &Path, r: &CapacityResult) {
    let page = std::fs::read_to_string(dir.join("capacity.html")).unwrap();
    assert!(page.contains("<h2 id=\"levels\">Levels</h2>"), "{page}");
    assert!(page.contains(&*gauntlet_reports::html::esc(&r.statement)));
    assert_eq!(page.matches("<svg").count(), 3);
    for chart in ["throughput", "latency", "efficiency"] {
        for ext in ["svg", "png"] {
            let f = dir.join(format!("charts/capacity-{chart}.{ext}"));
            let len = std::fs::metadata(&f).map_or(0, |m| m.len());
            assert!(len > 0, "{} missing or empty", f.display());
        }
    }
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("[capacity.html](capacity.html)"),
        "{summary}"
    );
}

#[test]
fn the_first_breaking_level_is_the_breakpoint() {
    let dir = tempfile::tempdir().unwrap();
    // Every op fails: level 0 already breaks `errors count == 0`.
    let failing = SLEEPY.replace("delay = \"4ms\"", "fail_every = 1");
    let scenario = write(dir.path(), "failing.toml", &failing);
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "capacity",
        &scenario,
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    let r = read_capacity(&out);
    assert_eq!(r.levels.len(), 1, "{}", text(&o));
    assert_eq!(r.stop.reason, StopReason::ThresholdBroken);
    assert_eq!(r.stop.level, Some(0));
    assert!(r.max_within_slo.is_none());
    assert!(
        r.statement.starts_with("No level met the SLO"),
        "{}",
        r.statement
    );
    assert!(r.fit_error.is_some());
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_deadline_too_short_for_any_level_runs_none() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "sleepy.toml", SLEEPY);
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "capacity",
        &scenario,
        "--deadline",
        "1s",
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    let r = read_capacity(&out);
    assert!(r.levels.is_empty());
    assert_eq!(r.stop.reason, StopReason::Deadline, "{}", text(&o));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "sleepy.toml", SLEEPY);
    let bad_table = write(
        dir.path(),
        "bad.toml",
        &SLEEPY.replace("steps = [1, 2, 4, 8]", "steps = [4, 2]"),
    );
    let unknown_field = write(
        dir.path(),
        "unknown.toml",
        &SLEEPY.replace("patience = 10", "patients = 10"),
    );
    let not_results = write(dir.path(), "x.json", "{\"schema_version\": 999}");
    let missing = dir.path().join("missing.json").display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["capacity"], "required"),
        (vec!["capacity", "nope.toml"], "nope.toml"),
        (
            vec!["capacity", &scenario, "--steps", "4,2"],
            "must increase",
        ),
        (vec!["capacity", &scenario, "--steps", "1,2.5"], "whole"),
        (
            vec!["capacity", &scenario, "--step-duration", "10"],
            "--step-duration",
        ),
        (
            vec!["capacity", &scenario, "--load", "nobody"],
            "--load: no load named `nobody`",
        ),
        (
            vec!["capacity", &bad_table],
            "bad.toml:17:1: capacity.steps: levels must increase",
        ),
        (vec!["capacity", &unknown_field], "unknown field `patients`"),
        (
            vec!["capacity", "--from", &missing],
            "missing.json: cannot read",
        ),
        (
            vec!["capacity", "--from", &not_results],
            "schema_version 999",
        ),
        (
            vec!["capacity", "--from", &not_results, "--steps", "1,2"],
            "--steps belongs to a sweep",
        ),
        (
            vec!["capacity", &scenario, "--from", &not_results],
            "cannot be used with",
        ),
    ];
    for (args, expected) in cases {
        let o = gauntlet(&args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(
            t.contains(expected),
            "{args:?}: expected `{expected}` in:\n{t}"
        );
    }
}
