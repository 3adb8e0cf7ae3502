//! The actor table's columns and the run's summary lines, as text: shared by the
//! terminal view and the `--once` table so both read the same.

use gauntlet_reports::schema::ActorSnapshotRow;
use gauntlet_reports::units::{format_count, format_ns};
use gauntlet_runtime::actor::snapshot::SortKey;

use crate::metrics::actors::ActorsPage;

/// Column titles.
pub const TITLES: [&str; 10] = [
    "ACTOR",
    "KIND",
    "STATE",
    "DEPTH",
    "PEAK",
    "HANDLED",
    "BUSY",
    "RUNNING",
    "RESTARTS",
    "WAITING ON / LAST FAILURE",
];

/// Whether column `i` holds numbers (right-aligned).
pub fn numeric(i: usize) -> bool {
    (3..=8).contains(&i)
}

/// The column a sort key orders by.
pub fn sorted_column(key: SortKey) -> usize {
    match key {
        SortKey::Depth => 3,
        SortKey::Handled => 5,
        SortKey::Busy => 6,
        SortKey::Running => 7,
        SortKey::Restarts => 8,
    }
}

fn secs(s: f64) -> String {
    format_ns(s * 1e9)
}

/// One row's cells.
pub fn cells(r: &ActorSnapshotRow) -> [String; 10] {
    let note = match (&r.waiting_on, &r.last_failure) {
        (Some(w), _) => format!("→ {w}"),
        (None, Some(f)) => format!("failed: {f}"),
        (None, None) => String::new(),
    };
    [
        r.address.clone(),
        r.kind.clone(),
        r.state.clone(),
        r.mailbox_depth.to_string(),
        r.mailbox_peak.to_string(),
        r.handled.to_string(),
        secs(r.busy_s),
        r.handler_running_s.map_or_else(|| "-".to_owned(), secs),
        r.restarts.to_string(),
        note,
    ]
}

/// The summary above the table: the run's figures, then the runtime's totals.
pub fn summary(page: &ActorsPage) -> [String; 2] {
    let run = match &page.run {
        Some(r) => format!(
            "t {:.1}s{}  ops/s {}  p99 {}  errors {} (total {})  in flight {}  faults: {}",
            r.t_s,
            if r.warmup { " (warm-up)" } else { "" },
            format_count(r.ops_per_s.round()),
            r.p99_ns
                .map_or_else(|| "-".to_owned(), |ns| format_ns(ns as f64)),
            r.errors,
            r.errors_total,
            r.in_flight,
            if r.active_faults.is_empty() {
                "none".to_owned()
            } else {
                r.active_faults.join(", ")
            },
        ),
        None => "waiting for the first tick".to_owned(),
    };
    let totals = match (&page.system, &page.totals) {
        (Some(system), Some(t)) => format!(
            "{system}  actors {} (showing {} of {} matched)  queued {}  deepest {}  restarts {}  asks waiting {}  stalls {}  deadlocks {}",
            t.actors_alive,
            page.actors.len(),
            page.matched,
            t.queued,
            t.deepest,
            t.restarts,
            t.asks_in_flight,
            t.stalls,
            t.deadlocks
        ),
        _ if page.ended => "the run has ended: its target is shut down".to_owned(),
        _ => "no actor system in this target".to_owned(),
    };
    [run, totals]
}

/// The wait-for graph, one `waiter → target` per edge.
pub fn waits(page: &ActorsPage) -> Vec<String> {
    page.waits
        .iter()
        .map(|w| format!("{} → {}", w.waiter, w.target))
        .collect()
}
