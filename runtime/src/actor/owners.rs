//! Owner numbers: small integers that live threads hold exclusively.
//!
//! A thread takes the lowest free number on first use and gives it back when it exits;
//! while it holds number `i`, it is the only writer of whatever is indexed by `i` (the
//! statistics' owned stripes, see [`stats`](super::stats)), so it may update that with
//! plain loads and stores. Correctness rests on the hand-over: the give-back is a
//! release and the claim an acquire on the same bitmap, so the next holder of a number
//! sees everything the last holder wrote with it. Model-checked below, with a negative
//! control that gives the number back without the release and loses a count.

use super::sync::{AtomicU64, Ordering};

/// The owner numbers in use: bit `i` is set while a live thread holds number `i`.
pub(crate) struct Owners {
    taken: AtomicU64,
    slots: u32,
}

impl Owners {
    pub(crate) fn new(slots: u32) -> Self {
        Self {
            taken: AtomicU64::new(0),
            slots,
        }
    }

    /// The lowest free number, now this thread's; `None` when all are taken. Acquire:
    /// the counts of the number's last owner are visible to the new one.
    pub(crate) fn claim(&self) -> Option<usize> {
        let mut taken = self.taken.load(Ordering::Relaxed);
        loop {
            let free = (!taken).trailing_zeros();
            if free >= self.slots {
                return None;
            }
            match self.taken.compare_exchange_weak(
                taken,
                taken | 1 << free,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(free as usize),
                Err(now) => taken = now,
            }
        }
    }

    /// Gives number `i` back, after this thread's last count with it.
    pub(crate) fn release(&self, i: usize) {
        self.release_ordered(i, Ordering::Release);
    }

    pub(crate) fn release_ordered(&self, i: usize, order: Ordering) {
        self.taken.fetch_and(!(1 << i), order);
    }
}

#[cfg(all(test, gauntlet_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// Two threads each count once on an owned stripe when they get the one owner
    /// number, on the shared counter otherwise, and give the number back: whichever way
    /// the number changes hands, no count is lost. Would catch a hand-over without
    /// release/acquire, where the next owner's load can miss the last owner's store
    /// (`an_unordered_hand_over_loses_a_count` shows it).
    fn two_owners_in_turn(release: Ordering) {
        crate::actor::mailbox::loom_tests::model(move || {
            let owners = Arc::new(Owners::new(1));
            let owned = Arc::new(AtomicU64::new(0));
            let shared = Arc::new(AtomicU64::new(0));
            let count = {
                let (owners, owned, shared) = (owners.clone(), owned.clone(), shared.clone());
                move || match owners.claim() {
                    Some(i) => {
                        let n = owned.load(Ordering::Relaxed);
                        owned.store(n + 1, Ordering::Relaxed);
                        owners.release_ordered(i, release);
                    }
                    None => {
                        shared.fetch_add(1, Ordering::Relaxed);
                    }
                }
            };
            let other = thread::spawn(count.clone());
            count();
            other.join().unwrap();
            assert_eq!(
                owned.load(Ordering::Relaxed) + shared.load(Ordering::Relaxed),
                2,
                "a count was lost"
            );
        });
    }

    #[test]
    fn loom_an_owned_stripe_changes_hands_with_every_count() {
        two_owners_in_turn(Ordering::Release);
    }

    /// The negative control: a relaxed give-back loses a count in some interleaving.
    #[test]
    #[should_panic(expected = "a count was lost")]
    fn loom_an_unordered_hand_over_loses_a_count() {
        two_owners_in_turn(Ordering::Relaxed);
    }
}
