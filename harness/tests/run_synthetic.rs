//! End-to-end runs of the harness against the synthetic target, through the library.
//! Assertions are about accounting and behaviour, never about wall-clock speed.

use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::parse_str;
use gauntlet_reports::RunResult;
use gauntlet_reports::schema::RunStatus;

fn run_toml(toml: &str) -> RunResult {
    let scenario = parse_str(toml, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    run(&scenario, &RunOptions::default()).expect("run produces results")
}

fn scenario(target: &str, load: &str, thresholds: &str) -> String {
    format!(
        "name = \"t\"\nduration = \"1s\"\ntick = \"200ms\"\ngrace = \"3s\"\n\
         [watchdog]\nstall_after = \"1s\"\nshutdown_timeout = \"1s\"\n\
         [target]\nworkload = \"synthetic\"\n{target}\n[[load]]\n{load}\n[thresholds]\n{thresholds}\n"
    )
}

const RATE_100: &str =
    "op = \"call\"\nexecutor = \"constant-arrival-rate\"\nrate = 100\nmax_in_flight = 4";

#[test]
fn open_loop_issues_the_schedule_and_accounts_for_every_op() {
    let r = run_toml(&scenario(
        "",
        RATE_100,
        "\"errors{op=call}\" = [\"count == 0\"]",
    ));
    assert_eq!(r.status, RunStatus::Completed);
    assert!(r.verdict.passed, "{:?}", r.verdict.reasons);
    let l = &r.loads[0];
    assert_eq!(l.scheduled, Some(100));
    // Every scheduled op was either started or dropped, and every started op completed.
    assert_eq!(l.started + l.dropped_iterations, 100);
    assert_eq!(l.completed, l.started);
    assert_eq!(l.unfinished, 0);
    let op = &r.ops[0];
    assert_eq!(op.op, "call");
    assert_eq!(op.count, l.completed);
    // The encoded histogram holds every recorded latency.
    let h = op.histogram.decode().unwrap();
    assert_eq!(h.len(), op.latency.count);
    assert!(op.latency.count > 0);
    // Latency from the intended start is never below the service time.
    assert!(op.latency.max_ns >= op.service_time.max_ns);
    assert!(!r.timeline.is_empty());
    assert!(r.timeline.iter().all(|t| !t.warmup));
}

#[test]
fn a_full_slot_pool_drops_iterations_instead_of_hiding_them() {
    // One slot, each op takes 50 ms, 100 ops/s offered: most starts cannot be issued.
    let load = "op = \"call\"\nexecutor = \"constant-arrival-rate\"\nrate = 100\nmax_in_flight = 1";
    let r = run_toml(&scenario(
        "delay = \"50ms\"",
        load,
        "\"dropped_iterations\" = [\"count == 0\"]",
    ));
    let l = &r.loads[0];
    assert!(l.dropped_iterations > 0);
    assert_eq!(l.started + l.dropped_iterations, 100);
    assert!(!r.verdict.passed);
    let t = &r.thresholds[0];
    assert!(!t.passed);
    assert_eq!(t.observed, Some(l.dropped_iterations as f64));
}

#[test]
fn errors_are_counted_and_fail_thresholds() {
    let r = run_toml(&scenario(
        "fail_every = 4",
        RATE_100,
        "\"errors{op=call}\" = [\"count == 0\", \"rate < 0.5\"]",
    ));
    let op = &r.ops[0];
    // Every 4th op of the schedule fails; ops dropped on a slow machine change the
    // exact count but not the bound.
    assert!(
        op.errors > 0 && op.errors <= op.count.div_ceil(4),
        "{} of {}",
        op.errors,
        op.count
    );
    assert_eq!(op.timeouts, 0);
    // Counted by the kind the target reported: the synthetic op fails (it ran).
    assert_eq!(op.error_kinds.failed, op.errors);
    assert_eq!(op.error_kinds.rejected, 0);
    assert!(!r.thresholds[0].passed);
    assert!(r.thresholds[1].passed, "25% < 50%");
    assert!(!r.verdict.passed);
    assert!(
        r.verdict
            .reasons
            .iter()
            .any(|x| x.contains("errors{op=call} count == 0"))
    );
}

#[test]
fn closed_loop_never_exceeds_its_concurrency() {
    let load = "op = \"call\"\nexecutor = \"constant-concurrency\"\nconcurrency = 3";
    let r = run_toml(&scenario("delay = \"5ms\"", load, ""));
    assert!(r.verdict.passed, "{:?}", r.verdict.reasons);
    assert_eq!(r.loads[0].max_in_flight, 3);
    assert!(r.timeline.iter().all(|t| t.in_flight <= 3));
    assert_eq!(r.loads[0].scheduled, None);
    assert!(r.ops[0].count > 0);
}

#[test]
fn ramping_concurrency_starts_from_zero() {
    let load = "op = \"call\"\nexecutor = \"ramping-concurrency\"\nstart_concurrency = 0\nstages = [{ target = 4, duration = \"500ms\" }, { target = 0, duration = \"500ms\" }]";
    let r = run_toml(&scenario("delay = \"2ms\"", load, ""));
    assert!(r.verdict.passed, "{:?}", r.verdict.reasons);
    assert_eq!(r.loads[0].max_in_flight, 4);
    assert!(r.ops[0].count > 0);
    assert_eq!(r.loads[0].unfinished, 0);
}

#[test]
fn ramping_arrival_rate_issues_the_integral_of_its_stages() {
    // 0 -> 200 ops/s over 1 s: 100 ops.
    let load = "op = \"call\"\nexecutor = \"ramping-arrival-rate\"\nstages = [{ target = 200, duration = \"1s\" }]\nmax_in_flight = 8";
    let r = run_toml(&scenario("", load, ""));
    let l = &r.loads[0];
    assert_eq!(l.scheduled, Some(100));
    assert_eq!(l.started + l.dropped_iterations, 100);
}

#[test]
fn a_hung_target_is_a_stall_and_the_deadline_aborts_the_run() {
    // Ops hang after 300 ms and the op timeout is longer than the grace period, so
    // only the hard deadline can end the run.
    let load = "op = \"call\"\nexecutor = \"constant-arrival-rate\"\nrate = 50\nmax_in_flight = 4\nop_timeout = \"1m\"";
    let text =
        scenario("hang_after = \"300ms\"", load, "").replace("grace = \"3s\"", "grace = \"1s\"");
    let r = run_toml(&text);
    assert_eq!(r.status, RunStatus::Aborted);
    assert!(r.abort_reason.as_deref().unwrap().contains("hard deadline"));
    assert_eq!(r.stalls.len(), 1, "{:?}", r.stalls);
    assert!(!r.stalls[0].recovered);
    assert!(r.stalls[0].in_flight > 0);
    assert!(
        r.stalls[0].detail.contains("hang_after"),
        "{}",
        r.stalls[0].detail
    );
    assert!(!r.verdict.passed);
    assert_eq!(r.loads[0].unfinished, 4);
}

#[test]
fn op_timeouts_are_errors_and_end_the_stall() {
    let load = "op = \"call\"\nexecutor = \"constant-arrival-rate\"\nrate = 50\nmax_in_flight = 2\nop_timeout = \"100ms\"";
    let r = run_toml(&scenario("hang_after = \"200ms\"", load, ""));
    assert_eq!(r.status, RunStatus::Completed);
    let op = &r.ops[0];
    assert!(op.timeouts > 0);
    assert_eq!(op.errors, op.timeouts);
    assert_eq!(r.loads[0].unfinished, 0);
}

#[test]
fn warmup_is_measured_but_excluded() {
    let text = scenario("", RATE_100, "")
        .replace("duration = \"1s\"", "duration = \"1s\"\nwarmup = \"400ms\"");
    let r = run_toml(&text);
    let warm: Vec<_> = r.timeline.iter().filter(|t| t.warmup).collect();
    assert_eq!(warm.len(), 2, "ticks at 200 and 400 ms");
    let warm_completed: u64 = warm.iter().map(|t| t.ops[0].completed).sum();
    assert_eq!(r.ops[0].count + warm_completed, r.loads[0].completed);
}

#[test]
fn results_round_trip_through_json() {
    let r = run_toml(&scenario(
        "",
        RATE_100,
        "\"latency{op=call}\" = [\"p(99) < 10s\"]\n\"service_time{op=call}\" = [\"p(95) < 10s\"]",
    ));
    assert!(
        r.thresholds
            .iter()
            .all(|t| t.passed && t.observed.is_some())
    );
    let json = r.to_json().unwrap();
    let back = RunResult::from_json(&json).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.schema_version, gauntlet_reports::SCHEMA_VERSION);
}

#[test]
fn several_load_threads_share_the_loads_without_losing_count() {
    let text = scenario(
        "",
        "op = \"call\"\nexecutor = \"constant-arrival-rate\"\nrate = 400\nmax_in_flight = 7",
        "",
    )
    .replace("[watchdog]", "[runtime]\nload_threads = 3\n[watchdog]");
    let r = run_toml(&text);
    assert!(r.verdict.passed, "{:?}", r.verdict.reasons);
    assert_eq!(r.environment.load_threads, 3);
    let l = &r.loads[0];
    assert_eq!(l.scheduled, Some(400));
    assert_eq!(l.started + l.dropped_iterations, 400);
    assert_eq!(l.completed, l.started);
    assert_eq!(
        r.ops[0].histogram.decode().unwrap().len(),
        r.ops[0].latency.count
    );
}

#[test]
fn high_rates_are_paced_without_the_pacer() {
    // 20 000 ops/s: 50 µs apart, below the pacer's threshold.
    let load =
        "op = \"call\"\nexecutor = \"constant-arrival-rate\"\nrate = 20000\nmax_in_flight = 16";
    let r = run_toml(&scenario("", load, ""));
    let l = &r.loads[0];
    assert_eq!(l.scheduled, Some(20_000));
    assert_eq!(l.started + l.dropped_iterations, 20_000);
    assert_eq!(l.completed, l.started);
}

#[test]
fn the_summary_shows_thresholds_ops_leaks_and_verdict() {
    let r = run_toml(&scenario(
        "fail_every = 2",
        RATE_100,
        "\"errors{op=call}\" = [\"count == 0\"]\n\"latency{op=call}\" = [\"max < 10s\"]",
    ));
    let s = gauntlet_harness::summary::render(&r, Some("out/results.json"));
    assert!(s.contains("errors{op=call}"), "{s}");
    assert!(s.contains("✗  errors{op=call}   count == 0"), "{s}");
    assert!(s.contains("✓  latency{op=call}  max < 10s"), "{s}");
    // The same per-op columns as summary.md and report.html (one table model).
    assert!(
        s.contains("op ")
            && s.contains("p99.9")
            && s.contains("service p99")
            && s.contains("call "),
        "{s}"
    );
    assert!(s.contains("LIMIT     "), "who limited the run: {s}");
    assert!(s.contains("LEAKS     ✓ tasks 1 -> 1"), "{s}");
    assert!(s.contains("STALLS    none"), "{s}");
    assert!(s.contains("VERDICT   ✗ FAIL"), "{s}");
    assert!(
        s.contains("threshold failed: errors{op=call} count == 0"),
        "{s}"
    );
    assert!(s.contains("results:  out/results.json"), "{s}");
}

#[test]
fn what_the_target_cannot_measure_fails_its_threshold() {
    // The synthetic target counts no messages: "none" would be a made-up figure, so the
    // threshold fails as not measured. (A `deadlocks` threshold on it is refused by
    // validation: its workload hands over no actor system.)
    let r = run_toml(&scenario(
        "",
        RATE_100,
        "\"messages.lost\" = [\"count == 0\"]",
    ));
    assert_eq!(r.thresholds.len(), 1);
    for t in &r.thresholds {
        assert_eq!(t.observed, None, "{}", t.metric);
        assert!(!t.passed);
    }
    assert!(!r.verdict.passed);
}
