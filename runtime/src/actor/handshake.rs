//! The termination handshake between an actor that finishes and the tasks waiting for it.
//!
//! Waking waiters costs a lock inside tokio's `Notify`, and most actors are never
//! waited for. So a waiter first *announces* itself, and the finishing actor notifies
//! only if someone announced. Both sides use sequentially consistent operations on two
//! flags (a Dekker-style handshake): either the finisher sees the announcement and
//! notifies, or the waiter sees the actor already finished. The waiter creates its
//! `Notified` before looking, so a notification between its look and its wait is not
//! missed (tokio's guarantee for `notify_waiters`). Model-checked with loom below.

use super::sync::{AtomicBool, Ordering, fence};

/// Two flags: finished, and someone waits.
#[derive(Debug)]
pub(crate) struct Handshake {
    done: AtomicBool,
    awaited: AtomicBool,
}

impl Handshake {
    pub(crate) fn new() -> Self {
        Self {
            done: AtomicBool::new(false),
            awaited: AtomicBool::new(false),
        }
    }

    /// Whether the actor has finished.
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// A waiter announces itself (before creating its `Notified`).
    pub(crate) fn announce(&self) {
        self.awaited.store(true, Ordering::SeqCst);
        // The fences make the store-then-load order explicit on both sides (loom,
        // which treats SeqCst accesses as AcqRel, checks the protocol with them).
        fence(Ordering::SeqCst);
    }

    /// The actor finishes; returns whether waiters must be notified.
    pub(crate) fn finish(&self) -> bool {
        self.done.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.awaited.load(Ordering::SeqCst)
    }
}

#[cfg(all(test, gauntlet_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// A waiter that found the actor running is always notified.
    #[test]
    fn loom_no_waiter_is_forgotten() {
        crate::actor::mailbox::loom_tests::model(|| {
            let h = Arc::new(Handshake::new());
            let waiter = {
                let h = h.clone();
                thread::spawn(move || {
                    h.announce();
                    // true: it will sleep until notified.
                    !h.is_done()
                })
            };
            let notified = h.finish();
            let sleeps = waiter.join().unwrap();
            assert!(
                !sleeps || notified,
                "a waiter sleeps and nobody notifies it"
            );
        });
    }
}
