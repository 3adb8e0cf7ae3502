//! Lifecycle semantics: hooks, stop order, drain/discard, kill, shutdown, timers, leaks.

mod common;

use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use common::{Log, Msg, Recorder, T, eventually, system};
use gauntlet_runtime::actor::{
    Actor, Context, HandlerError, MailboxConfig, OnStop, Policy, Props, StopReason, System,
};
use tokio::sync::Semaphore;

/// Spawns `depth` levels of `breadth` recorders under `parent`, named `<parent>.<i>`.
async fn grow(
    r: &gauntlet_runtime::actor::ActorRef<Msg>,
    sys: &System,
    name: &str,
    depth: u32,
    breadth: u32,
) {
    if depth == 0 {
        return;
    }
    for i in 0..breadth {
        let child = format!("{name}.{i}");
        let addr = r
            .ask(|rt| Msg::SpawnChild(child.clone(), rt), T)
            .await
            .unwrap();
        let c = sys.lookup::<Msg>(&addr.parse().unwrap()).unwrap();
        Box::pin(grow(&c, sys, &child, depth - 1, breadth)).await;
    }
}

#[tokio::test]
async fn hooks_run_in_order_with_their_reasons() {
    let sys = system("hooks");
    let log = Log::default();
    let r = sys.spawn("r", Recorder::props("r", &log)).unwrap();
    r.tell(Msg::StopSelf).await.unwrap();
    r.wait_terminated().await;
    assert_eq!(
        log.entries(),
        ["r:started", "r:stopping:stopped", "r:stopped"]
    );
}

#[tokio::test]
async fn stopping_an_actor_stops_its_children_first_deepest_first() {
    let sys = system("tree");
    let log = Log::default();
    let root = sys.spawn("t", Recorder::props("t", &log)).unwrap();
    grow(&root, &sys, "t", 3, 2).await;
    assert_eq!(sys.stats().actors.alive, 1 + 2 + 4 + 8);
    root.stop();
    root.wait_terminated().await;
    let stopped: Vec<String> = log
        .entries()
        .into_iter()
        .filter_map(|e| match e.split_once(':') {
            Some((name, "stopped")) => Some(name.to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(stopped.len(), 15);
    // Every actor's `stopped` comes after all of its descendants' `stopped`.
    for (i, name) in stopped.iter().enumerate() {
        for later in &stopped[i + 1..] {
            assert!(
                !later.starts_with(&format!("{name}.")),
                "{later} stopped after its ancestor {name}"
            );
        }
    }
    assert_eq!(stopped.last().unwrap(), "t");
    assert_eq!(sys.stats().actors.alive, 0);
    assert!(sys.addresses().is_empty());
}

#[tokio::test]
async fn draining_stop_handles_queued_messages_and_discarding_stop_dead_letters_them() {
    for on_stop in [OnStop::Drain, OnStop::Discard] {
        let sys = system("drain");
        let gate = Arc::new(Semaphore::new(0));
        let log = Log::default();
        let r = sys
            .spawn("r", Recorder::props("r", &log).on_stop(on_stop))
            .unwrap();
        r.tell(Msg::Hold(gate.clone())).await.unwrap();
        assert!(eventually(|| r.queued() == 0).await);
        for i in 0..10 {
            r.tell(Msg::Work(i)).await.unwrap();
        }
        let shutdown = {
            let sys = sys.clone();
            tokio::spawn(async move { sys.shutdown(T).await })
        };
        assert!(eventually(|| sys.is_shutting_down()).await);
        gate.add_permits(1);
        let report = shutdown.await.unwrap();
        assert!(report.graceful, "{report:?}");
        assert_eq!(report.actors_stopped, 1);
        let (drained, discarded) = match on_stop {
            OnStop::Drain => (10, 0),
            OnStop::Discard => (0, 10),
        };
        assert_eq!(report.messages_drained, drained, "{on_stop:?}");
        assert_eq!(report.messages_discarded, discarded, "{on_stop:?}");
        assert_eq!(sys.stats().messages.lost(), 0);
    }
}

struct Stuck;
impl Actor for Stuck {
    type Msg = ();
    async fn handle(&mut self, _: (), _: &mut Context<Self>) -> Result<(), HandlerError> {
        pending::<()>().await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_kills_what_misses_its_deadline_and_still_returns() {
    let sys = system("stuck");
    let stuck = sys
        .spawn(
            "stuck",
            Props::new(|| Stuck).stop_timeout(Duration::from_secs(60)),
        )
        .unwrap();
    let fine = sys
        .spawn("fine", Recorder::props("fine", &Log::default()))
        .unwrap();
    stuck.tell(()).await.unwrap();
    stuck.tell(()).await.unwrap();
    assert!(eventually(|| stuck.queued() == 1).await);
    let report = sys.shutdown(Duration::from_secs(1)).await;
    assert!(!report.graceful);
    assert_eq!(report.aborted, vec![stuck.address().clone()]);
    assert!(stuck.is_terminated() && fine.is_terminated());
    let m = sys.stats().messages;
    assert_eq!(m.lost(), 0, "{m:?}");
    assert_eq!(m.dead_lettered, 1, "the queued message of the killed actor");
}

#[tokio::test]
async fn a_child_that_misses_its_parents_stop_deadline_is_killed() {
    struct Parent;
    impl Actor for Parent {
        type Msg = ();
        async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
            ctx.spawn("stuck", Props::new(|| Stuck))?;
            Ok(())
        }
        async fn handle(&mut self, _: (), _: &mut Context<Self>) -> Result<(), HandlerError> {
            Ok(())
        }
    }
    let sys = system("deadline");
    let p = sys
        .spawn(
            "p",
            Props::new(|| Parent).stop_timeout(Duration::from_millis(20)),
        )
        .unwrap();
    let addr = p.address().child("stuck").unwrap();
    assert!(eventually(|| sys.lookup::<()>(&addr).is_some()).await);
    sys.lookup::<()>(&addr).unwrap().tell(()).await.unwrap();
    let report = sys.shutdown(T).await;
    assert_eq!(report.aborted, vec![addr]);
    assert_eq!(sys.stats().actors.alive, 0);
}

#[tokio::test]
async fn kill_skips_hooks_and_dead_letters_the_queue() {
    let sys = system("kill");
    let gate = Arc::new(Semaphore::new(0));
    let log = Log::default();
    let r = sys.spawn("r", Recorder::props("r", &log)).unwrap();
    r.tell(Msg::Hold(gate.clone())).await.unwrap();
    assert!(eventually(|| r.queued() == 0).await);
    for i in 0..3 {
        r.tell(Msg::Work(i)).await.unwrap();
    }
    r.kill();
    r.wait_terminated().await;
    assert_eq!(
        log.entries(),
        ["r:started"],
        "no stop hooks for a killed actor"
    );
    let m = sys.stats().messages;
    assert_eq!(m.dead_lettered, 3);
    assert_eq!(m.lost(), 0);
    assert_eq!(sys.stats().actors.alive, 0);
}

/// On a current-thread runtime a spawned actor's task has not run yet when `spawn`
/// returns: killing it then must still terminate it (and count it), not leave
/// `wait_terminated` waiting for a task that never starts.
#[tokio::test]
async fn an_actor_killed_before_its_task_first_ran_terminates() {
    let sys = system("early");
    let log = Log::default();
    let r = sys.spawn("r", Recorder::props("r", &log)).unwrap();
    r.kill();
    tokio::time::timeout(T, r.wait_terminated())
        .await
        .expect("a killed actor that never ran must terminate");
    assert!(
        log.entries().is_empty(),
        "it never started: {:?}",
        log.entries()
    );
    assert_eq!(sys.stats().actors.alive, 0);
    assert!(
        sys.lookup::<Msg>(r.address()).is_none(),
        "its name is free again"
    );
    sys.shutdown(T).await;
}

#[tokio::test]
async fn spawning_during_shutdown_is_refused() {
    let sys = system("late");
    sys.shutdown(T).await;
    let err = sys
        .spawn("x", Recorder::props("x", &Log::default()))
        .unwrap_err();
    assert!(err.to_string().contains("shutting down"), "{err}");
}

#[test]
fn shutdown_returns_the_task_count_to_its_starting_value() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let metrics = tokio::runtime::Handle::current().metrics();
        let before = metrics.num_alive_tasks();
        let sys = system("leak");
        let log = Log::default();
        let root = sys.spawn("t", Recorder::props("t", &log)).unwrap();
        grow(&root, &sys, "t", 2, 5).await;
        let ticker = sys.spawn("tick", Props::new(|| Ticker(0))).unwrap();
        ticker.tell(TickMsg::Start).await.unwrap();
        for i in 0..1000 {
            root.tell(Msg::Work(i)).await.unwrap();
        }
        assert!(metrics.num_alive_tasks() > before + 30);
        let report = sys.shutdown(T).await;
        assert!(report.graceful, "{report:?}");
        assert_eq!(report.actors_stopped, 1 + 5 + 25 + 1);
        // Every task has completed when shutdown returns; tokio drops a completed task
        // from its alive count on the worker that ran it, an instant later.
        assert!(eventually(|| metrics.num_alive_tasks() == before).await);
    });
}

enum TickMsg {
    Start,
    Tick,
    Get(gauntlet_runtime::actor::ReplyTo<u32>),
}

struct Ticker(u32);

impl Actor for Ticker {
    type Msg = TickMsg;
    async fn handle(&mut self, msg: TickMsg, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            TickMsg::Start => {
                ctx.interval(Duration::from_millis(10), || TickMsg::Tick);
                ctx.send_after(TickMsg::Tick, Duration::from_millis(5));
            }
            TickMsg::Tick => self.0 += 1,
            TickMsg::Get(r) => r.send(self.0),
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn timers_deliver_through_the_mailbox_and_stop_with_the_actor() {
    let sys = system("timers");
    let t = sys.spawn("t", Props::new(|| Ticker(0))).unwrap();
    t.tell(TickMsg::Start).await.unwrap();
    tokio::time::sleep(Duration::from_millis(55)).await;
    // send_after at 5 ms, interval at 10, 20, 30, 40, 50 ms.
    assert_eq!(t.ask(TickMsg::Get, T).await.unwrap(), 6);
    let before = sys.stats().messages.sent;
    t.stop();
    t.wait_terminated().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A cancelled interval sends nothing more (not even dead letters).
    assert_eq!(sys.stats().messages.sent, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounting_balances_under_load_with_every_policy() {
    let sys = system("hammer");
    let log = Log::default();
    let mut actors = Vec::new();
    for (i, policy) in Policy::ALL.into_iter().enumerate() {
        for j in 0..4 {
            let props = Recorder::props("h", &log).mailbox(MailboxConfig::new(8, policy));
            actors.push(sys.spawn(&format!("a{i}-{j}"), props).unwrap());
        }
    }
    let actors = Arc::new(actors);
    let tasks: Vec<_> = (0..8u64)
        .map(|t| {
            let actors = actors.clone();
            tokio::spawn(async move {
                for i in 0..3_000u64 {
                    let a = &actors[((t * 7 + i) % actors.len() as u64) as usize];
                    match i % 3 {
                        0 => {
                            let _ = a.try_tell(Msg::Work(i));
                        }
                        1 => {
                            let _ = a.tell_timeout(Msg::Work(i), Duration::from_millis(1)).await;
                        }
                        _ => {
                            let _ = a.tell(Msg::Work(i)).await;
                        }
                    }
                }
            })
        })
        .collect();
    // Stop some actors mid-flight, so dead letters are part of the mix.
    for a in actors.iter().step_by(5) {
        a.stop();
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(eventually(|| sys.stats().mailboxes.total == 0).await);
    let m = sys.stats().messages;
    assert_eq!(m.sent, 8 * 3_000, "{m:?}");
    assert_eq!(m.lost(), 0, "{m:?}");
    assert!(
        m.dropped_newest > 0 && m.dropped_oldest > 0 && m.rejected > 0,
        "{m:?}"
    );
    assert!(m.dead_lettered > 0, "{m:?}");
    let report = sys.shutdown(T).await;
    assert!(report.graceful);
    assert_eq!(sys.stats().messages.lost(), 0);
}

#[tokio::test]
async fn stop_reason_reaches_the_hooks() {
    let sys = system("reasons");
    let log = Log::default();
    let r = sys.spawn("r", Recorder::props("r", &log)).unwrap();
    r.stop();
    r.wait_terminated().await;
    let r2 = sys.spawn("r2", Recorder::props("r2", &log)).unwrap();
    sys.shutdown(T).await;
    assert!(r2.is_terminated());
    let e = log.entries();
    assert!(e.contains(&format!("r:stopping:{}", StopReason::Normal)));
    assert!(e.contains(&format!("r2:stopping:{}", StopReason::Shutdown)));
}

/// A killed actor's state (and whatever it holds) is dropped before its end is
/// announced: the finalizer, which deregisters it and wakes its waiters, runs last.
#[tokio::test]
async fn a_killed_actors_state_is_dropped_before_its_end_is_announced() {
    state_dropped_before_the_end_is_announced(|a| a.kill()).await;
}

/// The same for a graceful stop: the task drops the state, then finalizes (before, it
/// finalized first, and a waiter could find the actor gone with its state alive).
#[tokio::test]
async fn a_stopped_actors_state_is_dropped_before_its_end_is_announced() {
    state_dropped_before_the_end_is_announced(|a| a.stop()).await;
}

async fn state_dropped_before_the_end_is_announced(
    end: impl FnOnce(&gauntlet_runtime::actor::ActorRef<gauntlet_runtime::actor::ReplyTo<()>>),
) {
    use gauntlet_runtime::actor::{Actor, Address, Context, HandlerError, Props, ReplyTo};
    use std::sync::atomic::{AtomicU8, Ordering};
    /// Records, when dropped, whether the actor was still registered (1) or not (2).
    struct Guard(System, Arc<AtomicU8>);
    impl Drop for Guard {
        fn drop(&mut self) {
            let at = Address::parse("actor://k/holder").unwrap();
            let registered = self.0.lookup::<ReplyTo<()>>(&at).is_some();
            self.1
                .store(if registered { 1 } else { 2 }, Ordering::SeqCst);
        }
    }
    struct Holder(#[allow(dead_code)] Guard);
    impl Actor for Holder {
        type Msg = ReplyTo<()>;
        async fn handle(
            &mut self,
            reply: Self::Msg,
            _: &mut Context<Self>,
        ) -> Result<(), HandlerError> {
            reply.send(());
            Ok(())
        }
    }
    let sys = System::new("k").unwrap();
    let seen = Arc::new(AtomicU8::new(0));
    let (s, d) = (sys.clone(), seen.clone());
    let a = sys
        .spawn(
            "holder",
            Props::new(move || Holder(Guard(s.clone(), d.clone()))),
        )
        .unwrap();
    // Made and running: the state exists.
    a.ask(|r| r, T).await.unwrap();
    end(&a);
    a.wait_terminated().await;
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "the state was dropped after the actor was deregistered"
    );
    sys.shutdown(T).await;
}

/// A state whose `Drop` panics during a graceful stop still ends the actor: whoever
/// waits for it is woken (the actor is finalized as killed), nothing hangs. (With the
/// state dropped before the finalizer was out of the way, a panic there skipped the
/// finalizer and the wait below never ended.)
#[tokio::test(start_paused = true)]
async fn a_state_that_panics_when_dropped_still_ends() {
    use gauntlet_runtime::actor::{Actor, Context, HandlerError, Props};
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("the state's drop panics (on purpose)");
        }
    }
    struct Fragile(#[allow(dead_code)] Bomb);
    impl Actor for Fragile {
        type Msg = ();
        async fn handle(&mut self, _: (), _: &mut Context<Self>) -> Result<(), HandlerError> {
            Ok(())
        }
    }
    let sys = System::new("fragile").unwrap();
    let a = sys.spawn("f", Props::new(|| Fragile(Bomb))).unwrap();
    a.tell(()).await.unwrap();
    a.stop();
    // The paused clock jumps to the limit at once if nothing else can run: a hang fails
    // here instead of stalling the suite.
    tokio::time::timeout(Duration::from_secs(3600), a.wait_terminated())
        .await
        .expect("the actor never ended");
    assert!(a.is_terminated());
    sys.shutdown(T).await;
}
