//! Messaging semantics: ordering, every mailbox policy when full, asks, system lane,
//! dead letters.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Log, Msg, Recorder, T, eventually, system};
use gauntlet_runtime::actor::{
    AskError, DeadLetterReason, MailboxConfig, OnStop, Policy, SendError,
};
use tokio::sync::Semaphore;

/// Spawns a recorder with `mailbox`, parks it on a closed gate, and returns both.
async fn parked(
    sys: &gauntlet_runtime::actor::System,
    mailbox: MailboxConfig,
) -> (gauntlet_runtime::actor::ActorRef<Msg>, Arc<Semaphore>) {
    let gate = Arc::new(Semaphore::new(0));
    let r = sys
        .spawn("r", Recorder::props("r", &Log::default()).mailbox(mailbox))
        .unwrap();
    r.tell(Msg::Hold(gate.clone())).await.unwrap();
    // The hold is taken off the queue once the actor is parked on the gate.
    assert!(eventually(|| r.queued() == 0).await);
    (r, gate)
}

/// What the recorder has seen, once its mailbox has drained (so the request itself is
/// not refused or dropped by a full mailbox).
async fn seen(r: &gauntlet_runtime::actor::ActorRef<Msg>) -> Vec<u64> {
    assert!(eventually(|| r.queued() == 0).await);
    r.ask(Msg::Get, T).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_per_sender_is_fifo() {
    let sys = system("order");
    let r = sys
        .spawn("r", Recorder::props("r", &Log::default()))
        .unwrap();
    let senders: Vec<_> = (0..4u64)
        .map(|s| {
            let r = r.clone();
            tokio::spawn(async move {
                for i in 0..2_000u64 {
                    r.tell(Msg::Work(s << 32 | i)).await.unwrap();
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let got = seen(&r).await;
    assert_eq!(got.len(), 8_000);
    for s in 0..4u64 {
        let mine: Vec<u64> = got
            .iter()
            .filter(|v| *v >> 32 == s)
            .map(|v| v & 0xffff_ffff)
            .collect();
        assert_eq!(mine, (0..2_000).collect::<Vec<_>>(), "sender {s}");
    }
    sys.shutdown(T).await;
}

#[tokio::test]
async fn policy_block_makes_the_sender_wait_for_room() {
    let sys = system("block");
    let (r, gate) = parked(&sys, MailboxConfig::new(2, Policy::Block)).await;
    r.tell(Msg::Work(1)).await.unwrap();
    r.tell(Msg::Work(2)).await.unwrap();
    let blocked = {
        let r = r.clone();
        tokio::spawn(async move { r.tell(Msg::Work(3)).await })
    };
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(
        !blocked.is_finished(),
        "a full Block mailbox must hold the sender"
    );
    assert!(matches!(r.try_tell(Msg::Work(9)), Err(SendError::Full(_))));
    assert!(matches!(
        r.tell_timeout(Msg::Work(9), Duration::from_millis(5)).await,
        Err(SendError::Timeout(Msg::Work(9)))
    ));
    gate.add_permits(1);
    blocked.await.unwrap().unwrap();
    assert_eq!(seen(&r).await, vec![1, 2, 3]);
    let m = sys.stats().messages;
    assert_eq!(
        m.rejected, 2,
        "try_tell and the timed-out tell are rejected"
    );
    sys.shutdown(T).await;
}

#[tokio::test]
async fn policy_fail_hands_the_message_back() {
    let sys = system("fail");
    let (r, gate) = parked(&sys, MailboxConfig::new(2, Policy::Fail)).await;
    r.tell(Msg::Work(1)).await.unwrap();
    r.tell(Msg::Work(2)).await.unwrap();
    match r.tell(Msg::Work(3)).await {
        Err(SendError::Full(Msg::Work(3))) => {}
        other => panic!("expected Full(3), got {other:?}"),
    }
    gate.add_permits(1);
    assert_eq!(seen(&r).await, vec![1, 2]);
    assert_eq!(sys.stats().messages.rejected, 1);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn policy_drop_newest_drops_the_new_message() {
    let sys = system("dropnewest");
    let (r, gate) = parked(&sys, MailboxConfig::new(2, Policy::DropNewest)).await;
    for i in 1..=5 {
        r.tell(Msg::Work(i)).await.unwrap();
    }
    gate.add_permits(1);
    assert_eq!(seen(&r).await, vec![1, 2]);
    assert_eq!(sys.stats().messages.dropped_newest, 3);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn policy_drop_oldest_evicts_the_oldest_message() {
    let sys = system("dropoldest");
    let (r, gate) = parked(&sys, MailboxConfig::new(2, Policy::DropOldest)).await;
    for i in 1..=5 {
        r.tell(Msg::Work(i)).await.unwrap();
    }
    gate.add_permits(1);
    assert_eq!(seen(&r).await, vec![4, 5]);
    assert_eq!(sys.stats().messages.dropped_oldest, 3);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn policy_unbounded_accepts_everything() {
    let sys = system("unbounded");
    let (r, gate) = parked(&sys, MailboxConfig::unbounded()).await;
    for i in 0..5_000 {
        r.try_tell(Msg::Work(i)).unwrap();
    }
    assert_eq!(sys.stats().mailboxes.total, 5_000);
    assert_eq!(sys.stats().mailboxes.peak, 5_000);
    gate.add_permits(1);
    assert_eq!(seen(&r).await.len(), 5_000);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn system_messages_are_not_stuck_behind_user_messages() {
    let sys = system("lane");
    let gate = Arc::new(Semaphore::new(0));
    let log = Log::default();
    let r = sys
        .spawn(
            "r",
            Recorder::props("r", &log)
                .mailbox(MailboxConfig::new(1_000, Policy::Block))
                .on_stop(OnStop::Discard),
        )
        .unwrap();
    r.tell(Msg::Hold(gate.clone())).await.unwrap();
    assert!(eventually(|| r.queued() == 0).await);
    for i in 0..500 {
        r.tell(Msg::Work(i)).await.unwrap();
    }
    r.stop();
    gate.add_permits(1);
    r.wait_terminated().await;
    // The stop overtook all 500 queued messages: they were discarded, not handled.
    let stats = sys.stats();
    assert_eq!(stats.messages.delivered, 1);
    assert_eq!(stats.messages.dead_lettered, 500);
    assert_eq!(stats.messages.lost(), 0);
}

#[tokio::test]
async fn ask_returns_a_typed_reply() {
    let sys = system("ask");
    let r = sys
        .spawn("r", Recorder::props("r", &Log::default()))
        .unwrap();
    r.tell(Msg::Work(7)).await.unwrap();
    let v: Vec<u64> = r.ask(Msg::Get, T).await.unwrap();
    assert_eq!(v, vec![7]);
    assert_eq!(sys.stats().asks.started, 1);
    assert_eq!(sys.stats().asks.in_flight, 0);
    sys.shutdown(T).await;
}

#[tokio::test(start_paused = true)]
async fn ask_times_out_with_a_typed_error() {
    let sys = system("asktimeout");
    let (r, gate) = parked(&sys, MailboxConfig::default()).await;
    let err = r
        .ask(Msg::Get, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(err, AskError::Timeout(Duration::from_millis(50)));
    assert_eq!(sys.stats().asks.timed_out, 1);
    assert_eq!(sys.stats().asks.in_flight, 0);
    gate.add_permits(1);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn ask_that_is_never_answered_is_no_reply() {
    let sys = system("noreply");
    let r = sys
        .spawn("r", Recorder::props("r", &Log::default()))
        .unwrap();
    assert_eq!(r.ask(Msg::Ignore, T).await.unwrap_err(), AskError::NoReply);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn ask_refused_by_fail_policy_and_dropped_by_drop_newest() {
    let sys = system("askfull");
    let (fail, g1) = parked(&sys, MailboxConfig::new(1, Policy::Fail)).await;
    fail.tell(Msg::Work(1)).await.unwrap();
    assert_eq!(fail.ask(Msg::Get, T).await.unwrap_err(), AskError::Full);
    g1.add_permits(1);
    sys.shutdown(T).await;

    let sys = system("askdrop");
    let (drop, g2) = parked(&sys, MailboxConfig::new(1, Policy::DropNewest)).await;
    drop.tell(Msg::Work(1)).await.unwrap();
    assert_eq!(drop.ask(Msg::Get, T).await.unwrap_err(), AskError::Dropped);
    g2.add_permits(1);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn messages_to_stopped_or_unknown_actors_are_dead_letters() {
    let sys = system("dead");
    let mut letters = sys.dead_letters();
    let r = sys
        .spawn("r", Recorder::props("r", &Log::default()))
        .unwrap();
    r.stop();
    r.wait_terminated().await;
    assert!(matches!(
        r.tell(Msg::Work(1)).await,
        Err(SendError::Stopped(Msg::Work(1)))
    ));
    assert_eq!(r.ask(Msg::Get, T).await.unwrap_err(), AskError::Stopped);
    let nowhere = sys.address().child("nobody").unwrap();
    assert!(matches!(
        sys.tell_at(&nowhere, Msg::Work(2)).await,
        Err(SendError::NotFound(_))
    ));
    let stats = sys.stats();
    assert_eq!(stats.messages.dead_lettered, 3);
    assert_eq!(stats.messages.lost(), 0);
    let first = letters.recv().await.unwrap();
    assert_eq!(first.to, *r.address());
    assert_eq!(first.reason, DeadLetterReason::Stopped);
    letters.recv().await.unwrap();
    let third = letters.recv().await.unwrap();
    assert_eq!(third.to, nowhere);
    assert_eq!(third.reason, DeadLetterReason::NotFound);
}

#[tokio::test]
async fn addresses_nest_and_resolve_through_the_registry() {
    let sys = system("home");
    let log = Log::default();
    let kitchen = sys
        .spawn("kitchen", Recorder::props("kitchen", &log))
        .unwrap();
    assert_eq!(kitchen.address().as_str(), "actor://home/kitchen");
    let lamp = kitchen
        .ask(|r| Msg::SpawnChild("lamp".into(), r), T)
        .await
        .unwrap();
    assert_eq!(lamp, "actor://home/kitchen/lamp");
    let lamp_addr = lamp.parse().unwrap();
    let lamp_ref = sys.lookup::<Msg>(&lamp_addr).expect("registered");
    lamp_ref.tell(Msg::Work(5)).await.unwrap();
    assert_eq!(seen(&lamp_ref).await, vec![5]);
    // Wrong message type: not found.
    assert!(sys.lookup::<u32>(&lamp_addr).is_none());
    // Duplicate names are errors, at the top and under a parent.
    let dup = sys
        .spawn("kitchen", Recorder::props("k2", &log))
        .unwrap_err();
    assert!(dup.to_string().contains("actor://home/kitchen"), "{dup}");
    let dup_child = kitchen.ask(|r| Msg::SpawnChild("lamp".into(), r), T).await;
    assert!(
        dup_child.is_err(),
        "the handler fails, so the ask gets no reply"
    );
    // Invalid names are refused with the reason.
    let bad = sys.spawn("a/b", Recorder::props("x", &log)).unwrap_err();
    assert!(bad.to_string().contains('/'), "{bad}");
    // A stopped actor leaves the registry; its name can be used again.
    kitchen.stop();
    kitchen.wait_terminated().await;
    assert!(sys.lookup::<Msg>(&lamp_addr).is_none());
    assert!(sys.lookup::<Msg>(kitchen.address()).is_none());
    sys.spawn("kitchen", Recorder::props("kitchen", &log))
        .unwrap();
    sys.shutdown(T).await;
}
