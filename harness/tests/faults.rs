//! Fault injection end to end: replay from the seed, and what each fault kind does to a
//! real target (accounting, supervision, breaker, detection), read from the results.

use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::{Overrides, Scenario, parse_with};
use gauntlet_reports::RunResult;
use gauntlet_reports::schema::FaultRecord;

fn scenario(target: &str, faults: &str, seed: u64) -> Scenario {
    scenario_with("ask", "2500ms", target, faults, seed)
}

fn scenario_with(op: &str, duration: &str, target: &str, faults: &str, seed: u64) -> Scenario {
    let text = format!(
        r#"
name = "faults-test"
duration = "{duration}"
tick = "250ms"
grace = "10s"
[runtime]
worker_threads = 2
[watchdog]
stall_after = "5s"
fail_on_stall = false
shutdown_timeout = "10s"
[target]
{target}
[[load]]
op = "{op}"
executor = "constant-arrival-rate"
rate = 400
max_in_flight = 256
drop_after = "1s"
{faults}
[recovery]
within = "5s"
"#
    );
    parse_with(
        &text,
        "faults-test.toml",
        &Overrides {
            seed: Some(seed),
            ..Overrides::default()
        },
    )
    .unwrap()
}

const POOL: &str =
    "workload = \"actors\"\ntopology = \"round-robin\"\nactors = 16\nask_timeout = \"1s\"";

fn go(s: &Scenario) -> RunResult {
    run(s, &RunOptions::default()).unwrap()
}

/// What must replay: kinds, windows and victims.
fn injected(r: &RunResult) -> Vec<(String, f64, f64, Vec<String>)> {
    r.faults
        .iter()
        .map(|f| (f.kind.clone(), f.start_s, f.end_s, f.victims.clone()))
        .collect()
}

const CHAOS: &str = r#"
[[fault]]
kind = "crash"
target = "actor://gauntlet/worker-*"
victims = 3
toxicity = 0.5
at = "500ms"
for = "250ms"
every = "750ms"
[[fault]]
kind = "latency"
target = "actor://gauntlet/worker-1*"
victims = 2
latency = "1ms"
jitter = "1ms"
at = "750ms"
for = "250ms"
"#;

#[test]
fn the_same_seed_replays_the_schedule_and_victims_and_another_seed_does_not() {
    let a = go(&scenario(POOL, CHAOS, 7));
    let b = go(&scenario(POOL, CHAOS, 7));
    let c = go(&scenario(POOL, CHAOS, 8));
    assert_eq!(injected(&a).len(), 4, "{:?}", injected(&a));
    assert_eq!(injected(&a), injected(&b));
    let victims = |r: &RunResult| -> Vec<Vec<String>> {
        r.faults.iter().map(|f| f.victims.clone()).collect()
    };
    assert_ne!(victims(&a), victims(&c), "another seed picks other victims");
    // The windows themselves do not depend on the seed.
    let windows = |r: &RunResult| -> Vec<(f64, f64)> {
        r.faults.iter().map(|f| (f.start_s, f.end_s)).collect()
    };
    assert_eq!(windows(&a), windows(&c));
    for r in [&a, &b, &c] {
        let crashes: u64 = r
            .faults
            .iter()
            .filter(|f| f.kind == "crash")
            .map(|f| f.events_affected)
            .sum();
        assert!(crashes > 0, "{:?}", r.faults);
        let restarts = r.timeline.last().unwrap().target.restarts.unwrap();
        assert_eq!(restarts, crashes, "every crash was a supervised restart");
        assert_eq!(r.messages.lost, Some(0));
        assert!(
            r.timeline
                .iter()
                .any(|t| t.active_faults.contains(&"crash".to_owned()))
        );
    }
}

fn only<'a>(r: &'a RunResult, kind: &str) -> &'a FaultRecord {
    r.faults.iter().find(|f| f.kind == kind).unwrap()
}

#[test]
fn kill_stops_the_chosen_actors() {
    let r = go(&scenario(
        POOL,
        "[[fault]]\nkind = \"kill\"\ntarget = \"actor://gauntlet/worker-*\"\nvictims = 2\nat = \"1s\"\nfor = \"250ms\"\n",
        1,
    ));
    let f = only(&r, "kill");
    assert_eq!(f.events_affected, 2);
    assert_eq!(f.victims.len(), 2);
    // Asks to a killed pool actor are dead letters from then on: counted, not lost.
    assert!(r.messages.dead_lettered.unwrap() > 0);
    assert_eq!(r.messages.lost, Some(0));
}

#[test]
fn a_selector_that_can_match_nothing_is_refused_before_the_run() {
    let text = format!(
        "name = \"f\"\nduration = \"2s\"\n[target]\n{POOL}\n[[load]]\nop = \"tell\"\nexecutor = \"constant-arrival-rate\"\nrate = 10\nmax_in_flight = 4\n[[fault]]\nkind = \"crash\"\ntarget = \"actor://gauntlet/device-*\"\nat = \"500ms\"\nfor = \"250ms\"\n"
    );
    let e = parse_with(&text, "f.toml", &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "fault[0].target: `actor://gauntlet/device-*` matches no actor of workload `actors`"
        ),
        "{e}"
    );
}

#[test]
fn a_selector_matching_nothing_live_fails_the_run_with_a_clear_reason() {
    // The fan-out's children match `router/leaf-*`, so validation lets the glob pass;
    // only leaf-0 to leaf-3 exist when the fault starts.
    let r = go(&scenario(
        "workload = \"actors\"\ntopology = \"fan-out\"\nfan_out = 4",
        "[[fault]]\nkind = \"crash\"\ntarget = \"actor://gauntlet/router/leaf-9\"\nat = \"500ms\"\nfor = \"250ms\"\n",
        1,
    ));
    assert!(!r.verdict.passed);
    let reason = r
        .verdict
        .reasons
        .iter()
        .find(|x| x.contains("fault[0] (crash)"))
        .unwrap();
    assert!(
        reason.contains("matched none of the 5 live actors"),
        "{reason}"
    );
    assert!(
        r.thresholds
            .iter()
            .any(|t| t.metric == "faults.unrecovered" && !t.passed)
    );
}

#[test]
fn flood_follows_the_mailbox_policy_and_keeps_the_accounting() {
    let flood = "[[fault]]\nkind = \"flood\"\ntarget = \"actor://gauntlet/worker-0\"\nmessages = 50000\nat = \"1s\"\nfor = \"250ms\"\n";
    for (policy, queued) in [("unbounded", true), ("fail", false), ("drop-newest", false)] {
        let mut s = scenario(POOL, flood, 1);
        s.runtime.mailbox_policy = match policy {
            "unbounded" => gauntlet_harness::scenario::MailboxPolicy::Unbounded,
            "fail" => gauntlet_harness::scenario::MailboxPolicy::Fail,
            _ => gauntlet_harness::scenario::MailboxPolicy::DropNewest,
        };
        s.runtime.mailbox_capacity = 64;
        let r = go(&s);
        let m = &r.messages;
        assert_eq!(only(&r, "flood").events_affected, 50_000, "{policy}");
        assert_eq!(m.lost, Some(0), "{policy}: {m:?}");
        let refused = m.rejected.unwrap() + m.dropped.unwrap();
        // The actor drains its mailbox while the burst arrives, so a bounded mailbox
        // refuses most, not all, of the excess; an unbounded one refuses none.
        if queued {
            assert_eq!(refused, 0, "{policy}: {m:?}");
        } else {
            assert!(refused > 25_000, "{policy}: {m:?}");
        }
    }
}

#[test]
fn partition_dead_letters_between_the_groups_and_heals() {
    let r = go(&scenario(
        "workload = \"actors\"\ntopology = \"fan-out\"\nfan_out = 3\nask_timeout = \"1s\"",
        "[[fault]]\nkind = \"partition\"\ntarget = \"actor://gauntlet/router\"\npeer = \"actor://gauntlet/router/*\"\nat = \"750ms\"\nfor = \"750ms\"\n",
        1,
    ));
    let f = only(&r, "partition");
    assert!(f.events_affected > 0);
    assert_eq!(f.victims.len(), 4, "{:?}", f.victims);
    assert_eq!(r.messages.dead_lettered, Some(f.events_affected));
    assert_eq!(r.messages.lost, Some(0));
    // Asks through the router fail during the window only.
    let w = f.windows.as_ref().unwrap();
    assert!(
        w.during.errors > w.before.errors.max(w.after.errors),
        "{w:?}"
    );
}

#[test]
fn blocking_worker_is_reported_by_the_stall_watchdog() {
    let r = go(&scenario(
        POOL,
        "[[fault]]\nkind = \"blocking-worker\"\ntarget = \"actor://gauntlet/worker-3\"\nblock_for = \"1200ms\"\nat = \"500ms\"\nfor = \"250ms\"\n",
        1,
    ));
    let f = only(&r, "blocking-worker");
    assert!(f.events_affected >= 1);
    assert!(f.detected.unwrap_or(0) >= 1, "{f:?}");
    assert!(
        r.thresholds
            .iter()
            .any(|t| t.metric == "faults.undetected" && t.passed)
    );
}

#[test]
fn every_injected_ask_cycle_is_detected() {
    let r = go(&scenario(
        POOL,
        "[[fault]]\nkind = \"ask-cycle\"\nlength = 4\ncycles = 5\nat = \"500ms\"\nfor = \"1s\"\n",
        1,
    ));
    let f = only(&r, "ask-cycle");
    assert_eq!(f.events_affected, 5);
    assert_eq!(f.detected, Some(5));
    assert_eq!(r.deadlocks.len(), 5);
}

#[test]
fn memory_pressure_shows_in_the_rss() {
    let r = go(&scenario(
        POOL,
        "[[fault]]\nkind = \"memory-pressure\"\nsize = \"64MB\"\nat = \"500ms\"\nfor = \"1s\"\n",
        1,
    ));
    let f = only(&r, "memory-pressure");
    assert_eq!(f.events_affected, 64_000_000);
    let w = f.windows.as_ref().unwrap();
    let rss = |from: f64, to: f64| {
        r.timeline
            .iter()
            .filter(|t| t.t_s > from && t.t_s <= to)
            .filter_map(|t| t.process.rss_bytes)
            .max()
            .unwrap()
    };
    assert!(rss(w.during.start_s + 0.25, w.during.end_s) > rss(0.0, w.before.end_s) + 50_000_000);
}

#[test]
fn repository_outage_opens_the_breaker_which_closes_again() {
    let home = "workload = \"smart-home\"\nhomes = 2\nrooms_per_home = 2\ndevices_per_room = 5\ndesired_every = 2\nflush_interval = \"100ms\"\nask_timeout = \"1s\"";
    let text = |kind: &str| {
        format!(
            "[[fault]]\nkind = \"{kind}\"\ntarget = \"device-repository\"\nat = \"500ms\"\nfor = \"1s\"\n"
        )
    };
    // The breaker waits its reset timeout (5 s) before probing.
    let r = go(&scenario_with(
        "command",
        "9s",
        home,
        &text("dependency-outage"),
        1,
    ));
    let f = only(&r, "dependency-outage");
    assert!(f.events_affected > 0, "{f:?}");
    let w = f.windows.as_ref().unwrap();
    assert!(w.during.breaker_transitions.unwrap() >= 1, "{w:?}");
    assert!(w.during.errors > 0);
    use gauntlet_reports::schema::BreakerState;
    let states: Vec<_> = r
        .timeline
        .iter()
        .filter_map(|t| t.target.breaker_state)
        .collect();
    assert!(states.contains(&BreakerState::Open), "{states:?}");
    assert_eq!(states.last(), Some(&BreakerState::Closed), "{states:?}");
}
