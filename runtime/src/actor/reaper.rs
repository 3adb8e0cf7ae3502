//! The ask reaper: one thread per system that expires overdue asks.
//!
//! An ask needs a one-shot reply slot (see [`reply`](super::reply)) and a timeout. A
//! tokio timer per ask costs a timer-wheel insert and removal under the wheel's lock,
//! which measured as the largest part of an ask round trip (about 650 instructions of
//! ~3,000; see the README's performance section). Here, instead, every reply slot
//! carries its deadline and is *registered* with the system's reaper: one OS thread
//! that wakes every millisecond while asks may be in flight, and expires the overdue
//! ones, waking their askers with a timeout. Timeouts fire between `timeout` and
//! `timeout` + about 1 ms, like tokio's (1 ms resolution).
//!
//! **The inbox.** A registration is one compare-and-swap of the slot's pointer into a
//! free entry of a fixed table (the [`Inbox`]), and an asker whose reply came *withdraws*
//! it with one more compare-and-swap of its own entry back to empty, freeing the slot
//! itself. So an ask answered within the reaper's tick costs the reaper nothing: it
//! never sees the slot, frees nothing on behalf of another thread, and touches none of
//! the asker's cache lines. At each tick the reaper *takes* (swaps out) whatever entries
//! are still registered and watches those until they are answered or expire; an asker
//! whose withdrawal then fails leaves the slot to the reaper. Whoever of the two
//! changes the entry from the slot's pointer to empty owns that registration, and only
//! one can (model-checked by `loom_a_withdrawn_entry_never_reaches_the_reaper`). When
//! the entries an asker probes are all taken, the slot goes to an overflow queue that
//! the reaper drains at each tick instead (no withdrawal there).
//!
//! With nothing to watch for a while ([`LINGER`] ticks) the reaper parks, and an asker
//! must unpark it. That is a Dekker-style handshake, like the termination
//! [`handshake`](super::handshake): the reaper raises its idle flag, fences, and looks
//! at the inbox once more before it parks; the asker registers, fences, and unparks the
//! reaper if the flag is up. Either the reaper's last look finds the new slot, or the
//! asker sees the flag and unparks it (an unpark before the park makes the park return
//! at once). Model-checked by `loom_an_idle_reaper_wakes_for_a_new_ask` below. Lingering
//! keeps a busy system from paying an unpark (a system call) for most asks: with
//! withdrawals the reaper usually finds nothing even while asks are flowing.

use std::marker::PhantomData;

use super::sync::{AtomicBool, AtomicPtr, Ordering, fence};

/// An owning thin pointer the inbox can hold.
pub(crate) trait Owned: Sized {
    fn into_ptr(self) -> *mut ();
    /// # Safety
    /// `ptr` must come from [`into_ptr`](Self::into_ptr), and be turned back once.
    unsafe fn from_ptr(ptr: *mut ()) -> Self;
}

/// Entries an asker tries before it falls back to the overflow queue.
const PROBES: usize = 8;

/// Where a registration sits, to withdraw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    index: usize,
    /// The registered pointer, as an address (so the ask future stays `Send`).
    ptr: usize,
}

/// A fixed table of registrations: askers put and withdraw their own; the reaper takes
/// what is left at each tick. An entry is empty (null) or holds one owned pointer.
pub(crate) struct Inbox<E: Owned> {
    entries: Box<[AtomicPtr<()>]>,
    _owns: PhantomData<E>,
}

impl<E: Owned> Inbox<E> {
    /// An inbox of `entries` (a power of two) entries.
    pub(crate) fn new(entries: usize) -> Self {
        assert!(entries.is_power_of_two());
        Self {
            entries: (0..entries)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
            _owns: PhantomData,
        }
    }

    /// Registers `entry` in a free entry near where its address hashes to; the ticket to
    /// withdraw it, or the entry back when every probed entry is taken.
    pub(crate) fn register(&self, entry: E) -> Result<Ticket, E> {
        let ptr = entry.into_ptr();
        let mask = self.entries.len() - 1;
        // Slots are allocations of one size: their addresses, past the low bits, spread.
        // (Not under loom: a model must not branch on where the allocator put things.)
        #[cfg(not(gauntlet_loom))]
        let start = (ptr as usize >> 6) & mask;
        #[cfg(gauntlet_loom)]
        let start = 0;
        for i in 0..PROBES.min(self.entries.len()) {
            let index = (start + i) & mask;
            let e = &self.entries[index];
            if e.load(Ordering::Relaxed).is_null()
                && e.compare_exchange(
                    std::ptr::null_mut(),
                    ptr,
                    Ordering::Release,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                return Ok(Ticket {
                    index,
                    ptr: ptr as usize,
                });
            }
        }
        // SAFETY: `ptr` came from `into_ptr` just above and was stored nowhere.
        Err(unsafe { E::from_ptr(ptr) })
    }

    /// Takes the registration back, unless the reaper has already taken it (it then owns
    /// it, and this returns `None`).
    pub(crate) fn withdraw(&self, ticket: Ticket) -> Option<E> {
        let ptr = ticket.ptr as *mut ();
        self.entries[ticket.index]
            .compare_exchange(
                ptr,
                std::ptr::null_mut(),
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .ok()
            // SAFETY: the entry held `ptr`, put there by `register` from `into_ptr`, and
            // this compare-and-swap is the one change of it back to empty.
            .map(|p| unsafe { E::from_ptr(p) })
    }

    /// The reaper's side: takes every registered entry. Returns whether it took any.
    pub(crate) fn take_all(&self, mut f: impl FnMut(E)) -> bool {
        let mut any = false;
        for e in self.entries.iter() {
            if e.load(Ordering::Relaxed).is_null() {
                continue;
            }
            let p = e.swap(std::ptr::null_mut(), Ordering::Acquire);
            if !p.is_null() {
                any = true;
                // SAFETY: as in `withdraw`: this swap is the one change of it to empty.
                f(unsafe { E::from_ptr(p) });
            }
        }
        any
    }
}

impl<E: Owned> Drop for Inbox<E> {
    fn drop(&mut self) {
        self.take_all(drop);
    }
}

// SAFETY: the inbox owns the entries it holds (moved in by `register`, out by `withdraw`
// or `take_all`, each exactly once, by a compare-and-swap or swap); they cross threads,
// never get shared, so `E: Send` suffices.
unsafe impl<E: Owned + Send> Send for Inbox<E> {}
// SAFETY: as above.
unsafe impl<E: Owned + Send> Sync for Inbox<E> {}

/// The reaper's side of the sleep handshake, with nothing left to watch: raises `idle`,
/// looks once more (`look` says whether it found anything), and calls `park` if not;
/// lowers `idle` and returns what the look found.
fn idle_wait(idle: &AtomicBool, look: impl FnOnce() -> bool, park: impl FnOnce()) -> bool {
    idle.store(true, Ordering::SeqCst);
    // Pairs with the fence in `must_unpark`: a registration this look misses sees the flag.
    fence(Ordering::SeqCst);
    let found = look();
    if !found {
        park();
    }
    idle.store(false, Ordering::SeqCst);
    found
}

/// The asker's side, right after registering a slot: whether the reaper may be parked
/// and must be unparked.
#[inline]
fn must_unpark(idle: &AtomicBool) -> bool {
    fence(Ordering::SeqCst);
    idle.load(Ordering::SeqCst)
}

#[cfg(not(gauntlet_loom))]
pub(crate) use thread::Reaper;

/// Ticks with nothing to watch before the reaper parks.
#[cfg(not(gauntlet_loom))]
const LINGER: u32 = 100;

#[cfg(not(gauntlet_loom))]
mod thread {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use super::super::queue::Queue;
    use super::super::reply::{self, Registered, Reply, ReplyTo};
    use super::{Inbox, LINGER, Owned, Ticket, idle_wait, must_unpark};

    impl Owned for Registered {
        fn into_ptr(self) -> *mut () {
            Registered::into_ptr(self)
        }
        unsafe fn from_ptr(ptr: *mut ()) -> Self {
            // SAFETY: passed on from the caller.
            unsafe { Registered::from_ptr(ptr) }
        }
    }

    /// Entries in a system's inbox: asks in flight at once before the overflow queue.
    const ENTRIES: usize = 1024;

    /// What the asker and the reaper thread share.
    struct Shared {
        inbox: Inbox<Registered>,
        /// Registrations that found no free entry.
        overflow: Queue<Registered>,
        idle: AtomicBool,
        stop: AtomicBool,
    }

    /// The reaper: expires overdue asks. One per system, started with the first ask.
    pub(crate) struct Reaper {
        shared: Arc<Shared>,
        /// Whether the thread runs (and has not been stopped).
        running: AtomicBool,
        thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    }

    /// How often the reaper looks while asks may be in flight.
    const TICK: Duration = Duration::from_millis(1);

    impl Reaper {
        /// Starts the reaper thread. If the OS refuses a thread, the reaper is not running
        /// and askers fall back to a tokio timer (see [`is_running`](Self::is_running)).
        pub(crate) fn start() -> Self {
            let shared = Arc::new(Shared {
                inbox: Inbox::new(ENTRIES),
                overflow: Queue::new(),
                idle: AtomicBool::new(false),
                stop: AtomicBool::new(false),
            });
            let s = shared.clone();
            let thread = std::thread::Builder::new()
                .name("gauntlet-asks".into())
                .spawn(move || reap(&s));
            if let Err(e) = &thread {
                tracing::warn!(error = %e, "no ask reaper thread: asks time out by tokio timers");
            }
            Self {
                shared,
                running: AtomicBool::new(thread.is_ok()),
                thread: Mutex::new(thread.ok()),
            }
        }

        /// Whether the reaper thread is watching deadlines.
        #[inline]
        pub(crate) fn is_running(&self) -> bool {
            self.running.load(Ordering::Acquire)
        }

        /// A new reply slot due at `timeout` from now, watched by the reaper; with the
        /// ticket to [`withdraw`](Self::withdraw) it once the ask is over (`None`: it
        /// went to the overflow queue, and the reaper drops it).
        pub(crate) fn slot<R: Send + 'static>(
            &self,
            timeout: Duration,
        ) -> (ReplyTo<R>, Reply<R>, Option<Ticket>) {
            let now = Instant::now();
            let deadline = now
                .checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(86_400 * 365));
            let (registered, reply_to, reply) = reply::slot(deadline);
            let ticket = match self.shared.inbox.register(registered) {
                Ok(ticket) => Some(ticket),
                Err(registered) => {
                    self.shared.overflow.push(registered);
                    None
                }
            };
            if must_unpark(&self.shared.idle)
                && let Some(t) = super::super::cell::lock(&self.thread).as_ref()
            {
                t.thread().unpark();
            }
            (reply_to, reply, ticket)
        }

        /// Takes a slot's registration back once its ask is over (answered, failed or
        /// given up), unless the reaper has taken it already.
        #[inline]
        pub(crate) fn withdraw(&self, ticket: Ticket) {
            drop(self.shared.inbox.withdraw(ticket));
        }

        pub(crate) fn stop(&self) {
            self.shared.stop.store(true, Ordering::Release);
            self.running.store(false, Ordering::Release);
            if let Some(t) = super::super::cell::lock(&self.thread).take() {
                t.thread().unpark();
                if t.thread().id() != std::thread::current().id() {
                    let _ = t.join();
                }
            }
        }
    }

    impl Drop for Reaper {
        fn drop(&mut self) {
            self.stop();
        }
    }

    /// Moves every registration still in the inbox or the overflow queue to `watched`.
    /// Returns whether there were any.
    fn collect(shared: &Shared, watched: &mut Vec<Registered>) -> bool {
        let mut any = shared.inbox.take_all(|r| watched.push(r));
        // SAFETY: the reaper thread is the overflow queue's only consumer.
        while let Some(r) = unsafe { shared.overflow.pop() } {
            watched.push(r);
            any = true;
        }
        any
    }

    fn reap(shared: &Shared) {
        let mut watched: Vec<Registered> = Vec::new();
        let mut quiet = 0;
        while !shared.stop.load(Ordering::Acquire) {
            collect(shared, &mut watched);
            let now = Instant::now();
            watched.retain(|s| s.keep(now));
            if !watched.is_empty() {
                quiet = 0;
            } else if quiet < LINGER {
                quiet += 1;
            } else {
                quiet = 0;
                idle_wait(
                    &shared.idle,
                    || collect(shared, &mut watched),
                    std::thread::park,
                );
                continue;
            }
            std::thread::park_timeout(TICK);
        }
        // Stopping: wake every asker still waiting with a timeout rather than leave it.
        collect(shared, &mut watched);
        let far = Instant::now() + Duration::from_secs(86_400 * 365 * 100);
        for s in &watched {
            s.keep(far);
        }
    }

    #[cfg(test)]
    impl Reaper {
        pub(super) fn is_idle(&self) -> bool {
            self.shared.idle.load(Ordering::SeqCst)
        }
    }
}

#[cfg(all(test, not(gauntlet_loom)))]
mod tests {
    use super::super::reply::NoReply;
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_reply_arrives() {
        let reaper = Reaper::start();
        let (tx, rx, _) = reaper.slot::<u32>(Duration::from_secs(5));
        assert!(!tx.is_closed());
        tx.send(7);
        assert_eq!(rx.await, Ok(7));
    }

    #[tokio::test]
    async fn a_dropped_reply_to_is_no_reply() {
        let reaper = Reaper::start();
        let (tx, rx, _) = reaper.slot::<u32>(Duration::from_secs(5));
        drop(tx);
        assert_eq!(rx.await, Err(NoReply::Dropped));
    }

    #[tokio::test]
    async fn an_overdue_ask_expires_and_a_late_reply_is_dropped() {
        let reaper = Reaper::start();
        let (tx, rx, _) = reaper.slot::<String>(Duration::from_millis(5));
        assert_eq!(rx.await, Err(NoReply::Expired));
        assert!(tx.is_closed());
        tx.send("late".into());
    }

    #[tokio::test]
    async fn an_abandoned_ask_closes_its_reply_to() {
        let reaper = Reaper::start();
        let (tx, rx, _) = reaper.slot::<u32>(Duration::from_secs(5));
        drop(rx);
        assert!(tx.is_closed());
    }

    #[tokio::test]
    async fn stopping_the_reaper_expires_waiting_asks() {
        let reaper = Reaper::start();
        let (_tx, rx, _) = reaper.slot::<u32>(Duration::from_secs(3600));
        reaper.stop();
        assert_eq!(rx.await, Err(NoReply::Expired));
    }

    #[tokio::test]
    async fn a_withdrawn_ask_expires_no_more_and_frees_its_slot() {
        let reaper = Reaper::start();
        let (tx, rx, ticket) = reaper.slot::<Arc<u32>>(Duration::from_secs(3600));
        let value = Arc::new(1);
        tx.send(value.clone());
        assert_eq!(rx.await.as_deref(), Ok(&1));
        // The reply future has consumed the value; withdrawing gives the last reference
        // to the slot back to the asker (or leaves it to the reaper, which drops it).
        reaper.withdraw(ticket.expect("a free entry"));
        assert_eq!(Arc::strong_count(&value), 1);
    }

    /// The inbox's ownership rule, single-threaded: a registration is withdrawn or
    /// taken, once.
    #[test]
    fn an_entry_is_withdrawn_or_taken_once() {
        let inbox = Inbox::<Box<u32>>::new(4);
        let t = inbox.register(Box::new(1)).unwrap();
        assert_eq!(inbox.withdraw(t).as_deref(), Some(&1));
        assert!(inbox.withdraw(t).is_none());
        let t = inbox.register(Box::new(2)).unwrap();
        let mut taken = Vec::new();
        assert!(inbox.take_all(|e| taken.push(e)));
        assert_eq!(taken, [Box::new(2)]);
        assert!(inbox.withdraw(t).is_none());
        assert!(!inbox.take_all(|_| unreachable!()));
    }

    /// Every probed entry taken: the entry comes back (to go to the overflow queue).
    #[test]
    fn a_full_inbox_hands_the_entry_back() {
        let inbox = Inbox::<Box<u32>>::new(2);
        let _a = inbox.register(Box::new(1)).unwrap();
        let _b = inbox.register(Box::new(2)).unwrap();
        assert_eq!(inbox.register(Box::new(3)).err(), Some(Box::new(3)));
    }

    #[test]
    fn answered_asks_leave_the_reaper_and_it_goes_idle() {
        let reaper = Reaper::start();
        let mut rxs = Vec::new();
        for i in 0..5000u32 {
            let (tx, rx, _) = reaper.slot::<u32>(Duration::from_secs(3600));
            tx.send(i);
            rxs.push(rx);
        }
        drop(rxs);
        // The reaper drops every answered slot; then, after lingering, it parks, idle.
        let start = std::time::Instant::now();
        while !reaper.is_idle() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(reaper.is_idle());
    }

    impl Owned for Box<u32> {
        fn into_ptr(self) -> *mut () {
            Box::into_raw(self).cast()
        }
        unsafe fn from_ptr(ptr: *mut ()) -> Self {
            // SAFETY: from `into_ptr`, once (the caller's contract).
            unsafe { Box::from_raw(ptr.cast()) }
        }
    }
}

#[cfg(all(test, gauntlet_loom))]
mod loom_tests {
    use super::*;
    use crate::actor::mailbox::loom_tests::model;
    use loom::sync::Arc;
    use loom::thread;

    impl Owned for Arc<u32> {
        fn into_ptr(self) -> *mut () {
            Arc::into_raw(self).cast_mut().cast()
        }
        unsafe fn from_ptr(ptr: *mut ()) -> Self {
            // SAFETY: from `into_ptr`, once (the caller's contract).
            unsafe { Arc::from_raw(ptr.cast::<u32>()) }
        }
    }

    /// An asker registers a slot while the reaper, with nothing to watch, goes to sleep:
    /// the reaper always gets the slot (loom reports a reaper parked forever as a
    /// deadlock). Would catch: either fence missing, or the flag raised after the last
    /// look (the reaper would sleep through a new ask, which then never expires).
    #[test]
    fn loom_an_idle_reaper_wakes_for_a_new_ask() {
        model(|| {
            let inbox = Arc::new(Inbox::<Arc<u32>>::new(1));
            let idle = Arc::new(AtomicBool::new(false));
            let reaper = {
                let (inbox, idle) = (inbox.clone(), idle.clone());
                thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        if inbox.take_all(|e| got.push(e)) {
                            return got;
                        }
                        if idle_wait(&idle, || inbox.take_all(|e| got.push(e)), thread::park) {
                            return got;
                        }
                    }
                })
            };
            assert!(inbox.register(Arc::new(7)).is_ok());
            if must_unpark(&idle) {
                reaper.thread().unpark();
            }
            assert_eq!(*reaper.join().unwrap()[0], 7);
        });
    }

    /// The race between an asker withdrawing its answered ask and the reaper's tick
    /// taking what is registered: exactly one of them ends up owning the registration
    /// (so the slot is released once, by that one), and when the asker's withdrawal
    /// succeeds the reaper never saw the entry. Would catch: a withdrawal that is not
    /// one atomic step (both would own it: a double free, or a slot the reaper reads
    /// after the asker freed it), or a take that leaves the entry in place.
    fn withdrawn_entry_never_reaches_the_reaper(
        withdraw: fn(&Inbox<Arc<u32>>, Ticket) -> Option<Arc<u32>>,
    ) {
        model(move || {
            let inbox = Arc::new(Inbox::<Arc<u32>>::new(2));
            let slot = Arc::new(7);
            let ticket = inbox.register(slot.clone()).expect("a free entry");
            let reaper = {
                let inbox = inbox.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    inbox.take_all(|e| got.push(e));
                    got
                })
            };
            let withdrawn = withdraw(&inbox, ticket);
            let reaped = reaper.join().unwrap();
            let owners = usize::from(withdrawn.is_some()) + reaped.len();
            // Forget rather than drop on failure, so a double owner shows as this
            // assertion and not as a double free.
            if owners != 1 {
                std::mem::forget(withdrawn);
                std::mem::forget(reaped);
                panic!("{owners} owners of one registration");
            }
            drop((withdrawn, reaped));
            assert_eq!(Arc::strong_count(&slot), 1, "the registration leaked");
        });
    }

    #[test]
    fn loom_a_withdrawn_entry_never_reaches_the_reaper() {
        withdrawn_entry_never_reaches_the_reaper(Inbox::withdraw);
    }

    /// The negative control: a withdrawal that reads the entry and then clears it (two
    /// steps, not one compare-and-swap) lets the reaper take the entry in between, and
    /// loom finds it ("2 owners of one registration"). Unlike the mailbox's deadlock
    /// control this one fails by a plain assertion, which unwinds cleanly, so it runs
    /// with the others.
    #[test]
    #[should_panic(expected = "2 owners of one registration")]
    fn loom_a_racy_withdrawal_hands_an_entry_to_both() {
        withdrawn_entry_never_reaches_the_reaper(|inbox, ticket| {
            let e = &inbox.entries[ticket.index];
            if e.load(Ordering::Acquire) as usize != ticket.ptr {
                return None;
            }
            e.store(std::ptr::null_mut(), Ordering::Release);
            // SAFETY: deliberately unsound (the negative control); the model forgets
            // the doubly-owned value instead of dropping it.
            Some(unsafe { Arc::from_ptr(ticket.ptr as *mut ()) })
        });
    }
}
