//! The address registry: which live named actor holds each address (unnamed actors,
//! `~<id>`, are found through their parents instead; see `SystemShared::node_at`).
//!
//! Two rules make it safe against the races of spawning and stopping: an address is
//! *claimed* only if it is free (a duplicate name is an error, never an overwrite), and
//! an actor *releases* its address only if the entry is still its own (by actor id), so
//! a late finalizer of an old actor can never remove a newer actor that took the name.
//! The map is DashMap (Fx-hashed); under loom a mutex-guarded map stands in so the
//! claim/release protocol is model-checked (see the tests).

use std::sync::Arc;

#[cfg(not(gauntlet_loom))]
type Map<V> = dashmap::DashMap<Arc<str>, V, rustc_hash::FxBuildHasher>;

#[cfg(gauntlet_loom)]
struct Map<V>(loom::sync::Mutex<std::collections::HashMap<Arc<str>, V>>);

/// Address -> live actor.
pub(crate) struct Registry<V> {
    map: Map<V>,
}

impl<V: Clone> Registry<V> {
    pub(crate) fn new() -> Self {
        #[cfg(not(gauntlet_loom))]
        let map = Map::default();
        #[cfg(gauntlet_loom)]
        let map = Map(loom::sync::Mutex::new(Default::default()));
        Self { map }
    }

    /// Claims `key` for `value`; fails if a live actor holds it.
    pub(crate) fn claim(&self, key: Arc<str>, value: V) -> Result<(), ()> {
        #[cfg(not(gauntlet_loom))]
        {
            use dashmap::mapref::entry::Entry;
            match self.map.entry(key) {
                Entry::Occupied(_) => Err(()),
                Entry::Vacant(v) => {
                    v.insert(value);
                    Ok(())
                }
            }
        }
        #[cfg(gauntlet_loom)]
        {
            let mut m = self.map.0.lock().unwrap();
            if m.contains_key(&key) {
                return Err(());
            }
            m.insert(key, value);
            Ok(())
        }
    }

    /// Releases `key` if it is still held by the actor `id` (`id_of` reads an entry's id).
    pub(crate) fn release(&self, key: &str, id: u64, id_of: impl Fn(&V) -> u64) {
        #[cfg(not(gauntlet_loom))]
        self.map.remove_if(key, |_, v| id_of(v) == id);
        #[cfg(gauntlet_loom)]
        {
            let mut m = self.map.0.lock().unwrap();
            if m.get(key).is_some_and(|v| id_of(v) == id) {
                m.remove(key);
            }
        }
    }

    /// The actor at `key`.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        #[cfg(not(gauntlet_loom))]
        return self.map.get(key).map(|v| v.clone());
        #[cfg(gauntlet_loom)]
        return self.map.0.lock().unwrap().get(key).cloned();
    }
}

#[cfg(all(test, gauntlet_loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    /// An old actor finalizing late never removes the newer actor that took its name,
    /// and the name is never held twice.
    #[test]
    fn loom_a_stale_release_never_removes_a_newer_actor() {
        crate::actor::mailbox::loom_tests::model(|| {
            let reg: loom::sync::Arc<Registry<u64>> = loom::sync::Arc::new(Registry::new());
            let key: Arc<str> = Arc::from("actor://s/a");
            reg.claim(key.clone(), 1).unwrap();
            let old = {
                let reg = reg.clone();
                thread::spawn(move || reg.release("actor://s/a", 1, |v| *v))
            };
            // The new actor tries to take the name (a spawn retried after a Duplicate).
            let mut claimed = false;
            for _ in 0..2 {
                if reg.claim(key.clone(), 2).is_ok() {
                    claimed = true;
                    break;
                }
                thread::yield_now();
            }
            old.join().unwrap();
            // A second, stale release by the old actor changes nothing either.
            reg.release("actor://s/a", 1, |v| *v);
            match reg.get("actor://s/a") {
                Some(2) => assert!(claimed),
                None => assert!(!claimed),
                other => panic!("unexpected holder {other:?}"),
            }
        });
    }
}
