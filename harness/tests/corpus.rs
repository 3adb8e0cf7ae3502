//! Malformed scenario files (`tests/corpus/scenarios/`, one per class of problem
//! seen, each with its expected message on its first line as `# expect: ...`), and
//! malformed inputs on the command line: every one gets exit code 2 and a message
//! that names the file, and for scenario problems the line, column and field.

mod common;

use std::path::{Path, PathBuf};

use common::{gauntlet, text};
use gauntlet_harness::scenario::{Overrides, load_file};

fn scenario_corpus() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let first = std::fs::read_to_string(&f)
                .unwrap()
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            let expect = first
                .strip_prefix("# expect: ")
                .unwrap_or_else(|| panic!("{}: no `# expect:` line", f.display()))
                .to_owned();
            (f, expect)
        })
        .collect()
}

#[test]
fn every_malformed_scenario_is_refused_naming_where() {
    let corpus = scenario_corpus();
    assert!(
        corpus.len() >= 40,
        "the corpus lost files: {}",
        corpus.len()
    );
    for (file, expect) in &corpus {
        let e = match load_file(file, &Overrides::default()) {
            Ok(_) => panic!(
                "{}: validated, but should fail with `{expect}`",
                file.display()
            ),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains(expect),
            "{}: `{e}` lacks `{expect}`",
            file.display()
        );
        let first = e.lines().next().unwrap_or_default();
        let prefix = format!("{}:", file.display());
        assert!(first.starts_with(&prefix), "{first}");
        // FILE:LINE:COL: for everything that has a place in the file.
        let place = &first[prefix.len()..];
        let located = place.split(':').take(2).all(|n| n.parse::<usize>().is_ok());
        let whole_file = ["missing field", "at least one [[load]]"];
        assert!(
            located || whole_file.iter().any(|w| first.contains(w)),
            "no line:col in `{first}`"
        );
        for forbidden in ["i128", "VersionOnly", "Error(", "\u{0}"] {
            assert!(!e.contains(forbidden), "{}: {e}", file.display());
        }
    }
}

#[test]
fn validate_refuses_the_corpus_with_exit_2() {
    let corpus = scenario_corpus();
    let files: Vec<&str> = corpus.iter().map(|(f, _)| f.to_str().unwrap()).collect();
    let mut args = vec!["validate"];
    args.extend(files);
    let o = gauntlet(&args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    if !std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        return;
    }
    let fifo = fifo.to_str().unwrap();
    for args in [
        vec!["validate", "/dev/zero"],
        vec!["validate", fifo],
        vec!["report", fifo],
        vec!["compare", fifo, fifo],
        vec!["capacity", "--from", "/dev/zero"],
    ] {
        let o = gauntlet(&args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains("not a regular file"), "{args:?}: {t}");
    }
}

fn results_corpus(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reports/tests/corpus")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_corrupt_histogram_is_exit_2_naming_file_op_and_field() {
    let bad = results_corpus("hist-claims-4gib.json");
    let good = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reports/tests/data/tiny.json")
        .to_str()
        .unwrap()
        .to_owned();
    let out = tempfile::tempdir().unwrap();
    let out = out.path().to_str().unwrap();
    for args in [
        vec!["report", bad.as_str(), "--out", out],
        vec!["compare", good.as_str(), bad.as_str()],
        vec!["compare", bad.as_str(), good.as_str()],
        vec!["capacity", "--from", bad.as_str(), "--out", out],
    ] {
        let o = gauntlet(&args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(
            t.contains("hist-claims-4gib.json") && t.contains("ops[0] (op `ask`).histogram"),
            "{args:?}: {t}"
        );
    }
}

#[test]
fn capacity_from_refuses_a_results_name_that_leaves_the_output_folder() {
    let cwd = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["capacity", "--from", &results_corpus("name-escapes.json")])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("scenario.name `../../escaped` holds a path separator"),
        "{t}"
    );
    // Nothing was written, inside the folder or above it.
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}

#[test]
fn a_huge_elapsed_time_renders_without_a_panic() {
    let out = tempfile::tempdir().unwrap();
    let o = gauntlet(&[
        "report",
        &results_corpus("elapsed-2e19.json"),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn run_and_suite_refuse_a_corrupt_baseline_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tiny.toml");
    std::fs::write(
        &scenario,
        "name = \"tiny\"\nduration = \"300ms\"\ntick = \"100ms\"\n[target]\nworkload = \"synthetic\"\n\
         [[load]]\nop = \"call\"\nexecutor = \"constant-arrival-rate\"\nrate = 100\nmax_in_flight = 4\n",
    )
    .unwrap();
    let baselines = dir.path().join("baselines");
    std::fs::create_dir(&baselines).unwrap();
    std::fs::copy(
        results_corpus("hist-claims-4gib.json"),
        baselines.join("tiny.json"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let (scenario, baselines, out) = (
        scenario.to_str().unwrap(),
        baselines.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let baseline = format!("{baselines}/tiny.json");
    for args in [
        vec![
            "run",
            scenario,
            "--out",
            out,
            "--no-progress",
            "--baseline",
            &baseline,
        ],
        vec![
            "suite",
            scenario,
            "--out",
            out,
            "--no-progress",
            "--baseline-dir",
            baselines,
        ],
    ] {
        let o = gauntlet(&args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(
            t.contains("tiny.json: ops[0] (op `ask`).histogram"),
            "{args:?}: {t}"
        );
    }
}
