//! `gauntlet top` from the command line: `--once` against a real `gauntlet run` on
//! 127.0.0.1 (the address read from what the run prints), and its usage errors.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{gauntlet, text};

const STUCK: &str = "name = \"top-cli\"\nduration = \"2s\"\ntick = \"100ms\"\ngrace = \"5s\"\n\
     [runtime]\nworker_threads = 1\n\
     [watchdog]\nstall_after = \"300ms\"\nshutdown_timeout = \"500ms\"\n\
     [target]\nworkload = \"actors\"\ntopology = \"one\"\nhandler_sleep = \"10s\"\nask_timeout = \"20s\"\n\
     [[load]]\nop = \"ask\"\nexecutor = \"constant-arrival-rate\"\nrate = 20\nmax_in_flight = 4\nop_timeout = \"1s\"\n";

#[test]
fn once_prints_the_running_actors_of_a_real_run() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("top-cli.toml");
    std::fs::write(&scenario, STUCK).unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--metrics-addr", "127.0.0.1:0", "--no-progress"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(run.stderr.take().unwrap());
    // The run says where it serves: "gauntlet: serving metrics on http://ADDR/metrics".
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the run ended without serving"
        );
        if let Some(rest) = line.trim().strip_prefix("gauntlet: serving metrics on ") {
            break rest.to_owned();
        }
    };
    // Keep reading the run's stderr so that it never blocks on a full pipe.
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        while stderr.read_line(&mut rest).unwrap_or(0) > 0 {}
        rest
    });
    // Until the stuck worker shows with asks queued (or the run ends: then fail).
    let table = loop {
        let o = gauntlet(&["top", "--once", &url, "--sort", "running", "--top", "5"]);
        assert!(
            o.status.success(),
            "the run ended before the backlog showed: {}",
            text(&o)
        );
        let out = String::from_utf8(o.stdout).unwrap();
        let worker = out
            .lines()
            .find(|l| l.starts_with("actor://gauntlet/worker "));
        if worker.is_some_and(|w| {
            let cells: Vec<&str> = w.split_whitespace().collect();
            cells[2] == "running" && cells[3].parse::<u64>().unwrap() >= 2
        }) {
            break out;
        }
    };
    assert!(
        table.starts_with("gauntlet top: top-cli (sort running)\n"),
        "{table}"
    );
    assert!(table.contains("\nACTOR "), "{table}");
    assert!(table.contains("actor://gauntlet  actors "), "{table}");
    let status = run.wait().unwrap();
    drain.join().unwrap();
    assert_eq!(status.code(), Some(1), "the stalled run fails its verdict");
    // The endpoint is gone with the run: --once says so and exits 1.
    let o = gauntlet(&["top", "--once", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("cannot read http://"), "{}", text(&o));
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    for (args, needle) in [
        (&["top", "--once", "nowhere"][..], "nowhere"),
        (&["top", "--once", "--sort", "deepest"][..], "deepest"),
        (&["top", "--once", "--glob", "actor://["][..], "actor://["),
        (&["top", "--every", "0s"][..], "more than 0"),
    ] {
        let o = gauntlet(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(needle), "{args:?}: {}", text(&o));
    }
    // The live view needs a terminal; the test's stdout is a pipe.
    let o = gauntlet(&["top", "127.0.0.1:1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--once"), "{}", text(&o));
}
