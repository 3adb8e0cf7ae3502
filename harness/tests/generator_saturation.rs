//! The load generator pushed past its own ceiling on purpose: more load threads than
//! cores, loads offered far more than any thread can issue, a target that does
//! nothing. Whatever the machine's speed, the run must stay honest, and every
//! assertion here is about counts and invariants in results.json, never wall-clock
//! bounds:
//!
//! - every scheduled op was started or counted as dropped;
//! - no op started later than `drop_after` after its intended time, so no latency is
//!   above `drop_after` plus the op's own service time (the old generator let slots
//!   start ops seconds late, with a per-tick maximum that grew through the run);
//! - every tick that reports completions reports their latency figures (the old
//!   generator's flusher starved behind a busy slot, leaving ticks with millions of
//!   completions and null percentiles);
//! - loads share the generator: a light load beside saturated ones is not starved,
//!   and two saturated loads with 1024 and 8 slots get comparable shares;
//! - the saturation is reported: the saturated loads are marked starved, and each
//!   tick carries the generator's busy ratio and lateness.

use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::parse_str;
use gauntlet_reports::RunResult;
use gauntlet_reports::schema::RunStatus;

const LIGHT_DROP_AFTER_NS: u64 = 1_000_000_000;

/// Every scheduled op of every load was started or dropped, and every started op ended.
fn every_op_accounted_for(r: &RunResult) {
    for l in &r.loads {
        let scheduled = l.scheduled.expect("open-loop loads have a schedule");
        assert_eq!(
            l.started + l.dropped_iterations,
            scheduled,
            "load {}",
            l.name
        );
        assert_eq!(l.completed, l.started, "load {}: every op ended", l.name);
    }
}

fn saturated_run() -> RunResult {
    let toml = r#"
name = "generator-saturation"
duration = "3s"
tick = "250ms"
grace = "5s"
[runtime]
worker_threads = 1
load_threads = 4
[watchdog]
stall_after = "2s"
shutdown_timeout = "1s"
[target]
workload = "synthetic"
[[load]]
name = "wide"
op = "call"
executor = "constant-arrival-rate"
rate = 10000000
max_in_flight = 1024
drop_after = "10ms"
[[load]]
name = "narrow"
op = "call"
executor = "constant-arrival-rate"
rate = 10000000
max_in_flight = 8
drop_after = "10ms"
[[load]]
name = "light"
op = "call"
executor = "constant-arrival-rate"
rate = 1000
max_in_flight = 8
drop_after = "1s"
"#;
    let scenario = parse_str(toml, "saturation.toml").unwrap_or_else(|e| panic!("{e}"));
    run(&scenario, &RunOptions::default()).expect("run produces results")
}

#[test]
fn a_saturated_generator_measures_every_op_honestly_and_fairly() {
    let r = saturated_run();
    assert_eq!(r.status, RunStatus::Completed);
    let load = |name: &str| {
        r.loads
            .iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("load {name}"))
    };

    every_op_accounted_for(&r);
    let (wide, narrow, light) = (load("wide"), load("narrow"), load("light"));
    for l in [wide, narrow, light] {
        println!(
            "load {}: scheduled {:?} completed {} dropped {} starved ticks {}",
            l.name, l.scheduled, l.completed, l.dropped_iterations, l.starved_ticks
        );
    }
    for t in &r.timeline {
        let g = t.generator.as_ref();
        println!(
            "tick {:.2}: completed {} p99 {:?} max {:?} | busy {:?} lateness p99 {:?} max {:?} dropped {}",
            t.t_s,
            t.ops[0].completed,
            t.ops[0].p99_ns,
            t.ops[0].max_ns,
            g.and_then(|g| g.busy_ratio),
            g.and_then(|g| g.lateness_p99_s),
            g.and_then(|g| g.max_lateness_s),
            t.dropped
        );
    }
    // The two heavy loads were really past the generator's ceiling ...
    assert!(wide.dropped_iterations > 0 && narrow.dropped_iterations > 0);
    // ... and the run says so: they were starved by the generator, not by their
    // in-flight bound (a no-op target keeps almost nothing in flight).
    assert!(wide.starved_ticks > 0 && narrow.starved_ticks > 0);
    // The light load beside them was served: its ops may wait up to 1 s for their turn.
    assert_eq!(light.dropped_iterations, 0, "the light load was starved");
    assert_eq!(light.starved_ticks, 0);
    // One load per thread runs at a time whatever its slot count: 8 slots get a share
    // comparable to 1024 slots' (the old generator gave them about 8/1032).
    assert!(
        narrow.completed * 2 >= wide.completed && wide.completed * 2 >= narrow.completed,
        "shares: wide {} narrow {}",
        wide.completed,
        narrow.completed
    );

    // No op started more than its load's drop_after late, so none is measured above
    // the largest drop_after (the light load's 1 s) plus its service time (which, with
    // more load threads than cores, includes being preempted by the OS); the heavy
    // loads' 10 ms bound is checked on their own lateness, tick by tick, below.
    let op = &r.ops[0];
    assert!(
        op.latency.max_ns <= LIGHT_DROP_AFTER_NS + op.service_time.max_ns,
        "max latency {} ns, max service {} ns",
        op.latency.max_ns,
        op.service_time.max_ns
    );
    let mut completed_in_ticks = 0;
    for t in &r.timeline {
        let g = t
            .generator
            .as_ref()
            .expect("every tick has generator figures");
        if let Some(late) = g.max_lateness_s {
            // The light load allows 1 s; the heavy ones 10 ms.
            for l in &g.loads {
                let bound = if l.load == "light" { 1.0 } else { 0.010 };
                if let Some(m) = l.max_lateness_s {
                    assert!(
                        m <= bound * 1.01,
                        "tick {}: load {} started {m} s late",
                        t.t_s,
                        l.load
                    );
                }
            }
            assert!(late <= 1.01);
        }
        assert_eq!(g.loads.len(), 3);
        assert_eq!(g.dropped, t.dropped);
        for o in &t.ops {
            completed_in_ticks += o.completed;
            if o.completed > 0 {
                assert!(
                    o.p50_ns.is_some()
                        && o.p90_ns.is_some()
                        && o.p99_ns.is_some()
                        && o.max_ns.is_some(),
                    "tick {} reports {} completions without latency figures",
                    t.t_s,
                    o.completed
                );
            }
        }
    }
    assert!(completed_in_ticks > 0);
    // The busiest load thread was busy, as reported to the capacity labels.
    assert!(
        r.timeline
            .iter()
            .filter_map(|t| t.generator.as_ref()?.busy_ratio)
            .any(|b| b > 0.5),
        "no tick shows a busy load thread"
    );
}

/// Two open-loop loads whose ops wait in the target (a 1 ms delay), with an op
/// timeout whose timers stay armed after their ops end. Before the gate handed itself
/// over in arrival order, such a timer could re-poll a slot parked at its load's gate;
/// the duplicate wake it left behind later took a release meant for another slot, the
/// gate went free with slots still parked, the load thread never sent its last flush,
/// and every run like this (`bank-steady` first) ended ABORTED at the hard deadline.
#[test]
fn two_loads_whose_ops_wait_finish_with_every_op_accounted_for() {
    let toml = r#"
name = "two-waiting-loads"
duration = "3s"
tick = "250ms"
grace = "5s"
[runtime]
worker_threads = 1
load_threads = 1
[watchdog]
stall_after = "2s"
shutdown_timeout = "1s"
[target]
workload = "synthetic"
delay = "1ms"
[[load]]
name = "wide"
op = "call"
executor = "constant-arrival-rate"
rate = 500
max_in_flight = 64
op_timeout = "30ms"
[[load]]
name = "narrow"
op = "call"
executor = "constant-arrival-rate"
rate = 500
max_in_flight = 16
op_timeout = "30ms"
"#;
    let scenario = parse_str(toml, "two-loads.toml").unwrap_or_else(|e| panic!("{e}"));
    let r = run(&scenario, &RunOptions::default()).expect("run produces results");
    assert_eq!(r.status, RunStatus::Completed, "the run ended on its own");
    every_op_accounted_for(&r);
}
