//! Proof without a cluster: three shards run as local processes with the environment
//! a Kubernetes Indexed Job gives its pods (`JOB_COMPLETION_INDEX`, and the shard
//! count and start instant from the Job's environment), then `gauntlet merge`.
//! Assertions are about counts and histograms, never about wall-clock speed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use gauntlet_reports::RunResult;
use hdrhistogram::Histogram;

use common::{gauntlet, text};

/// 600 ops at 300/s over 2 s. `count < 400` holds on each shard (200 ops) and fails
/// on the run; `count > 500` the other way round.
const SCENARIO: &str = r#"
name = "sharded"
duration = "2s"
tick = "250ms"
grace = "5s"
[target]
workload = "synthetic"
delay = "1ms"
[[load]]
op = "call"
executor = "constant-arrival-rate"
rate = 300
max_in_flight = 32
drop_after = "1s"
[thresholds]
"throughput{op=call}" = ["count < 400", "count > 500"]
"errors{op=call}" = ["count == 0"]
"#;

struct Fixture {
    dir: tempfile::TempDir,
    shards: Vec<RunResult>,
    merge: Output,
    merged: RunResult,
    single: RunResult,
}

fn read(p: &Path) -> RunResult {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    RunResult::from_json(&text).unwrap()
}

fn shard_files(dir: &Path) -> Vec<PathBuf> {
    (0..3)
        .map(|i| dir.join(format!("shard-{i}")).join("results.json"))
        .collect()
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("sharded.toml");
        std::fs::write(&scenario, SCENARIO).unwrap();
        // The shared start instant, as the Job's environment would carry it. Shards
        // that are late start at once; the merge below allows for it.
        let start = SystemTime::now() + Duration::from_secs(3);
        let start_ms = start
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            .to_string();
        let pods: Vec<_> = (0..3)
            .map(|i| {
                Command::new(env!("CARGO_BIN_EXE_gauntlet"))
                    .args(["run", scenario.to_str().unwrap(), "--no-progress", "--out"])
                    .arg(dir.path().join(format!("shard-{i}")))
                    .env("JOB_COMPLETION_INDEX", i.to_string())
                    .env("GAUNTLET_SHARDS", "3")
                    .env("GAUNTLET_START_AT", &start_ms)
                    .spawn()
                    .expect("gauntlet starts")
            })
            .collect();
        for mut p in pods {
            // Each shard fails its own `count > 500`: exit 1 with results written.
            let status = p.wait().unwrap();
            assert_eq!(status.code(), Some(1));
        }
        let files = shard_files(dir.path());
        let shards: Vec<RunResult> = files.iter().map(|f| read(f)).collect();
        let merged_dir = dir.path().join("merged");
        let mut args = vec!["merge".to_owned()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        args.extend(["--out".into(), merged_dir.display().to_string()]);
        args.extend(["--max-skew".into(), "60s".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let merge = gauntlet(&args);
        let merged = read(&merged_dir.join("results.json"));
        let single_dir = dir.path().join("single");
        let single_run = gauntlet(&[
            "run",
            scenario.to_str().unwrap(),
            "--no-progress",
            "--out",
            single_dir.to_str().unwrap(),
        ]);
        assert_eq!(single_run.status.code(), Some(1), "{}", text(&single_run));
        let single = read(&single_dir.join("results.json"));
        Fixture {
            dir,
            shards,
            merge,
            merged,
            single,
        }
    })
}

#[test]
fn each_shard_knows_its_index_from_the_indexed_job_environment() {
    let f = fixture();
    for (i, s) in f.shards.iter().enumerate() {
        let info = s.shard.as_ref().expect("a shard records itself");
        assert_eq!((info.index as usize, info.count), (i, 3));
        assert_eq!(
            s.scenario.seed, f.single.scenario.seed,
            "the scenario's seed"
        );
        assert!(info.start_at_unix_ms.is_some());
        // Each issued its share of the 600 scheduled ops: 200 (600 divides by 3).
        assert_eq!(s.loads[0].scheduled, Some(200));
    }
    let seeds: Vec<u64> = f
        .shards
        .iter()
        .map(|s| s.shard.as_ref().unwrap().seed)
        .collect();
    assert!(seeds[0] != seeds[1] && seeds[1] != seeds[2], "{seeds:?}");
    // In-flight slots split 11 + 11 + 10.
    let slots: u64 = f.shards.iter().map(|s| s.loads[0].max_in_flight).sum();
    assert_eq!(slots, 32);
}

#[test]
fn the_merged_count_is_the_sum_of_the_shards() {
    let f = fixture();
    let sum: u64 = f.shards.iter().map(|s| s.ops[0].count).sum();
    assert!(sum > 0);
    assert_eq!(f.merged.ops[0].count, sum);
    assert_eq!(f.merged.ops[0].latency.count, sum);
    let started: u64 = f.shards.iter().map(|s| s.loads[0].started).sum();
    assert_eq!(f.merged.loads[0].started, started);
    assert_eq!(f.merged.loads[0].scheduled, Some(600));
    assert_eq!(f.merged.merged.as_ref().unwrap().count, 3);
    assert!(f.merged.shard.is_none());
}

#[test]
fn the_merged_p99_is_the_p99_of_one_histogram_of_every_shards_values() {
    let f = fixture();
    // One histogram built from every value the shards recorded.
    let mut one = Histogram::<u64>::new(3).unwrap();
    one.auto(true);
    for s in &f.shards {
        let h = s.ops[0].histogram.decode().unwrap();
        for v in h.iter_recorded() {
            one.record_n(v.value_iterated_to(), v.count_at_value())
                .unwrap();
        }
    }
    let merged = f.merged.ops[0].histogram.decode().unwrap();
    assert_eq!(merged.len(), one.len());
    for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_eq!(
            merged.value_at_quantile(q),
            one.value_at_quantile(q),
            "q {q}"
        );
    }
    assert_eq!(f.merged.ops[0].latency.p99_ns, one.value_at_quantile(0.99));
    let p99 = f
        .merged
        .thresholds
        .iter()
        .all(|t| t.metric != "latency{op=call}");
    assert!(p99, "no latency threshold in this scenario");
}

fn outcome(r: &RunResult, expression: &str) -> bool {
    r.thresholds
        .iter()
        .find(|t| t.expression == expression)
        .unwrap_or_else(|| panic!("{expression} judged"))
        .passed
}

#[test]
fn thresholds_are_judged_again_on_the_merged_data() {
    let f = fixture();
    for s in &f.shards {
        assert!(outcome(s, "count < 400"), "each shard passes alone");
        assert!(!outcome(s, "count > 500"), "each shard fails alone");
    }
    assert!(!outcome(&f.merged, "count < 400"), "the run fails it");
    assert!(outcome(&f.merged, "count > 500"), "the run passes it");
    assert!(outcome(&f.merged, "count == 0"));
    assert!(!f.merged.verdict.passed);
    assert_eq!(
        f.merged.verdict.reasons,
        vec![format!(
            "threshold failed: throughput{{op=call}} count < 400 (observed {} count)",
            f.merged.ops[0].count
        )]
    );
    // The merge's exit code is the merged verdict's.
    assert_eq!(f.merge.status.code(), Some(1), "{}", text(&f.merge));
    for file in ["report.html", "summary.md", "junit.xml"] {
        assert!(f.dir.path().join("merged").join(file).is_file(), "{file}");
    }
}

#[test]
fn the_same_total_load_in_one_process_gives_the_same_counts() {
    let f = fixture();
    let (m, s) = (&f.merged.loads[0], &f.single.loads[0]);
    assert_eq!(
        m.scheduled, s.scheduled,
        "the shards' schedules add up exactly"
    );
    // Every scheduled op was started or dropped, in both.
    assert_eq!(m.started + m.dropped_iterations, 600);
    assert_eq!(s.started + s.dropped_iterations, 600);
    // Comparable throughput: the completed counts of the measured windows agree within
    // a few percent (a loaded machine may drop a few iterations in either run).
    let (mc, sc) = (f.merged.ops[0].count as f64, f.single.ops[0].count as f64);
    assert!((mc / sc - 1.0).abs() < 0.05, "merged {mc} vs single {sc}");
    println!(
        "throughput: merged {:.1}/s, one process {:.1}/s",
        f.merged.ops[0].throughput_per_s, f.single.ops[0].throughput_per_s
    );
}

#[test]
fn merge_refuses_what_is_not_one_whole_run() {
    let f = fixture();
    let files = shard_files(f.dir.path());
    let out = f.dir.path().join("refused");
    let out = out.to_str().unwrap();
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    // A missing shard.
    let o = gauntlet(&["merge", &names[0], &names[1], "--out", out]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("missing shard(s) [2]"), "{}", text(&o));
    // A duplicate.
    let o = gauntlet(&["merge", &names[0], &names[1], &names[1], "--out", out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("shard 1 appears twice"), "{}", text(&o));
    // A shard of another seed.
    let other = f.dir.path().join("other-seed.json");
    let mut r = f.shards[2].clone();
    r.scenario.seed += 1;
    std::fs::write(&other, r.to_json().unwrap()).unwrap();
    let o = gauntlet(&[
        "merge",
        &names[0],
        &names[1],
        other.to_str().unwrap(),
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("scenario.seed"), "{}", text(&o));
    // Start times too far apart: a shard whose pod started its load 5 s late.
    let late = f.dir.path().join("late.json");
    let mut r = f.shards[2].clone();
    r.shard.as_mut().unwrap().load_started_at_unix_ms += 5000;
    std::fs::write(&late, r.to_json().unwrap()).unwrap();
    let o = gauntlet(&[
        "merge",
        &names[0],
        &names[1],
        late.to_str().unwrap(),
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("at most 1000 ms allowed"), "{}", text(&o));
    // Not a shard at all.
    let single = f.dir.path().join("single").join("results.json");
    let o = gauntlet(&["merge", single.to_str().unwrap(), "--out", out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not a shard"), "{}", text(&o));
    assert!(!Path::new(out).join("results.json").exists());
}

#[test]
fn bad_shard_flags_are_usage_errors() {
    let f = fixture();
    let scenario = f.dir.path().join("sharded.toml");
    let s = scenario.to_str().unwrap();
    for (args, says) in [
        (vec!["--shard", "3/3"], "index must be below"),
        (vec!["--shard", "3"], "JOB_COMPLETION_INDEX"),
        (vec!["--shard", "0/2", "--start-at", "soon"], "RFC 3339"),
        (vec!["--start-at", "1790000000000"], "add --shard"),
    ] {
        let mut all = vec!["run", s, "--no-progress"];
        all.extend(args.iter());
        let o = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
            .args(&all)
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("GAUNTLET_SHARDS")
            .env_remove("GAUNTLET_START_AT")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
    }
}

#[test]
fn merged_results_are_ordinary_results_for_report_compare_and_baseline() {
    let f = fixture();
    let merged = f.dir.path().join("merged").join("results.json");
    let single = f.dir.path().join("single").join("results.json");
    let (merged, single) = (merged.to_str().unwrap(), single.to_str().unwrap());
    let o = gauntlet(&[
        "report",
        merged,
        "--out",
        f.dir.path().join("re").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Compared with the same load run in one process: a result, not a usage error.
    let o = gauntlet(&[
        "compare",
        single,
        merged,
        "--tolerance",
        "p99=off",
        "--tolerance",
        "max=off",
        "--tolerance",
        "p999=off",
    ]);
    assert_ne!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("throughput"), "{}", text(&o));
    // And merge takes --baseline itself.
    let files = shard_files(f.dir.path());
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let out = f.dir.path().join("merged-with-baseline");
    let o = gauntlet(&[
        "merge",
        &names[0],
        &names[1],
        &names[2],
        "--max-skew",
        "60s",
        "--out",
        out.to_str().unwrap(),
        "--baseline",
        single,
        "--tolerance",
        "p99=off",
    ]);
    assert_ne!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("COMPARISON"), "{}", text(&o));
}
