//! Statistics: striped counters on the message path, snapshots off it.
//!
//! Message counters are *striped*: each thread adds to its own cache-line-sized stripe,
//! so senders on different cores never contend on one counter, and a snapshot sums the
//! stripes. Counters are never reset or folded, so a snapshot taken at a quiescent point
//! (no send, handler or stop in progress) balances exactly:
//!
//! `sent = delivered + dropped_newest + dropped_oldest + rejected + dead_lettered + queued`
//!
//! where `queued` is read from the live mailboxes themselves, not derived. Each side of
//! the equation is counted independently, so [`MessageCounts::lost`] is a real check.
//!
//! **Owned stripes.** A thread that counts first takes one of [`OWNED`] process-wide
//! owner numbers, the lowest free one, and gives it back when it exits. The stripe with
//! that number, in every system, then has one writer, which counts with a plain load and
//! store instead of a locked read-modify-write: an ask bumps four counters, and those
//! four `lock xadd`s were about 20 ns of a 330 ns ask round trip (see the README's
//! performance section). A thread that finds every number taken counts on the shared
//! stripes with `fetch_add`, as all threads used to. The hand-over of a number from an
//! exiting thread to the next is a release/acquire pair on the owner bitmap, so the next
//! owner's load sees the last owner's store (see [`owners`](super::owners),
//! model-checked under loom).

use std::cell::Cell as StdCell;
use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

use super::owners::Owners;

/// Owner numbers, and so owned stripes per system.
pub(crate) const OWNED: usize = 64;

/// One stripe of message counters, written by one thread (an owned stripe) or by a few.
#[derive(Default)]
pub(crate) struct Stripe {
    pub(crate) sent: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) dropped_newest: AtomicU64,
    pub(crate) dropped_oldest: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) asks_started: AtomicU64,
    pub(crate) asks_finished: AtomicU64,
    pub(crate) asks_timed_out: AtomicU64,
    pub(crate) drained: AtomicU64,
    pub(crate) discarded: AtomicU64,
    pub(crate) stalls: AtomicU64,
    pub(crate) deadlocks: AtomicU64,
}

/// Counts with a plain load and store: only for a counter that this thread alone
/// writes (an owned stripe's), which a reader may load at any time.
#[inline]
fn add_owned(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Claimed once per thread, so the lazy initialisation's check is off the hot path.
static OWNERS: LazyLock<Owners> = LazyLock::new(|| Owners::new(OWNED as u32));

/// Threads without an owner number spread over the shared stripes by this.
static NEXT_SHARED: AtomicUsize = AtomicUsize::new(0);

/// Where this thread counts.
#[derive(Clone, Copy)]
enum Slot {
    Owned(usize),
    Shared(usize),
}

const UNCLAIMED: usize = usize::MAX;

/// This thread's owner number (below [`OWNED`]) or its shared stripe (`OWNED` + n);
/// gives the number back when the thread exits.
struct ThreadSlot(StdCell<usize>);

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        if self.0.get() < OWNED {
            OWNERS.release(self.0.get());
        }
    }
}

thread_local! {
    static THREAD_SLOT: ThreadSlot = const { ThreadSlot(StdCell::new(UNCLAIMED)) };
}

#[inline]
fn thread_slot() -> Slot {
    THREAD_SLOT
        .try_with(|slot| {
            let mut v = slot.0.get();
            if v == UNCLAIMED {
                v = OWNERS
                    .claim()
                    .unwrap_or_else(|| OWNED + NEXT_SHARED.fetch_add(1, Ordering::Relaxed));
                slot.0.set(v);
            }
            if v < OWNED {
                Slot::Owned(v)
            } else {
                Slot::Shared(v - OWNED)
            }
        })
        // The thread is exiting and its number is back (another thread-local's
        // destructor counting, such as a runtime dropping its tasks).
        .unwrap_or(Slot::Shared(0))
}

/// This thread's stripe of one system's counters.
pub(crate) struct Local<'a> {
    stripe: &'a Stripe,
    owned: bool,
}

impl std::ops::Deref for Local<'_> {
    type Target = Stripe;
    fn deref(&self) -> &Stripe {
        self.stripe
    }
}

impl Local<'_> {
    /// Adds one to `c`, a counter of this stripe.
    #[inline]
    pub(crate) fn bump(&self, c: &AtomicU64) {
        self.add(c, 1);
    }

    /// Adds `n` to `c`, a counter of this stripe.
    #[inline]
    pub(crate) fn add(&self, c: &AtomicU64, n: u64) {
        debug_assert!(
            {
                let at = c as *const AtomicU64 as usize;
                let start = self.stripe as *const Stripe as usize;
                (start..start + size_of::<Stripe>()).contains(&at)
            },
            "a counter of another stripe"
        );
        if self.owned {
            add_owned(c, n);
        } else if n != 0 {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// System-wide striped message counters.
pub(crate) struct Counters {
    /// One per owner number, written only by the thread holding it.
    owned: Box<[CachePadded<Stripe>]>,
    shared: Box<[CachePadded<Stripe>]>,
    mask: usize,
}

impl Counters {
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        let n = (cores * 2).next_power_of_two().clamp(2, 64);
        let stripes = |n| {
            (0..n)
                .map(|_| CachePadded::new(Stripe::default()))
                .collect()
        };
        Self {
            owned: stripes(OWNED),
            shared: stripes(n),
            mask: n - 1,
        }
    }

    /// This thread's stripe.
    #[inline]
    pub(crate) fn local(&self) -> Local<'_> {
        match thread_slot() {
            Slot::Owned(i) => Local {
                stripe: &self.owned[i],
                owned: true,
            },
            Slot::Shared(i) => Local {
                stripe: &self.shared[i & self.mask],
                owned: false,
            },
        }
    }

    /// Adds one to the counter `field` picks from this thread's stripe.
    #[inline]
    pub(crate) fn bump(&self, field: impl FnOnce(&Stripe) -> &AtomicU64) {
        let local = self.local();
        local.bump(field(&local));
    }

    fn sum(&self, f: impl Fn(&Stripe) -> &AtomicU64) -> u64 {
        self.owned
            .iter()
            .chain(self.shared.iter())
            .map(|s| f(s).load(Ordering::Relaxed))
            .sum()
    }

    pub(crate) fn messages(&self, queued: u64) -> MessageCounts {
        MessageCounts {
            sent: self.sum(|s| &s.sent),
            delivered: self.sum(|s| &s.delivered),
            dropped_newest: self.sum(|s| &s.dropped_newest),
            dropped_oldest: self.sum(|s| &s.dropped_oldest),
            rejected: self.sum(|s| &s.rejected),
            dead_lettered: self.sum(|s| &s.dead_lettered),
            queued,
        }
    }

    pub(crate) fn asks(&self) -> AskCounts {
        let started = self.sum(|s| &s.asks_started);
        let finished = self.sum(|s| &s.asks_finished);
        AskCounts {
            started,
            in_flight: started.saturating_sub(finished),
            timed_out: self.sum(|s| &s.asks_timed_out),
        }
    }

    pub(crate) fn stalls(&self) -> u64 {
        self.sum(|s| &s.stalls)
    }

    pub(crate) fn deadlocks(&self) -> u64 {
        self.sum(|s| &s.deadlocks)
    }

    pub(crate) fn drained(&self) -> u64 {
        self.sum(|s| &s.drained)
    }

    pub(crate) fn discarded(&self) -> u64 {
        self.sum(|s| &s.discarded)
    }
}

/// A kind's counters, borrowed from the system that holds them for its whole life
/// (kinds are never removed). An actor's core holds its system, so it needs no count of
/// its own on them: an `Arc` cost every spawn and every end a locked read-modify-write.
#[derive(Clone, Copy)]
pub(crate) struct KindRef(std::ptr::NonNull<KindStats>);

impl KindRef {
    /// # Safety
    /// `kind` must outlive every dereference of the result and of its copies.
    pub(crate) unsafe fn new(kind: &KindStats) -> Self {
        Self(std::ptr::NonNull::from(kind))
    }
}

impl std::ops::Deref for KindRef {
    type Target = KindStats;

    #[inline]
    fn deref(&self) -> &KindStats {
        // SAFETY: `new`'s contract: the stats outlive this use.
        unsafe { self.0.as_ref() }
    }
}

// SAFETY: a shared reference to `KindStats` (atomics and a `&'static str`), which is
// `Sync`; `new`'s contract keeps it valid on whichever thread uses it.
unsafe impl Send for KindRef {}
// SAFETY: as above.
unsafe impl Sync for KindRef {}

/// Lifecycle counters of one actor kind.
#[derive(Debug, Default)]
pub(crate) struct KindStats {
    pub(crate) name: &'static str,
    pub(crate) spawned: AtomicU64,
    pub(crate) stopped: AtomicU64,
    pub(crate) restarted: AtomicU64,
    pub(crate) activations: AtomicU64,
    pub(crate) passivations: AtomicU64,
    pub(crate) hibernations: AtomicU64,
    pub(crate) wakeups: AtomicU64,
}

impl KindStats {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }

    pub(crate) fn snapshot(&self) -> ActorCounts {
        let spawned = self.spawned.load(Ordering::Relaxed);
        let stopped = self.stopped.load(Ordering::Relaxed);
        ActorCounts {
            alive: spawned.saturating_sub(stopped),
            spawned,
            stopped,
            restarted: self.restarted.load(Ordering::Relaxed),
            activations: self.activations.load(Ordering::Relaxed),
            passivations: self.passivations.load(Ordering::Relaxed),
            hibernations: self.hibernations.load(Ordering::Relaxed),
            wakeups: self.wakeups.load(Ordering::Relaxed),
        }
    }
}

/// Actor lifecycle counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActorCounts {
    /// Spawned and not yet terminated.
    pub alive: u64,
    /// Spawned since the system started.
    pub spawned: u64,
    /// Terminated (stopped, killed or failed) since the system started.
    pub stopped: u64,
    /// Restarts by supervision (the actor's state re-created from its factory).
    pub restarted: u64,
    /// Entities activated on demand (see [`Entities`](super::Entities)).
    pub activations: u64,
    /// Entities stopped for being idle.
    pub passivations: u64,
    /// Times an idle actor hibernated: gave up its task, keeping its state (see
    /// [`Props::hibernate_after`](super::Props::hibernate_after)).
    pub hibernations: u64,
    /// Times a hibernating actor was woken by a message or signal. Hibernating right
    /// now: `hibernations - wakeups` ([`hibernating`](Self::hibernating)).
    pub wakeups: u64,
}

impl ActorCounts {
    /// Actors hibernating right now (from two counters read one after the other, so
    /// off by the few that hibernate or wake meanwhile).
    pub fn hibernating(&self) -> u64 {
        self.hibernations.saturating_sub(self.wakeups)
    }
}

impl std::ops::AddAssign for ActorCounts {
    fn add_assign(&mut self, o: Self) {
        self.alive += o.alive;
        self.spawned += o.spawned;
        self.stopped += o.stopped;
        self.restarted += o.restarted;
        self.activations += o.activations;
        self.passivations += o.passivations;
        self.hibernations += o.hibernations;
        self.wakeups += o.wakeups;
    }
}

/// Message accounting. See the [module docs](self) for the equation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// Every message offered by `tell`, `try_tell`, `ask` or a timer, whatever became of it.
    pub sent: u64,
    /// Taken from a mailbox by its actor (including ones drained at stop).
    pub delivered: u64,
    /// Dropped on arrival by a full `DropNewest` mailbox.
    pub dropped_newest: u64,
    /// Evicted from a full `DropOldest` mailbox to make room.
    pub dropped_oldest: u64,
    /// Refused with an error (`Fail` policy, `try_tell` on a full `Block` mailbox, a `Block`
    /// send that timed out).
    pub rejected: u64,
    /// Sent to a stopped or unknown actor, or discarded from a mailbox at stop.
    pub dead_lettered: u64,
    /// In mailboxes right now.
    pub queued: u64,
}

impl MessageCounts {
    /// Dropped by policy, both kinds.
    pub fn dropped(&self) -> u64 {
        self.dropped_newest + self.dropped_oldest
    }

    /// Messages that are neither delivered, dropped, rejected, dead-lettered nor queued.
    /// Zero at any quiescent point; non-zero means a bug. Negative means counted twice.
    pub fn lost(&self) -> i64 {
        let accounted =
            self.delivered + self.dropped() + self.rejected + self.dead_lettered + self.queued;
        self.sent as i64 - accounted as i64
    }
}

/// Ask counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AskCounts {
    /// Asks issued since the system started.
    pub started: u64,
    /// Asks waiting for their reply right now.
    pub in_flight: u64,
    /// Asks that ran out of time.
    pub timed_out: u64,
}

/// Mailbox depth across live actors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailboxDepth {
    /// Messages queued in all live mailboxes.
    pub total: u64,
    /// The deepest live mailbox right now.
    pub deepest: u64,
    /// The deepest any mailbox has been since the system started.
    pub peak: u64,
}

/// A snapshot of the system's counters, from [`System::stats`](super::System::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemStats {
    /// All actors.
    pub actors: ActorCounts,
    /// Actors by kind ([`Actor::kind`](super::Actor::kind)).
    pub by_kind: BTreeMap<String, ActorCounts>,
    /// Message accounting.
    pub messages: MessageCounts,
    /// Mailbox depth.
    pub mailboxes: MailboxDepth,
    /// Asks.
    pub asks: AskCounts,
    /// Handlers reported as stalled (busy past the stall threshold) since the start.
    pub stalls: u64,
    /// Asks refused because they would have closed a cycle, since the start.
    pub deadlocks: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_is_computed_from_independent_counts() {
        let mut m = MessageCounts {
            sent: 10,
            delivered: 5,
            dropped_newest: 1,
            dropped_oldest: 1,
            rejected: 1,
            dead_lettered: 1,
            queued: 1,
        };
        assert_eq!(m.lost(), 0);
        m.queued = 0;
        assert_eq!(m.lost(), 1);
        m.delivered = 7;
        assert_eq!(m.lost(), -1);
    }

    #[test]
    fn stripes_sum_across_threads() {
        let c = std::sync::Arc::new(Counters::new());
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.bump(|s| &s.sent);
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(c.messages(0).sent, 4000);
    }

    /// Waves of more threads than there are owner numbers, each wave started as the
    /// last one exits: numbers change hands between waves, the threads left without
    /// one count on the shared stripes, and every count is kept.
    #[test]
    fn counts_survive_owner_numbers_changing_hands() {
        let c = std::sync::Arc::new(Counters::new());
        let threads = OWNED + 16;
        for _wave in 0..3 {
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    let c = c.clone();
                    std::thread::spawn(move || {
                        for _ in 0..2000 {
                            let local = c.local();
                            local.bump(&local.delivered);
                        }
                        c.bump(|s| &s.sent);
                    })
                })
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
        }
        let m = c.messages(0);
        assert_eq!(m.delivered, 3 * threads as u64 * 2000);
        assert_eq!(m.sent, 3 * threads as u64);
    }
}
