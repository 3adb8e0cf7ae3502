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
