//! The shared state of one live actor: its mailbox, system lane and place in the tree.
//!
//! An `ActorRef` is an `Arc<Cell<M>>`; the registry and the parent hold the same cell
//! type-erased as `Arc<dyn Node>`. The *system lane* (stop, restart, escalation) is a
//! separate, rarely used queue behind a flag: the actor checks the flag before every
//! message, so system signals never wait behind user messages, and the lock behind it
//! is only taken when a signal is actually pending.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::address::Address;
use super::lifecycle::StopReason;
use super::mailbox::Mailbox;
use super::props::OnStop;
use super::stats::{KindStats, add};
use super::supervision::{Failure, SupervisorStrategy};
use super::system::{DeadLetterReason, SystemShared};

/// A signal on the system lane.
#[derive(Debug)]
pub(crate) enum Signal {
    Stop(StopReason),
    Restart(Failure),
    Escalated(Failure),
}

/// A supervisor's children, in spawn order, and its recent restarts.
#[derive(Default)]
pub(crate) struct Family {
    pub(crate) children: Vec<Arc<dyn Node>>,
    pub(crate) restarts: VecDeque<Instant>,
}

/// Locks ignoring poison: these locks guard plain data and every critical section
/// leaves it consistent, so a panic elsewhere must not take the supervisor down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The untyped part of a cell.
pub(crate) struct Core {
    pub(crate) id: u64,
    pub(crate) address: Address,
    pub(crate) kind: Arc<KindStats>,
    pub(crate) system: Arc<SystemShared>,
    pub(crate) parent: Option<Arc<dyn Node>>,
    /// How this actor supervises its children (`None`: the system default).
    pub(crate) strategy: Option<Arc<SupervisorStrategy>>,
    pub(crate) stop_timeout: Duration,
    pub(crate) on_stop: OnStop,
    pub(crate) family: Mutex<Family>,
    signals_pending: AtomicBool,
    signals: Mutex<Vec<Signal>>,
    killed: AtomicBool,
    terminated: AtomicBool,
    terminated_notify: Notify,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Core {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: u64,
        address: Address,
        kind: Arc<KindStats>,
        system: Arc<SystemShared>,
        parent: Option<Arc<dyn Node>>,
        strategy: Option<Arc<SupervisorStrategy>>,
        stop_timeout: Duration,
        on_stop: OnStop,
    ) -> Self {
        Self {
            id,
            address,
            kind,
            system,
            parent,
            strategy,
            stop_timeout,
            on_stop,
            family: Mutex::new(Family::default()),
            signals_pending: AtomicBool::new(false),
            signals: Mutex::new(Vec::new()),
            killed: AtomicBool::new(false),
            terminated: AtomicBool::new(false),
            terminated_notify: Notify::new(),
            task: Mutex::new(None),
        }
    }

    #[inline]
    pub(crate) fn has_signals(&self) -> bool {
        self.signals_pending.load(Ordering::Acquire)
    }

    pub(crate) fn take_signals(&self) -> Vec<Signal> {
        let mut q = lock(&self.signals);
        self.signals_pending.store(false, Ordering::Release);
        std::mem::take(&mut *q)
    }

    #[inline]
    pub(crate) fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::Acquire)
    }

    pub(crate) fn set_task(&self, task: JoinHandle<()>) {
        *lock(&self.task) = Some(task);
    }

    pub(crate) fn take_task(&self) -> Option<JoinHandle<()>> {
        lock(&self.task).take()
    }

    /// Waits until the actor has terminated (after its last hook and cleanup).
    pub(crate) async fn wait_terminated(&self) {
        loop {
            let notified = self.terminated_notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.is_terminated() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn children(&self) -> Vec<Arc<dyn Node>> {
        lock(&self.family).children.clone()
    }
}

/// A live actor's cell, type-erased.
pub(crate) trait Node: Send + Sync + 'static {
    fn core(&self) -> &Core;
    /// Puts a signal on the system lane and wakes the actor.
    fn signal(&self, signal: Signal);
    /// Stops the actor at once: no hooks, queued messages become dead letters.
    fn kill(&self);
    /// Messages queued right now.
    fn queued(&self) -> usize;
    /// The deepest the mailbox has been.
    fn peak(&self) -> usize;
    /// Closes the mailbox and discards what is left as dead letters; returns how many.
    fn close_and_discard(&self) -> u64;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// A live actor's cell: its mailbox and core.
pub(crate) struct Cell<M> {
    pub(crate) mailbox: Mailbox<M>,
    pub(crate) core: Core,
}

impl<M: Send + 'static> Node for Cell<M> {
    fn core(&self) -> &Core {
        &self.core
    }

    fn signal(&self, signal: Signal) {
        lock(&self.core.signals).push(signal);
        self.core.signals_pending.store(true, Ordering::Release);
        self.mailbox.wake();
    }

    fn kill(&self) {
        self.core.killed.store(true, Ordering::Release);
        self.mailbox.wake();
        if let Some(task) = lock(&self.core.task).as_ref() {
            task.abort();
        }
    }

    fn queued(&self) -> usize {
        self.mailbox.len()
    }

    fn peak(&self) -> usize {
        self.mailbox.peak()
    }

    fn close_and_discard(&self) -> u64 {
        self.mailbox.close();
        let mut n = 0;
        while let Some(msg) = self.mailbox.pop_closed() {
            drop(msg);
            n += 1;
        }
        if n > 0 {
            let system = &self.core.system;
            let stripe = system.counters.local();
            add(&stripe.dead_lettered, n);
            add(&stripe.discarded, n);
            system.publish_dead_letters(
                &self.core.address,
                std::any::type_name::<M>(),
                DeadLetterReason::DiscardedOnStop,
                n,
            );
        }
        n
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// Marks an actor terminated and removes it from the tree, whether it stopped
/// gracefully, was killed, or its task was dropped. Idempotent.
pub(crate) fn finalize(node: &Arc<dyn Node>, reason: &StopReason) {
    let core = node.core();
    if core.is_terminated() {
        return;
    }
    node.close_and_discard();
    // Children still alive here (kill, or a panic during stop) are killed with us.
    let children = std::mem::take(&mut lock(&core.family).children);
    for child in children {
        if !child.core().is_terminated() {
            core.system.record_aborted(&child.core().address);
            child.kill();
        }
    }
    let system = &core.system;
    system.deregister(node);
    match &core.parent {
        Some(parent) => remove_child(&parent.core().family, core.id),
        None => remove_child(&system.guardian, core.id),
    }
    system.note_peak(node.peak());
    core.kind
        .stopped
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    core.terminated.store(true, Ordering::Release);
    core.terminated_notify.notify_waiters();
    tracing::debug!(address = %core.address, kind = core.kind.name, %reason, "actor terminated");
}

fn remove_child(family: &Mutex<Family>, id: u64) {
    let mut f = lock(family);
    if let Some(i) = f.children.iter().position(|c| c.core().id == id) {
        f.children.remove(i);
    }
}
