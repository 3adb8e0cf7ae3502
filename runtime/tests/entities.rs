//! Entities: activation on demand, passivation when idle, nothing lost in between.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{T, eventually};
use gauntlet_runtime::actor::{
    Actor, Context, EntityProps, HandlerError, ReplyTo, StopReason, System,
};
use rand::{RngExt, SeedableRng};

/// Persisted state by key: what a passivated counter leaves behind.
type Store = Arc<Mutex<HashMap<String, u64>>>;

enum CounterMsg {
    Add(u64),
    Get(ReplyTo<u64>),
}

struct Counter {
    key: String,
    n: u64,
    store: Store,
    log: Arc<Mutex<Vec<String>>>,
}

impl Actor for Counter {
    type Msg = CounterMsg;

    async fn handle(&mut self, msg: CounterMsg, _: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            CounterMsg::Add(k) => self.n += k,
            CounterMsg::Get(r) => r.send(self.n),
        }
        Ok(())
    }

    async fn stopping(
        &mut self,
        _: &mut Context<Self>,
        reason: &StopReason,
    ) -> Result<(), HandlerError> {
        self.store.lock().unwrap().insert(self.key.clone(), self.n);
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{reason}", self.key));
        Ok(())
    }
}

fn counters(idle: Duration) -> (EntityProps<Counter, String>, Store, Arc<Mutex<Vec<String>>>) {
    let store: Store = Default::default();
    let log: Arc<Mutex<Vec<String>>> = Default::default();
    let (s, l) = (store.clone(), log.clone());
    let props = EntityProps::new(move |key: &String| Counter {
        key: key.clone(),
        n: s.lock().unwrap().get(key).copied().unwrap_or(0),
        store: s.clone(),
        log: l.clone(),
    })
    .idle_timeout(idle);
    (props, store, log)
}

#[tokio::test]
async fn an_entity_is_activated_by_its_first_message() {
    let sys = System::new("home").unwrap();
    let (props, _, _) = counters(Duration::from_secs(60));
    let counters = sys.entities("counter", props).unwrap();
    let lamp = counters.get("lamp-1".to_string()).unwrap();
    assert!(!lamp.is_active());
    assert_eq!(lamp.address().as_str(), "actor://home/counter/lamp-1");
    lamp.tell(CounterMsg::Add(3)).await.unwrap();
    assert_eq!(lamp.ask(CounterMsg::Get, T).await.unwrap(), 3);
    assert!(lamp.is_active());
    let stats = sys.stats();
    assert_eq!(stats.by_kind["Counter"].activations, 1);
    assert_eq!(stats.by_kind["Counter"].alive, 1);
    assert_eq!(counters.active(), 1);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn an_idle_entity_is_passivated_and_comes_back_with_its_state() {
    let sys = System::new("passivate").unwrap();
    let (props, store, log) = counters(Duration::from_millis(30));
    let counters = sys.entities("counter", props).unwrap();
    let e = counters.get("e1".to_string()).unwrap();
    e.tell(CounterMsg::Add(5)).await.unwrap();
    assert!(eventually(|| !e.is_active()).await, "not passivated");
    assert_eq!(
        store.lock().unwrap()["e1"],
        5,
        "stopping hook persisted the state"
    );
    assert_eq!(log.lock().unwrap().as_slice(), ["e1:passivated"]);
    assert!(
        sys.lookup::<CounterMsg>(&e.address()).is_none(),
        "left the registry"
    );
    // The next message re-activates it, from the persisted state.
    e.tell(CounterMsg::Add(1)).await.unwrap();
    assert_eq!(e.ask(CounterMsg::Get, T).await.unwrap(), 6);
    let k = sys.stats().by_kind["Counter"];
    assert_eq!((k.activations, k.passivations), (2, 1));
    sys.shutdown(T).await;
}

#[tokio::test]
async fn registered_keys_cost_no_actor_until_used() {
    let sys = System::new("reg").unwrap();
    let (props, _, _) = counters(Duration::from_secs(60));
    let counters = sys.entities("counter", props).unwrap();
    for i in 0..1_000 {
        counters.register(format!("k{i}")).unwrap();
    }
    assert_eq!(counters.registered(), 1_000);
    assert_eq!(counters.active(), 0);
    assert_eq!(sys.stats().actors.alive, 1, "only the region");
    counters
        .get("k7".into())
        .unwrap()
        .tell(CounterMsg::Add(1))
        .await
        .unwrap();
    assert_eq!(counters.active(), 1);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn keys_that_are_not_valid_names_are_refused() {
    let sys = System::new("keys").unwrap();
    let (props, _, _) = counters(Duration::from_secs(60));
    let counters = sys.entities("counter", props).unwrap();
    let err = counters.get("a/b".to_string()).err().unwrap();
    assert!(err.to_string().contains('/'), "{err}");
    assert!(counters.register("has space".to_string()).is_err());
    sys.shutdown(T).await;
}

/// Messages keep arriving while the entity passivates again and again (a 1 ms idle
/// timeout and seeded pauses around it): every one is counted exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_passivating_are_not_lost() {
    let sys = System::new("race").unwrap();
    let (props, _, _) = counters(Duration::from_millis(1));
    let counters = sys.entities("counter", props).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys: Vec<_> = (0..4)
        .map(|i| counters.get(format!("c{i}")).unwrap())
        .collect();
    let mut sent = [0u64; 4];
    for _ in 0..400 {
        let i = rng.random_range(0..4);
        keys[i].tell(CounterMsg::Add(1)).await.unwrap();
        sent[i] += 1;
        if rng.random_bool(0.1) {
            tokio::time::sleep(Duration::from_millis(rng.random_range(1..15))).await;
        }
    }
    for (k, n) in keys.iter().zip(sent) {
        assert_eq!(k.ask(CounterMsg::Get, T).await.unwrap(), n, "{}", k.key());
    }
    let stats = sys.stats();
    assert!(
        stats.by_kind["Counter"].passivations > 0,
        "no passivation happened"
    );
    assert_eq!(stats.messages.lost(), 0, "{:?}", stats.messages);
    assert_eq!(
        stats.messages.dead_lettered, 0,
        "a passivation race must not dead-letter"
    );
    sys.shutdown(T).await;
}

/// Several senders race passivation and re-activation of the same keys from both
/// workers: the next incarnation can be spawned while the previous one is still
/// leaving the registry. Every tell must still be delivered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_racing_passivation_lose_nothing() {
    let sys = System::new("race2").unwrap();
    let (props, _, _) = counters(Duration::from_millis(1));
    let counters = sys.entities("counter", props).unwrap();
    let senders: Vec<_> = (0..4u64)
        .map(|s| {
            let keys: Vec<_> = (0..8)
                .map(|i| counters.get(format!("c{i}")).unwrap())
                .collect();
            tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(s);
                let mut sent = [0u64; 8];
                for _ in 0..1500 {
                    let i = rng.random_range(0..8);
                    keys[i]
                        .tell(CounterMsg::Add(1))
                        .await
                        .map_err(|e| format!("tell to {} refused: {e}", keys[i].key()))?;
                    sent[i] += 1;
                    if rng.random_bool(0.05) {
                        tokio::time::sleep(Duration::from_millis(rng.random_range(1..4))).await;
                    } else if rng.random_bool(0.2) {
                        tokio::task::yield_now().await;
                    }
                }
                Ok::<_, String>(sent)
            })
        })
        .collect();
    let mut sent = [0u64; 8];
    for s in senders {
        for (total, n) in sent.iter_mut().zip(s.await.unwrap().unwrap()) {
            *total += n;
        }
    }
    for (i, n) in sent.iter().enumerate() {
        let k = counters.get(format!("c{i}")).unwrap();
        assert_eq!(k.ask(CounterMsg::Get, T).await.unwrap(), *n, "{}", k.key());
    }
    let stats = sys.stats();
    assert!(
        stats.by_kind["Counter"].passivations > 0,
        "no passivation happened"
    );
    assert_eq!(stats.messages.lost(), 0, "{:?}", stats.messages);
    assert_eq!(stats.messages.dead_lettered, 0, "{:?}", stats.messages);
    sys.shutdown(T).await;
}

#[tokio::test]
async fn shutdown_stops_active_entities_through_their_hooks() {
    let sys = System::new("bye").unwrap();
    let (props, store, _) = counters(Duration::from_secs(60));
    let counters = sys.entities("counter", props).unwrap();
    counters
        .get("x".into())
        .unwrap()
        .tell(CounterMsg::Add(9))
        .await
        .unwrap();
    let report = sys.shutdown(T).await;
    assert!(report.graceful);
    assert_eq!(store.lock().unwrap()["x"], 9);
}

/// An entity's factory runs in the entity's own task, not under the region's table
/// lock held while routing a message: a factory that looks at its own region (here,
/// how many keys it has) does not deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_factory_may_look_at_its_own_region() {
    let sys = System::new("own").unwrap();
    type Region = gauntlet_runtime::actor::Entities<Counter, String>;
    let region: Arc<std::sync::OnceLock<Region>> = Default::default();
    let (r, store, log) = (region.clone(), Store::default(), Arc::default());
    let props = EntityProps::new(move |key: &String| {
        let seen = r.get().map_or(0, |r| r.registered() as u64);
        Counter {
            key: key.clone(),
            n: seen,
            store: store.clone(),
            log: Arc::clone(&log),
        }
    });
    let entities = sys.entities("counter", props).unwrap();
    assert!(region.set(entities.clone()).is_ok());
    let e = entities.get("e1".to_string()).unwrap();
    let n = tokio::time::timeout(T, e.ask(CounterMsg::Get, T))
        .await
        .expect("the factory deadlocked")
        .unwrap();
    assert_eq!(n, 1, "the factory saw its own key registered");
    sys.shutdown(T).await;
}
