//! How a load thread is shared between its loads, its slots and its flusher.
//!
//! A load thread is one current-thread runtime running hundreds of slot tasks. When
//! the generator is saturated (ops are due back to back and the target answers at
//! once) a slot's loop never returns `Pending` by itself, so without these rules one
//! slot keeps the thread: other loads' slots, slots woken by the pacer and the
//! flusher that hands over the tick's histograms all wait until it stops. That was
//! the cause of ticks with completions but no latency figures, of "maximum latency"
//! growing through a saturated run (ops started seconds after the slot claimed them),
//! and of one saturated load starving another.
//!
//! - **[`Gate`]: one hot slot per load per thread.** A slot holds its load's gate on
//!   this thread from claiming an op until the op is in flight (its first `Pending`)
//!   or done. The other slots of that load wait at the gate instead of all being
//!   ready, so in saturation each load has exactly one ready slot per thread and the
//!   thread's round robin serves *loads* equally, not slots (a load with 1024 slots
//!   and one with 8 get the same share). Slots whose ops wait in the target do not
//!   hold the gate, so the in-flight bound still fills up.
//! - **[`Burst`]: a slot gives the thread back every [`BURST`] ops** that completed
//!   without waiting, by waking itself and returning `Pending` once: the other loads'
//!   hot slots, pacer-woken slots and the flusher run in between. One round of a
//!   saturated thread is then at most `loads x BURST` ops (a few microseconds).
//!
//! Both are thread-local (`Cell`, `RefCell`): no atomics, no allocation per op.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Ops a slot runs back to back before it lets the thread's other tasks run. At
/// about 50 ns per op that is a few microseconds; the self-wake costs about one op.
pub const BURST: u32 = 64;

/// One load's gate on one load thread; see the module docs.
///
/// Waiters queue in arrival order, each under a ticket, and a release *hands the gate
/// over* to the first of them: it stays taken and the ticket is granted, so a slot
/// that arrives meanwhile queues behind instead of overtaking. A waiter polled again
/// before its turn (a stale timer of its previous op can wake its task) only renews
/// its waker: it never takes another waiter's turn. An earlier version kept a stack of
/// wakers, pushed one per poll: a spurious poll left a second waker of the same slot,
/// a later release woke that duplicate (a slot no longer waiting), the gate went free
/// with slots still parked and nobody to wake them, and the load's run never ended.
#[derive(Debug, Default)]
pub struct Gate {
    taken: Cell<bool>,
    /// The waiter the gate was handed to and has not picked it up yet.
    granted: Cell<Option<u64>>,
    next_ticket: Cell<u64>,
    queue: RefCell<VecDeque<(u64, Waker)>>,
}

impl Gate {
    /// A gate for a load with `slots` slots on this thread.
    pub fn new(slots: usize) -> Self {
        Self {
            queue: RefCell::new(VecDeque::with_capacity(slots)),
            ..Self::default()
        }
    }

    /// Waits until no other slot of this load holds the gate and every slot that
    /// waited before has had it, then holds it. The returned guard releases it when
    /// dropped (also when the slot is cancelled).
    pub fn enter(&self) -> Enter<'_> {
        Enter {
            gate: self,
            ticket: None,
        }
    }

    /// Hands the gate to the first waiter, or frees it when nobody waits.
    fn release(&self) {
        let next = self.queue.borrow_mut().pop_front();
        match next {
            Some((ticket, waker)) => {
                self.granted.set(Some(ticket));
                waker.wake();
            }
            None => self.taken.set(false),
        }
    }
}

/// Future of [`Gate::enter`].
#[derive(Debug)]
pub struct Enter<'a> {
    gate: &'a Gate,
    /// This waiter's place in the queue, once it had to wait.
    ticket: Option<u64>,
}

impl<'a> Future for Enter<'a> {
    type Output = Hold<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Hold<'a>> {
        let gate = self.gate;
        match self.ticket {
            None if !gate.taken.get() => {
                gate.taken.set(true);
                Poll::Ready(Hold { gate: Some(gate) })
            }
            None => {
                let ticket = gate.next_ticket.get();
                gate.next_ticket.set(ticket.wrapping_add(1));
                gate.queue
                    .borrow_mut()
                    .push_back((ticket, cx.waker().clone()));
                self.ticket = Some(ticket);
                Poll::Pending
            }
            Some(ticket) if gate.granted.get() == Some(ticket) => {
                // Handed over by the holder's release: the gate stayed taken for us.
                gate.granted.set(None);
                self.ticket = None;
                Poll::Ready(Hold { gate: Some(gate) })
            }
            Some(ticket) => {
                // Polled before our turn: keep our place, renew the waker only.
                let mut queue = gate.queue.borrow_mut();
                if let Some((_, waker)) = queue.iter_mut().find(|(t, _)| *t == ticket)
                    && !waker.will_wake(cx.waker())
                {
                    *waker = cx.waker().clone();
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for Enter<'_> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else { return };
        let gate = self.gate;
        if gate.granted.get() == Some(ticket) {
            // Cancelled after the gate was handed to us: pass it on.
            gate.granted.set(None);
            gate.release();
        } else {
            gate.queue.borrow_mut().retain(|(t, _)| *t != ticket);
        }
    }
}

/// The gate, held; see [`Gate::enter`].
#[derive(Debug)]
pub struct Hold<'a> {
    gate: Option<&'a Gate>,
}

impl Hold<'_> {
    /// Releases the gate now (the slot's op went into the target); idempotent.
    #[inline]
    pub fn release(&mut self) {
        if let Some(g) = self.gate.take() {
            g.release();
        }
    }

    /// Whether the gate is still held.
    #[inline]
    pub fn held(&self) -> bool {
        self.gate.is_some()
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Counts a slot's ops that completed without waiting; see the module docs.
#[derive(Debug, Default)]
pub struct Burst {
    ran: u32,
}

impl Burst {
    /// Counts one op that completed at once; every [`BURST`]-th call lets the
    /// thread's other tasks run before it returns.
    #[inline]
    pub async fn ran_at_once(&mut self) {
        self.ran += 1;
        if self.ran >= BURST {
            self.ran = 0;
            YieldOnce(false).await;
        }
    }

    /// The slot waited (for the target or the pacer): the others ran meanwhile.
    #[inline]
    pub fn waited(&mut self) {
        self.ran = 0;
    }
}

/// Returns `Pending` once after waking itself, so the task goes to the back of its
/// thread's run queue. Unlike `tokio::task::yield_now`, which defers the wake until
/// the runtime has polled its driver, this stays within the `LocalSet`'s own queue:
/// cheaper, and the `LocalSet` still hands over to the driver every few dozen polls.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn one_holder_at_a_time_and_a_release_wakes_a_waiter() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let gate = Rc::new(Gate::new(4));
            let order = Rc::new(RefCell::new(Vec::new()));
            let mut first = gate.enter().await;
            assert!(first.held());
            let tasks: Vec<_> = (0..3)
                .map(|i| {
                    let (gate, order) = (gate.clone(), order.clone());
                    tokio::task::spawn_local(async move {
                        let _hold = gate.enter().await;
                        order.borrow_mut().push(i);
                        // Held across a yield: nobody else gets in meanwhile.
                        YieldOnce(false).await;
                        order.borrow_mut().push(i);
                    })
                })
                .collect();
            tokio::task::yield_now().await;
            assert!(order.borrow().is_empty(), "all wait at the held gate");
            first.release();
            first.release();
            for t in tasks {
                t.await.unwrap();
            }
            let order = order.borrow();
            assert_eq!(order.len(), 6);
            for pair in order.chunks(2) {
                assert_eq!(pair[0], pair[1], "holders do not interleave: {order:?}");
            }
            assert!(!gate.taken.get());
        });
    }

    /// A waker that counts its wakes, and a way to poll a future with it.
    struct Counted(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counted {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn waiter() -> (std::sync::Arc<Counted>, Waker) {
        let c = std::sync::Arc::new(Counted(Default::default()));
        (c.clone(), Waker::from(c))
    }

    fn woken(c: &Counted) -> usize {
        c.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn poll_with<F: Future + Unpin>(f: &mut F, w: &Waker) -> Poll<F::Output> {
        Pin::new(f).poll(&mut Context::from_waker(w))
    }

    #[test]
    fn a_spurious_poll_does_not_cost_another_waiter_its_turn() {
        // The hang of runs with two loads: slot A, parked at the gate, is polled again
        // by a stale timer. With a stack of wakers that left A's waker there twice;
        // A's first wake let it in, the release after A's op woke A's duplicate, the
        // gate went free, and C, parked before A, was never woken.
        let gate = Gate::new(4);
        let Poll::Ready(mut h) = poll_with(&mut gate.enter(), &waiter().1) else {
            panic!("a free gate is taken at once");
        };
        let (c_count, c_waker) = waiter();
        let (a_count, a_waker) = waiter();
        let mut c = gate.enter();
        let mut a = gate.enter();
        assert!(poll_with(&mut c, &c_waker).is_pending());
        assert!(poll_with(&mut a, &a_waker).is_pending());
        assert!(
            poll_with(&mut a, &a_waker).is_pending(),
            "the spurious poll"
        );
        h.release();
        // The first to wait is the first to be let in.
        assert_eq!((woken(&c_count), woken(&a_count)), (1, 0));
        let Poll::Ready(mut hc) = poll_with(&mut c, &c_waker) else {
            panic!("C was handed the gate");
        };
        assert!(poll_with(&mut a, &a_waker).is_pending(), "A waits for C");
        hc.release();
        assert_eq!(woken(&a_count), 1, "C's release woke A");
        let Poll::Ready(mut ha) = poll_with(&mut a, &a_waker) else {
            panic!("A was handed the gate");
        };
        ha.release();
        assert!(!gate.taken.get(), "nobody waits: the gate is free");
        assert_eq!((woken(&c_count), woken(&a_count)), (1, 1), "no stray wakes");
    }

    #[test]
    fn a_waiter_cancelled_after_its_grant_passes_the_gate_on() {
        let gate = Gate::new(4);
        let Poll::Ready(mut h) = poll_with(&mut gate.enter(), &waiter().1) else {
            panic!("a free gate is taken at once");
        };
        let (a_count, a_waker) = waiter();
        let (b_count, b_waker) = waiter();
        let mut a = gate.enter();
        let mut b = gate.enter();
        assert!(poll_with(&mut a, &a_waker).is_pending());
        assert!(poll_with(&mut b, &b_waker).is_pending());
        h.release();
        assert_eq!((woken(&a_count), woken(&b_count)), (1, 0));
        // A's slot is cancelled (the run ends) between its wake and its poll.
        drop(a);
        assert_eq!(woken(&b_count), 1, "the grant went on to B");
        let Poll::Ready(hb) = poll_with(&mut b, &b_waker) else {
            panic!("B was handed the gate");
        };
        drop(hb);
        assert!(!gate.taken.get());
        // A waiter cancelled before its turn just leaves the queue.
        let Poll::Ready(h) = poll_with(&mut gate.enter(), &waiter().1) else {
            panic!("free again");
        };
        let mut gone = gate.enter();
        assert!(poll_with(&mut gone, &a_waker).is_pending());
        drop(gone);
        drop(h);
        assert!(
            !gate.taken.get(),
            "the cancelled waiter was not handed the gate"
        );
    }

    #[test]
    fn a_burst_yields_every_burst_ops() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let turns = Rc::new(Cell::new(0_u32));
            let t = turns.clone();
            let busy = tokio::task::spawn_local(async move {
                let before = t.get();
                let mut burst = Burst::default();
                for _ in 0..BURST * 3 {
                    burst.ran_at_once().await;
                }
                t.get() - before
            });
            let t = turns.clone();
            let other = tokio::task::spawn_local(async move {
                loop {
                    t.set(t.get() + 1);
                    YieldOnce(false).await;
                }
            });
            // The two tasks alternate in the thread's queue: the other one ran once
            // per burst, not once per op and not never.
            assert_eq!(busy.await.unwrap(), 3);
            other.abort();
        });
    }
}
