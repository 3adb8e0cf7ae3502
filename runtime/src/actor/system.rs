//! [`System`]: the root of an actor tree, its registry, stats and shutdown.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::deadlock::WaitGraph;
use super::reaper::Reaper;
use super::registry::Registry;
use super::watchdog::{Clock, RuntimeEvent, Watchdog};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use rustc_hash::FxBuildHasher as FxBuild;
use std::any::TypeId;
use tokio::sync::broadcast;

use super::actor_ref::{ActorRef, SendError};
use super::address::{Address, AddressError};
use super::cell::{Cell, Core, Kin, Node, Signal, lock};
use super::lifecycle::{Actor, StopReason};
use super::mailbox::{Mailbox, MailboxConfig};
use super::props::{OnStop, Props};
use super::stats::{Counters, KindRef, KindStats, MailboxDepth, SystemStats};
use super::supervision::SupervisorStrategy;

/// System-wide defaults.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    /// Mailbox of actors whose [`Props`] set none.
    pub default_mailbox: MailboxConfig,
    /// How actors supervise their children when their [`Props`] set no strategy.
    pub default_supervisor: SupervisorStrategy,
    /// How the root guardian supervises top-level actors. Escalation from a top-level
    /// actor stops it.
    pub guardian: SupervisorStrategy,
    /// Stop deadline of actors whose [`Props`] set none.
    pub stop_timeout: Duration,
    /// What stopping actors do with queued messages, unless their [`Props`] say.
    pub on_stop: OnStop,
    /// Dead letters buffered per subscriber before the slowest one misses some.
    pub dead_letter_buffer: usize,
    /// Report handlers busy for longer than this as stalls (`None`: never). On by
    /// default, at 1 s.
    pub stall_threshold: Option<Duration>,
    /// Runtime events (stalls, deadlocks) buffered per subscriber.
    pub event_buffer: usize,
    /// Hibernate actors idle for this long, unless their [`Props`] say otherwise
    /// ([`Props::hibernate_after`]); `None` (the default): never.
    pub hibernate_after: Option<Duration>,
}

impl Default for SystemConfig {
    fn default() -> Self {
        Self {
            default_mailbox: MailboxConfig::default(),
            default_supervisor: SupervisorStrategy::default(),
            guardian: SupervisorStrategy::default(),
            stop_timeout: Duration::from_secs(5),
            on_stop: OnStop::Drain,
            dead_letter_buffer: 1024,
            stall_threshold: Some(Duration::from_secs(1)),
            event_buffer: 1024,
            hibernate_after: None,
        }
    }
}

/// Why a system could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    /// The name is not a valid address authority.
    #[error("invalid system name: {0}")]
    Name(#[from] AddressError),
    /// `System::new` was called outside a tokio runtime.
    #[error("a System must be created inside a tokio runtime (no runtime is running here)")]
    NoRuntime,
    /// The tokio runtime has no time driver: actors need timers (stop deadlines,
    /// restart backoff, `send_after`, shutdown), so build the runtime with
    /// `enable_time()` or `enable_all()`.
    #[error(
        "the tokio runtime has timers disabled: build it with `enable_time()` (or `enable_all()`); actors need timers for stop deadlines, restart backoff, `send_after` and shutdown"
    )]
    NoTimeDriver,
}

/// Why an actor could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The name is not valid in an address.
    #[error("invalid actor name: {0}")]
    Name(#[from] AddressError),
    /// A live actor already has this address.
    #[error("an actor named {0} already exists")]
    Duplicate(Address),
    /// The system (or the parent) is shutting down.
    #[error("cannot spawn {0}: the system is shutting down")]
    ShuttingDown(Address),
}

/// Why a message became a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterReason {
    /// Sent to an actor that had stopped or was stopping.
    Stopped,
    /// Sent to an address where no actor lives.
    NotFound,
    /// Still queued when its actor stopped with `OnStop::Discard`, past its stop
    /// deadline, or was killed.
    DiscardedOnStop,
    /// Cut off by an injected partition (see [`fault`](super::fault)).
    Partitioned,
}

/// A message that could not be delivered. Published to [`System::dead_letters`]
/// subscribers; the message itself is dropped.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Where it was going.
    pub to: Address,
    /// The message type's name.
    pub message_type: &'static str,
    /// Why it was not delivered.
    pub reason: DeadLetterReason,
    /// How many messages this event stands for (a discarded mailbox is one event).
    pub count: u64,
}

/// What [`System::shutdown`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Actors that terminated during the shutdown.
    pub actors_stopped: u64,
    /// Queued messages handled while stopping.
    pub messages_drained: u64,
    /// Queued messages discarded as dead letters while stopping.
    pub messages_discarded: u64,
    /// Actors that did not stop within their deadline and were killed.
    pub aborted: Vec<Address>,
    /// Whether everything stopped gracefully within the deadline.
    pub graceful: bool,
    /// How long the shutdown took.
    pub elapsed: Duration,
}

/// The shared state behind every [`System`] handle and every actor cell.
pub(crate) struct SystemShared {
    pub(crate) root: Address,
    pub(crate) counters: Counters,
    pub(crate) guardian: Kin,
    pub(crate) guardian_strategy: Arc<SupervisorStrategy>,
    pub(crate) default_strategy: Arc<SupervisorStrategy>,
    config: SystemConfig,
    registry: Registry<Arc<dyn Node>>,
    kinds: DashMap<&'static str, Arc<KindStats>, FxBuild>,
    /// Kind stats by actor type, so a spawn neither recomputes `Actor::kind()` nor
    /// hashes its name. Several types may share one kind (an entity and its wrapper).
    kinds_by_type: DashMap<TypeId, Arc<KindStats>, FxBuild>,
    next_id: AtomicU64,
    /// Unique among all systems this process ever made (see `kind_of`).
    uid: u64,
    peak: AtomicUsize,
    shutting_down: AtomicBool,
    aborted: Mutex<Vec<Address>>,
    dead_letters: broadcast::Sender<DeadLetter>,
    runtime: tokio::runtime::Handle,
    pub(crate) clock: Clock,
    pub(crate) waits: WaitGraph,
    /// Failures, restarts and backoffs per actor, for snapshots.
    pub(crate) failures: super::snapshot::Failures,
    pub(crate) faults: super::fault::FaultTable,
    events: broadcast::Sender<RuntimeEvent>,
    watchdog: Mutex<Option<Watchdog>>,
    /// Expires overdue asks; started by the first ask.
    reaper: std::sync::OnceLock<Reaper>,
    /// The watchdog's tick, lowered when entities with short idle timeouts appear.
    tick_ms: AtomicU64,
}

impl SystemShared {
    /// Takes a named actor's address out of the registry (unnamed actors are never in
    /// it).
    pub(crate) fn deregister(&self, node: &Arc<dyn Node>) {
        let core = node.core();
        if !core.is_unnamed() {
            self.registry
                .release(core.address().as_str(), core.id, |n| n.core().id);
        }
    }

    /// The live actor at `address`: a named one from the registry, an unnamed one
    /// (`…/~<id>`) from its parent's children, found the same way (O(depth) lookups).
    pub(crate) fn node_at(&self, address: &str) -> Option<Arc<dyn Node>> {
        if let Some(node) = self.registry.get(address) {
            return Some(node);
        }
        let (parent, name) = address.rsplit_once('/')?;
        let id = super::address::unnamed_id(name)?;
        let child = if parent == self.root.as_str() {
            self.guardian.child(id)
        } else {
            self.node_at(parent)?.core().kin.child(id)
        }?;
        (child.core().address().as_str() == address).then_some(child)
    }

    pub(crate) fn note_peak(&self, depth: usize) {
        // Looked at first: most actors end below the peak, and a read is not a locked
        // read-modify-write.
        if depth > self.peak.load(Ordering::Relaxed) {
            self.peak.fetch_max(depth, Ordering::Relaxed);
        }
    }

    pub(crate) fn record_aborted(&self, address: &Address) {
        tracing::warn!(%address, "actor did not stop within its deadline: killed");
        lock(&self.aborted).push(address.clone());
    }

    pub(crate) fn publish_dead_letters(
        &self,
        to: &Address,
        message_type: &'static str,
        reason: DeadLetterReason,
        count: u64,
    ) {
        tracing::debug!(%to, message_type, ?reason, count, "dead letter");
        if self.dead_letters.receiver_count() > 0 {
            let _ = self.dead_letters.send(DeadLetter {
                to: to.clone(),
                message_type,
                reason,
                count,
            });
        }
    }

    /// The ask reaper (started on first use).
    pub(crate) fn reaper(&self) -> &Reaper {
        self.reaper.get_or_init(Reaper::start)
    }

    pub(crate) fn publish(&self, event: RuntimeEvent) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(event);
        }
    }

    pub(crate) fn stall_threshold_ms(&self) -> Option<u64> {
        self.config.stall_threshold.map(|d| d.as_millis() as u64)
    }

    /// Visits every live actor in the tree, parents before their children (O(actors);
    /// for the watchdog, snapshots and stats). Each family is visited under its lock, so
    /// spawns and stops under one parent wait for the walk to pass it; `f` may signal
    /// the actor it is given, but must not touch its ancestors' families. An actor
    /// killed with its parent leaves the tree with the parent, an instant before its
    /// own task ends.
    pub(crate) fn for_each_node(&self, mut f: impl FnMut(&Arc<dyn Node>)) {
        self.guardian.for_each_descendant(&mut f);
    }

    /// The tokio runtime the system's actors run on.
    pub(crate) fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    pub(crate) fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_ms.load(Ordering::Relaxed))
    }

    /// Makes the watchdog tick at least every quarter of `period`.
    pub(crate) fn tick_within(&self, period: Duration) {
        let want = clamp_tick(period / 4).as_millis() as u64;
        self.tick_ms.fetch_min(want, Ordering::Relaxed);
    }

    /// The stats of `A`'s kind, for a new actor's core (which holds this system, and so
    /// the stats). The last kind looked up on this thread is remembered, keyed by the
    /// system's unique id: a fleet of one type spawns without touching the maps (their
    /// read lock cost every spawn two locked read-modify-writes).
    fn kind_of<A: Actor>(&self) -> KindRef {
        thread_local! {
            static LAST: std::cell::Cell<Option<(u64, TypeId, KindRef)>> =
                const { std::cell::Cell::new(None) };
        }
        let ty = TypeId::of::<A>();
        if let Some((uid, t, kind)) = LAST.get()
            && uid == self.uid
            && t == ty
        {
            return kind;
        }
        let k = match self.kinds_by_type.get(&ty) {
            Some(k) => k.clone(),
            None => {
                let k = self.kind_stats(A::kind());
                self.kinds_by_type.insert(ty, k.clone());
                k
            }
        };
        // SAFETY: `self.kinds` holds these stats for the system's whole life (kinds are
        // never removed), and whoever gets them is a core, which holds the system. The
        // copy remembered above is used again only for this system (`uid` is unique
        // among all systems, ever), so never after the system is gone.
        let kind = unsafe { KindRef::new(&k) };
        LAST.set(Some((self.uid, ty, kind)));
        kind
    }

    pub(crate) fn kind_stats(&self, name: &'static str) -> Arc<KindStats> {
        if let Some(k) = self.kinds.get(name) {
            return k.clone();
        }
        self.kinds
            .entry(name)
            .or_insert_with(|| Arc::new(KindStats::new(name)))
            .clone()
    }
}

/// An actor system: a tree of actors under one root address, `actor://<name>`.
/// Cheap to clone; every clone is the same system.
///
/// Actors run as tasks on the tokio runtime the system was created in.
#[derive(Clone)]
pub struct System {
    shared: Arc<SystemShared>,
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "System({})", self.shared.root)
    }
}

impl System {
    /// A system with default settings.
    ///
    /// Must be called inside a tokio runtime with its time driver enabled (any flavour;
    /// `#[tokio::main]`, `#[tokio::test]`, `Runtime::new()` and `Builder::enable_all()`
    /// all enable it); otherwise it fails with [`SystemError::NoRuntime`] or
    /// [`SystemError::NoTimeDriver`]. The IO driver is not needed.
    pub fn new(name: &str) -> Result<Self, SystemError> {
        Self::with_config(name, SystemConfig::default())
    }

    /// A system with `config`. The runtime needs what [`new`](Self::new) says.
    pub fn with_config(name: &str, config: SystemConfig) -> Result<Self, SystemError> {
        let root = Address::root(name)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SystemError::NoRuntime)?;
        if !super::time_driver::is_enabled() {
            return Err(SystemError::NoTimeDriver);
        }
        let (dead_letters, _) = broadcast::channel(config.dead_letter_buffer.max(1));
        let (events, _) = broadcast::channel(config.event_buffer.max(1));
        let tick = clamp_tick(
            config
                .stall_threshold
                .map_or(Duration::from_secs(1), |t| t / 4),
        );
        tracing::debug!(system = %root, "actor system started");
        let system = Self {
            shared: Arc::new(SystemShared {
                root,
                counters: Counters::new(),
                guardian: Kin::default(),
                guardian_strategy: Arc::new(config.guardian.clone()),
                default_strategy: Arc::new(config.default_supervisor.clone()),
                config,
                registry: Registry::new(),
                kinds: DashMap::default(),
                kinds_by_type: DashMap::default(),
                next_id: AtomicU64::new(1),
                uid: {
                    static SYSTEMS: AtomicU64 = AtomicU64::new(0);
                    SYSTEMS.fetch_add(1, Ordering::Relaxed)
                },
                peak: AtomicUsize::new(0),
                shutting_down: AtomicBool::new(false),
                aborted: Mutex::new(Vec::new()),
                dead_letters,
                runtime,
                clock: Clock::new(),
                waits: WaitGraph::default(),
                failures: Default::default(),
                faults: Default::default(),
                events,
                watchdog: Mutex::new(None),
                reaper: std::sync::OnceLock::new(),
                tick_ms: AtomicU64::new(tick.as_millis() as u64),
            }),
        };
        let watchdog = Watchdog::start(Arc::downgrade(&system.shared));
        *lock(&system.shared.watchdog) = watchdog;
        Ok(system)
    }

    /// Subscribes to runtime events (stalls, refused deadlocks) from now on.
    pub fn events(&self) -> broadcast::Receiver<RuntimeEvent> {
        self.shared.events.subscribe()
    }

    pub(crate) fn from_shared(shared: Arc<SystemShared>) -> Self {
        Self { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<SystemShared> {
        &self.shared
    }

    /// The system's root address, `actor://<name>`.
    pub fn address(&self) -> &Address {
        &self.shared.root
    }

    /// The system's configuration.
    pub fn config(&self) -> &SystemConfig {
        &self.shared.config
    }

    /// Spawns a top-level actor at `actor://<system>/<name>`, supervised by the root
    /// guardian.
    pub fn spawn<A: Actor>(
        &self,
        name: &str,
        props: Props<A>,
    ) -> Result<ActorRef<A::Msg>, SpawnError> {
        spawn_under(&self.shared, None, name, props)
    }

    /// Spawns a top-level actor without a name, at `actor://<system>/~<id>` (`id` is
    /// unique in the system), supervised by the root guardian. The fast path for fleets
    /// of alike actors: no name to format or check, and no entry in the address
    /// registry (found through its parent instead). Names of this form are reserved for
    /// unnamed actors: a named spawn refuses them.
    pub fn spawn_unnamed<A: Actor>(&self, props: Props<A>) -> Result<ActorRef<A::Msg>, SpawnError> {
        spawn_as(&self.shared, None, Name::Unnamed, props)
    }

    /// The live actor at `address`, if there is one and it takes messages of type `M`.
    pub fn lookup<M: Send + 'static>(&self, address: &Address) -> Option<ActorRef<M>> {
        let node = self.shared.node_at(address.as_str())?;
        let cell = node.into_any().downcast::<Cell<M>>().ok()?;
        Some(ActorRef::from_cell(cell))
    }

    /// Sends `msg` to whatever actor lives at `address` (see [`ActorRef::tell`]). With no
    /// actor there, or one of another message type, the message is a dead letter.
    pub async fn tell_at<M: Send + 'static>(
        &self,
        address: &Address,
        msg: M,
    ) -> Result<(), SendError<M>> {
        match self.lookup::<M>(address) {
            Some(r) => r.tell(msg).await,
            None => {
                let stripe = self.shared.counters.local();
                stripe.bump(&stripe.sent);
                stripe.bump(&stripe.dead_lettered);
                self.shared.publish_dead_letters(
                    address,
                    std::any::type_name::<M>(),
                    DeadLetterReason::NotFound,
                    1,
                );
                Err(SendError::NotFound(msg))
            }
        }
    }

    /// Subscribes to dead letters from now on. A subscriber that falls more than
    /// `dead_letter_buffer` behind misses the oldest (the receiver reports how many);
    /// the counts in [`stats`](Self::stats) are always complete.
    pub fn dead_letters(&self) -> broadcast::Receiver<DeadLetter> {
        self.shared.dead_letters.subscribe()
    }

    /// The addresses of all live actors.
    pub fn addresses(&self) -> Vec<Address> {
        let mut out = Vec::new();
        self.shared
            .for_each_node(|n| out.push(n.core().address().clone()));
        out
    }

    /// A snapshot of the counters. Reads every live mailbox's depth; costs O(actors), so
    /// call it per tick, not per message.
    pub fn stats(&self) -> SystemStats {
        let (mut total, mut deepest, mut peak) = (0u64, 0u64, 0u64);
        self.shared.for_each_node(|n| {
            let q = n.queued() as u64;
            total += q;
            deepest = deepest.max(q);
            peak = peak.max(n.peak() as u64);
        });
        self.stats_with(total, deepest, peak)
    }

    /// The stats, given the live mailboxes' total depth, deepest and peak (from a walk
    /// the caller did anyway, as `snapshot` does).
    pub(crate) fn stats_with(&self, total: u64, deepest: u64, mut peak: u64) -> SystemStats {
        let mut by_kind = BTreeMap::new();
        let mut actors = Default::default();
        for k in self.shared.kinds.iter() {
            let snap = k.value().snapshot();
            actors += snap;
            by_kind.insert(k.key().to_string(), snap);
        }
        peak = peak.max(self.shared.peak.load(Ordering::Relaxed) as u64);
        SystemStats {
            actors,
            by_kind,
            messages: self.shared.counters.messages(total),
            mailboxes: MailboxDepth {
                total,
                deepest,
                peak,
            },
            asks: self.shared.counters.asks(),
            stalls: self.shared.counters.stalls(),
            deadlocks: self.shared.counters.deadlocks(),
        }
    }

    /// Whether [`shutdown`](Self::shutdown) has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutting_down.load(Ordering::Acquire)
    }

    /// Stops every actor and waits at most `deadline`. Top-level actors are stopped in
    /// reverse spawn order; each stops its children first (deepest first). Actors still
    /// running at the deadline are killed and listed in the report. Always returns, and
    /// when it does every actor task (and timer task) has completed; tokio releases a
    /// completed task from its alive count an instant later, on the worker that ran it.
    /// Spawning is refused from now on.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let started = Instant::now();
        let shared = &self.shared;
        shared.shutting_down.store(true, Ordering::Release);
        let stopped_before = self.stats().actors.stopped;
        let (drained_before, discarded_before) =
            (shared.counters.drained(), shared.counters.discarded());
        let aborted_before = lock(&shared.aborted).len();

        // Every live actor's task, so that we can wait for the tasks themselves to end.
        let mut everyone: Vec<Arc<dyn Node>> = Vec::new();
        shared.for_each_node(|n| everyone.push(n.clone()));
        let top = shared.guardian.children();
        for node in top.iter().rev() {
            node.signal(Signal::Stop(StopReason::Shutdown));
        }
        let all = futures_util::future::join_all(top.iter().map(|n| n.core().wait_terminated()));
        let graceful = tokio::time::timeout(deadline, all).await.is_ok();
        if !graceful {
            shared.for_each_node(|node| shared.record_aborted(node.core().address()));
            for node in &everyone {
                node.kill();
            }
        }
        // Wait for the tasks to be gone, not just finalized. Killed tasks end at their
        // next await; a task stuck in blocking code cannot be forced, so bound the wait.
        let tasks: Vec<_> = everyone
            .iter()
            .filter_map(|n| n.core().take_task())
            .collect();
        let grace = if graceful {
            deadline
        } else {
            Duration::from_secs(1)
        };
        let _ = tokio::time::timeout(grace, futures_util::future::join_all(tasks)).await;
        if let Some(mut watchdog) = lock(&shared.watchdog).take() {
            watchdog.stop();
        }
        if let Some(reaper) = shared.reaper.get() {
            reaper.stop();
        }
        let aborted = lock(&shared.aborted)[aborted_before..].to_vec();
        let report = ShutdownReport {
            actors_stopped: self.stats().actors.stopped - stopped_before,
            messages_drained: shared.counters.drained() - drained_before,
            messages_discarded: shared.counters.discarded() - discarded_before,
            graceful: graceful && aborted.is_empty(),
            aborted,
            elapsed: started.elapsed(),
        };
        tracing::info!(
            system = %shared.root,
            stopped = report.actors_stopped,
            drained = report.messages_drained,
            discarded = report.messages_discarded,
            aborted = report.aborted.len(),
            elapsed_ms = report.elapsed.as_millis() as u64,
            "actor system shut down"
        );
        report
    }
}

/// The watchdog's tick: between 10 ms and 1 s.
fn clamp_tick(d: Duration) -> Duration {
    d.clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Spawns an actor called `name` under `parent` (`None`: the root guardian).
pub(crate) fn spawn_under<A: Actor>(
    shared: &Arc<SystemShared>,
    parent: Option<Arc<dyn Node>>,
    name: &str,
    props: Props<A>,
) -> Result<ActorRef<A::Msg>, SpawnError> {
    spawn_as(shared, parent, Name::Given(name), props)
}

/// How a new actor is named.
enum Name<'a> {
    Given(&'a str),
    /// `~<id>`, from the actor's id.
    Unnamed,
}

/// Spawns an actor under `parent` (`None`: the root guardian).
fn spawn_as<A: Actor>(
    shared: &Arc<SystemShared>,
    parent: Option<Arc<dyn Node>>,
    name: Name<'_>,
    props: Props<A>,
) -> Result<ActorRef<A::Msg>, SpawnError> {
    let parent_address = || parent.as_ref().map_or(&shared.root, |p| p.core().address());
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    // A named actor's address now; an unnamed one's when first asked for (see `Core`).
    let address = match name {
        Name::Given(name) => {
            super::address::validate_actor_name(name)?;
            Some(parent_address().child(name)?)
        }
        Name::Unnamed => None,
    };
    if shared.shutting_down.load(Ordering::Acquire) {
        return Err(SpawnError::ShuttingDown(
            address.unwrap_or_else(|| parent_address().unnamed_child(id)),
        ));
    }
    let config = &shared.config;
    let hibernate_ms = props
        .hibernate_after
        .or(config.hibernate_after)
        .map_or(0, |d| {
            shared.tick_within(d);
            d.as_millis().clamp(1, u32::MAX as u128) as u32
        });
    let core = Core::new(
        id,
        address,
        shared.kind_of::<A>(),
        shared.clone(),
        parent.clone(),
        props.supervisor.clone().map(Arc::new),
        props.stop_timeout.unwrap_or(config.stop_timeout),
        props.on_stop.unwrap_or(config.on_stop),
        props
            .idle_timeout
            .map_or(0, |d| d.as_millis().clamp(1, u32::MAX as u128) as u32),
        hibernate_ms,
    );
    let cell = Arc::new(Cell {
        mailbox: Mailbox::new(props.mailbox.unwrap_or(config.default_mailbox)),
        core,
    });
    // Unnamed actors stay out of the registry: their `~<id>` is unique by construction
    // (named actors may not take such a name) and lookups find them through the parent.
    if matches!(name, Name::Given(_)) {
        let address = cell.core.address();
        if shared
            .registry
            .claim(address.shared().clone(), cell.clone())
            .is_err()
        {
            return Err(SpawnError::Duplicate(address.clone()));
        }
    }
    let kin = parent.as_ref().map_or(&shared.guardian, |p| &p.core().kin);
    kin.family(|f| f.children.insert(cell.core.id, cell.clone()));
    cell.core.kind.spawned.fetch_add(1, Ordering::Relaxed);
    let task = shared
        .runtime
        .spawn(super::run::run(cell.clone(), props.factory));
    cell.core.set_task(task);
    if shared.shutting_down.load(Ordering::Acquire) {
        // Lost a race with shutdown: do not leave an actor behind it.
        cell.kill();
        return Err(SpawnError::ShuttingDown(cell.core.address().clone()));
    }
    tracing::debug!(address = %cell.core.address(), kind = A::kind(), "actor spawned");
    Ok(ActorRef::from_cell(cell))
}

#[cfg(test)]
mod footprint {
    use super::super::cell::{Cell, Core};
    use super::super::mailbox::Mailbox;
    use super::super::*;
    use std::sync::Arc;
    use std::time::Duration;

    struct Idle;
    impl Actor for Idle {
        type Msg = u64;
        async fn handle(&mut self, _: u64, _: &mut Context<Self>) -> Result<(), HandlerError> {
            Ok(())
        }
    }

    /// Guards the idle-actor memory budget (measured end to end by the `idle_memory`
    /// example): the cell, and the task future tokio stores in a 128-byte-aligned cell.
    #[test]
    fn an_idle_actor_stays_small() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let sys = System::new("s").unwrap();
            let cell = Arc::new(Cell {
                mailbox: Mailbox::<u64>::new(MailboxConfig::default()),
                core: Core::new(
                    1,
                    Some(sys.address().clone()),
                    // SAFETY: leaked, so it outlives the core.
                    unsafe {
                        super::super::stats::KindRef::new(Box::leak(Box::new(
                            super::super::stats::KindStats::new("Idle"),
                        )))
                    },
                    sys.shared.clone(),
                    None,
                    None,
                    Duration::ZERO,
                    OnStop::Drain,
                    0,
                    0,
                ),
            });
            let task = super::super::run::run(cell, Props::new(|| Idle).factory);
            let (cell_size, task_size) = (size_of::<Cell<u64>>(), size_of_val(&task));
            // 264 before the first-waiter slot (issue 20, 272) and the snapshot gauges
            // (two words: handled, busy time; issue 21).
            // 280 since the rare part (children, signals) is one pointer, null until
            // first use, instead of a mutex around an optional box.
            // 288 since an unnamed actor's address is made when first asked for: the
            // `OnceLock` around it costs 8 bytes and saves the string's 40-byte
            // allocation in every unnamed actor.
            assert!(cell_size <= 288, "cell grew to {cell_size} bytes");
            // 264 until the handler's future was no longer stored twice, the task's
            // captures no longer copied, and timers kept out of line (issue 20). At 184
            // tokio's task (header, 128-byte-aligned core, trailer) takes 384 bytes; one
            // byte more and it takes 512.
            assert!(task_size <= 184, "task future grew to {task_size} bytes");
        });
    }
}
