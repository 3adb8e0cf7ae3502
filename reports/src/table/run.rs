//! The tables of one run: operations, loads, thresholds, faults, messages, durability. Each is
//! written to the console summary, `summary.md` and `report.html` from here.

use super::{Align, Cell, Table, mark, num, text};
use crate::schema::{
    Durability, FaultWindows, IncarnationEnd, MessageAccounting, RunResult, WindowStats,
};
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
/// delivered + dropped + rejected + dead-lettered + queued + lost, lost checked. With
/// a killed target process, a column for what the kills took (not lost); with more
/// than one incarnation of it, a row for each, then the total.
pub fn messages(m: &MessageAccounting) -> Option<Table> {
    if !m.measured {
        return None;
    }
    let per = !m.incarnations.is_empty();
    let killed = m.lost_in_kill.is_some();
    let mut columns = vec![
        ("sent", R),
        ("delivered", R),
        ("dropped", R),
        ("rejected", R),
        ("dead-lettered", R),
        ("queued", R),
    ];
    if killed {
        columns.push(("lost in kills", R));
    }
    columns.push(("lost", L));
    if per {
        columns.insert(0, ("incarnation", L));
    }
    let mut t = Table::new(&columns);
    let row = |label: Option<String>, m: &MessageAccounting| {
        let mut cells: Vec<Cell> = label.into_iter().map(text).collect();
        cells.extend([
            num(opt_u64(m.sent)),
            num(opt_u64(m.delivered)),
            num(opt_u64(m.dropped)),
            num(opt_u64(m.rejected)),
            num(opt_u64(m.dead_lettered)),
            num(opt_u64(m.queued)),
        ]);
        if killed {
            cells.push(num(m
                .lost_in_kill
                .map_or("-".to_owned(), |v| v.to_string())));
        }
        cells.push(mark(
            m.lost == Some(0),
            m.lost.map_or_else(|| "n/a".to_owned(), |v| v.to_string()),
        ));
        cells
    };
    for (n, i) in m.incarnations.iter().enumerate() {
        let ended = match i.ended {
            IncarnationEnd::Killed => "killed",
            IncarnationEnd::Restarted => "restarted",
            IncarnationEnd::End => "to the end",
        };
        t.push(row(Some(format!("{} ({ended})", n + 1)), &i.messages));
    }
    t.push(row(per.then(|| "total".to_owned()), m));
    Some(t)
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format_ns(v * 1e6))
}

/// The durability checker's counts (`None` when it did not run): acknowledged writes
/// and those lost, written-behind ones and those lost in kills, the oldest lost
/// against the target's bound.
pub fn durability(d: Option<&Durability>) -> Option<Table> {
    let d = d?;
    let mut t = Table::new(&[
        ("acknowledged", R),
        ("lost", L),
        ("written behind", R),
        ("lost in kills", R),
        ("oldest lost", L),
        ("bound", R),
        ("read-backs", R),
    ]);
    let within = match (d.write_behind_oldest_lost_ms, d.write_behind_bound_ms) {
        (Some(age), Some(bound)) => age <= bound,
        _ => true,
    };
    t.push(vec![
        num(d.acknowledged.to_string()),
        mark(d.lost_acknowledged == 0, d.lost_acknowledged.to_string()),
        num(d.write_behind_acknowledged.to_string()),
        num(d.write_behind_lost.to_string()),
        mark(within, opt_ms(d.write_behind_oldest_lost_ms)),
        num(opt_ms(d.write_behind_bound_ms)),
        num(d.readbacks.to_string()),
    ]);
    Some(t)
}

/// The acknowledged writes a read-back did not find, the first `limit` (`None` when
/// none was lost). results.json keeps the first 100.
pub fn lost_writes(d: Option<&Durability>, limit: usize) -> Option<Table> {
    let d = d.filter(|d| !d.lost.is_empty())?;
    let mut t = Table::new(&[("key", L), ("acknowledged", L), ("found", L), ("at", R)]);
    for w in d.lost.iter().take(limit) {
        t.push(vec![
            text(&w.key),
            text(format!("v{} {}", w.version, w.value)),
            text(match w.found_version {
                Some(v) => format!("v{v} {}", w.found_value.as_deref().unwrap_or("-")),
                None => "unreadable".to_owned(),
            }),
            num(format!("{:.1}s", w.found_at_s)),
        ]);
    }
    Some(t)
}

#[cfg(test)]
mod durability_tests {
    use super::*;
    use crate::schema::LostWrite;

    #[test]
    fn durability_shows_counts_and_names_what_was_lost() {
        assert!(durability(None).is_none());
        let mut d = Durability {
            acknowledged: 550,
            write_behind_acknowledged: 4000,
            write_behind_lost: 900,
            write_behind_oldest_lost_ms: Some(989.0),
            write_behind_bound_ms: Some(1250.0),
            readbacks: 4,
            ..Durability::default()
        };
        assert!(lost_writes(Some(&d), 10).is_none());
        let md = crate::table::markdown::render(&durability(Some(&d)).unwrap());
        assert!(
            md.contains("| 550 | ✅ 0 | 4000 | 900 | ✅ 989.00ms | 1.25s | 4 |"),
            "{md}"
        );
        d.lost_acknowledged = 1;
        d.lost.push(LostWrite {
            key: "device-3".into(),
            value: "target=21.0".into(),
            version: 12,
            found_version: Some(10),
            found_value: Some("target=19.0".into()),
            found_at_s: 4.2,
        });
        let md = crate::table::markdown::render(&durability(Some(&d)).unwrap());
        assert!(md.contains("❌ 1"), "{md}");
        let lost = crate::table::markdown::render(&lost_writes(Some(&d), 10).unwrap());
        assert!(
            lost.contains("| device-3 | v12 target=21.0 | v10 target=19.0 | 4.2s |"),
            "{lost}"
        );
    }
}

#[cfg(test)]
mod messages_tests {
    use super::*;
    use crate::schema::IncarnationMessages;

    fn part(sent: u64, delivered: u64, lost_in_kill: Option<u64>) -> MessageAccounting {
        let mut m = MessageAccounting {
            measured: true,
            sent: Some(sent),
            delivered: Some(delivered),
            dropped: Some(0),
            rejected: Some(0),
            dead_lettered: Some(0),
            queued: Some(0),
            lost_in_kill,
            ..MessageAccounting::default()
        };
        m.lost = m.computed_lost();
        m
    }

    #[test]
    fn one_row_per_incarnation_then_the_total_with_what_kills_took() {
        let one = part(100, 100, None);
        let md = crate::table::markdown::render(&messages(&one).unwrap());
        assert!(
            !md.contains("incarnation") && !md.contains("lost in kills"),
            "{md}"
        );

        let parts = [part(100, 93, Some(7)), part(50, 50, None)];
        let mut total = MessageAccounting::sum(&parts);
        assert_eq!(
            (total.sent, total.lost_in_kill, total.lost),
            (Some(150), Some(7), Some(0))
        );
        total.incarnations = vec![
            IncarnationMessages {
                ended: IncarnationEnd::Killed,
                messages: parts[0].clone(),
            },
            IncarnationMessages {
                ended: IncarnationEnd::End,
                messages: parts[1].clone(),
            },
        ];
        let md = crate::table::markdown::render(&messages(&total).unwrap());
        assert!(
            md.contains("| 1 (killed) | 100 | 93 | 0 | 0 | 0 | 0 | 7 | ✅ 0 |"),
            "{md}"
        );
        assert!(
            md.contains("| 2 (to the end) | 50 | 50 | 0 | 0 | 0 | 0 | - | ✅ 0 |"),
            "{md}"
        );
        assert!(
            md.contains("| total | 150 | 143 | 0 | 0 | 0 | 0 | 7 | ✅ 0 |"),
            "{md}"
        );
    }
}
