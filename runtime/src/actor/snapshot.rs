//! Per-actor snapshots: what every live actor is doing right now.
//!
//! [`System::snapshot`] walks the actor tree once and returns, for every live actor that
//! matches the query: its address and kind, its [`ActorState`], mailbox depth and peak,
//! messages handled, total busy time and how long the current handler has been running,
//! restarts and the last failure, and the actor it waits on in an `ask`; plus the
//! current wait-for graph and the runtime totals ([`System::stats`]).
//!
//! **Filter and top N without copying everything.** A [`SnapshotQuery`] names an
//! address glob (`*` within one path segment, `**` across segments), a [`SortKey`] and
//! an optional `top`. The walk reads a few atomics per actor to get the sort key and
//! keeps only the best `top` candidates in a bounded heap; rows (which clone the
//! address) are built only for those. The same walk sums the mailbox depths for the
//! totals. A glob's literal prefix (`actor://home/room-` of `actor://home/room-*`) is
//! tested before the glob itself, so a narrow filter costs little more than the walk.
//!
//! **Cost on the message path.** Each actor's cell holds two more words (16 bytes) that
//! only its own task writes, so updating them is a plain relaxed load and store on the
//! cache line the task already writes for the stall watchdog (no read-modify-write, no
//! lock): one per message for `handled`, one per handler for the busy time. Failures,
//! restarts and backoffs (off the message path) go to a per-system table keyed by actor
//! id, so an actor that never fails pays nothing for them.
//!
//! **Busy time** is measured with the watchdog's coarse clock (advanced every tick,
//! between 10 ms and 1 s; see [`watchdog`](super::watchdog)): exact to a tick for long
//! handlers, and for short ones an unbiased estimate over many messages (a handler
//! counts a whole tick when the clock advances while it runs, with probability
//! duration / tick). The current handler's running time has the same precision.
//!
//! ```
//! use gauntlet_runtime::actor::snapshot::{SnapshotQuery, SortKey};
//! use gauntlet_runtime::actor::{Actor, Context, HandlerError, Props, System};
//!
//! struct Idle;
//! impl Actor for Idle {
//!     type Msg = ();
//!     async fn handle(&mut self, _: (), _: &mut Context<Self>) -> Result<(), HandlerError> {
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let system = System::new("home")?;
//! for i in 0..3 {
//!     system.spawn(&format!("lamp-{i}"), Props::new(|| Idle))?;
//! }
//! let query = SnapshotQuery::new(SortKey::Handled).glob("actor://home/lamp-*")?.top(2);
//! let snap = system.snapshot(&query);
//! assert_eq!((snap.matched, snap.actors.len()), (3, 2));
//! # system.shutdown(std::time::Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::address::Address;
use super::cell::{Core, Node};
use super::stats::SystemStats;
use super::supervision::Failure;
use super::system::System;
use super::watchdog::BUSY;

/// What an actor is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorState {
    /// Waiting for a message.
    Idle,
    /// Running a handler or hook.
    Running,
    /// Stopping: its mailbox is closed and it drains, runs `stopping`, stops children.
    Stopping,
    /// Failed and waiting out its supervisor's backoff before a restart.
    BackingOff,
    /// Being stopped for having been idle too long (an entity, see
    /// [`Entities`](super::Entities)).
    Passivating,
    /// Idle long enough to hibernate: no task, its state kept until the next message
    /// (see [`Props::hibernate_after`](super::Props::hibernate_after)).
    Hibernating,
}

impl ActorState {
    /// The state's name as it appears in text and JSON: `idle`, `running`, `stopping`,
    /// `backing-off`, `passivating`, `hibernating`.
    pub fn name(self) -> &'static str {
        match self {
            ActorState::Idle => "idle",
            ActorState::Running => "running",
            ActorState::Stopping => "stopping",
            ActorState::BackingOff => "backing-off",
            ActorState::Passivating => "passivating",
            ActorState::Hibernating => "hibernating",
        }
    }
}

impl fmt::Display for ActorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failure an actor had, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFailure {
    /// What it failed with.
    pub failure: Failure,
    /// When, since the system started (coarse: ± one watchdog tick).
    pub at: Duration,
}

/// One live actor in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorRow {
    /// Its address.
    pub address: Address,
    /// Its kind ([`Actor::kind`](super::Actor::kind)).
    pub kind: &'static str,
    /// What it is doing.
    pub state: ActorState,
    /// Messages in its mailbox now.
    pub mailbox_depth: u64,
    /// The deepest its mailbox has been.
    pub mailbox_peak: u64,
    /// Messages it has taken from its mailbox (across restarts).
    pub handled: u64,
    /// Time spent in handlers and hooks, including the current one (see the module
    /// docs for its precision).
    pub busy: Duration,
    /// How long the handler that is running now has been running.
    pub handler_running: Option<Duration>,
    /// Restarts by its supervisor.
    pub restarts: u32,
    /// Its most recent failure (also one that was resumed or is being backed off).
    pub last_failure: Option<LastFailure>,
    /// The actor it is waiting on in an `ask`, if it is in one.
    pub waiting_on: Option<Address>,
}

/// One edge of the wait-for graph: `waiter` is in an `ask` to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitEdge {
    /// The asking actor.
    pub waiter: Address,
    /// The actor it waits on.
    pub target: Address,
}

/// What a snapshot's rows are ordered by (largest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    /// Mailbox depth now.
    #[default]
    Depth,
    /// Total busy time.
    Busy,
    /// How long the current handler has been running (idle actors last).
    Running,
    /// Restarts.
    Restarts,
    /// Messages handled.
    Handled,
}

impl SortKey {
    /// Every key, in the order a user cycles through them.
    pub const ALL: [SortKey; 5] = [
        SortKey::Depth,
        SortKey::Busy,
        SortKey::Running,
        SortKey::Restarts,
        SortKey::Handled,
    ];

    /// The key's name: `depth`, `busy`, `running`, `restarts`, `handled`.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Depth => "depth",
            SortKey::Busy => "busy",
            SortKey::Running => "running",
            SortKey::Restarts => "restarts",
            SortKey::Handled => "handled",
        }
    }
}

impl fmt::Display for SortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a snapshot query could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The sort key is not one of the known ones.
    #[error("unknown sort key `{0}` (expected depth, busy, running, restarts or handled)")]
    SortKey(String),
    /// The address glob does not compile.
    #[error("`{glob}` is not a valid address glob: {reason}")]
    Glob {
        /// The glob as given.
        glob: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl FromStr for SortKey {
    type Err = SnapshotError;

    fn from_str(s: &str) -> Result<Self, SnapshotError> {
        SortKey::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| SnapshotError::SortKey(s.to_owned()))
    }
}

/// A compiled address glob.
#[derive(Debug, Clone)]
struct Glob {
    text: String,
    literal_prefix: String,
    matcher: globset::GlobMatcher,
}

/// Which actors a snapshot holds: an address glob, an order and how many.
#[derive(Debug, Clone, Default)]
pub struct SnapshotQuery {
    glob: Option<Glob>,
    sort: SortKey,
    top: Option<usize>,
}

impl SnapshotQuery {
    /// Every live actor, ordered by `sort`.
    pub fn new(sort: SortKey) -> Self {
        Self {
            glob: None,
            sort,
            top: None,
        }
    }

    /// Only actors whose address matches `glob` (`*` within one path segment, `**`
    /// across segments, `?` one character, `[...]` a class).
    pub fn glob(mut self, glob: &str) -> Result<Self, SnapshotError> {
        let matcher = globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .map_err(|e| SnapshotError::Glob {
                glob: glob.to_owned(),
                reason: e.kind().to_string(),
            })?
            .compile_matcher();
        // Every match starts with the text before the first special character, so a
        // plain prefix test turns most non-matching actors away before the matcher.
        let literal = glob
            .find(['*', '?', '[', '{', '\\'])
            .map_or(glob, |i| &glob[..i]);
        self.glob = Some(Glob {
            text: glob.to_owned(),
            literal_prefix: literal.to_owned(),
            matcher,
        });
        Ok(self)
    }

    /// Keeps only the first `n` rows in the sort order.
    pub fn top(mut self, n: usize) -> Self {
        self.top = Some(n);
        self
    }

    /// The order.
    pub fn sort_key(&self) -> SortKey {
        self.sort
    }

    /// The glob, as given.
    pub fn glob_text(&self) -> Option<&str> {
        self.glob.as_ref().map(|g| g.text.as_str())
    }

    /// The row limit.
    pub fn top_n(&self) -> Option<usize> {
        self.top
    }

    fn matches(&self, address: &str) -> bool {
        self.glob.as_ref().is_none_or(|g| {
            address.starts_with(g.literal_prefix.as_str()) && g.matcher.is_match(address)
        })
    }
}

/// Every matching live actor at one moment, the wait-for graph and the runtime totals,
/// from [`System::snapshot`]. Each row is read without stopping the actor, so rows are
/// each consistent in themselves, not all taken at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Time since the system started (coarse: ± one watchdog tick).
    pub uptime: Duration,
    /// Live actors seen by the walk.
    pub live: u64,
    /// Of those, how many matched the glob (rows may be fewer, with `top`).
    pub matched: u64,
    /// The rows, in the query's order (largest first; ties in spawn order).
    pub actors: Vec<ActorRow>,
    /// Who waits on whom in an `ask`, right now (the whole system, not filtered).
    pub waits: Vec<WaitEdge>,
    /// The runtime's totals.
    pub totals: SystemStats,
}

/// The per-actor figures a snapshot reads and nothing else needs, kept in the actor's
/// cell: two words, written only by the actor's own task. Rarer facts (failures,
/// restarts, a restart backoff) live in the system's [`Failures`] table, so an actor
/// that never fails pays nothing for them.
#[derive(Debug, Default)]
pub(crate) struct Gauges {
    /// Messages taken from the mailbox; the top bit: the graceful stop began.
    handled: AtomicU64,
    /// Coarse milliseconds spent in handlers; the top bit: the actor has an entry in
    /// the system's [`Failures`] table (to remove when it terminates).
    busy_ms: AtomicU64,
}

/// The flag bit of a gauge word; the rest is the count.
const FLAG: u64 = 1 << 63;

impl Gauges {
    /// One more message taken from the mailbox. Only the actor's own task calls this,
    /// so a load and a store suffice (no read-modify-write).
    #[inline]
    pub(crate) fn handled_one(&self) {
        let n = self.handled.load(Ordering::Relaxed);
        self.handled.store(n + 1, Ordering::Relaxed);
    }

    /// A handler that started at the coarse time in `activity` (the busy stamp) ended
    /// at `now`. Only the actor's own task calls this.
    #[inline]
    pub(crate) fn handler_ended(&self, activity: u64, now: u64) {
        if activity & BUSY != 0 {
            let spent = now.saturating_sub(activity & !BUSY);
            if spent != 0 {
                let b = self.busy_ms.load(Ordering::Relaxed);
                self.busy_ms.store(b + spent, Ordering::Relaxed);
            }
        }
    }

    /// The graceful stop began. Only the actor's own task calls this.
    pub(crate) fn stopping(&self) {
        let n = self.handled.load(Ordering::Relaxed);
        self.handled.store(n | FLAG, Ordering::Relaxed);
    }

    /// Whether the actor has an entry in the [`Failures`] table.
    #[inline]
    pub(crate) fn has_failed(&self) -> bool {
        self.busy_ms.load(Ordering::Relaxed) & FLAG != 0
    }

    fn mark_failed(&self) {
        let b = self.busy_ms.load(Ordering::Relaxed);
        self.busy_ms.store(b | FLAG, Ordering::Relaxed);
    }

    fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed) & !FLAG
    }

    fn is_stopping(&self) -> bool {
        self.handled.load(Ordering::Relaxed) & FLAG != 0
    }

    fn busy_ms(&self) -> u64 {
        self.busy_ms.load(Ordering::Relaxed) & !FLAG
    }
}

/// What an actor that has failed carries besides its gauges.
#[derive(Debug, Clone, Default)]
struct Rare {
    restarts: u32,
    backing_off: bool,
    last_failure: Option<LastFailure>,
}

/// Failures, restarts and backoffs of the actors that have failed, by actor id. Written
/// on the failure path only (in the failing actor's own task); an entry is removed when
/// its actor terminates.
#[derive(Default)]
pub(crate) struct Failures(DashMap<u64, Rare, FxBuildHasher>);

impl Failures {
    /// `core`'s supervisor is deciding on `failure` at coarse time `now_ms`.
    pub(crate) fn failed(&self, core: &Core, failure: &Failure, now_ms: u64) {
        core.gauges.mark_failed();
        self.0.entry(core.id).or_default().last_failure = Some(LastFailure {
            failure: failure.clone(),
            at: Duration::from_millis(now_ms),
        });
    }

    /// `core` was restarted.
    pub(crate) fn restarted(&self, core: &Core) {
        core.gauges.mark_failed();
        self.0.entry(core.id).or_default().restarts += 1;
    }

    /// `core` waits out a restart backoff (`true`), or no longer does.
    pub(crate) fn backing_off(&self, core: &Core, on: bool) {
        core.gauges.mark_failed();
        self.0.entry(core.id).or_default().backing_off = on;
    }

    /// `core` terminated.
    #[inline]
    pub(crate) fn forget(&self, core: &Core) {
        if core.gauges.has_failed() {
            self.0.remove(&core.id);
        }
    }

    fn copy(&self) -> FxHashMap<u64, Rare> {
        self.0
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect()
    }
}

/// The sort key of one actor, from its atomics (and the small failures table).
fn key_of(node: &dyn Node, sort: SortKey, now: u64, rare: &FxHashMap<u64, Rare>) -> u64 {
    let core = node.core();
    match sort {
        SortKey::Depth => node.queued() as u64,
        SortKey::Handled => core.gauges.handled(),
        SortKey::Restarts => rare.get(&core.id).map_or(0, |r| u64::from(r.restarts)),
        SortKey::Busy => {
            let activity = core.activity.load(Ordering::Relaxed);
            core.gauges.busy_ms() + running_ms(activity, now).unwrap_or(0)
        }
        SortKey::Running => {
            // Idle actors sort below a handler that just started.
            running_ms(core.activity.load(Ordering::Relaxed), now).map_or(0, |ms| ms + 1)
        }
    }
}

fn running_ms(activity: u64, now: u64) -> Option<u64> {
    (activity & BUSY != 0).then(|| now.saturating_sub(activity & !BUSY))
}

fn row_of(
    node: &dyn Node,
    now: u64,
    waits: &FxHashMap<u64, Address>,
    rare: &FxHashMap<u64, Rare>,
) -> ActorRow {
    let core = node.core();
    let g = &core.gauges;
    let activity = core.activity.load(Ordering::Relaxed);
    let running = running_ms(activity, now);
    let rare = rare.get(&core.id).cloned().unwrap_or_default();
    let state = if rare.backing_off {
        ActorState::BackingOff
    } else if core.is_passivating() {
        ActorState::Passivating
    } else if g.is_stopping() || core.is_stop_requested() {
        ActorState::Stopping
    } else if running.is_some() {
        ActorState::Running
    } else if core.is_asleep() {
        ActorState::Hibernating
    } else {
        ActorState::Idle
    };
    ActorRow {
        address: core.address().clone(),
        kind: core.kind.name,
        state,
        mailbox_depth: node.queued() as u64,
        mailbox_peak: node.peak() as u64,
        handled: g.handled(),
        busy: Duration::from_millis(g.busy_ms() + running.unwrap_or(0)),
        handler_running: running.map(Duration::from_millis),
        restarts: rare.restarts,
        last_failure: rare.last_failure,
        waiting_on: waits.get(&core.id).cloned(),
    }
}

/// A heap entry: larger keys first, then the earlier spawned.
struct Candidate {
    key: u64,
    id: u64,
    node: Arc<dyn Node>,
}

impl Candidate {
    fn rank(&self) -> (u64, Reverse<u64>) {
        (self.key, Reverse(self.id))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl System {
    /// A snapshot of the live actors `query` selects, the wait-for graph and the totals.
    /// Walks every live actor once (O(actors), plus O(top · log top) for the order); call
    /// it when someone looks, not per message.
    pub fn snapshot(&self, query: &SnapshotQuery) -> Snapshot {
        let shared = self.shared();
        let now = shared.clock.now();
        let edges = shared.waits.edges();
        let rare = shared.failures.copy();
        let waiting: FxHashMap<u64, Address> =
            edges.iter().map(|(w, _, t)| (*w, t.clone())).collect();
        let mut waiter_addresses: FxHashMap<u64, Address> = FxHashMap::default();
        let (mut live, mut matched) = (0u64, 0u64);
        // With a limit, a min-heap of the best `limit` so far (its top is the one to
        // evict); without, every match, sorted once at the end.
        let limit = query.top;
        let mut best: BinaryHeap<Reverse<Candidate>> = BinaryHeap::new();
        let mut every: Vec<Candidate> = Vec::new();
        let (mut total, mut deepest, mut peak) = (0u64, 0u64, 0u64);
        // Only what a row needs is read per actor: an unfiltered walk by depth reads the
        // mailbox and little else (the cells are spread over memory; each line read is
        // a likely cache miss at 100 k actors).
        shared.for_each_node(|node| {
            live += 1;
            let depth = node.queued() as u64;
            total += depth;
            deepest = deepest.max(depth);
            peak = peak.max(node.peak() as u64);
            let core = node.core();
            if !waiting.is_empty() && waiting.contains_key(&core.id) {
                waiter_addresses.insert(core.id, core.address().clone());
            }
            if query.glob.is_some() && !query.matches(core.address().as_str()) {
                return;
            }
            matched += 1;
            let key = match query.sort {
                SortKey::Depth => depth,
                sort => key_of(&**node, sort, now, &rare),
            };
            let candidate = || Candidate {
                key,
                id: core.id,
                node: node.clone(),
            };
            match limit {
                None => every.push(candidate()),
                Some(0) => {}
                Some(n) if best.len() < n => best.push(Reverse(candidate())),
                Some(_) => {
                    if best.peek().is_some_and(|Reverse(worst)| {
                        key > worst.key || (key == worst.key && core.id < worst.id)
                    }) {
                        best.pop();
                        best.push(Reverse(candidate()));
                    }
                }
            }
        });
        let mut ranked: Vec<Candidate> = if limit.is_some() {
            best.into_iter().map(|Reverse(c)| c).collect()
        } else {
            every
        };
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        let actors = ranked
            .iter()
            .map(|c| row_of(&*c.node, now, &waiting, &rare))
            .collect();
        let waits = edges
            .into_iter()
            .filter_map(|(w, _, target)| {
                let waiter = waiter_addresses.remove(&w)?;
                Some(WaitEdge { waiter, target })
            })
            .collect();
        Snapshot {
            uptime: Duration::from_millis(now),
            live,
            matched,
            actors,
            waits,
            totals: self.stats_with(total, deepest, peak),
        }
    }

    /// The snapshot row of the live actor at `address`, if there is one.
    pub fn snapshot_of(&self, address: &Address) -> Option<ActorRow> {
        let shared = self.shared();
        let node = shared.node_at(address.as_str())?;
        let waiting: FxHashMap<u64, Address> = shared
            .waits
            .edges()
            .into_iter()
            .filter(|(w, _, _)| *w == node.core().id)
            .map(|(w, _, t)| (w, t))
            .collect();
        let rare = shared.failures.copy();
        Some(row_of(&*node, shared.clock.now(), &waiting, &rare))
    }
}
