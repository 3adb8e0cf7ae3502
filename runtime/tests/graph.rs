//! Flow graphs: each node kind, validation through the builder, limits, cancellation,
//! failures, observers and many concurrent runs. The semantics tested here are written
//! down in the `graph` module docs; tests named there are the proof of each.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gauntlet_runtime::actor::{MailboxConfig, Policy, System};
use gauntlet_runtime::graph::{
    BuildError, EventKind, Graph, GraphBuilder, GraphConfig, Level, NodePanic, RunError, RunId,
    RunLimits,
};
use tokio::sync::Semaphore;

type Log = Vec<String>;

fn push(log: &mut Log, entry: String) {
    log.push(entry);
}

async fn system(name: &str) -> System {
    System::new(name).expect("system")
}

async fn shutdown(system: System) {
    let report = system.shutdown(Duration::from_secs(5)).await;
    assert!(
        report.aborted.is_empty(),
        "actors had to be killed: {report:?}"
    );
}

/// `start -> split -> {left, right} -> merge -> done`, each task logging its name.
fn fork_join() -> GraphBuilder<Log, String> {
    GraphBuilder::new("fj", push)
        .entry("start")
        .fork("split", ["left", "right"])
        .task("left", |_| async { Ok("left".to_owned()) })
        .task("right", |_| async { Ok("right".to_owned()) })
        .join("merge", "split")
        .end("done")
        .edge("start", "split")
        .edge("left", "merge")
        .edge("right", "merge")
        .edge("merge", "done")
}

// ---- node kinds ----------------------------------------------------------------------

#[tokio::test]
async fn entry_straight_to_end_returns_the_initial_state() {
    let system = system("t").await;
    let graph = GraphBuilder::new("g", |s: &mut u32, u: u32| *s += u)
        .entry("start")
        .end("done")
        .edge("start", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let out = graph.run(7).await.unwrap();
    assert_eq!((out.state, &*out.end, out.steps), (7, "done", 2));
    shutdown(system).await;
}

#[tokio::test]
async fn task_nodes_run_as_child_actors_of_the_graph() {
    let system = system("t").await;
    let graph = GraphBuilder::new("chain", |s: &mut u32, u: u32| *s = u)
        .entry("start")
        .task("double", |s: Arc<u32>| async move { Ok(*s * 2) })
        .task("add-one", |s: Arc<u32>| async move { Ok(*s + 1) })
        .end("done")
        .edge("start", "double")
        .edge("double", "add-one")
        .edge("add-one", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    assert_eq!(graph.address().as_str(), "actor://t/chain");
    let node = graph.node_address("double").unwrap();
    assert_eq!(node.as_str(), "actor://t/chain/double");
    assert!(system.addresses().contains(node));
    assert_eq!(
        graph.node_address("start"),
        None,
        "control nodes have no actor"
    );
    assert_eq!(graph.run(20).await.unwrap().state, 41);
    shutdown(system).await;
}

#[tokio::test]
async fn steps_count_every_node_visit() {
    let system = system("t").await;
    let graph = fork_join().build().unwrap().spawn(&system).await.unwrap();
    // start, split, left, right, merge (once), done.
    assert_eq!(graph.run(Log::new()).await.unwrap().steps, 6);
    shutdown(system).await;
}

#[tokio::test]
async fn router_chooses_from_the_state() {
    let system = system("t").await;
    let graph = GraphBuilder::new("r", |s: &mut Log, u: String| s.push(u))
        .entry("start")
        .router("pick", ["small", "big"], |s: &Log, _| {
            if s.len() < 2 { "small" } else { "big" }
        })
        .task("small", |_| async { Ok("small".to_owned()) })
        .task("big", |_| async { Ok("big".to_owned()) })
        .end("done")
        .edge("start", "pick")
        .edge("small", "done")
        .edge("big", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    assert_eq!(graph.run(vec![]).await.unwrap().state, ["small"]);
    let out = graph.run(vec!["x".into(), "y".into()]).await.unwrap();
    assert_eq!(out.state, ["x", "y", "big"]);
    shutdown(system).await;
}

#[tokio::test]
async fn router_sees_the_update_that_led_to_it() {
    let system = system("t").await;
    // The task's update says whether to go on; the state only counts.
    let graph = GraphBuilder::new("msg", |n: &mut u32, _go_on: bool| *n += 1)
        .entry("start")
        .task("work", |n: Arc<u32>| async move { Ok(*n < 4) })
        .router(
            "again",
            ["work", "done"],
            |_, go_on: Option<&bool>| match go_on {
                Some(true) => "work",
                _ => "done",
            },
        )
        .end("done")
        .edge("start", "work")
        .edge("work", "again")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    assert_eq!(graph.run(0).await.unwrap().state, 5);
    shutdown(system).await;
}

#[tokio::test]
async fn an_undeclared_route_fails_the_run() {
    let system = system("t").await;
    let graph = GraphBuilder::new("bad-route", |_: &mut u8, _: u8| {})
        .entry("start")
        .router("pick", ["done"], |_, _| "elsewhere")
        .end("done")
        .edge("start", "pick")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let err = graph.run(0).await.unwrap_err();
    assert!(
        matches!(&err, RunError::UndeclaredRoute { router, target: "elsewhere" } if &**router == "pick"),
        "{err}"
    );
    shutdown(system).await;
}

#[tokio::test]
async fn join_merges_in_branch_order_not_finish_order() {
    let system = system("t").await;
    // `left` waits until `right` has run, so `right` always finishes first.
    let gate = Arc::new(Semaphore::new(0));
    let (wait, open) = (gate.clone(), gate.clone());
    let graph = GraphBuilder::new("order", push)
        .entry("start")
        .fork("split", ["left", "right"])
        .task("left", move |_| {
            let gate = wait.clone();
            async move {
                let _permit = gate.acquire().await?;
                Ok("left".to_owned())
            }
        })
        .task("right", move |_| {
            let gate = open.clone();
            async move {
                gate.add_permits(1);
                Ok("right".to_owned())
            }
        })
        .join("merge", "split")
        .end("done")
        .edge("start", "split")
        .edge("left", "merge")
        .edge("right", "merge")
        .edge("merge", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let mut observer = graph.observe(Level::Debug);
    let out = graph.run(vec!["before".into()]).await.unwrap();
    assert_eq!(out.state, ["before", "left", "right"]);
    // The updates arrived right first.
    let mut applied = Vec::new();
    while let Some(event) = observer.try_recv() {
        if let EventKind::UpdateApplied { node } = event.unwrap().kind {
            applied.push(node.to_string());
        }
    }
    let tasks: Vec<_> = applied.iter().filter(|n| *n != "merge").collect();
    assert_eq!(tasks, ["right", "left"]);
    shutdown(system).await;
}

#[tokio::test]
async fn branches_see_only_their_own_updates() {
    let system = system("t").await;
    // Branch 1: a1 -> a2; branch 2: b. a1 waits for b, so b's update exists when a2 runs.
    let gate = Arc::new(Semaphore::new(0));
    let (wait, open) = (gate.clone(), gate.clone());
    let graph = GraphBuilder::new("scopes", push)
        .entry("start")
        .fork("split", ["a1", "b"])
        .task("a1", move |_| {
            let gate = wait.clone();
            async move {
                let _permit = gate.acquire().await?;
                Ok("a1".to_owned())
            }
        })
        .task("a2", |s: Arc<Log>| async move {
            Ok(format!("a2 saw {}", s.join(",")))
        })
        .task("b", move |_| {
            let gate = open.clone();
            async move {
                gate.add_permits(1);
                Ok("b".to_owned())
            }
        })
        .join("merge", "split")
        .task("after", |s: Arc<Log>| async move {
            Ok(format!("after saw {}", s.join(",")))
        })
        .end("done")
        .edge("start", "split")
        .edge("a1", "a2")
        .edge("a2", "merge")
        .edge("b", "merge")
        .edge("merge", "after")
        .edge("after", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let out = graph.run(vec!["s".into()]).await.unwrap();
    assert_eq!(
        out.state,
        [
            "s",
            "a1",
            "a2 saw s,a1",
            "b",
            "after saw s,a1,a2 saw s,a1,b"
        ]
    );
    shutdown(system).await;
}

#[tokio::test]
async fn nested_forks_merge_inner_branches_into_their_outer_branch() {
    let system = system("t").await;
    let leaf = |name: &'static str| move |_| async move { Ok(name.to_owned()) };
    let graph = GraphBuilder::new("nested", push)
        .entry("start")
        .fork("outer", ["inner", "c"])
        .fork("inner", ["a", "b"])
        .task("a", leaf("a"))
        .task("b", leaf("b"))
        .join("inner-join", "inner")
        .task("c", leaf("c"))
        .join("outer-join", "outer")
        .end("done")
        .edge("start", "outer")
        .edge("a", "inner-join")
        .edge("b", "inner-join")
        .edge("inner-join", "outer-join")
        .edge("c", "outer-join")
        .edge("outer-join", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let out = graph.run(vec![]).await.unwrap();
    assert_eq!(out.state, ["a", "b", "c"]);
    // start, outer, inner, a, b, inner-join, c, outer-join, done
    assert_eq!(out.steps, 9);
    shutdown(system).await;
}

#[tokio::test]
async fn a_fork_wider_than_the_state_channel_runs_in_waves() {
    let system = system("t").await;
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let task = |name: &'static str| {
        let (running, peak) = (running.clone(), peak.clone());
        move |_| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Give the other branches every chance to overlap with this one.
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(name.to_owned())
            }
        }
    };
    let names = ["b0", "b1", "b2", "b3", "b4", "b5"];
    let mut builder = GraphBuilder::new("wide", push)
        .config(GraphConfig {
            state_channel: 2,
            ..GraphConfig::default()
        })
        .entry("start")
        .fork("split", names)
        .join("merge", "split")
        .end("done")
        .edge("start", "split")
        .edge("merge", "done");
    for name in names {
        builder = builder.task(name, task(name)).edge(name, "merge");
    }
    let graph = builder.build().unwrap().spawn(&system).await.unwrap();
    let out = graph.run(vec![]).await.unwrap();
    assert_eq!(out.state, names);
    assert!(
        peak.load(Ordering::SeqCst) <= 2,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    shutdown(system).await;
}

/// `start -> slow -> done` where `slow` waits for a permit of `gate`.
fn gated(name: &str, gate: Arc<Semaphore>, mailbox: MailboxConfig) -> GraphBuilder<u32, u32> {
    GraphBuilder::new(name, |n: &mut u32, u: u32| *n += u)
        .config(GraphConfig {
            node_mailbox: mailbox,
            ..GraphConfig::default()
        })
        .entry("start")
        .task("slow", move |_| {
            let gate = gate.clone();
            async move {
                gate.acquire().await?.forget();
                Ok(1)
            }
        })
        .end("done")
        .edge("start", "slow")
        .edge("slow", "done")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_wait_for_room_in_a_full_node_mailbox() {
    let system = system("t").await;
    let gate = Arc::new(Semaphore::new(0));
    let graph = gated("tight", gate.clone(), MailboxConfig::new(1, Policy::Block))
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let mut observer = graph.observe(Level::Status);
    // One run in the handler, one in the mailbox: the mailbox is full.
    let first = graph.start(0);
    entered(&mut observer, first.id(), "slow").await;
    let second = graph.start(0);
    entered(&mut observer, second.id(), "slow").await;
    // These wait for room instead of failing or dropping work.
    let waiting: Vec<_> = (0..20).map(|_| graph.start(0)).collect();
    assert!(waiting.iter().all(|r| !r.is_finished()));
    gate.add_permits(22);
    for run in [first, second].into_iter().chain(waiting) {
        assert_eq!(run.wait().await.unwrap().state, 1);
    }
    assert_eq!(system.stats().messages.dropped(), 0);
    shutdown(system).await;
}

#[tokio::test]
async fn a_full_fail_mailbox_fails_the_run_with_node_busy() {
    let system = system("t").await;
    let gate = Arc::new(Semaphore::new(0));
    let graph = gated("busy", gate.clone(), MailboxConfig::new(1, Policy::Fail))
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let mut observer = graph.observe(Level::Status);
    let first = graph.start(0);
    entered(&mut observer, first.id(), "slow").await;
    let second = graph.start(0);
    entered(&mut observer, second.id(), "slow").await;
    let err = graph.run(0).await.unwrap_err();
    assert!(
        matches!(&err, RunError::NodeBusy { node, address } if &**node == "slow" && address.as_str() == "actor://t/busy/slow"),
        "{err}"
    );
    gate.add_permits(2);
    assert_eq!(first.wait().await.unwrap().state, 1);
    assert_eq!(second.wait().await.unwrap().state, 1);
    shutdown(system).await;
}

#[test]
fn dropping_node_mailboxes_are_refused() {
    let gate = Arc::new(Semaphore::new(0));
    for policy in [Policy::DropNewest, Policy::DropOldest] {
        let err = gated("lossy", gate.clone(), MailboxConfig::new(8, policy))
            .build()
            .err();
        assert_eq!(err, Some(BuildError::LossyNodeMailbox(policy)));
    }
    assert!(
        gated("ok", gate, MailboxConfig::unbounded())
            .build()
            .is_ok()
    );
}

// ---- validation through the builder ---------------------------------------------------

#[test]
fn build_reports_validation_errors() {
    let dangling = GraphBuilder::new("g", push)
        .entry("start")
        .end("done")
        .edge("start", "middle")
        .build()
        .err();
    assert_eq!(
        dangling,
        Some(BuildError::DanglingEdge {
            from: "start".into(),
            to: "middle".into(),
            missing: "middle".into()
        })
    );
    let unreachable = GraphBuilder::new("g", push)
        .entry("start")
        .task("orphan", |_| async { Ok(String::new()) })
        .end("done")
        .edge("start", "done")
        .edge("orphan", "done")
        .build()
        .err();
    assert_eq!(
        unreachable,
        Some(BuildError::Unreachable {
            node: "orphan".into()
        })
    );
    let no_end_path = GraphBuilder::new("g", push)
        .entry("start")
        .router("r", ["spin", "done"], |_, _| "done")
        .task("spin", |_| async { Ok(String::new()) })
        .end("done")
        .edge("start", "r")
        .edge("spin", "spin")
        .build()
        .err();
    assert_eq!(
        no_end_path,
        Some(BuildError::NoPathToEnd {
            node: "spin".into()
        })
    );
    let lonely_join = GraphBuilder::new("g", push)
        .entry("start")
        .join("merge", "split")
        .end("done")
        .edge("start", "merge")
        .edge("merge", "done")
        .build()
        .err();
    let err = lonely_join.unwrap();
    assert_eq!(
        err.to_string(),
        "join `merge` has no fork: `split` is not a fork node"
    );
    assert!(fork_join().build().is_ok());
}

#[test]
fn names_that_cannot_be_actor_names_are_refused_at_build() {
    let err = GraphBuilder::new("my graph", push)
        .entry("start")
        .end("done")
        .edge("start", "done")
        .build()
        .err();
    assert!(
        matches!(err, Some(BuildError::InvalidName { what: "graph", .. })),
        "{err:?}"
    );
    let err = GraphBuilder::new("g", push)
        .entry("start")
        .task("fetch/parse", |_| async { Ok(String::new()) })
        .end("done")
        .edge("start", "fetch/parse")
        .edge("fetch/parse", "done")
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid task node name: name `fetch/parse` contains `/`"),
        "{err}"
    );
    // Control nodes are not actors: any name will do.
    assert!(
        GraphBuilder::new("g", push)
            .entry("the start")
            .end("the end")
            .edge("the start", "the end")
            .build()
            .is_ok()
    );
}

// ---- limits ---------------------------------------------------------------------------

#[tokio::test]
async fn step_limit_stops_an_endless_cycle() {
    let system = system("t").await;
    let graph = GraphBuilder::new("forever", |n: &mut u64, u: u64| *n += u)
        .entry("start")
        .task("tick", |_| async { Ok(1) })
        .router("again", ["tick", "done"], |_, _| "tick")
        .end("done")
        .edge("start", "tick")
        .edge("tick", "again")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let limits = RunLimits {
        max_steps: 51,
        timeout: Duration::from_secs(3600),
    };
    let err = graph.run_with(0, limits).await.unwrap_err();
    // start, then (tick, again) x 25 = 51 steps; the 52nd visit (tick) is refused.
    assert!(
        matches!(&err, RunError::StepLimit { limit: 51, node } if &**node == "tick"),
        "{err}"
    );
    // The graph is still usable.
    let bounded = GraphBuilder::new("bounded", |n: &mut u64, u: u64| *n += u)
        .entry("start")
        .task("tick", |_| async { Ok(1) })
        .router("again", ["tick", "done"], |n: &u64, _| {
            if *n < 3 { "tick" } else { "done" }
        })
        .end("done")
        .edge("start", "tick")
        .edge("tick", "again")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    assert_eq!(bounded.run(0).await.unwrap().state, 3);
    shutdown(system).await;
}

#[tokio::test(start_paused = true)]
async fn timeout_ends_a_run_whose_node_never_answers() {
    let system = system("t").await;
    let graph = GraphBuilder::new("hang", |_: &mut u8, _: u8| {})
        .entry("start")
        .task("stuck", |_| std::future::pending())
        .end("done")
        .edge("start", "stuck")
        .edge("stuck", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let limits = RunLimits {
        max_steps: 100,
        timeout: Duration::from_secs(2),
    };
    // Paused clock: the runtime jumps to the deadline once everything is idle.
    let err = graph.run_with(0, limits).await.unwrap_err();
    assert!(
        matches!(err, RunError::Timeout { limit, steps: 2 } if limit == Duration::from_secs(2)),
        "{err}"
    );
    // The stuck handler cannot be interrupted gracefully; the shutdown kills it.
    let report = system.shutdown(Duration::from_secs(1)).await;
    assert!(
        report
            .aborted
            .iter()
            .any(|a| a.as_str() == "actor://t/hang/stuck"),
        "{report:?}"
    );
}

// ---- cancellation, failure, concurrency -------------------------------------------------

/// Waits for `NodeEntered { node }` of `run`.
async fn entered(observer: &mut gauntlet_runtime::graph::Observer, run: RunId, node: &str) {
    loop {
        let event = observer.recv().await.expect("event");
        if event.run == run
            && matches!(&event.kind, EventKind::NodeEntered { node: n } if &**n == node)
        {
            return;
        }
    }
}

#[tokio::test]
async fn cancel_skips_queued_node_work() {
    let system = system("t").await;
    let gate = Arc::new(Semaphore::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let (g, c) = (gate.clone(), calls.clone());
    let graph = GraphBuilder::new("cancel", |n: &mut u32, u: u32| *n += u)
        .entry("start")
        .task("slow", move |_| {
            let (gate, calls) = (g.clone(), c.clone());
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let _permit = gate.acquire().await?;
                Ok(1)
            }
        })
        .end("done")
        .edge("start", "slow")
        .edge("slow", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let mut observer = graph.observe(Level::Status);
    let first = graph.start(0);
    entered(&mut observer, first.id(), "slow").await;
    let second = graph.start(10);
    // Its work is now queued behind the first run's, at the same node actor.
    entered(&mut observer, second.id(), "slow").await;
    second.cancel();
    let err = second.wait().await.unwrap_err();
    assert!(matches!(err, RunError::Cancelled { steps: 2 }), "{err}");
    gate.add_permits(100);
    assert_eq!(first.wait().await.unwrap().state, 1);
    // A later run is served after the cancelled run's queued work: skipped, never called.
    assert_eq!(graph.run(100).await.unwrap().state, 101);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    shutdown(system).await;
}

#[tokio::test]
async fn cancel_before_the_first_step_is_not_lost() {
    let system = system("t").await;
    let graph = fork_join().build().unwrap().spawn(&system).await.unwrap();
    let run = graph.start(vec![]);
    run.cancel();
    run.cancel();
    match run.wait().await {
        Err(RunError::Cancelled { .. }) => {}
        // The run may have finished before the cancellation was seen.
        Ok(out) => assert_eq!(out.state, ["left", "right"]),
        Err(e) => panic!("{e}"),
    }
    shutdown(system).await;
}

#[tokio::test]
async fn node_failure_fails_only_that_run() {
    let system = system("t").await;
    let graph = GraphBuilder::new("odd", |n: &mut u32, u: u32| *n = u)
        .entry("start")
        .task("check", |n: Arc<u32>| async move {
            if *n % 2 == 1 {
                return Err(format!("{} is odd", *n).into());
            }
            Ok(*n / 2)
        })
        .end("done")
        .edge("start", "check")
        .edge("check", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let (odd, even) = tokio::join!(graph.run(3), graph.run(8));
    let err = odd.unwrap_err();
    match &err {
        RunError::NodeFailed {
            node,
            address,
            cause,
        } => {
            assert_eq!(&**node, "check");
            assert_eq!(address.as_str(), "actor://t/odd/check");
            assert_eq!(cause.to_string(), "3 is odd");
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(
        err.to_string(),
        "node `check` (actor://t/odd/check) failed: 3 is odd"
    );
    assert_eq!(even.unwrap().state, 4);
    assert_eq!(graph.run(6).await.unwrap().state, 3, "graph still usable");
    shutdown(system).await;
}

#[tokio::test]
async fn a_panicking_node_fails_the_run_with_its_message() {
    let system = system("t").await;
    let graph = GraphBuilder::new("boom", |n: &mut u32, u: u32| *n = u)
        .entry("start")
        .task("explode", |n: Arc<u32>| async move {
            if *n == 0 {
                panic!("zero is not allowed");
            }
            Ok(*n)
        })
        .end("done")
        .edge("start", "explode")
        .edge("explode", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let err = graph.run(0).await.unwrap_err();
    let RunError::NodeFailed { cause, .. } = err else {
        panic!("unexpected {err}")
    };
    assert_eq!(
        cause.downcast_ref::<NodePanic>(),
        Some(&NodePanic("zero is not allowed".into()))
    );
    // The node's actor did not fail: no restart, and it serves the next run.
    assert_eq!(graph.run(5).await.unwrap().state, 5);
    assert_eq!(system.stats().actors.restarted, 0);
    shutdown(system).await;
}

#[tokio::test]
async fn a_panicking_reducer_ends_a_started_run_with_a_driver_error() {
    let system = system("t").await;
    let graph = GraphBuilder::new("bad-reducer", |n: &mut u32, u: u32| {
        assert_ne!(u, 13, "unlucky update");
        *n += u;
    })
    .entry("start")
    .task("add", |n: Arc<u32>| async move { Ok(*n) })
    .end("done")
    .edge("start", "add")
    .edge("add", "done")
    .build()
    .unwrap()
    .spawn(&system)
    .await
    .unwrap();
    let err = graph.start(13).wait().await.unwrap_err();
    assert!(
        matches!(&err, RunError::Driver(text) if text.contains("unlucky update")),
        "{err}"
    );
    assert_eq!(
        graph.start(2).wait().await.unwrap().state,
        4,
        "graph still usable"
    );
    shutdown(system).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_runs_keep_their_own_state() {
    let system = system("t").await;
    // n -> split -> {n * 2, n + 1} -> merge: state = [n, 2n, n + 1].
    let graph: Graph<Vec<u64>, u64> =
        GraphBuilder::new("many", |s: &mut Vec<u64>, u: u64| s.push(u))
            .entry("start")
            .fork("split", ["double", "inc"])
            .task("double", |s: Arc<Vec<u64>>| async move { Ok(s[0] * 2) })
            .task("inc", |s: Arc<Vec<u64>>| async move { Ok(s[0] + 1) })
            .join("merge", "split")
            .end("done")
            .edge("start", "split")
            .edge("double", "merge")
            .edge("inc", "merge")
            .edge("merge", "done")
            .build()
            .unwrap()
            .spawn(&system)
            .await
            .unwrap();
    let runs: Vec<_> = (0..500u64).map(|n| (n, graph.start(vec![n]))).collect();
    let mut ids = std::collections::HashSet::new();
    for (n, run) in runs {
        assert!(ids.insert(run.id()));
        let out = run.wait().await.unwrap();
        assert_eq!(out.state, [n, 2 * n, n + 1]);
    }
    shutdown(system).await;
}

#[tokio::test]
async fn a_task_pool_serves_runs_in_parallel() {
    let system = system("t").await;
    // Each run waits inside the node until the other is there too: with one actor the
    // second run would queue behind the first for good; with two they meet.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let graph = GraphBuilder::new("pool", |n: &mut u32, u: u32| *n += u)
        .entry("start")
        .task_pool("meet", 2, move |_| {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                Ok(1)
            }
        })
        .end("done")
        .edge("start", "meet")
        .edge("meet", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let addresses: Vec<_> = graph
        .node_addresses("meet")
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(
        addresses,
        ["actor://t/pool/meet.0", "actor://t/pool/meet.1"]
    );
    let (a, b) = tokio::join!(graph.run(0), graph.run(10));
    assert_eq!((a.unwrap().state, b.unwrap().state), (1, 11));
    shutdown(system).await;
}

#[tokio::test]
async fn a_stopped_graph_fails_runs_with_node_unavailable() {
    let system = system("t").await;
    let graph = fork_join().build().unwrap().spawn(&system).await.unwrap();
    assert!(graph.stop(Duration::from_secs(5)).await);
    let err = graph.run(vec![]).await.unwrap_err();
    assert!(matches!(err, RunError::NodeUnavailable { .. }), "{err}");
    shutdown(system).await;
}

#[tokio::test]
async fn one_blueprint_spawns_several_graphs() {
    let system = system("t").await;
    let blueprint = fork_join().build().unwrap();
    let one = blueprint.spawn(&system).await.unwrap();
    let two = blueprint
        .clone()
        .named("fj-2")
        .spawn(&system)
        .await
        .unwrap();
    assert!(blueprint.spawn(&system).await.is_err(), "same name twice");
    assert_eq!(two.address().as_str(), "actor://t/fj-2");
    assert_eq!(one.run(vec![]).await.unwrap().state, ["left", "right"]);
    assert_eq!(two.run(vec![]).await.unwrap().state, ["left", "right"]);
    shutdown(system).await;
}

// ---- observers --------------------------------------------------------------------------

#[tokio::test]
async fn observers_see_each_step_in_order() {
    let system = system("t").await;
    let graph = GraphBuilder::new("seen", |n: &mut u32, u: u32| *n += u)
        .entry("start")
        .task("work", |_| async { Ok(1) })
        .end("done")
        .edge("start", "work")
        .edge("work", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let mut debug = graph.observe(Level::Debug);
    let mut status = graph.observe(Level::Status);
    let out = graph.run(0).await.unwrap();
    let n = |s: &str| Arc::<str>::from(s);
    let expected = vec![
        (0, EventKind::RunStarted),
        (1, EventKind::NodeEntered { node: n("start") }),
        (
            1,
            EventKind::EdgeTaken {
                from: n("start"),
                to: n("work"),
            },
        ),
        (2, EventKind::NodeEntered { node: n("work") }),
        (2, EventKind::UpdateApplied { node: n("work") }),
        (
            2,
            EventKind::EdgeTaken {
                from: n("work"),
                to: n("done"),
            },
        ),
        (3, EventKind::NodeEntered { node: n("done") }),
        (3, EventKind::RunFinished { end: n("done") }),
    ];
    let mut seen = Vec::new();
    while let Some(event) = debug.try_recv() {
        let event = event.unwrap();
        assert_eq!(event.run, out.run);
        seen.push((event.step, event.kind));
    }
    assert_eq!(seen, expected);
    let mut statuses = Vec::new();
    while let Some(event) = status.try_recv() {
        statuses.push(event.unwrap().kind);
    }
    let want: Vec<_> = expected
        .into_iter()
        .map(|(_, k)| k)
        .filter(|k| {
            !matches!(
                k,
                EventKind::EdgeTaken { .. } | EventKind::UpdateApplied { .. }
            )
        })
        .collect();
    assert_eq!(statuses, want);
    shutdown(system).await;
}

#[tokio::test]
async fn a_failed_run_is_reported_to_observers() {
    let system = system("t").await;
    let graph = GraphBuilder::new("fails", |_: &mut u32, _: u32| {})
        .entry("start")
        .task("bad", |_| async { Err("nope".into()) })
        .end("done")
        .edge("start", "bad")
        .edge("bad", "done")
        .build()
        .unwrap()
        .spawn(&system)
        .await
        .unwrap();
    let mut debug = graph.observe(Level::Debug);
    assert!(graph.run(0).await.is_err());
    let mut kinds = Vec::new();
    while let Some(event) = debug.try_recv() {
        kinds.push(event.unwrap().kind);
    }
    assert!(kinds.contains(&EventKind::NodeFailed {
        node: "bad".into(),
        cause: "nope".into()
    }));
    assert!(matches!(kinds.last(), Some(EventKind::RunFailed { error }) if error.contains("nope")));
    shutdown(system).await;
}
