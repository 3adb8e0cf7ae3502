//! The tables of one run: operations, loads, thresholds, faults, messages. Each is
//! written to the console summary, `summary.md` and `report.html` from here.

use super::{Align, Cell, Table, mark, num, text};
use crate::schema::{FaultWindows, MessageAccounting, RunResult, WindowStats};
use crate::units::{format_ns, format_plain as fp, format_value};

const L: Align = Align::Left;
const R: Align = Align::Right;

fn opt_u64(v: Option<u64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| v.to_string())
}

fn opt_ns(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format_ns(v as f64))
}

/// Per op over the measured window: counts, throughput, latency percentiles from the
/// intended start, and the service time's p99 (from the actual start).
pub fn ops(r: &RunResult) -> Table {
    let mut t = Table::new(&[
        ("op", L),
        ("count", R),
        ("errors", R),
        ("timeouts", R),
        ("throughput", R),
        ("p50", R),
        ("p90", R),
        ("p99", R),
        ("p99.9", R),
        ("max", R),
        ("service p99", R),
    ]);
    for o in &r.ops {
        let l = &o.latency;
        let ns = |v: u64| {
            if l.count == 0 {
                "-".to_owned()
            } else {
                format_ns(v as f64)
            }
        };
        t.push(vec![
            text(&o.op),
            num(o.count.to_string()),
            num(o.errors.to_string()),
            num(o.timeouts.to_string()),
            num(format!("{}/s", fp(o.throughput_per_s, 1))),
            num(ns(l.p50_ns)),
            num(ns(l.p90_ns)),
            num(ns(l.p99_ns)),
            num(ns(l.p999_ns)),
            num(ns(l.max_ns)),
            num(if o.service_time.count == 0 {
                "-".to_owned()
            } else {
                format_ns(o.service_time.p99_ns as f64)
            }),
        ]);
    }
    t
}

/// Per `[[load]]` block: what was scheduled, started, completed and dropped.
pub fn loads(r: &RunResult) -> Table {
    let mut t = Table::new(&[
        ("load", L),
        ("op", L),
        ("executor", L),
        ("scheduled", R),
        ("started", R),
        ("completed", R),
        ("errors", R),
        ("dropped", R),
        ("unfinished", R),
        ("max in flight", R),
    ]);
    for l in &r.loads {
        t.push(vec![
            text(&l.name),
            text(&l.op),
            text(&l.executor),
            num(l
                .scheduled
                .map_or_else(|| "-".to_owned(), |v| v.to_string())),
            num(l.started.to_string()),
            num(l.completed.to_string()),
            num(l.errors.to_string()),
            num(l.dropped_iterations.to_string()),
            num(l.unfinished.to_string()),
            num(l.max_in_flight.to_string()),
        ]);
    }
    t
}

/// Each threshold: passed or not, the metric, the expression and the observed value.
pub fn thresholds(r: &RunResult) -> Table {
    let mut t = Table::new(&[("", L), ("metric", L), ("expression", L), ("observed", R)]);
    for th in &r.thresholds {
        t.push(vec![
            mark(th.passed, ""),
            text(&th.metric),
            text(&th.expression),
            num(format_value(th.observed, &th.unit)),
        ]);
    }
    t
}

fn window(w: Option<&FaultWindows>, pick: fn(&FaultWindows) -> &WindowStats) -> Cell {
    num(w.map_or_else(
        || "-".to_owned(),
        |w| {
            let s = pick(w);
            format!("{}/s, p99 {}", fp(s.throughput_per_s, 1), opt_ns(s.p99_ns))
        },
    ))
}

/// Each injected fault: where and when, what it hit, throughput before, during and
/// after, and whether the target recovered.
pub fn faults(r: &RunResult) -> Table {
    let mut t = Table::new(&[
        ("kind", L),
        ("target", L),
        ("window", R),
        ("toxicity", R),
        ("events", R),
        ("detected", R),
        ("victims", R),
        ("before", R),
        ("during", R),
        ("after", R),
        ("recovery", L),
    ]);
    for f in &r.faults {
        let recovery = match (&f.error, f.recovered, f.recovery_s) {
            (Some(e), _, _) => mark(false, format!("not injected: {e}")),
            (None, true, Some(s)) => mark(true, format!("recovered in {} s", fp(s, 2))),
            (None, true, None) => mark(true, "recovered"),
            (None, false, _) => mark(false, "not recovered"),
        };
        let w = f.windows.as_ref();
        t.push(vec![
            text(&f.kind),
            text(&f.target),
            num(format!("{}–{} s", fp(f.start_s, 1), fp(f.end_s, 1))),
            num(f
                .toxicity
                .map_or_else(|| "-".to_owned(), |t| format!("{:.0}%", t * 100.0))),
            num(f.events_affected.to_string()),
            num(f.detected.map_or_else(|| "-".to_owned(), |d| d.to_string())),
            num(f.victims.len().to_string()),
            window(w, |w| &w.before),
            window(w, |w| &w.during),
            window(w, |w| &w.after),
            recovery,
        ]);
    }
    t
}

/// The message accounting (`None` when the target does not report it): sent =
/// delivered + dropped + rejected + dead-lettered + queued + lost, lost checked.
pub fn messages(m: &MessageAccounting) -> Option<Table> {
    if !m.measured {
        return None;
    }
    let mut t = Table::new(&[
        ("sent", R),
        ("delivered", R),
        ("dropped", R),
        ("rejected", R),
        ("dead-lettered", R),
        ("queued", R),
        ("lost", L),
    ]);
    t.push(vec![
        num(opt_u64(m.sent)),
        num(opt_u64(m.delivered)),
        num(opt_u64(m.dropped)),
        num(opt_u64(m.rejected)),
        num(opt_u64(m.dead_lettered)),
        num(opt_u64(m.queued)),
        mark(
            m.lost == Some(0),
            m.lost.map_or_else(|| "n/a".to_owned(), |v| v.to_string()),
        ),
    ]);
    Some(t)
}
