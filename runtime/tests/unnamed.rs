//! Unnamed actors (`System::spawn_unnamed`): numbered addresses, found like any other,
//! and never clashing with a named actor that took such an address first.

mod common;

use std::time::Duration;

use common::{Log, Msg, Recorder};
use gauntlet_runtime::actor::System;

#[tokio::test]
async fn unnamed_actors_get_distinct_numbered_addresses_and_work_like_named_ones() {
    let sys = System::new("s").unwrap();
    let a = sys
        .spawn_unnamed(Recorder::props("a", &Log::default()))
        .unwrap();
    let b = sys
        .spawn_unnamed(Recorder::props("b", &Log::default()))
        .unwrap();
    assert_ne!(a.address(), b.address());
    for r in [&a, &b] {
        let name = r.address().name().unwrap();
        assert!(
            name.starts_with('~') && name[1..].parse::<u64>().is_ok(),
            "{name}"
        );
        assert_eq!(sys.lookup::<Msg>(r.address()).as_ref(), Some(r));
    }
    a.tell(Msg::Work(7)).await.unwrap();
    assert_eq!(
        a.ask(Msg::Get, Duration::from_secs(5)).await.unwrap(),
        vec![7]
    );
    a.stop();
    a.wait_terminated().await;
    assert!(sys.lookup::<Msg>(a.address()).is_none());
    assert!(sys.shutdown(Duration::from_secs(5)).await.graceful);
}

#[tokio::test]
async fn an_unnamed_spawn_skips_a_number_a_named_actor_holds() {
    let sys = System::new("s").unwrap();
    let first = sys
        .spawn_unnamed(Recorder::props("a", &Log::default()))
        .unwrap();
    let n: u64 = first.address().name().unwrap()[1..].parse().unwrap();
    // Three named spawns take ids n+1..=n+3 and the names of ids n+4..=n+6, which the
    // next unnamed actor would get: it must go around them, to n+7.
    let squatters: Vec<_> = (4..=6)
        .map(|k| {
            sys.spawn(
                &format!("~{}", n + k),
                Recorder::props("q", &Log::default()),
            )
            .unwrap()
        })
        .collect();
    let next = sys
        .spawn_unnamed(Recorder::props("b", &Log::default()))
        .unwrap();
    assert!(!squatters.iter().any(|q| q.address() == next.address()));
    assert_eq!(next.address().name(), Some(format!("~{}", n + 7).as_str()));
    assert_eq!(sys.addresses().len(), 5);
    assert!(sys.shutdown(Duration::from_secs(5)).await.graceful);
}
