//! The `gauntlet` binary: subcommands, exit codes (0 pass, 1 fail, 2 bad input) and
//! the files it writes.

mod common;

use common::{gauntlet, text};

use std::path::{Path, PathBuf};

use gauntlet_reports::RunResult;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

const SYNTHETIC: &str = r#"name = "cli"
duration = "1s"
tick = "250ms"
[target]
workload = "synthetic"
[[load]]
op = "call"
executor = "constant-arrival-rate"
rate = 100
max_in_flight = 4
[thresholds]
"latency{op=call}" = ["max < 10s"]
"#;

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

#[test]
fn list_names_workloads_executors_and_metrics() {
    let o = gauntlet(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let t = text(&o);
    for name in [
        "actors",
        "synthetic",
        "constant-arrival-rate",
        "ramping-concurrency",
        "messages.lost",
    ] {
        assert!(t.contains(name), "missing {name}:\n{t}");
    }
}

#[test]
fn every_subcommand_help_has_an_example() {
    for sub in ["run", "validate", "list"] {
        let o = gauntlet(&[sub, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        assert!(text(&o).contains("Example"), "{sub} --help has no example");
    }
}

#[test]
fn shipped_scenarios_are_valid() {
    let dir = scenarios_dir();
    let files: Vec<String> = ["smoke.toml", "actors-throughput.toml", "actors-soak.toml"]
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let o = gauntlet(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn invalid_scenarios_exit_2_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.toml",
        &SYNTHETIC.replace("rate = 100", "rate = -1"),
    );
    let o = gauntlet(&["validate", &bad]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("bad.toml:9:8: load[0].rate: must be greater than 0"),
        "{}",
        text(&o)
    );
    let o = gauntlet(&["run", &bad, "--out", &dir.path().display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.path().join("results.json").exists());
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(gauntlet(&["run"]).status.code(), Some(2));
    assert_eq!(gauntlet(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        gauntlet(&["run", "x.toml", "--duration", "soon"])
            .status
            .code(),
        Some(2)
    );
    let o = gauntlet(&["run", "/nonexistent/scenario.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot read scenario"));
}

#[test]
fn passing_run_exits_0_and_writes_results() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ok.toml", SYNTHETIC);
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "run",
        &file,
        "--out",
        &out.display().to_string(),
        "--seed",
        "42",
        "--no-progress",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    // The thresholds table: ✓, metric, expression, observed on one line.
    assert!(
        t.lines()
            .any(|l| l.contains("✓") && l.contains("max < 10s")),
        "{t}"
    );
    assert!(t.contains("VERDICT   ✓ PASS"), "{t}");
    let r =
        RunResult::from_json(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r.scenario.seed, 42);
    assert!(r.verdict.passed);
    assert_eq!(
        r.op("call").unwrap().histogram.decode().unwrap().len(),
        r.op("call").unwrap().latency.count
    );
}

#[test]
fn failing_threshold_exits_1_and_still_writes_results() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "fail.toml",
        &SYNTHETIC.replace("[\"max < 10s\"]", "[\"max < 1ns\"]"),
    );
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "run",
        &file,
        "--out",
        &out.display().to_string(),
        "--no-progress",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o)
            .lines()
            .any(|l| l.contains("✗") && l.contains("max < 1ns"))
    );
    let r =
        RunResult::from_json(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert!(!r.verdict.passed);
    assert!(!r.thresholds[0].passed);
}

#[test]
fn duration_override_shortens_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let smoke = scenarios_dir().join("smoke.toml");
    let o = gauntlet(&[
        "run",
        &smoke.display().to_string(),
        "--duration",
        "1s",
        "--out",
        &out.display().to_string(),
        "--no-progress",
    ]);
    let r =
        RunResult::from_json(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r.scenario.duration_s, 1.0);
    assert_eq!(
        r.scenario.warmup_s, 0.0,
        "a warm-up longer than the run is dropped"
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    assert_eq!(r.messages.lost, Some(0));
}

#[test]
fn a_run_past_its_hard_deadline_is_aborted_with_exit_1_and_results() {
    let dir = tempfile::tempdir().unwrap();
    let hung = SYNTHETIC
        .replace("duration = \"1s\"", "duration = \"1s\"\ngrace = \"1s\"")
        .replace(
            "workload = \"synthetic\"",
            "workload = \"synthetic\"\nhang_after = \"200ms\"",
        )
        .replace(
            "max_in_flight = 4",
            "max_in_flight = 4\nop_timeout = \"1m\"",
        );
    let file = write(dir.path(), "hung.toml", &hung);
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "run",
        &file,
        "--out",
        &out.display().to_string(),
        "--no-progress",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("ABORTED: hard deadline"), "{}", text(&o));
    let r =
        RunResult::from_json(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r.status, gauntlet_reports::schema::RunStatus::Aborted);
    assert_eq!(
        r.loads[0].unfinished, 4,
        "every slot was stuck in a hung op"
    );
}
