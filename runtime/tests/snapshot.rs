//! Per-actor snapshots under load: a known backlog, a known stuck handler, a waiter in
//! an ask, restarts and a backoff, all found by `System::snapshot`.
//!
//! Synchronisation is by events only: a handler reports that it started through a
//! oneshot and then blocks on another oneshot the test holds. On a current-thread
//! runtime a task runs until it awaits, so once the test task runs again, everything
//! the other tasks did before their await (sends, the ask's wait-for edge) is done.

mod common;

use std::time::Duration;

use common::T;
use gauntlet_runtime::actor::snapshot::{ActorState, SnapshotQuery, SortKey};
use gauntlet_runtime::actor::{
    Actor, ActorRef, Backoff, Context, HandlerError, Props, ReplyTo, SupervisorStrategy, System,
    SystemConfig,
};
use tokio::sync::oneshot;

enum Msg {
    /// Say that the handler started, then wait for the release.
    Hold(oneshot::Sender<()>, oneshot::Receiver<()>),
    /// Nothing.
    Work,
    /// Fail the handler.
    Fail,
    /// Ask `to` to `Work`-and-reply, from inside this handler.
    AskOther(ActorRef<Msg>),
    /// Reply.
    Ping(ReplyTo<()>),
}

struct Worker;

impl Actor for Worker {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            Msg::Hold(started, release) => {
                let _ = started.send(());
                let _ = release.await;
            }
            Msg::Work => {}
            Msg::Fail => return Err("told to fail".into()),
            Msg::AskOther(to) => {
                let _ = to.ask(Msg::Ping, Duration::from_secs(3600)).await;
            }
            Msg::Ping(reply) => reply.send(()),
        }
        Ok(())
    }
}

/// Holds `actor`'s handler until the returned sender is dropped or fired.
async fn hold(actor: &ActorRef<Msg>) -> oneshot::Sender<()> {
    let (started_tx, started_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    actor.tell(Msg::Hold(started_tx, release_rx)).await.unwrap();
    started_rx.await.unwrap();
    release_tx
}

#[tokio::test(flavor = "current_thread")]
async fn the_snapshot_finds_a_backlog_a_stuck_handler_and_who_waits_on_it() {
    let sys = System::new("snap").unwrap();
    let stuck = sys.spawn("stuck", Props::new(|| Worker)).unwrap();
    let busy = sys.spawn("busy", Props::new(|| Worker)).unwrap();
    let asker = sys.spawn("asker", Props::new(|| Worker)).unwrap();
    let quiet = sys.spawn("quiet", Props::new(|| Worker)).unwrap();

    // `busy` handles 10 messages (an ask after them proves they are done).
    for _ in 0..10 {
        busy.tell(Msg::Work).await.unwrap();
    }
    busy.ask(Msg::Ping, T).await.unwrap();

    // `stuck` blocks in a handler with 50 messages queued behind it.
    let release = hold(&stuck).await;
    for _ in 0..50 {
        stuck.tell(Msg::Work).await.unwrap();
    }
    // `asker` asks `stuck` from inside its handler and waits (its ping queues as 51st).
    asker.tell(Msg::AskOther(stuck.clone())).await.unwrap();
    tokio::task::yield_now().await;

    let snap = sys.snapshot(&SnapshotQuery::new(SortKey::Depth));
    assert_eq!((snap.live, snap.matched, snap.actors.len()), (4, 4, 4));
    let top = &snap.actors[0];
    assert_eq!(top.address, *stuck.address());
    assert_eq!(top.state, ActorState::Running);
    assert_eq!(top.mailbox_depth, 51);
    assert_eq!(top.mailbox_peak, 51);
    assert!(top.handler_running.is_some());
    assert_eq!(top.handled, 1, "only the held message was taken");

    let row = |a: &ActorRef<Msg>| {
        snap.actors
            .iter()
            .find(|r| r.address == *a.address())
            .unwrap()
            .clone()
    };
    let waiting = row(&asker);
    assert_eq!(waiting.state, ActorState::Running);
    assert_eq!(waiting.waiting_on.as_ref(), Some(stuck.address()));
    assert_eq!(snap.waits.len(), 1);
    assert_eq!(snap.waits[0].waiter, *asker.address());
    assert_eq!(snap.waits[0].target, *stuck.address());
    assert_eq!(row(&busy).handled, 11);
    assert_eq!(row(&busy).state, ActorState::Idle);
    assert_eq!(row(&busy).handler_running, None);
    assert_eq!(row(&quiet).handled, 0);
    assert_eq!(row(&quiet).kind, row(&busy).kind);
    assert_eq!(snap.totals.mailboxes.total, 51);

    // By handled, the busy one leads; by running, the two handlers in progress do.
    let by_handled = sys.snapshot(&SnapshotQuery::new(SortKey::Handled).top(1));
    assert_eq!(by_handled.matched, 4);
    assert_eq!(by_handled.actors.len(), 1);
    assert_eq!(by_handled.actors[0].address, *busy.address());
    let by_running = sys.snapshot(&SnapshotQuery::new(SortKey::Running).top(2));
    let mut running: Vec<_> = by_running.actors.iter().map(|r| r.state).collect();
    running.dedup();
    assert_eq!(running, vec![ActorState::Running]);

    // The glob narrows the walk's rows but not the totals.
    let one = sys.snapshot(
        &SnapshotQuery::new(SortKey::Depth)
            .glob("actor://snap/q*")
            .unwrap(),
    );
    assert_eq!((one.live, one.matched), (4, 1));
    assert_eq!(one.actors[0].address, *quiet.address());
    let none = sys.snapshot(
        &SnapshotQuery::new(SortKey::Depth)
            .glob("actor://other/**")
            .unwrap(),
    );
    assert!(none.actors.is_empty());
    assert_eq!(sys.snapshot_of(stuck.address()).unwrap().mailbox_depth, 51);

    // Released, everything drains and the wait-for graph empties.
    drop(release);
    asker.ask(Msg::Ping, T).await.unwrap();
    stuck.ask(Msg::Ping, T).await.unwrap();
    let after = sys.snapshot(&SnapshotQuery::new(SortKey::Depth));
    assert!(after.waits.is_empty());
    assert!(after.actors.iter().all(|r| r.mailbox_depth == 0));
    assert_eq!(row_of(&after, &stuck).handled, 53);
    assert_eq!(row_of(&after, &stuck).mailbox_peak, 51);
    assert_eq!(row_of(&after, &asker).waiting_on, None);
    sys.shutdown(T).await;
}

fn row_of(
    snap: &gauntlet_runtime::actor::Snapshot,
    a: &ActorRef<Msg>,
) -> gauntlet_runtime::actor::ActorRow {
    snap.actors
        .iter()
        .find(|r| r.address == *a.address())
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "current_thread")]
async fn restarts_the_last_failure_and_a_backoff_show() {
    let config = SystemConfig {
        guardian: SupervisorStrategy::one_for_one().intensity(100, Duration::from_secs(60)),
        ..Default::default()
    };
    let sys = System::with_config("fail", config).unwrap();
    let flaky = sys.spawn("flaky", Props::new(|| Worker)).unwrap();
    for _ in 0..3 {
        flaky.tell(Msg::Fail).await.unwrap();
    }
    // The restarts happen before the next message is handled.
    flaky.ask(Msg::Ping, T).await.unwrap();
    let row = sys.snapshot_of(flaky.address()).unwrap();
    assert_eq!(row.restarts, 3);
    assert_eq!(row.handled, 4);
    assert_eq!(row.state, ActorState::Idle);
    let failure = row.last_failure.expect("a failure was recorded");
    assert_eq!(failure.failure.to_string(), "error: told to fail");
    let by_restarts = sys.snapshot(&SnapshotQuery::new(SortKey::Restarts));
    assert_eq!(by_restarts.actors[0].restarts, 3);
    sys.shutdown(T).await;

    // A backoff of an hour: the actor waits it out in `backing-off`, still stoppable.
    let config = SystemConfig {
        guardian: SupervisorStrategy::one_for_one().backoff(Backoff {
            min: Duration::from_secs(3600),
            max: Duration::from_secs(3600),
            jitter: 0.0,
        }),
        ..Default::default()
    };
    let sys = System::with_config("backoff", config).unwrap();
    let flaky = sys.spawn("flaky", Props::new(|| Worker)).unwrap();
    flaky.tell(Msg::Fail).await.unwrap();
    // Count-bounded: let the actor's task run until it reaches the backoff.
    let mut state = None;
    for _ in 0..1000 {
        state = sys.snapshot_of(flaky.address()).map(|r| r.state);
        if state == Some(ActorState::BackingOff) {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(state, Some(ActorState::BackingOff));
    assert_eq!(sys.snapshot_of(flaky.address()).unwrap().restarts, 0);
    let report = sys.shutdown(T).await;
    assert!(report.graceful);
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_glob_or_sort_key_is_a_clear_error() {
    let e = SnapshotQuery::new(SortKey::Depth)
        .glob("actor://[")
        .unwrap_err();
    assert!(e.to_string().contains("actor://["), "{e}");
    let e = "deepest".parse::<SortKey>().unwrap_err();
    assert!(e.to_string().contains("deepest"), "{e}");
    for key in SortKey::ALL {
        assert_eq!(key.name().parse::<SortKey>().unwrap(), key);
    }
}
