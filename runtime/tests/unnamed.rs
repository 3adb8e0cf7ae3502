//! Unnamed actors (`System::spawn_unnamed`): numbered addresses, found like any other,
//! and never clashing with a named actor that took such an address first.

mod common;

use std::time::Duration;

use common::{Log, Msg, Recorder};
use gauntlet_runtime::actor::{Address, AddressError, EntityProps, SpawnError, System};

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
async fn names_of_the_unnamed_form_are_reserved() {
    let sys = System::new("s").unwrap();
    let first = sys
        .spawn_unnamed(Recorder::props("a", &Log::default()))
        .unwrap();
    let n: u64 = first.address().name().unwrap()[1..].parse().unwrap();
    // The next unnamed actor's name, and the first one's: neither may be taken by name.
    for name in [format!("~{}", n + 1), format!("~{n}")] {
        match sys.spawn(&name, Recorder::props("q", &Log::default())) {
            Err(SpawnError::Name(AddressError::Reserved(reserved))) => assert_eq!(reserved, name),
            other => panic!(
                "{name}: expected a reserved-name error, got {:?}",
                other.err()
            ),
        }
    }
    // `~` alone, or followed by anything but digits, is an ordinary name.
    for name in ["~", "~x1", "~1x", "a~1"] {
        sys.spawn(name, Recorder::props(name, &Log::default()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let entities = sys
        .entities::<Recorder, String>(
            "e",
            EntityProps::new(|key: &String| Recorder {
                name: key.clone(),
                seen: Vec::new(),
                log: Log::default(),
            }),
        )
        .unwrap();
    assert!(matches!(
        entities.get("~7".to_owned()),
        Err(AddressError::Reserved(_))
    ));
    // The first unnamed actor, four named ones and the entity region.
    assert_eq!(sys.addresses().len(), 6);
    assert!(sys.shutdown(Duration::from_secs(5)).await.graceful);
}

/// Unnamed actors are not in the address registry: lookups find them, and the named
/// children they spawn, through the tree; stats, `addresses` and shutdown see them all.
#[tokio::test]
async fn unnamed_actors_and_their_named_children_are_found_counted_and_stopped() {
    let sys = System::new("s").unwrap();
    let log = Log::default();
    let fleet: Vec<_> = (0..3)
        .map(|i| {
            sys.spawn_unnamed(Recorder::props(&format!("u{i}"), &log))
                .unwrap()
        })
        .collect();
    let named = sys.spawn("named", Recorder::props("named", &log)).unwrap();
    let child = fleet[1]
        .ask(|r| Msg::SpawnChild("kid".into(), r), Duration::from_secs(5))
        .await
        .unwrap();
    let child = Address::parse(&child).unwrap();
    assert_eq!(child.parent().as_ref(), Some(fleet[1].address()));
    let found = sys
        .lookup::<Msg>(&child)
        .expect("a named child of an unnamed actor");
    found.tell(Msg::Work(3)).await.unwrap();
    assert_eq!(
        found.ask(Msg::Get, Duration::from_secs(5)).await.unwrap(),
        vec![3]
    );
    for r in fleet.iter().chain([&named]) {
        assert_eq!(sys.lookup::<Msg>(r.address()).as_ref(), Some(r));
    }
    // Not found: an id no actor has, an unnamed name under the wrong parent, the wrong
    // message type.
    let n: u64 = fleet[0].address().name().unwrap()[1..].parse().unwrap();
    let nobody = sys.address().child("x").unwrap().parent().unwrap();
    assert!(
        sys.lookup::<Msg>(&Address::parse(&format!("{nobody}/~{}", n + 1000)).unwrap())
            .is_none()
    );
    assert!(
        sys.lookup::<Msg>(&Address::parse(&format!("{}/~{n}", named.address())).unwrap())
            .is_none()
    );
    assert!(sys.lookup::<u64>(fleet[0].address()).is_none());

    let mut addresses = sys.addresses();
    addresses.sort();
    let mut expected: Vec<Address> = fleet
        .iter()
        .chain([&named])
        .map(|r| r.address().clone())
        .chain([child.clone()])
        .collect();
    expected.sort();
    assert_eq!(addresses, expected);
    assert_eq!(sys.stats().actors.alive, 5);

    fleet[2].stop();
    fleet[2].wait_terminated().await;
    assert!(sys.lookup::<Msg>(fleet[2].address()).is_none());
    assert_eq!(sys.addresses().len(), 4);

    let report = sys.shutdown(Duration::from_secs(5)).await;
    assert!(report.graceful);
    assert_eq!(report.actors_stopped, 4);
    assert!(sys.lookup::<Msg>(&child).is_none());
    assert!(sys.addresses().is_empty());
    assert_eq!(log.count("kid:stopped"), 1);
}

/// Four tasks on two workers spawn unnamed actors into the guardian at once, and stop
/// every other one of theirs as they go: the guardian's children stay in id (spawn)
/// order, the live ones are all found and the stopped ones are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guardians_children_stay_in_order_under_racing_spawns_and_stops() {
    let sys = System::new("race").unwrap();
    let spawners: Vec<_> = (0..4)
        .map(|_| {
            let sys = sys.clone();
            tokio::spawn(async move {
                let (mut kept, mut stopped) = (Vec::new(), Vec::new());
                for i in 0..500 {
                    let r = sys
                        .spawn_unnamed(Recorder::props("r", &Log::default()))
                        .unwrap();
                    if i % 2 == 0 {
                        kept.push(r);
                    } else {
                        r.stop();
                        stopped.push(r);
                    }
                    if i % 16 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                for r in &stopped {
                    r.wait_terminated().await;
                }
                (kept, stopped)
            })
        })
        .collect();
    let (mut kept, mut stopped) = (Vec::new(), Vec::new());
    for s in spawners {
        let (k, st) = s.await.unwrap();
        kept.extend(k);
        stopped.extend(st);
    }
    let ids: Vec<u64> = sys
        .addresses()
        .iter()
        .map(|a| a.name().unwrap()[1..].parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "children out of spawn order: {ids:?}"
    );
    assert_eq!(ids.len(), kept.len());
    for r in &kept {
        assert_eq!(sys.lookup::<Msg>(r.address()).as_ref(), Some(r));
    }
    for r in &stopped {
        assert!(sys.lookup::<Msg>(r.address()).is_none());
    }
    assert!(sys.shutdown(Duration::from_secs(10)).await.graceful);
}
