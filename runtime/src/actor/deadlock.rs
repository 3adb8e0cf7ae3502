//! Ask-cycle detection: who waits on whom, and refusing the ask that would close a cycle.
//!
//! While an actor's handler runs, its task marks the thread with the actor's identity
//! (set and restored around every poll of the handler, so a handler suspended on one
//! worker and resumed on another is still known). An [`ask`](super::ActorRef::ask)
//! issued from inside a handler records an edge *asker -> target* in the system's
//! wait-for graph, then follows the target's own outgoing edge, and its target's, and so
//! on. If the walk comes back to the asker, the ask would close a cycle: it fails at once
//! with [`AskError::Deadlock`](super::AskError::Deadlock) carrying the cycle, and its
//! request is never sent. The edge is removed when the ask ends, however it ends.
//!
//! Every edge is inserted before its walk, so when several asks close a cycle
//! concurrently, the one whose edge went in last sees all the others: at least one ask
//! of every cycle is refused, and that unblocks the rest. A walk reads one edge at a
//! time; so that it cannot report a "cycle" stitched from edges that never existed
//! together, a cycle is refused only when a second walk finds exactly the same one (a
//! real cycle cannot change: everyone on it is blocked).
//!
//! **Detected:** cycles of asks between actors of one system, of any length, including
//! an actor asking itself. **Not detected** (they show up as stalls instead, see
//! [`watchdog`](super::watchdog)): waits that are not asks (two handlers each waiting on
//! a channel, lock or future the other will never complete), asks from outside any
//! actor (a plain task or `main`: it has no mailbox that could be part of a cycle),
//! asks between different systems, and a handler that blocks its thread.
//!
//! Cost: an ask from outside any actor reads one thread-local and pays nothing else;
//! an ask between actors inserts and removes one map entry and walks the chain of
//! waiting actors (usually zero or one hop).

use std::cell::Cell as StdCell;
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use dashmap::DashMap;
use rustc_hash::FxHasher;
use std::hash::BuildHasherDefault;

use super::address::Address;
use super::cell::Core;
use super::system::SystemShared;
use super::watchdog::BUSY;

thread_local! {
    static CURRENT: StdCell<*const Core> = const { StdCell::new(ptr::null()) };
}

/// Runs `fut` as `core`'s work: stamps the actor busy for the stall watchdog while it
/// runs, and marks the thread as this actor's around every poll, for ask-cycle detection.
/// (A hand-written future rather than an `async fn`, so the handler's future is stored
/// once, not twice, in every actor's task.)
pub(crate) struct AsActor<'a, F> {
    core: &'a Core,
    fut: F,
}

impl<'a, F> AsActor<'a, F> {
    /// Stamps the actor busy: call right before awaiting.
    pub(crate) fn new(core: &'a Core, fut: F) -> Self {
        core.activity
            .store(BUSY | core.system.clock.now(), Ordering::Relaxed);
        Self { core, fut }
    }
}

impl<F: Future> Future for AsActor<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `fut` is structurally pinned: never moved out, and `AsActor` has no
        // `Drop` or `Unpin` impl of its own.
        let this = unsafe { self.get_unchecked_mut() };
        let core = this.core;
        let out = {
            let _current = CurrentActor::enter(core);
            // SAFETY: `fut` is structurally pinned (see above) and `this` came from a pin.
            unsafe { Pin::new_unchecked(&mut this.fut) }.poll(cx)
        };
        if out.is_ready() {
            let now = core.system.clock.now();
            core.gauges
                .handler_ended(core.activity.load(Ordering::Relaxed), now);
            core.activity.store(now, Ordering::Relaxed);
        }
        out
    }
}

/// Marks the thread as running `core`'s handler until dropped, then restores the mark
/// it found, also when the poll panics (the panic is caught further up, by the actor's
/// supervision, and the thread goes on to run other tasks: it must not keep pointing at
/// this actor).
struct CurrentActor {
    previous: *const Core,
}

impl CurrentActor {
    #[inline]
    fn enter(core: &Core) -> Self {
        Self {
            previous: CURRENT.with(|c| c.replace(core as *const Core)),
        }
    }
}

impl Drop for CurrentActor {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// The actor whose handler is running on this thread, if any.
#[inline]
pub(crate) fn current() -> Option<&'static Core> {
    let p = CURRENT.with(|c| c.get());
    // SAFETY: the pointer is set only while that actor's task is polling its handler,
    // and the task holds the actor's cell for as long as it runs; callers use the
    // reference within that poll (the ask reads what it needs before its first await).
    unsafe { p.as_ref() }
}

/// One edge of the wait-for graph.
pub(crate) struct Edge {
    target: u64,
    target_address: Address,
}

/// The system's wait-for graph: waiter id -> what it waits on.
#[derive(Default)]
pub(crate) struct WaitGraph {
    edges: DashMap<u64, Edge, BuildHasherDefault<FxHasher>>,
}

/// Removes the asker's edge when its ask ends.
pub(crate) struct Waiting<'a> {
    graph: &'a WaitGraph,
    asker: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.graph.edges.remove(&self.asker);
    }
}

/// Longest chain followed; a longer one cannot be told from a graph being rewired under
/// the walk, and is not reported.
const MAX_HOPS: usize = 100_000;

impl WaitGraph {
    /// Every edge now: (waiter id, target id, target address).
    pub(crate) fn edges(&self) -> Vec<(u64, u64, Address)> {
        self.edges
            .iter()
            .map(|e| (*e.key(), e.target, e.target_address.clone()))
            .collect()
    }

    /// What `id` is waiting on, if it is in an ask.
    pub(crate) fn waiting_on(&self, id: u64) -> Option<Address> {
        self.edges.get(&id).map(|e| e.target_address.clone())
    }

    /// Records `asker -> target` in `system`'s graph; refuses with the cycle if that
    /// closes one.
    pub(crate) fn enter<'a>(
        &'a self,
        system: &SystemShared,
        asker: &Core,
        target: &Core,
    ) -> Result<Waiting<'a>, Vec<Address>> {
        let graph = self;
        graph.edges.insert(
            asker.id,
            Edge {
                target: target.id,
                target_address: target.address().clone(),
            },
        );
        let guard = Waiting {
            graph: self,
            asker: asker.id,
        };
        // A walk reads edges one at a time, so in a busy graph it could stitch together
        // edges that never existed at once. A real cycle is stable (everyone on it is
        // blocked), so a cycle is reported only if a second walk finds the same one.
        let mut previous: Option<Vec<u64>> = None;
        for _ in 0..3 {
            let Some((ids, cycle)) = graph.walk(asker, target) else {
                return Ok(guard);
            };
            if previous.as_ref() != Some(&ids) {
                previous = Some(ids);
                continue;
            }
            drop(guard);
            system.counters.bump(|s| &s.deadlocks);
            system.publish(super::watchdog::RuntimeEvent::Deadlock(
                super::watchdog::DeadlockReport {
                    cycle: cycle.clone(),
                },
            ));
            tracing::warn!(asker = %asker.address(), cycle = ?cycle, "ask would deadlock: refused");
            return Err(cycle);
        }
        Ok(guard)
    }

    /// Follows the edges from `target`; if they lead back to `asker`, the ids and the
    /// addresses around the cycle (starting and ending at the asker).
    fn walk(&self, asker: &Core, target: &Core) -> Option<(Vec<u64>, Vec<Address>)> {
        let mut ids = Vec::new();
        let mut addresses = Vec::new();
        let mut cur = target.id;
        for _ in 0..MAX_HOPS {
            if cur == asker.id {
                let mut cycle = Vec::with_capacity(addresses.len() + 2);
                cycle.push(asker.address().clone());
                cycle.push(target.address().clone());
                cycle.extend(addresses);
                return Some((ids, cycle));
            }
            let e = self.edges.get(&cur)?;
            cur = e.target;
            ids.push(cur);
            addresses.push(e.target_address.clone());
        }
        None
    }
}

/// Both cores belong to one system.
pub(crate) fn same_system(a: &Core, b: &Core) -> bool {
    Arc::ptr_eq(&a.system, &b.system)
}

#[cfg(test)]
mod tests {
    use super::super::cell::Core;
    use super::super::stats::{KindRef, KindStats};
    use super::super::{OnStop, System};
    use super::*;
    use std::time::Duration;

    /// A poll that panics (caught further up) still leaves the thread unmarked: the next
    /// ask on this thread must not be taken for this actor's.
    #[tokio::test]
    async fn a_panicking_poll_restores_the_current_actor() {
        let system = System::new("s").unwrap();
        let core = Core::new(
            1,
            Some(system.address().clone()),
            // SAFETY: leaked, so it outlives the core.
            unsafe { KindRef::new(Box::leak(Box::new(KindStats::new("Panicky")))) },
            system.shared().clone(),
            None,
            None,
            Duration::ZERO,
            OnStop::Drain,
            0,
            0,
        );
        let mut fut = std::pin::pin!(AsActor::new(&core, async {
            assert!(current().is_some(), "marked while polled");
            panic!("the handler panics");
        }));
        let waker = std::task::Waker::noop();
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = fut.as_mut().poll(&mut Context::from_waker(waker));
        }));
        assert!(polled.is_err());
        assert!(current().is_none(), "the thread still points at the actor");
    }
}
