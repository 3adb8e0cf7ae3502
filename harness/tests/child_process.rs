//! `[target] process = "child"`: the target built and driven in a child process.

mod common;

use common::{gauntlet, text};

fn scenario(dir: &std::path::Path, process: &str) -> std::path::PathBuf {
    let path = dir.join("child.toml");
    std::fs::write(
        &path,
        format!(
            r#"
name = "child"
duration = "1500ms"
tick = "250ms"
grace = "10s"
[runtime]
worker_threads = 1
load_threads = 1
[target]
workload = "actors"
process = {process}
topology = "round-robin"
actors = 4
[[load]]
op = "ask"
executor = "constant-arrival-rate"
rate = 400
max_in_flight = 32
[[load]]
op = "tell"
executor = "constant-arrival-rate"
rate = 400
max_in_flight = 32
[thresholds]
"errors{{op=ask}}" = ["count == 0"]
"errors{{op=tell}}" = ["count == 0"]
"messages.lost" = ["count == 0"]
"#
        ),
    )
    .unwrap();
    path
}

fn results(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn a_target_in_a_child_process_runs_ops_checks_invariants_and_accounts_messages() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "\"child\"");
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let r = results(&out);
    for op in r["ops"].as_array().unwrap() {
        assert!(op["count"].as_u64().unwrap() > 100, "{op}");
        assert_eq!(op["errors"], 0, "{op}");
    }
    // The accounting and the invariant can only have come back over the channel.
    let sent = r["messages"]["sent"].as_u64().unwrap();
    assert!(sent > 100, "{}", r["messages"]);
    assert_eq!(r["messages"]["lost"], 0);
    let inv = &r["invariants"][0];
    assert_eq!(inv["name"], "actors.accounted");
    assert!(inv["checks"].as_u64().unwrap() >= 1, "{inv}");
    // The child's runtime samples arrive too (actors alive in the timeline).
    let actors_seen = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["target"]["actors_alive"].as_u64())
        .max();
    assert_eq!(actors_seen, Some(4), "{}", r["timeline"]);
    // The child's own process figures, from /proc, beside the harness's.
    let timeline = r["timeline"].as_array().unwrap();
    for figure in ["process_rss_bytes", "process_threads"] {
        assert!(
            timeline
                .iter()
                .any(|t| t["target"][figure].as_u64().is_some_and(|v| v > 0)),
            "{figure}: {timeline:?}"
        );
    }
    assert!(
        timeline
            .iter()
            .any(|t| t["target"]["process_cpu_percent"].as_f64().is_some()),
        "{timeline:?}"
    );
}

#[test]
fn a_child_that_cannot_start_is_a_build_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "\"child\"");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["run", file.to_str().unwrap(), "--no-progress", "--out"])
        .arg(dir.path().join("out"))
        .env(gauntlet_harness::child::PROGRAM_ENV, "/bin/true")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("the target process exited before it was ready"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_bad_process_value_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "\"fork\"");
    let o = gauntlet(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("child.toml:11"), "{t}");
    assert!(t.contains("target.process"), "{t}");
    assert!(t.contains("\"child\""), "{t}");
}

#[test]
fn process_is_parsed_before_the_workload_config() {
    let s = gauntlet_harness::scenario::parse_str(
        "name = \"p\"\nduration = \"1s\"\n[target]\nworkload = \"synthetic\"\nprocess = \"child\"\n[[load]]\nop = \"call\"\nexecutor = \"constant-concurrency\"\nconcurrency = 1\n",
        "p.toml",
    )
    .unwrap();
    assert_eq!(s.target.process(), gauntlet_harness::child::Process::Child);
}

fn write(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

const KILLS: &str = r#"
name = "kills"
duration = "4500ms"
tick = "250ms"
grace = "10s"
[runtime]
worker_threads = 1
load_threads = 1
[target]
workload = "actors"
process = "child"
topology = "round-robin"
actors = 4
[[load]]
op = "ask"
executor = "constant-arrival-rate"
rate = 200
max_in_flight = 32
[[fault]]
kind = "kill-process"
at = "750ms"
for = "250ms"
every = "1s"
[[fault]]
kind = "pause-process"
at = "3250ms"
for = "250ms"
[recovery]
baseline = "250ms"
within = "2s"
"#;

#[test]
fn kill_process_fails_ops_fast_restarts_the_child_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kills.toml", KILLS);
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    let r = results(&out);
    assert_eq!(r["status"], "completed", "{}", text(&o));
    let faults = r["faults"].as_array().unwrap();
    let kills: Vec<_> = faults
        .iter()
        .filter(|f| f["kind"] == "kill-process")
        .collect();
    assert_eq!(kills.len(), 4, "{faults:?}");
    let mut pids = Vec::new();
    for k in &kills {
        // (An error here was the one failure in 15 runs: the kill was signalled after
        // the child's stdin was closed, and the child could be gone by then.)
        assert!(k["error"].is_null(), "{k}");
        // Ops issued while the child was down failed, and were counted.
        assert!(k["events_affected"].as_u64().unwrap() > 0, "{k}");
        assert!(k["restart_s"].as_f64().unwrap() > 0.0, "{k}");
        pids.push(k["victims"][0].as_str().unwrap().to_owned());
    }
    // Each kill hit a new incarnation.
    pids.dedup();
    assert_eq!(pids.len(), 4, "{pids:?}");
    let pause = faults
        .iter()
        .find(|f| f["kind"] == "pause-process")
        .unwrap();
    assert!(pause["error"].is_null(), "{pause}");
    // Ops failed while down, as errors; the child took ops again after every restart.
    let op = &r["ops"][0];
    assert!(op["errors"].as_u64().unwrap() > 0, "{op}");
    // After the last restart (the last kill ends at 4 s) ops succeed again. (Not
    // simply the last tick: one after the load's end, while the run winds down, has
    // no ops at all.)
    let timeline = r["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(|t| t["t_s"].as_f64().unwrap() > 4.0
            && t["ops"][0]["errors"] == 0
            && t["ops"][0]["completed"].as_u64().unwrap() > 0),
        "{timeline:?}"
    );
    // The final shutdown and invariant check reached the last incarnation.
    assert!(
        r["leaks"]["shutdown_clean"].as_bool().unwrap(),
        "{}",
        r["leaks"]
    );
}

#[test]
fn process_faults_need_a_child_and_in_process_faults_are_refused_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let in_process = KILLS.replace("process = \"child\"\n", "");
    let file = write(dir.path(), "a.toml", &in_process);
    let o = gauntlet(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("`kill-process` faults need the target in a child process"),
        "{}",
        text(&o)
    );
    let crash = KILLS.replace(
        "kind = \"pause-process\"",
        "kind = \"crash\"\ntarget = \"actor://gauntlet/worker-*\"",
    );
    let file = write(dir.path(), "b.toml", &crash);
    let o = gauntlet(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("b.toml:25"), "{}", text(&o));
    assert!(
        text(&o).contains("`crash` faults act inside the target's process"),
        "{}",
        text(&o)
    );
}

/// The actors target in a child, replaced once by `fault` (`kill-process` or
/// `restart-process`) a third of the way in.
fn replaced(dir: &std::path::Path, fault: &str) -> serde_json::Value {
    let path = dir.join("replaced.toml");
    std::fs::write(
        &path,
        format!(
            r#"
name = "replaced"
duration = "1500ms"
tick = "250ms"
grace = "10s"
[runtime]
worker_threads = 1
load_threads = 1
[target]
workload = "actors"
process = "child"
topology = "round-robin"
actors = 4
[[load]]
op = "ask"
executor = "constant-arrival-rate"
rate = 400
max_in_flight = 32
[[load]]
op = "tell"
executor = "constant-arrival-rate"
rate = 400
max_in_flight = 32
[[fault]]
kind = "{fault}"
at = "500ms"
for = "250ms"
[recovery]
baseline = "250ms"
within = "10s"
"#
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let o = gauntlet(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    let r = results(&out);
    assert_eq!(r["status"], "completed", "{}", text(&o));
    let faults = r["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert!(faults[0]["error"].is_null(), "{faults:?}");
    r
}

/// The run's figures are the sums of its incarnations' (and `lost` balances them).
fn assert_summed(m: &serde_json::Value) {
    let parts = m["incarnations"].as_array().unwrap();
    for field in [
        "sent",
        "delivered",
        "dropped",
        "rejected",
        "dead_lettered",
        "queued",
    ] {
        let sum: u64 = parts.iter().map(|p| p[field].as_u64().unwrap()).sum();
        assert_eq!(m[field].as_u64(), Some(sum), "{field}: {m}");
    }
    let kill: u64 = parts
        .iter()
        .filter_map(|p| p["lost_in_kill"].as_u64())
        .sum();
    assert_eq!(m["lost_in_kill"].as_u64().unwrap_or(0), kill, "{m}");
    let accounted: u64 = [
        "delivered",
        "dropped",
        "rejected",
        "dead_lettered",
        "queued",
    ]
    .iter()
    .map(|f| m[f].as_u64().unwrap())
    .sum::<u64>()
        + kill;
    assert_eq!(
        m["lost"].as_i64(),
        Some(m["sent"].as_u64().unwrap() as i64 - accounted as i64),
        "{m}"
    );
}

fn lost_threshold_passed(r: &serde_json::Value) -> bool {
    let t = r["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == "messages.lost")
        .unwrap_or_else(|| panic!("no messages.lost threshold: {}", r["thresholds"]));
    t["passed"].as_bool().unwrap()
}

#[test]
fn a_graceful_restart_of_the_child_accounts_both_incarnations_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let r = replaced(dir.path(), "restart-process");
    let m = &r["messages"];
    let parts = m["incarnations"].as_array().unwrap();
    let ended: Vec<&str> = parts.iter().map(|p| p["ended"].as_str().unwrap()).collect();
    assert_eq!(ended, ["restarted", "end"], "{m}");
    // Both children sent, and the run reports what both did, not the last one's.
    for p in parts {
        assert!(p["sent"].as_u64().unwrap() > 50, "{m}");
        assert_eq!(p["lost"], 0, "{m}");
    }
    assert_summed(m);
    assert!(m["sent"].as_u64() > parts[1]["sent"].as_u64(), "{m}");
    assert_eq!(m["lost"], 0, "{m}");
    assert!(m.get("lost_in_kill").is_none(), "{m}");
    assert!(lost_threshold_passed(&r), "{}", r["thresholds"]);
}

#[test]
fn a_killed_child_is_recorded_with_its_figures_and_does_not_fail_messages_lost() {
    let dir = tempfile::tempdir().unwrap();
    let r = replaced(dir.path(), "kill-process");
    let m = &r["messages"];
    let parts = m["incarnations"].as_array().unwrap();
    let ended: Vec<&str> = parts.iter().map(|p| p["ended"].as_str().unwrap()).collect();
    assert_eq!(ended, ["killed", "end"], "{m}");
    let killed = &parts[0];
    assert!(killed["sent"].as_u64().unwrap() > 50, "{m}");
    assert!(killed["lost_in_kill"].as_u64().is_some(), "{m}");
    assert_eq!(killed["queued"], 0, "{m}");
    assert_summed(m);
    assert_eq!(m["lost"], 0, "{m}");
    assert!(lost_threshold_passed(&r), "{}", r["thresholds"]);
}
