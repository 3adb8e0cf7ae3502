//! Ask-cycle detection and the stall watchdog.

mod common;

use std::time::Duration;

use common::T;
use gauntlet_runtime::actor::{
    Actor, ActorRef, Address, AskError, Context, HandlerError, Props, ReplyTo, RuntimeEvent,
    System, SystemConfig,
};
use rand::{RngExt, SeedableRng};

/// Asks along a path of actors; the last one answers with its address.
enum Relay {
    Via(Vec<ActorRef<Relay>>, ReplyTo<Result<String, AskError>>),
    /// Sleep (async) for this long, then answer.
    Slow(Duration, ReplyTo<()>),
    /// Block the worker thread for this long (the classic async mistake).
    Block(Duration),
}

struct Hop;

impl Actor for Hop {
    type Msg = Relay;
    async fn handle(&mut self, msg: Relay, ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            Relay::Via(mut path, reply) => {
                if path.is_empty() {
                    reply.send(Ok(ctx.address().to_string()));
                    return Ok(());
                }
                let next = path.remove(0);
                let answer = next
                    .ask(|r| Relay::Via(path, r), Duration::from_secs(30))
                    .await;
                reply.send(answer.and_then(|inner| inner));
            }
            Relay::Slow(d, reply) => {
                tokio::time::sleep(d).await;
                reply.send(());
            }
            Relay::Block(d) => std::thread::sleep(d),
        }
        Ok(())
    }
}

fn hops(sys: &System, n: usize) -> Vec<ActorRef<Relay>> {
    (0..n)
        .map(|i| sys.spawn(&format!("h{i}"), Props::new(|| Hop)).unwrap())
        .collect()
}

async fn relay(first: &ActorRef<Relay>, rest: &[ActorRef<Relay>]) -> Result<String, AskError> {
    first
        .ask(|r| Relay::Via(rest.to_vec(), r), Duration::from_secs(30))
        .await
        .unwrap()
}

fn addrs(refs: &[&ActorRef<Relay>]) -> Vec<Address> {
    refs.iter().map(|r| r.address().clone()).collect()
}

#[tokio::test]
async fn an_actor_asking_itself_is_refused_at_once() {
    let sys = System::new("selfask").unwrap();
    let h = hops(&sys, 1);
    let err = relay(&h[0], &[h[0].clone()]).await.unwrap_err();
    assert_eq!(err, AskError::Deadlock(addrs(&[&h[0], &h[0]])));
    assert_eq!(sys.stats().deadlocks, 1);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn a_two_actor_cycle_is_refused_and_reports_the_cycle() {
    let sys = System::new("two").unwrap();
    let mut events = sys.events();
    let h = hops(&sys, 2);
    // h0 asks h1, which asks h0 back: h1's ask closes the cycle.
    let err = relay(&h[0], &[h[1].clone(), h[0].clone()])
        .await
        .unwrap_err();
    assert_eq!(err, AskError::Deadlock(addrs(&[&h[1], &h[0], &h[1]])));
    assert!(
        err.to_string()
            .contains("actor://two/h1 -> actor://two/h0 -> actor://two/h1")
    );
    match events.recv().await.unwrap() {
        RuntimeEvent::Deadlock(d) => assert_eq!(d.cycle, addrs(&[&h[1], &h[0], &h[1]])),
        other => panic!("expected a deadlock event, got {other:?}"),
    }
    // Nothing is left waiting: both actors answer again.
    assert_eq!(relay(&h[0], &[]).await.unwrap(), "actor://two/h0");
    assert_eq!(relay(&h[1], &[]).await.unwrap(), "actor://two/h1");
    assert_eq!(sys.stats().asks.in_flight, 0);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn a_three_actor_cycle_is_refused() {
    let sys = System::new("three").unwrap();
    let h = hops(&sys, 3);
    let err = relay(&h[0], &[h[1].clone(), h[2].clone(), h[0].clone()])
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AskError::Deadlock(addrs(&[&h[2], &h[0], &h[1], &h[2]]))
    );
    sys.shutdown(T).await;
}

#[tokio::test]
async fn a_long_chain_that_is_not_a_cycle_is_not_reported() {
    let sys = System::new("chain").unwrap();
    let h = hops(&sys, 20);
    let got = relay(&h[0], &h[1..]).await.unwrap();
    assert_eq!(got, "actor://chain/h19");
    assert_eq!(sys.stats().deadlocks, 0);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn asks_from_outside_any_actor_are_not_tracked() {
    let sys = System::new("outside").unwrap();
    let h = hops(&sys, 1);
    // Two concurrent outside asks to the same actor are not a cycle.
    let (a, b) = tokio::join!(relay(&h[0], &[]), relay(&h[0], &[]));
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(sys.stats().deadlocks, 0);
    sys.shutdown(T).await;
}

/// Cycles that only exist because requests run at the same time: actor i asks actor j
/// while j, serving another request, asks i (or longer rings). Seeded and repeated.
/// Without detection these asks would wait for their 30 s timeout; the test asserts
/// that every request ends with an answer or a refused cycle, never a timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycles_that_form_only_under_concurrency_are_all_caught() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6a75_6e74);
    let sys = System::new("racy").unwrap();
    let h = hops(&sys, 6);
    let mut deadlocks = 0;
    for round in 0..40 {
        let ring = rng.random_range(2..=4usize);
        let mut members: Vec<usize> = (0..h.len()).collect();
        for i in 0..ring {
            let j = rng.random_range(i..members.len());
            members.swap(i, j);
        }
        members.truncate(ring);
        // Request k starts at members[k] and asks around the ring back to itself's
        // predecessor: together the requests close the ring.
        let requests = (0..ring).map(|k| {
            let path: Vec<ActorRef<Relay>> = (1..ring)
                .map(|d| h[members[(k + d) % ring]].clone())
                .collect();
            let first = h[members[k]].clone();
            async move { relay(&first, &path).await }
        });
        let results = futures_util::future::join_all(requests).await;
        for r in &results {
            match r {
                Ok(_) => {}
                Err(AskError::Deadlock(cycle)) => {
                    deadlocks += 1;
                    assert!(
                        cycle.len() >= 2 && cycle.first() == cycle.last(),
                        "{cycle:?}"
                    );
                }
                Err(e) => panic!("round {round}: request ended with {e:?}"),
            }
        }
    }
    assert!(deadlocks > 0, "some rounds must have raced into a cycle");
    assert_eq!(sys.stats().deadlocks, deadlocks);
    assert_eq!(sys.stats().asks.in_flight, 0);
    sys.shutdown(T).await;
}

fn stall_config(threshold_ms: u64) -> SystemConfig {
    SystemConfig {
        stall_threshold: Some(Duration::from_millis(threshold_ms)),
        ..SystemConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_blocks_its_thread_is_reported_as_a_stall() {
    let sys = System::with_config("blocking", stall_config(50)).unwrap();
    let mut events = sys.events();
    let h = hops(&sys, 1);
    h[0].tell(Relay::Block(Duration::from_millis(400)))
        .await
        .unwrap();
    let event = tokio::time::timeout(T, events.recv())
        .await
        .unwrap()
        .unwrap();
    match event {
        RuntimeEvent::Stall(s) => {
            assert_eq!(&s.address, h[0].address());
            assert_eq!(s.kind, "Hop");
            assert!(s.busy_for >= Duration::from_millis(50), "{s:?}");
            assert_eq!(s.waiting_on, None);
        }
        other => panic!("expected a stall, got {other:?}"),
    }
    assert!(sys.stats().stalls >= 1);
    sys.shutdown(T).await;
    // Reported once per handler invocation, not once per watchdog tick.
    assert_eq!(sys.stats().stalls, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_inside_an_ask_says_what_it_waits_on() {
    let sys = System::with_config("waiting", stall_config(50)).unwrap();
    let mut events = sys.events();
    let h = hops(&sys, 2);
    struct Asker(ActorRef<Relay>);
    impl Actor for Asker {
        type Msg = ();
        async fn handle(&mut self, _: (), _: &mut Context<Self>) -> Result<(), HandlerError> {
            let slow = Duration::from_millis(400);
            self.0
                .ask(|r| Relay::Slow(slow, r), Duration::from_secs(5))
                .await?;
            Ok(())
        }
    }
    let target = h[1].clone();
    let asker = sys
        .spawn("asker", Props::new(move || Asker(target.clone())))
        .unwrap();
    asker.tell(()).await.unwrap();
    let mut seen_asker = false;
    while !seen_asker {
        match tokio::time::timeout(T, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            RuntimeEvent::Stall(s) if &s.address == asker.address() => {
                assert_eq!(s.waiting_on.as_ref(), Some(h[1].address()));
                seen_asker = true;
            }
            RuntimeEvent::Stall(s) => assert_eq!(&s.address, h[1].address()),
            other => panic!("unexpected {other:?}"),
        }
    }
    sys.shutdown(T).await;
}

#[tokio::test]
async fn the_stall_watchdog_can_be_turned_off() {
    let config = SystemConfig {
        stall_threshold: None,
        ..SystemConfig::default()
    };
    let sys = System::with_config("nostall", config).unwrap();
    let h = hops(&sys, 1);
    h[0].ask(|r| Relay::Slow(Duration::from_millis(50), r), T)
        .await
        .unwrap();
    assert_eq!(sys.stats().stalls, 0);
    sys.shutdown(T).await;
}
