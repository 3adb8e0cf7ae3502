//! End-to-end runs of every actors topology, through the library: ops complete, every
//! message is accounted for, no task outlives the target.

use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::parse_str;
use gauntlet_reports::RunResult;
use gauntlet_reports::schema::RunStatus;

fn run_actors(target: &str, extra_runtime: &str) -> RunResult {
    let toml = format!(
        "name = \"a\"\nduration = \"1s\"\ntick = \"250ms\"\ngrace = \"5s\"\n\
         [runtime]\nworker_threads = 1\n{extra_runtime}\n\
         [watchdog]\nshutdown_timeout = \"2s\"\n\
         [target]\nworkload = \"actors\"\n{target}\n\
         [[load]]\nop = \"ask\"\nexecutor = \"constant-arrival-rate\"\nrate = 200\nmax_in_flight = 16\n\
         [[load]]\nop = \"tell\"\nexecutor = \"constant-concurrency\"\nconcurrency = 2\n\
         [thresholds]\n\"messages.lost\" = [\"count == 0\"]\n\"tasks.leaked\" = [\"count == 0\"]\n\"deadlocks\" = [\"count == 0\"]\n"
    );
    let scenario = parse_str(&toml, "actors.toml").unwrap_or_else(|e| panic!("{e}"));
    run(&scenario, &RunOptions::default()).expect("run produces results")
}

fn assert_clean(r: &RunResult) {
    assert_eq!(r.status, RunStatus::Completed);
    assert!(r.verdict.passed, "{:?}", r.verdict.reasons);
    assert!(r.messages.measured);
    assert_eq!(r.messages.lost, Some(0));
    assert_eq!(r.messages.queued, Some(0));
    assert!(r.messages.sent.unwrap() > 0);
    assert_eq!(r.leaks.tasks_leaked, 0);
    assert!(r.leaks.shutdown_clean);
    for op in &r.ops {
        assert!(op.count > 0, "{} issued nothing", op.op);
    }
    let ask = r.op("ask").unwrap();
    assert_eq!(ask.errors, 0);
    assert!(r.timeline.iter().all(|t| t.target.actors_alive.is_some()));
    // The runtime detects deadlocks and stalls, so "none" is a measurement here.
    assert!(r.timeline.iter().all(|t| t.target.deadlocks == Some(0)));
    assert!(r.timeline.iter().all(|t| t.target.stalls.is_some()));
    assert!(r.deadlocks.is_empty());
}

#[test]
fn one_actor() {
    let r = run_actors("topology = \"one\"", "");
    assert_clean(&r);
    assert_eq!(r.timeline[0].target.actors_alive, Some(1));
}

#[test]
fn round_robin_pool() {
    let r = run_actors(
        "topology = \"round-robin\"\nactors = 5\nhandler_work = \"2us\"",
        "",
    );
    assert_clean(&r);
    assert_eq!(r.timeline[0].target.actors_alive, Some(5));
    // Without `hibernate_after` nothing hibernates (the control for the test below).
    assert_eq!(r.timeline.last().unwrap().target.hibernations, Some(0));
}

#[test]
fn fan_out_router() {
    let r = run_actors("topology = \"fan-out\"\nfan_out = 3", "");
    assert_clean(&r);
    // The router and its three children.
    assert_eq!(r.timeline[0].target.actors_alive, Some(4));
    // Every op reaching the router is forwarded to each child.
    assert!(
        r.messages.delivered.unwrap() >= 4 * r.loads.iter().map(|l| l.completed).sum::<u64>() / 2
    );
}

#[test]
fn ask_chain() {
    let r = run_actors(
        "topology = \"ask-chain\"\nchain_length = 3\nhandler_sleep = \"100us\"",
        "",
    );
    assert_clean(&r);
    assert_eq!(r.timeline[0].target.actors_alive, Some(3));
}

#[test]
fn supervision_tree_restarts_failed_leaves() {
    let r = run_actors(
        "topology = \"supervision-tree\"\ndepth = 2\nbreadth = 2\nfail_every = 10\nrouting = \"random\"",
        "",
    );
    // root + 2 supervisors + 4 leaves
    assert_eq!(r.timeline[0].target.actors_alive, Some(7));
    let restarts = r.timeline.last().unwrap().target.restarts.unwrap();
    assert!(restarts > 0, "failures are answered with restarts");
    // A failed ask is never answered: it is an op error, not a lost message.
    assert!(r.op("ask").unwrap().errors > 0);
    assert_eq!(r.messages.lost, Some(0));
    assert_eq!(r.leaks.tasks_leaked, 0);
}

/// `[runtime] hibernate_after`: a pool whose actors each see an ask every ~25 ms,
/// hibernating after 5 ms idle, so they hibernate and wake all through the run; every
/// message is still accounted for and no task outlives the target.
#[test]
fn hibernating_actors_lose_nothing() {
    let r = run_actors(
        "topology = \"round-robin\"\nactors = 5",
        "hibernate_after = \"5ms\"",
    );
    assert_clean(&r);
    assert_eq!(r.timeline[0].target.actors_alive, Some(5));
    let last = r.timeline.last().unwrap().target;
    assert!(
        last.hibernations.unwrap() > 0,
        "the pool never hibernated: {last:?}"
    );
    assert_eq!(
        r.timeline[0].target.hibernations.map(|_| ()),
        Some(()),
        "measured from the first tick"
    );
}

#[test]
fn drop_newest_mailboxes_account_for_drops() {
    let r = run_actors(
        "topology = \"one\"\nhandler_sleep = \"1ms\"",
        "mailbox_capacity = 4\nmailbox_policy = \"drop-newest\"",
    );
    assert_eq!(r.messages.lost, Some(0));
    assert!(
        r.messages.dropped.unwrap() > 0,
        "a 4-slot mailbox behind a 1 ms handler overflows"
    );
}

#[test]
fn a_stalled_actor_is_named_in_the_stall_record() {
    // One actor whose handler sleeps longer than the op timeout: asks pile up in its
    // mailbox and nothing completes for longer than the watchdog's window.
    let toml = "name = \"stall\"\nduration = \"1500ms\"\ntick = \"100ms\"\ngrace = \"5s\"\n\
         [runtime]\nworker_threads = 1\n\
         [watchdog]\nstall_after = \"300ms\"\nshutdown_timeout = \"500ms\"\n\
         [target]\nworkload = \"actors\"\ntopology = \"one\"\nhandler_sleep = \"10s\"\nask_timeout = \"20s\"\n\
         [[load]]\nop = \"ask\"\nexecutor = \"constant-arrival-rate\"\nrate = 20\nmax_in_flight = 4\nop_timeout = \"1s\"\n";
    let scenario = parse_str(toml, "stall.toml").unwrap_or_else(|e| panic!("{e}"));
    let r = run(&scenario, &RunOptions::default()).expect("results");
    assert!(!r.stalls.is_empty());
    let d = &r.stalls[0].detail;
    assert!(d.contains("actor://gauntlet/worker ("), "{d}");
    // The record carries the worker's snapshot row: stuck in its handler, asks queued.
    let row = r.stalls[0]
        .actors
        .iter()
        .find(|a| a.address == "actor://gauntlet/worker")
        .unwrap_or_else(|| panic!("no worker row in {:?}", r.stalls[0].actors));
    assert_eq!(row.state, "running");
    assert!(row.handler_running_s.is_some());
    assert!(row.mailbox_depth > 0, "{row:?}");
    assert!(!r.verdict.passed);
}

#[test]
fn an_ask_ring_deadlocks_and_every_deadlock_is_recorded() {
    let r = run_actors("topology = \"ask-ring\"\nchain_length = 3", "");
    let ask = r.op("ask").unwrap();
    assert!(ask.count > 0);
    // Every ask goes round the ring and closes a cycle: the runtime refuses it.
    assert_eq!(ask.errors, ask.count);
    assert_eq!(
        r.op("tell").unwrap().errors,
        0,
        "a tell goes once round and stops"
    );
    assert!(!r.deadlocks.is_empty());
    let cycle = &r.deadlocks[0].cycle;
    assert_eq!(cycle.len(), 4, "{cycle:?}");
    assert_eq!(cycle.first(), cycle.last());
    // Each actor of the cycle once, with its snapshot row.
    let rows: Vec<&str> = r.deadlocks[0]
        .actors
        .iter()
        .map(|a| a.address.as_str())
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter().all(|a| cycle.iter().any(|c| c == a)),
        "{rows:?}"
    );
    assert!(r.timeline.last().unwrap().target.deadlocks.unwrap() > 0);
    let t = r
        .thresholds
        .iter()
        .find(|t| t.metric == "deadlocks")
        .unwrap();
    assert!(!t.passed && t.observed.unwrap() > 0.0);
    assert!(!r.verdict.passed);
    // Refused asks are not lost messages, and the ring shuts down cleanly.
    assert_eq!(r.messages.lost, Some(0));
    assert_eq!(r.leaks.tasks_leaked, 0);
}
