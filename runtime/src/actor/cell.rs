//! The shared state of one live actor: its mailbox, system lane and place in the tree.
//!
//! An `ActorRef` is an `Arc<Cell<M>>`; the registry and the parent hold the same cell
//! type-erased as `Arc<dyn Node>`. The *system lane* (stop, restart, escalation) is a
//! separate, rarely used queue behind a flag: the actor checks the flag before every
//! message, so system signals never wait behind user messages, and the lock behind it
//! is only taken when a signal is actually pending.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::address::Address;
use super::children::Children;
use super::handshake::Handshake;
use super::lifecycle::StopReason;
use super::mailbox::Mailbox;
use super::props::OnStop;
use super::stats::KindRef;
use super::supervision::{Failure, SupervisorStrategy};
use super::system::{DeadLetterReason, SystemShared};

/// A signal on the system lane.
#[derive(Debug)]
pub(crate) enum Signal {
    Stop(StopReason),
    Restart(Failure),
    Escalated(Failure),
}

/// A supervisor's children (by id, in spawn order: see [`Children`]) and its recent
/// restarts.
#[derive(Default)]
pub(crate) struct Family {
    pub(crate) children: Children,
    pub(crate) restarts: VecDeque<Instant>,
}

impl Family {
    /// The children in spawn order.
    pub(crate) fn list(&self) -> Vec<Arc<dyn Node>> {
        self.children.values().cloned().collect()
    }
}

/// The rarely used part of a cell, allocated on first use: children, restart history
/// and pending system signals. Most actors never have children and only see a signal
/// when they stop, so this keeps an idle actor small: one pointer, null until first
/// use, which also lets a walk of the tree pass every actor without children without
/// taking a lock.
#[derive(Default)]
pub(crate) struct Kin(AtomicPtr<Mutex<KinInner>>);

#[derive(Default)]
struct KinInner {
    family: Family,
    signals: Vec<Signal>,
}

// `AtomicPtr` is `Send` and `Sync` whatever it points to; the `Mutex` behind it is
// shared between threads, which needs what it guards to be `Send`.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<KinInner>();
};

impl Kin {
    /// The rare part, if it was ever created.
    fn get(&self) -> Option<MutexGuard<'_, KinInner>> {
        let p = self.0.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from `Box::into_raw` in `get_or_create`, is
        // never replaced once set, and is freed only by `Drop`, which takes `&mut self`.
        (!p.is_null()).then(|| lock(unsafe { &*p }))
    }

    /// The rare part, created on first use.
    fn get_or_create(&self) -> MutexGuard<'_, KinInner> {
        if let Some(k) = self.get() {
            return k;
        }
        let new = Box::into_raw(Box::<Mutex<KinInner>>::default());
        let p = match self.0.compare_exchange(
            std::ptr::null_mut(),
            new,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => new,
            Err(current) => {
                // SAFETY: `new` came from `Box::into_raw` above and was never shared.
                drop(unsafe { Box::from_raw(new) });
                current
            }
        };
        // SAFETY: as in `get`: set once, freed only by `Drop`.
        lock(unsafe { &*p })
    }

    /// Runs `f` on the family, creating it if needed.
    pub(crate) fn family<R>(&self, f: impl FnOnce(&mut Family) -> R) -> R {
        f(&mut self.get_or_create().family)
    }

    /// The children in spawn order.
    pub(crate) fn children(&self) -> Vec<Arc<dyn Node>> {
        self.get().map_or_else(Vec::new, |k| k.family.list())
    }

    /// Visits every descendant, parents before their children, each family under its
    /// lock (no clones). Locks are taken from the top down only, as everywhere else; `f`
    /// may lock the visited actor's own family (to signal it) but no ancestor's.
    pub(crate) fn for_each_descendant(&self, f: &mut impl FnMut(&Arc<dyn Node>)) {
        if let Some(k) = self.get() {
            for child in k.family.children.values() {
                f(child);
                child.core().kin.for_each_descendant(f);
            }
        }
    }

    fn take_children(&self) -> Vec<Arc<dyn Node>> {
        self.get()
            .map(|mut k| k.family.children.take())
            .unwrap_or_default()
    }

    /// The child with actor id `id`, if it is alive and still in the family.
    pub(crate) fn child(&self, id: u64) -> Option<Arc<dyn Node>> {
        self.get().and_then(|k| k.family.children.get(id).cloned())
    }

    fn remove_child(&self, id: u64) {
        if let Some(mut k) = self.get() {
            k.family.children.remove(id);
        }
    }

    fn push_signal(&self, signal: Signal) {
        self.get_or_create().signals.push(signal);
    }

    fn take_signals(&self) -> Vec<Signal> {
        self.get()
            .map(|mut k| std::mem::take(&mut k.signals))
            .unwrap_or_default()
    }
}

impl Drop for Kin {
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() {
            // SAFETY: from `Box::into_raw` in `get_or_create`, freed only here, once.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// Locks ignoring poison: these locks guard plain data and every critical section
/// leaves it consistent, so a panic elsewhere must not take the supervisor down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Bits of [`Core`]'s flags byte.
const KILLED: u8 = 1;
const SIGNALS: u8 = 1 << 1;
const STOP_REQUESTED: u8 = 1 << 2;
/// The watchdog asked the actor to hibernate at its next wait.
const DROWSY: u8 = 1 << 3;
const PASSIVATING: u8 = 1 << 4;
/// Hibernating: the actor's state is parked in its mailbox's waker, it has no task.
const ASLEEP: u8 = 1 << 5;
/// The bits the actor looks at before every message.
const LANE: u8 = KILLED | SIGNALS | STOP_REQUESTED | DROWSY;

/// What the system lane holds, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    Empty,
    Killed,
    Signals,
    Stop,
    /// Nothing but a request to hibernate.
    Drowsy,
}

/// The untyped part of a cell.
pub(crate) struct Core {
    pub(crate) id: u64,
    /// Set at spawn for a named actor; for an unnamed one (`…/~<id>`), made from its
    /// parent's address the first time anyone asks (a log line, a snapshot, a dead
    /// letter): most fleet actors are never named anywhere, and formatting and
    /// allocating the string cost every unnamed spawn about 400 instructions.
    address: OnceLock<Address>,
    pub(crate) kind: KindRef,
    pub(crate) system: Arc<SystemShared>,
    pub(crate) parent: Option<Arc<dyn Node>>,
    /// How this actor supervises its children (`None`: the system default).
    pub(crate) strategy: Option<Arc<SupervisorStrategy>>,
    stop_timeout_ms: u32,
    pub(crate) on_stop: OnStop,
    pub(crate) kin: Kin,
    /// Injected faults (see `fault`).
    pub(crate) fault: super::fault::Mark,
    /// `BUSY | busy since` or `idle since`, in coarse-clock ms (see `watchdog`).
    pub(crate) activity: AtomicU64,
    /// What `System::snapshot` reads (see `snapshot`).
    pub(crate) gauges: super::snapshot::Gauges,
    /// Passivate after this long idle (ms); 0: never.
    pub(crate) idle_timeout_ms: u32,
    /// Hibernate after this long idle (ms); 0: never (see `hibernate`).
    pub(crate) hibernate_ms: u32,
    /// The system lane's flags and the hibernation state, one byte so that the actor
    /// checks all of them with one load before every message (see [`Lane`]).
    flags: AtomicU8,
    /// Terminated, and whether anyone waits on the shared path (see `handshake`).
    terminated: Handshake,
    /// Wakes the other waiting tasks; allocated by the first of them (a pointer rather
    /// than a `OnceLock<Box<_>>`: 8 bytes less in every actor), freed with the core.
    waiters: AtomicPtr<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Core {
    /// This actor's address (see the field). For an unnamed actor under an unnamed
    /// parent this recurses to the first ancestor with an address made; only the system
    /// spawns unnamed actors today, so that is at most one level.
    pub(crate) fn address(&self) -> &Address {
        self.address.get_or_init(|| {
            let parent = self
                .parent
                .as_ref()
                .map_or(&self.system.root, |p| p.core().address());
            parent.unnamed_child(self.id)
        })
    }

    /// Whether this actor was spawned without a name (it is in no registry).
    pub(crate) fn is_unnamed(&self) -> bool {
        self.address.get().is_none_or(Address::is_unnamed)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: u64,
        address: Option<Address>,
        kind: KindRef,
        system: Arc<SystemShared>,
        parent: Option<Arc<dyn Node>>,
        strategy: Option<Arc<SupervisorStrategy>>,
        stop_timeout: Duration,
        on_stop: OnStop,
        idle_timeout_ms: u32,
        hibernate_ms: u32,
    ) -> Self {
        let now = system.clock.now();
        Self {
            id,
            address: address.map_or_else(OnceLock::new, OnceLock::from),
            kind,
            system,
            parent,
            strategy,
            stop_timeout_ms: stop_timeout.as_millis().min(u32::MAX as u128) as u32,
            on_stop,
            kin: Kin::default(),
            fault: Default::default(),
            activity: AtomicU64::new(now),
            gauges: Default::default(),
            idle_timeout_ms,
            hibernate_ms,
            flags: AtomicU8::new(0),
            terminated: Handshake::new(),
            waiters: AtomicPtr::new(std::ptr::null_mut()),
            task: Mutex::new(None),
        }
    }

    /// What the system lane holds, from one load; [`Lane::Empty`] on the message path.
    #[inline]
    pub(crate) fn lane(&self) -> Lane {
        let flags = self.flags.load(Ordering::Acquire);
        if flags & LANE == 0 {
            Lane::Empty
        } else if flags & KILLED != 0 {
            Lane::Killed
        } else if flags & SIGNALS != 0 {
            Lane::Signals
        } else if flags & STOP_REQUESTED != 0 {
            Lane::Stop
        } else {
            Lane::Drowsy
        }
    }

    /// Whether a kill, a signal or a stop waits (a hibernation request does not count).
    pub(crate) fn lane_pending(&self) -> bool {
        self.flags.load(Ordering::SeqCst) & (KILLED | SIGNALS | STOP_REQUESTED) != 0
    }

    fn raise(&self, flag: u8, order: Ordering) {
        self.flags.fetch_or(flag, order);
    }

    fn is_set(&self, flag: u8) -> bool {
        self.flags.load(Ordering::Acquire) & flag != 0
    }

    #[inline]
    pub(crate) fn has_signals(&self) -> bool {
        self.is_set(SIGNALS)
    }

    pub(crate) fn take_signals(&self) -> Vec<Signal> {
        // Clear the flag first: a signal pushed after this is either taken below or
        // raises the flag again.
        self.flags.fetch_and(!SIGNALS, Ordering::SeqCst);
        self.kin.take_signals()
    }

    /// How long a graceful stop may take (millisecond precision, at most 49 days).
    pub(crate) fn stop_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.stop_timeout_ms))
    }

    pub(crate) fn is_passivating(&self) -> bool {
        self.is_set(PASSIVATING)
    }

    pub(crate) fn mark_passivating(&self) {
        self.raise(PASSIVATING, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn is_stop_requested(&self) -> bool {
        self.is_set(STOP_REQUESTED)
    }

    #[inline]
    pub(crate) fn is_killed(&self) -> bool {
        self.is_set(KILLED)
    }

    /// The watchdog's request that this idle actor hibernate at its next wait. Returns
    /// whether it was made now (not already pending, and the actor is awake).
    pub(crate) fn ask_to_hibernate(&self) -> bool {
        self.flags
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
                (f & (DROWSY | ASLEEP) == 0).then_some(f | DROWSY)
            })
            .is_ok()
    }

    /// Takes a pending hibernation request (the actor's own task, at a wait). `true`
    /// only if the actor is still idle long enough: a request that arrived as a burst
    /// of messages began lapses.
    pub(crate) fn take_hibernation_request(&self) -> bool {
        let asked = self.flags.fetch_and(!DROWSY, Ordering::AcqRel) & DROWSY != 0;
        let idle_since = self.activity.load(Ordering::Relaxed) & !super::watchdog::BUSY;
        asked && self.system.clock.now().saturating_sub(idle_since) >= u64::from(self.hibernate_ms)
    }

    /// Marks the actor asleep (its state parked, no task) or awake again.
    pub(crate) fn set_asleep(&self, asleep: bool) {
        if asleep {
            self.flags.fetch_or(ASLEEP, Ordering::SeqCst);
        } else {
            self.flags.fetch_and(!ASLEEP, Ordering::SeqCst);
        }
    }

    /// Whether the actor is hibernating: no task, its state parked until a message.
    pub(crate) fn is_asleep(&self) -> bool {
        self.is_set(ASLEEP)
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.terminated.is_done()
    }

    pub(crate) fn set_task(&self, task: JoinHandle<()>) {
        *lock(&self.task) = Some(task);
    }

    pub(crate) fn take_task(&self) -> Option<JoinHandle<()>> {
        lock(&self.task).take()
    }

    /// The slot of the actor's task handle, locked: a waking actor spawns its new task
    /// and stores the handle under this lock, so `kill` aborts the task that runs.
    pub(crate) fn task_slot(&self) -> MutexGuard<'_, Option<JoinHandle<()>>> {
        lock(&self.task)
    }

    /// Waits until the actor has terminated (after its last hook and cleanup).
    ///
    /// One waiter at a time takes the lock-free first-waiter path; waiters alongside it
    /// take the shared path (tokio's `Notify`, which locks). See `handshake`.
    pub(crate) async fn wait_terminated(&self) {
        if self.is_terminated() {
            return;
        }
        if self.terminated.claim_first() {
            let _claim = FirstWaiter(self);
            std::future::poll_fn(|cx| self.terminated.poll_first(cx)).await;
            return;
        }
        // Either `finalize` sees the announcement and notifies, or we see it finished.
        self.terminated.announce();
        let waiters = self.waiters();
        loop {
            let notified = waiters.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.is_terminated() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn children(&self) -> Vec<Arc<dyn Node>> {
        self.kin.children()
    }

    /// The `Notify` of the shared waiting path, allocated on first use.
    fn waiters(&self) -> &Notify {
        let mut current = self.waiters.load(Ordering::Acquire);
        if current.is_null() {
            let fresh = Box::into_raw(Box::new(Notify::new()));
            match self.waiters.compare_exchange(
                std::ptr::null_mut(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => current = fresh,
                Err(installed) => {
                    // SAFETY: `fresh` lost the race and was never shared.
                    drop(unsafe { Box::from_raw(fresh) });
                    current = installed;
                }
            }
        }
        // SAFETY: the pointer is set once, from a `Box`, never replaced, and freed only
        // when the core is dropped, which no borrow of the core can outlive.
        unsafe { &*current }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        let waiters = *self.waiters.get_mut();
        if !waiters.is_null() {
            // SAFETY: allocated by `waiters()` from a `Box`; `&mut self` means nobody
            // else can reach it any more.
            drop(unsafe { Box::from_raw(waiters) });
        }
    }
}

/// Holds the lock-free waiter slot; frees it (and forgets the waker) when the wait ends
/// or is cancelled, for the next waiter.
struct FirstWaiter<'a>(&'a Core);

impl Drop for FirstWaiter<'_> {
    fn drop(&mut self) {
        self.0.terminated.release_first();
    }
}

/// A live actor's cell, type-erased.
pub(crate) trait Node: Send + Sync + 'static {
    fn core(&self) -> &Core;
    /// Puts a signal on the system lane and wakes the actor.
    fn signal(&self, signal: Signal);
    /// Asks for a graceful stop with reason `Normal`, without touching the system lane.
    fn request_stop(&self);
    /// Stops the actor at once: no hooks, queued messages become dead letters.
    fn kill(&self);
    /// Asks the idle actor to hibernate at its next wait (see `hibernate`); returns
    /// whether the request was made (not already pending or asleep).
    fn ask_to_hibernate(&self) -> bool;
    /// Messages queued right now.
    fn queued(&self) -> usize;
    /// The deepest the mailbox has been.
    fn peak(&self) -> usize;
    /// Closes the mailbox and discards what is left as dead letters; returns how many.
    ///
    /// # Safety
    /// Only the actor's own task may call this, never concurrently with another call
    /// that consumes the mailbox (it pops from the mailbox, whose queue allows one
    /// consumer at a time; see [`Mailbox::pop`]).
    unsafe fn close_and_discard(&self) -> u64;
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
        self.core.kin.push_signal(signal);
        self.core.raise(SIGNALS, Ordering::SeqCst);
        self.mailbox.wake();
    }

    fn request_stop(&self) {
        self.core.raise(STOP_REQUESTED, Ordering::SeqCst);
        self.mailbox.wake();
    }

    fn kill(&self) {
        self.core.raise(KILLED, Ordering::SeqCst);
        self.mailbox.wake();
        if let Some(task) = lock(&self.core.task).as_ref() {
            task.abort();
        }
    }

    fn ask_to_hibernate(&self) -> bool {
        let asked = self.core.ask_to_hibernate();
        if asked {
            self.mailbox.wake();
        }
        asked
    }

    fn queued(&self) -> usize {
        self.mailbox.len()
    }

    fn peak(&self) -> usize {
        self.mailbox.peak()
    }

    unsafe fn close_and_discard(&self) -> u64 {
        self.mailbox.close();
        let mut n = 0;
        // SAFETY: our caller is the actor's own task, the mailbox's one consumer (this
        // method's contract).
        while let Some(msg) = unsafe { self.mailbox.pop_closed() } {
            drop(msg);
            n += 1;
        }
        if n > 0 {
            let system = &self.core.system;
            let stripe = system.counters.local();
            stripe.add(&stripe.dead_lettered, n);
            stripe.add(&stripe.discarded, n);
            system.publish_dead_letters(
                self.core.address(),
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
///
/// # Safety
/// As for [`Node::close_and_discard`]: only the actor's own task may call this (its stop
/// path, or its finalizer when the task ends or its future is dropped).
pub(crate) unsafe fn finalize(node: &Arc<dyn Node>, reason: &StopReason) {
    let core = node.core();
    if core.is_terminated() {
        return;
    }
    // SAFETY: our caller is the actor's own task (this function's contract).
    unsafe { node.close_and_discard() };
    // Children still alive here (kill, or a panic during stop) are killed with us.
    let children = core.kin.take_children();
    for child in children {
        if !child.core().is_terminated() {
            core.system.record_aborted(child.core().address());
            child.kill();
        }
    }
    let system = &core.system;
    system.deregister(node);
    system.failures.forget(core);
    match &core.parent {
        Some(parent) => parent.core().kin.remove_child(core.id),
        None => system.guardian.remove_child(core.id),
    }
    system.note_peak(node.peak());
    core.kind
        .stopped
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(address = %core.address(), kind = core.kind.name, %reason, "actor terminated");
    // Last: a woken waiter may run on another worker at once.
    if core.terminated.finish() {
        // Created here if the waiter that announced itself has not yet: it then finds
        // the actor terminated once it locks the same `Notify`.
        core.waiters().notify_waiters();
    }
}

#[cfg(test)]
mod lazy_address {
    use super::super::*;

    struct Idle;
    impl Actor for Idle {
        type Msg = ();
        async fn handle(&mut self, _: (), _: &mut Context<Self>) -> Result<(), HandlerError> {
            Ok(())
        }
    }

    /// An unnamed actor's address is not made at spawn, and is made right when asked
    /// for; a named actor's is made at spawn.
    #[tokio::test]
    async fn an_unnamed_actors_address_is_made_when_first_asked_for() {
        let sys = System::new("lazy").unwrap();
        let a = sys.spawn_unnamed(Props::new(|| Idle)).unwrap();
        let core = &a.cell().core;
        assert!(core.address.get().is_none(), "formatted at spawn");
        assert!(core.is_unnamed());
        let id = core.id;
        assert_eq!(a.address().as_str(), format!("actor://lazy/~{id}"));
        assert!(core.address.get().is_some());
        assert!(core.is_unnamed());
        // Found by its address, like any actor.
        assert!(sys.lookup::<()>(a.address()).is_some());

        let named = sys.spawn("named", Props::new(|| Idle)).unwrap();
        assert!(named.cell().core.address.get().is_some());
        assert!(!named.cell().core.is_unnamed());
        sys.shutdown(std::time::Duration::from_secs(5)).await;
    }
}
