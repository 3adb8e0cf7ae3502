//! The live actor view of a run: `/actors` and `/waits` on the metrics endpoint.
//!
//! The run hands the target's actor system to the [`LiveView`] once the target is
//! built (the same system its fault surface exposes, so every workload that hands
//! over its `System` gets the view) and every tick's figures through the exporter.
//! A request takes a [`System::snapshot`] on the metrics server's thread: one walk of
//! the registry, reading a few atomics per actor, never anything on the message path.
//!
//! - `GET /actors?glob=G&sort=K&top=N` returns an [`ActorsPage`]: the run's latest
//!   figures, the runtime totals, the wait-for graph and the actors whose address
//!   matches the glob `G` (all by default), largest first by `K` (`depth`, `busy`,
//!   `running`, `restarts` or `handled`; default `depth`), at most `N` of them
//!   (default [`DEFAULT_TOP`]; `top=all` for every one).
//! - `GET /waits` returns a [`WaitsPage`]: who waits on whom in an `ask`.
//!
//! A target without an actor system still answers, with `system: null` and no rows.
//! A bad parameter is a `400` whose body names it.

use std::sync::Mutex;

use gauntlet_reports::schema::{ActorSnapshotRow, Tick};
use gauntlet_runtime::actor::snapshot::{SnapshotError, SnapshotQuery, SortKey};
use gauntlet_runtime::actor::{ActorRow, System, SystemStats};
use serde::{Deserialize, Serialize};

/// Rows `/actors` returns when the request names no `top`.
pub const DEFAULT_TOP: usize = 100;

/// The run's latest figures, from the last tick.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunLive {
    /// Seconds since the start of the load, at the end of the last tick.
    pub t_s: f64,
    /// Whether that tick was in the warm-up.
    pub warmup: bool,
    /// Ops completed per second over the last tick, all ops together.
    pub ops_per_s: f64,
    /// The highest p99 latency of any op over the last tick, in nanoseconds.
    pub p99_ns: Option<u64>,
    /// Ops that failed in the last tick.
    pub errors: u64,
    /// Ops that failed since the start.
    pub errors_total: u64,
    /// Ops in flight.
    pub in_flight: u64,
    /// Kinds of the faults active in the last tick.
    pub active_faults: Vec<String>,
}

/// The runtime's totals (see `gauntlet_runtime::actor::SystemStats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Actors alive.
    pub actors_alive: u64,
    /// Restarts since the start.
    pub restarts: u64,
    /// Messages sent since the start.
    pub sent: u64,
    /// Messages delivered since the start.
    pub delivered: u64,
    /// Messages dropped by a mailbox policy since the start.
    pub dropped: u64,
    /// Messages dead-lettered since the start.
    pub dead_lettered: u64,
    /// Messages queued in all mailboxes now.
    pub queued: u64,
    /// The deepest mailbox now.
    pub deepest: u64,
    /// Asks waiting for their reply now.
    pub asks_in_flight: u64,
    /// Stalls the runtime reported since the start.
    pub stalls: u64,
    /// Ask cycles the runtime refused since the start.
    pub deadlocks: u64,
}

impl From<&SystemStats> for Totals {
    fn from(s: &SystemStats) -> Self {
        Self {
            actors_alive: s.actors.alive,
            restarts: s.actors.restarted,
            sent: s.messages.sent,
            delivered: s.messages.delivered,
            dropped: s.messages.dropped(),
            dead_lettered: s.messages.dead_lettered,
            queued: s.messages.queued,
            deepest: s.mailboxes.deepest,
            asks_in_flight: s.asks.in_flight,
            stalls: s.stalls,
            deadlocks: s.deadlocks,
        }
    }
}

/// One edge of the wait-for graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitRow {
    /// The actor in an `ask`.
    pub waiter: String,
    /// The actor it waits on.
    pub target: String,
}

/// The body of `/actors`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActorsPage {
    /// The scenario being run.
    pub scenario: String,
    /// The run's latest figures (`null` before the first tick).
    pub run: Option<RunLive>,
    /// Whether the run has ended (its target shut down); the endpoint goes away soon
    /// after, once the reports are written.
    #[serde(default)]
    pub ended: bool,
    /// The actor system's root address (`null`: the target has none, or it is gone).
    pub system: Option<String>,
    /// Seconds since the actor system started.
    pub uptime_s: f64,
    /// Live actors.
    pub live: u64,
    /// Live actors whose address matched the glob.
    pub matched: u64,
    /// The order of the rows.
    pub sort: String,
    /// The glob, if one was given.
    pub glob: Option<String>,
    /// The row limit (`null`: all).
    pub top: Option<usize>,
    /// The rows, largest first.
    pub actors: Vec<ActorSnapshotRow>,
    /// The wait-for graph.
    pub waits: Vec<WaitRow>,
    /// The runtime totals (`null` without a system).
    pub totals: Option<Totals>,
}

/// The body of `/waits`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitsPage {
    /// The actor system's root address (`null`: none).
    pub system: Option<String>,
    /// Who waits on whom in an `ask`, now.
    pub waits: Vec<WaitRow>,
}

/// A parsed `/actors` request.
#[derive(Debug, Clone)]
pub struct ActorsRequest {
    query: SnapshotQuery,
}

/// Why an `/actors` request was refused (a `400`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A parameter the endpoint does not know.
    #[error("unknown parameter `{0}` (expected glob, sort or top)")]
    Unknown(String),
    /// `top` is not a count.
    #[error("top={0}: expected a number of rows or `all`")]
    Top(String),
    /// The glob or the sort key is wrong.
    #[error(transparent)]
    Query(#[from] SnapshotError),
}

impl ActorsRequest {
    /// Parses the query string of a request (`glob=...&sort=...&top=...`, URL-encoded).
    pub fn parse(query: &str) -> Result<Self, RequestError> {
        let (mut glob, mut sort, mut top) = (None, SortKey::Depth, Some(DEFAULT_TOP));
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "glob" => glob = Some(value.into_owned()).filter(|g| !g.is_empty()),
                "sort" => sort = value.parse()?,
                "top" if value == "all" => top = None,
                "top" => top = Some(value.parse().map_err(|_| RequestError::Top(value.into()))?),
                other => return Err(RequestError::Unknown(other.to_owned())),
            }
        }
        let mut query = SnapshotQuery::new(sort);
        if let Some(g) = glob {
            query = query.glob(&g)?;
        }
        if let Some(n) = top {
            query = query.top(n);
        }
        Ok(Self { query })
    }

    /// The snapshot query.
    pub fn query(&self) -> &SnapshotQuery {
        &self.query
    }
}

/// What the metrics server shows of the running target: its actor system and the
/// run's latest figures.
#[derive(Debug, Default)]
pub struct LiveView {
    system: Mutex<Option<System>>,
    run: Mutex<Option<RunLive>>,
    ended: std::sync::atomic::AtomicBool,
}

impl LiveView {
    /// Shows `system` from now on (`None`: the target has no actor system).
    pub fn attach(&self, system: Option<System>) {
        *self.system.lock().unwrap_or_else(|e| e.into_inner()) = system;
    }

    /// The run has ended: forgets the system and says so on every page from now on.
    pub fn end(&self) {
        self.attach(None);
        self.ended.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Takes the run's figures from one tick.
    pub fn observe(&self, tick: &Tick) {
        let mut run = self.run.lock().unwrap_or_else(|e| e.into_inner());
        let errors: u64 = tick.ops.iter().map(|o| o.errors).sum();
        let errors_total = run.as_ref().map_or(0, |r| r.errors_total) + errors;
        *run = Some(RunLive {
            t_s: tick.t_s,
            warmup: tick.warmup,
            ops_per_s: tick.ops.iter().map(|o| o.rate_per_s).sum(),
            p99_ns: tick.ops.iter().filter_map(|o| o.p99_ns).max(),
            errors,
            errors_total,
            in_flight: tick.in_flight,
            active_faults: tick.active_faults.clone(),
        });
    }

    fn system(&self) -> Option<System> {
        self.system
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The `/actors` page for `request`.
    pub fn actors(&self, scenario: &str, request: &ActorsRequest) -> ActorsPage {
        let q = request.query();
        let mut page = ActorsPage {
            scenario: scenario.to_owned(),
            run: self.run.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            ended: self.ended.load(std::sync::atomic::Ordering::Acquire),
            sort: q.sort_key().name().to_owned(),
            glob: q.glob_text().map(str::to_owned),
            top: q.top_n(),
            ..ActorsPage::default()
        };
        if let Some(system) = self.system() {
            let snap = system.snapshot(q);
            page.system = Some(system.address().to_string());
            page.uptime_s = snap.uptime.as_secs_f64();
            page.live = snap.live;
            page.matched = snap.matched;
            page.actors = snap.actors.iter().map(row).collect();
            page.waits = wait_rows(&snap.waits);
            page.totals = Some(Totals::from(&snap.totals));
        }
        page
    }

    /// The `/waits` page.
    pub fn waits(&self) -> WaitsPage {
        let Some(system) = self.system() else {
            return WaitsPage::default();
        };
        // Top 0: the walk only collects the waiters' addresses, no rows.
        let snap = system.snapshot(&SnapshotQuery::new(SortKey::Depth).top(0));
        WaitsPage {
            system: Some(system.address().to_string()),
            waits: wait_rows(&snap.waits),
        }
    }
}

fn wait_rows(edges: &[gauntlet_runtime::actor::WaitEdge]) -> Vec<WaitRow> {
    edges
        .iter()
        .map(|e| WaitRow {
            waiter: e.waiter.to_string(),
            target: e.target.to_string(),
        })
        .collect()
}

/// A runtime snapshot row in the results schema's terms.
pub fn row(r: &ActorRow) -> ActorSnapshotRow {
    ActorSnapshotRow {
        address: r.address.to_string(),
        kind: r.kind.to_owned(),
        state: r.state.name().to_owned(),
        mailbox_depth: r.mailbox_depth,
        mailbox_peak: r.mailbox_peak,
        handled: r.handled,
        busy_s: r.busy.as_secs_f64(),
        handler_running_s: r.handler_running.map(|d| d.as_secs_f64()),
        restarts: r.restarts,
        last_failure: r.last_failure.as_ref().map(|f| f.failure.to_string()),
        last_failure_at_s: r.last_failure.as_ref().map(|f| f.at.as_secs_f64()),
        waiting_on: r.waiting_on.as_ref().map(ToString::to_string),
    }
}

/// Rows a stall record quotes: the longest-running handlers (up to 10) and the
/// deepest non-empty mailboxes (up to 5), each actor once.
pub fn stall_rows(system: &System) -> Vec<ActorSnapshotRow> {
    let running = system.snapshot(&SnapshotQuery::new(SortKey::Running).top(10));
    let deep = system.snapshot(&SnapshotQuery::new(SortKey::Depth).top(5));
    let mut rows: Vec<ActorSnapshotRow> = running
        .actors
        .iter()
        .filter(|r| r.handler_running.is_some())
        .map(row)
        .collect();
    for r in deep.actors.iter().filter(|r| r.mailbox_depth > 0) {
        if !rows.iter().any(|x| x.address == r.address.as_str()) {
            rows.push(row(r));
        }
    }
    rows
}

/// Rows of the actors on a deadlock's cycle that are still alive, each once.
pub fn cycle_rows(system: &System, cycle: &[String]) -> Vec<ActorSnapshotRow> {
    let mut rows: Vec<ActorSnapshotRow> = Vec::new();
    for address in cycle {
        if rows.iter().any(|r| &r.address == address) {
            continue;
        }
        let Ok(parsed) = gauntlet_runtime::actor::Address::parse(address) else {
            continue;
        };
        if let Some(r) = system.snapshot_of(&parsed) {
            rows.push(row(&r));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_with_defaults_and_url_encoding() {
        let r = ActorsRequest::parse("").unwrap();
        assert_eq!(r.query().sort_key(), SortKey::Depth);
        assert_eq!(r.query().top_n(), Some(DEFAULT_TOP));
        assert_eq!(r.query().glob_text(), None);
        let r = ActorsRequest::parse("glob=actor%3A%2F%2Fs%2F*&sort=busy&top=all").unwrap();
        assert_eq!(r.query().glob_text(), Some("actor://s/*"));
        assert_eq!(r.query().sort_key(), SortKey::Busy);
        assert_eq!(r.query().top_n(), None);
        assert_eq!(
            ActorsRequest::parse("top=3").unwrap().query().top_n(),
            Some(3)
        );
    }

    #[test]
    fn bad_requests_name_the_parameter() {
        let cases = [
            ("sort=deepest", "deepest"),
            ("top=many", "top=many"),
            ("glob=actor://[", "actor://["),
            ("limit=3", "limit"),
        ];
        for (q, needle) in cases {
            let e = ActorsRequest::parse(q).unwrap_err().to_string();
            assert!(e.contains(needle), "{q}: {e}");
        }
    }
}
