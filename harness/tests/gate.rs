//! `gauntlet report`, `compare`, `suite` and `run --baseline`: the files they write
//! and their exit codes (0 pass, 1 failed verdict or regression, 2 bad input).

mod common;

use common::{gauntlet, text};

use std::path::{Path, PathBuf};

use gauntlet_reports::RunResult;

const SCENARIO: &str = r#"name = "gate"
duration = "1s"
tick = "250ms"
[target]
workload = "synthetic"
delay = "1ms"
[[load]]
op = "call"
executor = "constant-arrival-rate"
rate = 200
max_in_flight = 8
[thresholds]
"errors{op=call}" = ["count == 0"]
"#;

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn read(p: &Path) -> RunResult {
    RunResult::from_json(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn save(p: &Path, r: &RunResult) {
    std::fs::write(p, r.to_json().unwrap()).unwrap();
}

/// Runs the scenario into `dir/out` and returns results.json's path.
fn run_once(dir: &Path) -> PathBuf {
    let file = write(dir, "gate.toml", SCENARIO);
    let out = dir.join("out");
    let o = gauntlet(&["run", &s(&file), "--out", &s(&out), "--no-progress"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    out.join("results.json")
}

#[test]
fn run_writes_the_report_files_and_report_rerenders_them() {
    let dir = tempfile::tempdir().unwrap();
    let results = run_once(dir.path());
    let out = results.parent().unwrap();
    for f in [
        "report.html",
        "summary.md",
        "junit.xml",
        "charts/throughput.svg",
        "charts/throughput.png",
        "charts/latency-call.svg",
        "charts/spectrum.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<header class=\"banner pass\""));

    let again = dir.path().join("again");
    let o = gauntlet(&["report", &s(&results), "--out", &s(&again)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("report.html"));
    assert!(again.join("report.html").is_file());
    assert!(again.join("junit.xml").is_file());
    assert!(again.join("charts/memory.svg").is_file());

    // Without --out the report goes next to the results file.
    std::fs::remove_file(out.join("summary.md")).unwrap();
    let o = gauntlet(&["report", &s(&results)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(out.join("summary.md").is_file());
}

#[test]
fn report_refuses_malformed_and_unknown_version_files_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = write(dir.path(), "garbage.json", "{ not json");
    let o = gauntlet(&["report", &s(&garbage)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("garbage.json: invalid results file"),
        "{}",
        text(&o)
    );

    let future = write(dir.path(), "future.json", r#"{"schema_version": 999}"#);
    let o = gauntlet(&["report", &s(&future)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("schema_version 999"), "{}", text(&o));

    let missing_field = write(dir.path(), "partial.json", r#"{"schema_version": 1}"#);
    let o = gauntlet(&["report", &s(&missing_field)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("missing field"), "{}", text(&o));

    let o = gauntlet(&["report", "/nonexistent/results.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot read results"), "{}", text(&o));
}

#[test]
fn compare_exits_1_on_a_regression_and_2_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let results = run_once(dir.path());
    let current = read(&results);

    // The same run as its own baseline: no regression.
    let o = gauntlet(&["compare", &s(&results), &s(&results)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("throughput{op=call}"), "{}", text(&o));
    assert!(
        text(&o).contains("COMPARISON ✓ no regression"),
        "{}",
        text(&o)
    );

    // A baseline twice as fast: throughput and latency regressed.
    let mut better = current.clone();
    better.ops[0].throughput_per_s *= 2.0;
    better.ops[0].latency.p99_ns /= 4;
    let base = dir.path().join("base.json");
    save(&base, &better);
    let out = dir.path().join("cmp");
    let o = gauntlet(&["compare", &s(&base), &s(&results), "--out", &s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("✗ REGRESSED"), "{}", text(&o));
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("Baseline (1 run(s))"), "{summary}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Baseline comparison") && html.contains("banner fail"));

    // Tolerances by flag: turning the regressed metrics off passes.
    let o = gauntlet(&[
        "compare",
        &s(&base),
        &s(&results),
        "--tolerance",
        "throughput=off",
        "--tolerance",
        "p99=off",
        "--tolerance",
        "p50=off",
        "--tolerance",
        "p999=off",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = gauntlet(&[
        "compare",
        &s(&base),
        &s(&results),
        "--tolerance",
        "p99=lots",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("--tolerance: `lots` is not a tolerance for `p99`"),
        "{}",
        text(&o)
    );
    let o = gauntlet(&["compare", &s(&base), &s(&results), "--tolerance", "p95=10%"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("unknown baseline metric `p95`"),
        "{}",
        text(&o)
    );
    assert_eq!(gauntlet(&["compare", &s(&results)]).status.code(), Some(2));
    let garbage = write(dir.path(), "garbage.json", "[]");
    let o = gauntlet(&["compare", &s(&garbage), &s(&results)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("garbage.json"), "{}", text(&o));
}

#[test]
fn run_with_a_baseline_compares_inline() {
    let dir = tempfile::tempdir().unwrap();
    let results = run_once(dir.path());
    let mut better = read(&results);
    better.ops[0].throughput_per_s *= 3.0;
    let fast = dir.path().join("fast.json");
    save(&fast, &better);
    let file = dir.path().join("gate.toml");
    let out = dir.path().join("inline");
    let o = gauntlet(&[
        "run",
        &s(&file),
        "--out",
        &s(&out),
        "--no-progress",
        "--baseline",
        &s(&fast),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("VERDICT   ✓ PASS"), "the thresholds held: {t}");
    assert!(t.contains("COMPARISON ✗"), "{t}");
    assert!(t.contains("regression(s): throughput{op=call}"), "{t}");
    assert!(out.join("results.json").is_file());
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("gate.baseline"), "{junit}");

    // Several baselines, one of them the slow run itself: their range widens the
    // allowance enough to pass.
    let o = gauntlet(&[
        "run",
        &s(&file),
        "--out",
        &s(&out),
        "--no-progress",
        "--baseline",
        &s(&fast),
        "--baseline",
        &s(&results),
        "--tolerance",
        "p99=off",
        "--tolerance",
        "p50=off",
        "--tolerance",
        "p999=off",
        "--tolerance",
        "rss=off",
        "--tolerance",
        "tasks=off",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("BASELINE  2 run(s)"), "{}", text(&o));

    let o = gauntlet(&[
        "run",
        &s(&file),
        "--out",
        &s(&out),
        "--no-progress",
        "--baseline",
        "/nonexistent.json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("results were written"), "{}", text(&o));
}

#[test]
fn a_baseline_table_in_the_scenario_is_validated_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.toml",
        &format!("{SCENARIO}[baseline]\np99 = \"lots\"\n"),
    );
    let o = gauntlet(&["validate", &s(&bad)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("bad.toml:15:7: baseline.p99: `lots` is not a tolerance"),
        "{}",
        text(&o)
    );
    let unknown = write(
        dir.path(),
        "unknown.toml",
        &format!("{SCENARIO}[baseline]\np95 = \"10%\"\n"),
    );
    let o = gauntlet(&["validate", &s(&unknown)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("baseline.p95: unknown baseline metric"),
        "{}",
        text(&o)
    );

    let good = write(
        dir.path(),
        "good.toml",
        &format!("{SCENARIO}[baseline]\nthroughput = \"off\"\n"),
    );
    let out = dir.path().join("out");
    let o = gauntlet(&["run", &s(&good), "--out", &s(&out), "--no-progress"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = read(&out.join("results.json"));
    assert_eq!(
        r.scenario
            .baseline_tolerances
            .get("throughput")
            .map(String::as_str),
        Some("off")
    );
    // The recorded table applies when comparing: a halved throughput is only info.
    let mut slow = r.clone();
    slow.ops[0].throughput_per_s /= 2.0;
    let slow_path = dir.path().join("slow.json");
    save(&slow_path, &slow);
    let o = gauntlet(&["compare", &s(&out.join("results.json")), &s(&slow_path)]);
    assert!(text(&o).contains("throughput{op=call}"), "{}", text(&o));
    assert!(!text(&o).contains("REGRESSED"), "{}", text(&o));
}

#[test]
fn suite_runs_scenarios_in_order_with_one_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    write(&scenarios, "a.toml", SCENARIO);
    write(
        &scenarios,
        "b.toml",
        &SCENARIO.replace("name = \"gate\"", "name = \"second\""),
    );
    let out = dir.path().join("suite");
    let o = gauntlet(&["suite", &s(&scenarios), "--out", &s(&out), "--no-progress"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.find("[1/2] gate").unwrap() < t.find("[2/2] second").unwrap(),
        "{t}"
    );
    assert!(t.contains("SUITE     ✓ PASS 2/2"), "{t}");
    for f in [
        "summary.md",
        "junit.xml",
        "index.html",
        "gate/report.html",
        "second/results.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testsuite name=\"gate\"") && junit.contains("<testsuite name=\"second\""),
        "{junit}"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.starts_with("## ✅ Gauntlet suite: 2/2 scenario(s) passed"),
        "{summary}"
    );

    // A failing scenario fails the suite; a baseline directory is used when it has
    // the scenario.
    let failing = write(
        dir.path(),
        "failing.toml",
        &SCENARIO
            .replace("name = \"gate\"", "name = \"failing\"")
            .replace("count == 0", "count > 1000000"),
    );
    let baselines = dir.path().join("baselines");
    std::fs::create_dir(&baselines).unwrap();
    std::fs::copy(out.join("gate/results.json"), baselines.join("gate.json")).unwrap();
    let out2 = dir.path().join("suite2");
    let o = gauntlet(&[
        "suite",
        &s(&scenarios.join("a.toml")),
        &s(&failing),
        "--out",
        &s(&out2),
        "--no-progress",
        "--baseline-dir",
        &s(&baselines),
        "--tolerance",
        "p99=off",
        "--tolerance",
        "p50=off",
        "--tolerance",
        "p999=off",
        "--tolerance",
        "throughput=50%",
        "--tolerance",
        "rss=off",
        "--tolerance",
        "tasks=off",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("SUITE     ✗ FAIL 1/2"), "{t}");
    assert!(t.contains("no baseline for `failing`"), "{t}");
    assert!(t.contains("BASELINE  1 run(s)"), "{t}");
    let junit = std::fs::read_to_string(out2.join("junit.xml")).unwrap();
    assert!(junit.contains("gate.baseline"), "{junit}");
    assert!(junit.contains("<failure"), "{junit}");
}

#[test]
fn suite_checks_every_input_before_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.toml", SCENARIO);
    let bad = write(
        dir.path(),
        "bad.toml",
        &SCENARIO.replace("rate = 200", "rate = -1"),
    );
    let out = dir.path().join("suite");
    let o = gauntlet(&[
        "suite",
        &s(&good),
        &s(&bad),
        "--out",
        &s(&out),
        "--no-progress",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("bad.toml:10:8: load[0].rate"),
        "{}",
        text(&o)
    );
    assert!(!out.join("good").exists(), "nothing ran");

    let o = gauntlet(&["suite", "/nonexistent", "--out", &s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("no such scenario file or directory"),
        "{}",
        text(&o)
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = gauntlet(&["suite", &s(&empty), "--out", &s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("no *.toml scenario files"),
        "{}",
        text(&o)
    );
    let o = gauntlet(&[
        "suite",
        &s(&good),
        "--tolerance",
        "bogus",
        "--out",
        &s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn gate_subcommands_have_examples() {
    for sub in ["report", "compare", "suite"] {
        let o = gauntlet(&[sub, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        assert!(text(&o).contains("Example"), "{sub} --help has no example");
    }
}

#[test]
fn report_of_hand_built_results_with_a_fault_shades_it_in_every_time_chart() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/tests/data/tiny.json");
    let o = gauntlet(&["report", &s(&fixture), "--out", &s(dir.path())]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    // Eight time-series charts, each with the fault's label; the spectrum has none.
    assert_eq!(
        html.matches("\ncrash: actor://smoke/worker-1\n</text>")
            .count(),
        8,
        "{html}"
    );
    assert!(html.contains("recovered in 1.20 s"));
    let svg = std::fs::read_to_string(dir.path().join("charts/latency-ask.svg")).unwrap();
    assert!(svg.contains("crash: actor://smoke/worker-1"));
}
