//! Hibernation (`Props::hibernate_after`, `SystemConfig::hibernate_after`): an idle
//! actor gives up its task, keeps its state, and wakes on its next message or signal.
//!
//! The watchdog decides when an actor has been idle long enough, on its own clock; the
//! tests wait for the outcome (counts, states), never for a time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Log, Msg, Recorder, T, eventually};
use gauntlet_runtime::actor::{ActorRef, ActorState, System, SystemConfig};

const IDLE: Duration = Duration::from_millis(20);

fn hibernating(sys: &System) -> u64 {
    sys.stats()
        .by_kind
        .get("Recorder")
        .map_or(0, |k| k.hibernating())
}

fn state(sys: &System, r: &ActorRef<Msg>) -> ActorState {
    sys.snapshot_of(r.address()).expect("alive").state
}

async fn seen(r: &ActorRef<Msg>) -> Vec<u64> {
    r.ask(Msg::Get, T).await.expect("answers")
}

#[tokio::test]
async fn a_hibernated_actor_keeps_its_state_and_does_not_start_again() {
    let sys = System::new("h").unwrap();
    let log = Log::default();
    let a = sys
        .spawn("a", Recorder::props("a", &log).hibernate_after(IDLE))
        .unwrap();
    a.tell(Msg::Work(1)).await.unwrap();
    assert!(
        eventually(|| hibernating(&sys) == 1).await,
        "never hibernated"
    );
    assert_eq!(state(&sys, &a), ActorState::Hibernating);
    assert_eq!(state(&sys, &a).name(), "hibernating");
    a.tell(Msg::Work(2)).await.unwrap();
    assert_eq!(seen(&a).await, [1, 2], "the state survived");
    let k = sys.stats().by_kind["Recorder"];
    assert!(k.wakeups >= 1 && k.hibernations >= k.wakeups, "{k:?}");
    // It hibernates again, and again wakes with its state.
    assert!(eventually(|| hibernating(&sys) == 1).await);
    assert_eq!(seen(&a).await, [1, 2]);
    assert_eq!(
        log.count("a:started"),
        1,
        "started ran once: {:?}",
        log.entries()
    );
    assert!(sys.shutdown(T).await.graceful);
    assert_eq!(log.count("a:stopped"), 1);
}

/// The negative control: the same actors without `hibernate_after` never hibernate,
/// while one beside them, in the same watchdog scans, does (twice, so the others have
/// been looked at over at least two scans after their idle time).
#[tokio::test]
async fn without_hibernate_after_idle_actors_keep_their_tasks() {
    let sys = System::new("h").unwrap();
    let log = Log::default();
    let plain: Vec<_> = (0..5)
        .map(|i| {
            sys.spawn_unnamed(Recorder::props(&format!("p{i}"), &log))
                .unwrap()
        })
        .collect();
    for p in &plain {
        p.tell(Msg::Work(1)).await.unwrap();
    }
    let witness = sys
        .spawn_unnamed(Recorder::props("w", &log).hibernate_after(IDLE))
        .unwrap();
    assert!(eventually(|| hibernating(&sys) == 1).await);
    seen(&witness).await;
    assert!(eventually(|| hibernating(&sys) == 1).await);
    let k = sys.stats().by_kind["Recorder"];
    assert_eq!(
        (k.hibernations, k.wakeups),
        (2, 1),
        "only the witness: {k:?}"
    );
    for p in &plain {
        assert_eq!(state(&sys, p), ActorState::Idle);
    }
    assert!(sys.shutdown(T).await.graceful);
}

/// `SystemConfig::hibernate_after` applies to every actor; hibernating actors hold no
/// tokio task (counted by tokio), and all wake with their state.
#[tokio::test]
async fn the_system_default_hibernates_a_fleet_and_frees_its_tasks() {
    const N: usize = 50;
    let config = SystemConfig {
        hibernate_after: Some(IDLE),
        ..SystemConfig::default()
    };
    let sys = System::with_config("fleet", config).unwrap();
    let log = Log::default();
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = tasks();
    let fleet: Vec<_> = (0..N)
        .map(|i| {
            sys.spawn_unnamed(Recorder::props(&format!("f{i}"), &log))
                .unwrap()
        })
        .collect();
    for (i, f) in fleet.iter().enumerate() {
        f.tell(Msg::Work(i as u64)).await.unwrap();
    }
    assert_eq!(tasks(), before + N, "one task per awake actor");
    assert!(eventually(|| hibernating(&sys) == N as u64).await);
    assert!(
        eventually(|| tasks() == before).await,
        "hibernating actors still hold {} tasks",
        tasks() - before
    );
    for (i, f) in fleet.iter().enumerate() {
        assert_eq!(seen(f).await, [i as u64]);
    }
    assert_eq!(log.entries().len(), N, "one `started` each, no more");
    assert!(sys.shutdown(T).await.graceful);
    assert_eq!(sys.stats().actors.alive, 0);
}

#[tokio::test]
async fn stop_and_kill_reach_a_hibernating_actor() {
    let sys = System::new("h").unwrap();
    let log = Log::default();
    let a = sys
        .spawn("a", Recorder::props("a", &log).hibernate_after(IDLE))
        .unwrap();
    let b = sys
        .spawn("b", Recorder::props("b", &log).hibernate_after(IDLE))
        .unwrap();
    assert!(eventually(|| hibernating(&sys) == 2).await);
    a.stop();
    a.wait_terminated().await;
    assert_eq!(log.count("a:stopped"), 1, "a stopped gracefully");
    b.kill();
    b.wait_terminated().await;
    assert_eq!(log.count("b:stopped"), 0, "a kill runs no hooks");
    assert_eq!(sys.stats().actors.alive, 0);
    assert!(sys.shutdown(T).await.graceful);
}

#[tokio::test]
async fn a_hibernating_parent_stops_with_its_hibernating_child() {
    let sys = System::with_config(
        "h",
        SystemConfig {
            hibernate_after: Some(IDLE),
            ..SystemConfig::default()
        },
    )
    .unwrap();
    let log = Log::default();
    let parent = sys
        .spawn("parent", Recorder::props("parent", &log))
        .unwrap();
    let child = parent
        .ask(|r| Msg::SpawnChild("child".into(), r), T)
        .await
        .unwrap();
    assert!(child.ends_with("/parent/child"), "{child}");
    assert!(eventually(|| hibernating(&sys) == 2).await);
    let report = sys.shutdown(T).await;
    assert!(report.graceful && report.aborted.is_empty(), "{report:?}");
    let entries = log.entries();
    let stopped = |who: &str| entries.iter().position(|e| e == who).expect(who);
    assert!(
        stopped("child:stopped") < stopped("parent:stopped"),
        "{entries:?}"
    );
}

/// Senders on two workers race an actor that hibernates after 1 ms idle, over many
/// rounds: every message is handled, in order per sender, and the actor's one state
/// sees them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_racing_hibernation_lose_nothing() {
    let sys = System::new("race").unwrap();
    let a = Arc::new(
        sys.spawn_unnamed(
            Recorder::props("a", &Log::default()).hibernate_after(Duration::from_millis(1)),
        )
        .unwrap(),
    );
    const ROUNDS: u64 = 30;
    let mut hibernated = 0;
    for round in 0..ROUNDS {
        // Wait for it to be asleep (or about to be), then race two senders.
        let target = sys.stats().by_kind["Recorder"].hibernations + 1;
        assert!(
            eventually(|| sys.stats().by_kind["Recorder"].hibernations >= target).await,
            "round {round}: never hibernated"
        );
        hibernated += 1;
        let senders: Vec<_> = (0..2u64)
            .map(|s| {
                let a = a.clone();
                tokio::spawn(async move {
                    for i in 0..3 {
                        a.tell(Msg::Work(round * 100 + s * 10 + i)).await.unwrap();
                    }
                })
            })
            .collect();
        for s in senders {
            s.await.unwrap();
        }
    }
    let got = seen(&a).await;
    assert_eq!(got.len() as u64, ROUNDS * 6, "every message handled");
    for round in 0..ROUNDS {
        for s in 0..2 {
            let mine: Vec<u64> = got
                .iter()
                .copied()
                .filter(|v| v / 100 == round && (v % 100) / 10 == s)
                .collect();
            assert_eq!(
                mine,
                (0..3).map(|i| round * 100 + s * 10 + i).collect::<Vec<_>>()
            );
        }
    }
    assert!(hibernated >= ROUNDS);
    assert!(sys.shutdown(T).await.graceful);
}
