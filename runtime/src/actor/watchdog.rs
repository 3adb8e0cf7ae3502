//! The watchdog: a coarse clock, stall detection and passivation, on its own OS thread.
//!
//! Every actor's task stamps one atomic word as it starts and finishes each handler
//! (`busy since t` / `idle since t`, in milliseconds of a coarse clock this thread
//! advances). The watchdog thread scans the live actors every tick:
//!
//! - **Stall:** a handler busy for longer than the stall threshold is reported once per
//!   handler invocation, with the actor's address, kind, how long it has been busy, and
//!   the actor it is waiting on if it is in an `ask`. A handler that blocks its worker
//!   thread is caught too: the watchdog does not run on the tokio runtime, so a blocked
//!   (or fully saturated) runtime cannot silence it.
//! - **Passivation:** an actor with an idle timeout (an entity, see
//!   [`Entities`](super::Entities)) whose mailbox is empty and whose last handler
//!   finished longer ago than its timeout is stopped with
//!   [`StopReason::Passivated`].
//! - **Hibernation:** an actor with
//!   [`Props::hibernate_after`](super::Props::hibernate_after) idle for that long is
//!   asked to hibernate (see `hibernate`): at its next wait it gives up its task and
//!   keeps its state until the next message.
//!
//! Costs: two relaxed atomic stores per message on the message path; a scan of the live
//! actors per tick off it (tick = a quarter of the smallest threshold or idle timeout,
//! between 10 ms and 1 s). Stalls and deadlocks are counted in
//! [`System::stats`](super::System::stats) and published to
//! [`System::events`](super::System::events) subscribers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::address::Address;
use super::cell::{Node, Signal};
use super::lifecycle::StopReason;
use super::system::SystemShared;

/// The busy flag in an actor's activity word; the rest is a coarse-clock timestamp.
pub(crate) const BUSY: u64 = 1 << 63;

/// Milliseconds since the system started, advanced by the watchdog every tick.
#[derive(Debug)]
pub(crate) struct Clock {
    start: Instant,
    now_ms: AtomicU64,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            start: Instant::now(),
            now_ms: AtomicU64::new(0),
        }
    }

    /// The coarse time: at most one tick old.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.now_ms.load(Ordering::Relaxed)
    }

    fn advance(&self) -> u64 {
        let ms = self.start.elapsed().as_millis() as u64;
        self.now_ms.store(ms, Ordering::Relaxed);
        ms
    }
}

/// A handler that has been running for longer than the stall threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StallReport {
    /// The stalled actor.
    pub address: Address,
    /// Its kind.
    pub kind: &'static str,
    /// How long its current handler has been running when detected (coarse: ± one tick).
    pub busy_for: Duration,
    /// The actor it is waiting on, if the handler is in an `ask`.
    pub waiting_on: Option<Address>,
}

/// An ask refused because it would have closed a cycle of waiting actors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlockReport {
    /// The actors around the cycle, starting and ending with the actor whose ask closed it.
    pub cycle: Vec<Address>,
}

/// Something the runtime noticed, published to [`System::events`](super::System::events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeEvent {
    /// A handler ran past the stall threshold.
    Stall(StallReport),
    /// An ask would have deadlocked and was refused.
    Deadlock(DeadlockReport),
}

/// The watchdog thread's handle; stops and joins the thread when the system is dropped
/// or shut down.
pub(crate) struct Watchdog {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub(crate) fn start(system: Weak<SystemShared>) -> Option<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("gauntlet-watchdog".into())
            .spawn(move || run(system, flag))
            .ok()?;
        Some(Self {
            stop,
            thread: Some(thread),
        })
    }

    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            // Joining from the watchdog thread itself (the last system handle dropped
            // there) would deadlock; it exits on its own once it sees the flag.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(system: Weak<SystemShared>, stop: Arc<AtomicBool>) {
    // Stalls already reported, by actor id -> the busy stamp reported.
    let mut reported: HashMap<u64, u64> = HashMap::new();
    let mut tick = Duration::from_millis(10);
    while !stop.load(Ordering::Acquire) {
        std::thread::park_timeout(tick);
        let Some(system) = system.upgrade() else {
            return;
        };
        tick = system.tick();
        if stop.load(Ordering::Acquire) {
            return;
        }
        let now = system.clock.advance();
        scan(&system, now, &mut reported);
    }
}

fn scan(system: &SystemShared, now: u64, reported: &mut HashMap<u64, u64>) {
    let threshold = system.stall_threshold_ms();
    let mut busy_now = Vec::new();
    // Passivated and hibernating actors are signalled after the walk, which holds the
    // families' locks: a signal wakes a hibernating actor, and waking it on a runtime
    // that has shut down finalizes it on the spot, which takes its parent's lock.
    let mut passivate = Vec::new();
    let mut hibernate = Vec::new();
    system.for_each_node(|node: &Arc<dyn Node>| {
        let core = node.core();
        let activity = core.activity.load(Ordering::Relaxed);
        let stamp = activity & !BUSY;
        let since = now.saturating_sub(stamp);
        if activity & BUSY != 0 {
            busy_now.push(core.id);
            if threshold.is_some_and(|t| since >= t) && reported.get(&core.id) != Some(&stamp) {
                reported.insert(core.id, stamp);
                let report = StallReport {
                    address: core.address().clone(),
                    kind: core.kind.name,
                    busy_for: Duration::from_millis(since),
                    waiting_on: system.waits.waiting_on(core.id),
                };
                system.counters.bump(|s| &s.stalls);
                tracing::warn!(
                    address = %report.address,
                    kind = report.kind,
                    busy_ms = since,
                    waiting_on = ?report.waiting_on,
                    "handler stalled"
                );
                system.publish(RuntimeEvent::Stall(report));
            }
        } else if core.idle_timeout_ms != 0
            && since >= u64::from(core.idle_timeout_ms)
            && node.queued() == 0
            && !core.is_passivating()
        {
            core.mark_passivating();
            passivate.push(node.clone());
        } else if core.hibernate_ms != 0
            && since >= u64::from(core.hibernate_ms)
            && !core.is_asleep()
            && node.queued() == 0
        {
            hibernate.push(node.clone());
        }
    });
    for node in passivate {
        node.signal(Signal::Stop(StopReason::Passivated));
    }
    for node in hibernate {
        node.ask_to_hibernate();
    }
    // Forget actors that are no longer busy, so the map stays small.
    if reported.len() > busy_now.len() {
        busy_now.sort_unstable();
        reported.retain(|id, _| busy_now.binary_search(id).is_ok());
    }
}
