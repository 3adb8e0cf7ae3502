//! The durability checker (`gauntlet_harness::durability`) against a file-backed
//! smart-home in a child process: killed, it loses nothing it acknowledged; with the
//! unsafe setting (acknowledge before commit) the checker finds the lost writes and
//! names them; a graceful restart loses nothing at all.

mod common;

use common::{gauntlet, text};

/// Two kills (or graceful restarts) of 500 ms under ~300 ops/s; `extra` goes into
/// `[target]`, `fault` is the fault kind.
fn scenario(dir: &std::path::Path, fault: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.join("durability.toml");
    std::fs::write(
        &path,
        format!(
            r#"
name = "durability"
duration = "5s"
tick = "250ms"
grace = "20s"
[runtime]
worker_threads = 1
load_threads = 1
[target]
workload = "smart-home"
process = "child"
storage = "file"
homes = 2
rooms_per_home = 2
devices_per_room = 8
flush_interval = "1s"
desired_every = 2
idle_timeout = "30s"
{extra}
[[load]]
op = "telemetry"
executor = "constant-arrival-rate"
rate = 150
max_in_flight = 32
[[load]]
op = "command"
executor = "constant-arrival-rate"
rate = 150
max_in_flight = 32
[[fault]]
kind = "{fault}"
at = "1500ms"
for = "500ms"
every = "2s"
[recovery]
baseline = "500ms"
within = "2s"
"#
        ),
    )
    .unwrap();
    path
}

fn run(
    dir: &std::path::Path,
    fault: &str,
    extra: &str,
) -> (std::process::Output, serde_json::Value) {
    let file = scenario(dir, fault, extra);
    let out = dir.join("out");
    let o = gauntlet(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    let r = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    (o, r)
}

fn invariant<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no invariant {name}: {}", r["invariants"]))
}

#[test]
fn killed_twice_the_target_loses_nothing_it_acknowledged_as_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (o, r) = run(dir.path(), "kill-process", "");
    assert_eq!(r["status"], "completed", "{}", text(&o));
    let d = &r["durability"];
    // Both kills happened and each was followed by a read-back, then one at the end.
    let kills = r["faults"].as_array().unwrap();
    assert_eq!(kills.len(), 2, "{kills:?}");
    assert!(kills.iter().all(|k| k["error"].is_null()), "{kills:?}");
    assert_eq!(d["readbacks"], 3, "{d}");
    assert!(d["acknowledged"].as_u64().unwrap() > 50, "{d}");
    assert_eq!(d["lost_acknowledged"], 0, "{d}");
    assert_eq!(d["lost"].as_array().unwrap().len(), 0, "{d}");
    // Readings were acknowledged before they were written; kills lost some of them.
    assert!(
        d["write_behind_acknowledged"].as_u64().unwrap() > 100,
        "{d}"
    );
    assert!(d["write_behind_lost"].as_u64().unwrap() > 0, "{d}");
    let lost = invariant(&r, "durability.lost_acknowledged");
    assert_eq!(
        (lost["checks"].as_u64(), lost["violations"].as_u64()),
        (Some(3), Some(0)),
        "{lost}"
    );
    // The summary shows the section.
    assert!(text(&o).contains("DURABILITY"), "{}", text(&o));
    let md = std::fs::read_to_string(dir.path().join("out/summary.md")).unwrap();
    assert!(md.contains("# Durability"), "{md}");
}

#[test]
fn acknowledging_before_the_commit_is_caught_with_the_keys_named() {
    let dir = tempfile::tempdir().unwrap();
    let (o, r) = run(
        dir.path(),
        "kill-process",
        "unsafe_ack_before_commit = true",
    );
    assert_eq!(r["status"], "completed", "{}", text(&o));
    // The negative control: the same run, with set_desired acknowledged before its
    // commit, fails on lost acknowledged writes.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let d = &r["durability"];
    let lost = d["lost_acknowledged"].as_u64().unwrap();
    assert!(lost > 0, "{d}");
    let first = &d["lost"][0];
    assert!(
        first["key"].as_str().unwrap().starts_with("device-"),
        "{first}"
    );
    assert!(
        first["found_version"].as_u64().unwrap() < first["version"].as_u64().unwrap(),
        "{first}"
    );
    let inv = invariant(&r, "durability.lost_acknowledged");
    assert!(inv["violations"].as_u64().unwrap() > 0, "{inv}");
    let message = inv["message"].as_str().unwrap();
    assert!(message.contains("acknowledged writes lost"), "{message}");
    assert!(
        message.contains(first["key"].as_str().unwrap()) || message.contains("device-"),
        "{message}"
    );
    assert!(
        text(&o).contains("invariant{name=durability.lost_acknowledged}"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_graceful_restart_loses_nothing_not_even_written_behind_state() {
    let dir = tempfile::tempdir().unwrap();
    let (o, r) = run(dir.path(), "restart-process", "");
    assert_eq!(r["status"], "completed", "{}", text(&o));
    let d = &r["durability"];
    assert_eq!(d["readbacks"], 3, "{d}");
    assert!(d["acknowledged"].as_u64().unwrap() > 50, "{d}");
    assert_eq!(d["lost_acknowledged"], 0, "{d}");
    assert_eq!(d["write_behind_lost"], 0, "{d}");
}

#[test]
fn the_durability_invariants_come_with_restarting_faults_and_can_be_waived() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "kill-process", "");
    let o = gauntlet(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A threshold on the checker's invariant is accepted (it is declared for this
    // scenario), and an empty one waives it.
    let body = std::fs::read_to_string(&file).unwrap()
        + "[thresholds]\n\"invariant{name=durability.write_behind_bounded}\" = []\n";
    std::fs::write(&file, body).unwrap();
    let o = gauntlet(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Without a restarting fault there is no such invariant.
    let body = std::fs::read_to_string(&file)
        .unwrap()
        .replace("kind = \"kill-process\"", "kind = \"pause-process\"");
    std::fs::write(&file, body).unwrap();
    let o = gauntlet(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("declares no invariant `durability.write_behind_bounded`"),
        "{}",
        text(&o)
    );
}
