//! The time-series charts: one value per probe tick, fault windows shaded.

use super::{Axis, Band, BandKind, Plot, Scale, Series, Unit};
use crate::schema::{RunResult, Tick, TickOp};

/// The most ops drawn as lines of one chart or as charts of their own; a results
/// file may name thousands, which no chart can show (the tables list them all).
pub(super) const MAX_OPS_CHARTED: usize = 12;

/// The most shaded bands (warm-up and fault windows) drawn on one chart: a chart with
/// thousands of windows would be one red block, and slow to draw.
const MAX_BANDS: usize = 100;

const TIME: Axis = Axis {
    label: "seconds since the start of the load",
    scale: Scale::Linear,
    unit: Unit::Seconds,
};

const fn linear(label: &'static str, unit: Unit) -> Axis {
    Axis {
        label,
        scale: Scale::Linear,
        unit,
    }
}

/// The warm-up and every fault window, as shaded bands.
pub(super) fn bands(r: &RunResult) -> Vec<Band> {
    let mut bands = Vec::new();
    if r.scenario.warmup_s > 0.0 {
        bands.push(Band {
            start_s: 0.0,
            end_s: r.scenario.warmup_s,
            label: "warm-up".to_owned(),
            kind: BandKind::Warmup,
        });
    }
    if r.faults.is_empty() {
        // A partial result (an aborted run's snapshot) may have the per-tick marks
        // without the finished fault records: shade from those.
        bands.extend(active_fault_bands(r));
    }
    for f in &r.faults {
        if !(f.start_s.is_finite() && f.end_s.is_finite()) {
            continue;
        }
        let label = if f.target.is_empty() {
            f.kind.clone()
        } else {
            format!("{}: {}", f.kind, f.target)
        };
        bands.push(Band {
            start_s: f.start_s.min(f.end_s),
            end_s: f.end_s.max(f.start_s),
            label,
            kind: BandKind::Fault,
        });
    }
    bands
}

/// Fault windows as seen by the ticks (`Tick::active_faults`): each run of
/// consecutive ticks naming a kind becomes one band, from the start of its first tick.
fn active_fault_bands(r: &RunResult) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    // In first-seen order; a set beside it keeps a tick with many kinds linear.
    let mut open: Vec<(String, f64)> = Vec::new();
    let mut open_kinds: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut previous_t = 0.0;
    let close = |kind: &str, start: f64, end: f64, bands: &mut Vec<Band>| {
        bands.push(Band {
            start_s: start,
            end_s: end,
            label: kind.to_owned(),
            kind: BandKind::Fault,
        });
    };
    for t in &r.timeline {
        for kind in &t.active_faults {
            if open_kinds.insert(kind.clone()) {
                open.push((kind.clone(), previous_t));
            }
        }
        let active: std::collections::HashSet<&str> =
            t.active_faults.iter().map(String::as_str).collect();
        open.retain(|(kind, start)| {
            let still = active.contains(kind.as_str());
            if !still {
                close(kind, *start, previous_t, &mut bands);
                open_kinds.remove(kind);
            }
            still
        });
        previous_t = t.t_s;
    }
    for (kind, start) in open {
        close(&kind, start, previous_t, &mut bands);
    }
    bands
}

/// The x range every time chart shares: from 0 to the last thing that happened
/// (planned end, last tick or last fault), never empty.
fn span(r: &RunResult) -> (f64, f64) {
    let last_tick = r.timeline.iter().map(|t| t.t_s).fold(0.0, f64::max);
    let last_fault = r.faults.iter().map(|f| f.end_s).fold(0.0, f64::max);
    let end = if r.timeline.is_empty() {
        r.scenario.duration_s.max(last_fault)
    } else {
        // An aborted run's timeline stops early; show where it stopped, not the plan.
        last_tick.max(last_fault)
    };
    let end = if end.is_finite() && end > 0.0 {
        end
    } else if r.scenario.tick_s > 0.0 {
        r.scenario.tick_s
    } else {
        1.0
    };
    (0.0, end)
}

fn plot(r: &RunResult, name: &str, title: &str, y: Axis, series: Vec<Series>) -> Plot {
    let mut notes = Vec::new();
    if r.timeline.is_empty() {
        notes.push("no samples: the run recorded no probe ticks".to_owned());
    } else if !series.is_empty() && series.iter().all(Series::is_empty) {
        notes.push("not measured by this target".to_owned());
    }
    let series = series.into_iter().filter(|s| !s.is_empty()).collect();
    let mut bands = bands(r);
    if bands.len() > MAX_BANDS {
        notes.push(format!(
            "{} more fault windows are not shaded (see the faults table)",
            bands.len() - MAX_BANDS
        ));
        bands.truncate(MAX_BANDS);
    }
    Plot {
        name: name.to_owned(),
        title: title.to_owned(),
        x: TIME,
        y,
        x_span: Some(span(r)),
        series,
        bands,
        notes,
    }
}

/// Operation names in report order: the measured ops, then any op seen only in the
/// timeline (e.g. one that ran only during the warm-up).
pub(super) fn op_names(r: &RunResult) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    r.ops
        .iter()
        .map(|o| o.op.as_str())
        .chain(
            r.timeline
                .iter()
                .flat_map(|t| t.ops.iter().map(|o| o.op.as_str())),
        )
        .filter(|op| seen.insert(*op))
        .collect()
}

/// The ops that get their own line or chart (at most [`MAX_OPS_CHARTED`]), and a note
/// on the ones left out, if any.
fn charted<'a>(ops: &'a [&'a str]) -> (&'a [&'a str], Option<String>) {
    let shown = &ops[..ops.len().min(MAX_OPS_CHARTED)];
    let note = (ops.len() > shown.len()).then(|| {
        format!(
            "{} more ops are not charted (see the ops table)",
            ops.len() - shown.len()
        )
    });
    (shown, note)
}

fn tick_op<'a>(t: &'a Tick, op: &str) -> Option<&'a TickOp> {
    t.ops.iter().find(|o| o.op == op)
}

fn series(
    r: &RunResult,
    label: impl Into<String>,
    scale: Scale,
    value: impl Fn(&Tick) -> Option<f64>,
) -> Series {
    Series::from_points(label, r.timeline.iter().map(|t| (t.t_s, value(t))), scale)
}

/// Per-tick increments of a cumulative counter. The first tick counts from 0; a tick
/// after an unmeasured one has no increment (a gap, not a spike).
fn increments(
    r: &RunResult,
    label: impl Into<String>,
    counter: impl Fn(&Tick) -> Option<u64>,
) -> Series {
    let mut previous = Some(0_u64);
    let points = r.timeline.iter().map(|t| {
        let now = counter(t);
        let delta = match (previous, now) {
            (Some(p), Some(n)) => Some(n.saturating_sub(p) as f64),
            _ => None,
        };
        previous = now;
        (t.t_s, delta)
    });
    Series::from_points(label, points, Scale::Linear)
}

/// File-name-safe version of an op name.
pub(super) fn file_stem(op: &str) -> String {
    op.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Offered (scheduled) rate against the achieved rate of every op.
pub(super) fn throughput(r: &RunResult) -> Plot {
    let mut lines = Vec::new();
    // Closed-loop loads have no schedule: an offered line of zeros would mislead.
    if r.timeline.iter().any(|t| t.offered_per_s > 0.0) {
        lines.push(series(r, "offered (all loads)", Scale::Linear, |t| {
            Some(t.offered_per_s)
        }));
    }
    let all_ops = op_names(r);
    let (ops, left_out) = charted(&all_ops);
    for op in ops {
        lines.push(series(r, format!("{op} achieved"), Scale::Linear, |t| {
            tick_op(t, op).map(|o| o.rate_per_s)
        }));
    }
    if ops.len() > 1 {
        lines.push(series(r, "all ops achieved", Scale::Linear, |t| {
            Some(t.ops.iter().map(|o| o.rate_per_s).sum())
        }));
    }
    let mut p = plot(
        r,
        "throughput",
        "Throughput: offered vs achieved",
        linear("ops per second", Unit::Count),
        lines,
    );
    if ops.is_empty() {
        p.notes.push("no ops were issued".to_owned());
    }
    p.notes.extend(left_out);
    p
}

/// Latency percentiles per tick, one chart per op, log scale.
pub(super) fn latency(r: &RunResult) -> Vec<Plot> {
    let y = Axis {
        label: "latency (from intended start)",
        scale: Scale::Log,
        unit: Unit::Nanoseconds,
    };
    let all_ops = op_names(r);
    if all_ops.is_empty() {
        let mut p = plot(r, "latency", "Latency percentiles", y, Vec::new());
        p.notes.push("no ops were issued".to_owned());
        return vec![p];
    }
    let (ops, left_out) = charted(&all_ops);
    let mut used = std::collections::HashSet::new();
    let mut plots: Vec<Plot> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let mut name = format!("latency-{}", file_stem(op));
            if used.contains(&name) {
                name = format!("{name}-{i}");
            }
            used.insert(name.clone());
            type Pick = fn(&TickOp) -> Option<u64>;
            let percentiles: [(&str, Pick); 5] = [
                ("p50", |o| o.p50_ns),
                ("p90", |o| o.p90_ns),
                ("p99", |o| o.p99_ns),
                ("p99.9", |o| o.p999_ns),
                ("max", |o| o.max_ns),
            ];
            let lines = percentiles
                .iter()
                .map(|(label, pick)| {
                    series(r, *label, Scale::Log, |t| {
                        tick_op(t, op).and_then(pick).map(|v| v as f64)
                    })
                })
                .collect();
            plot(r, &name, &format!("Latency percentiles: {op}"), y, lines)
        })
        .collect();
    if let (Some(last), Some(note)) = (plots.last_mut(), left_out) {
        last.notes.push(note);
    }
    plots
}

/// Resident memory over time.
pub(super) fn memory(r: &RunResult) -> Plot {
    let rss = series(r, "RSS", Scale::Linear, |t| {
        t.process.rss_bytes.map(|b| b as f64)
    });
    plot(
        r,
        "memory",
        "Resident memory (RSS)",
        linear("bytes", Unit::Bytes),
        vec![rss],
    )
}

/// Alive tasks, actors and ops in flight.
pub(super) fn tasks(r: &RunResult) -> Plot {
    let lines = vec![
        series(r, "alive tasks", Scale::Linear, |t| {
            Some(t.runtime.alive_tasks as f64)
        }),
        series(r, "actors alive", Scale::Linear, |t| {
            t.target.actors_alive.map(|v| v as f64)
        }),
        series(r, "ops in flight", Scale::Linear, |t| {
            Some(t.in_flight as f64)
        }),
    ];
    plot(
        r,
        "tasks",
        "Alive tasks, actors and ops in flight",
        linear("count", Unit::Count),
        lines,
    )
}

/// Messages waiting in mailboxes and tasks waiting in the runtime's global queue.
pub(super) fn mailbox(r: &RunResult) -> Plot {
    let lines = vec![
        series(r, "mailbox depth (all actors)", Scale::Linear, |t| {
            t.target.mailbox_depth.map(|v| v as f64)
        }),
        series(r, "runtime global queue", Scale::Linear, |t| {
            Some(t.runtime.global_queue_depth as f64)
        }),
    ];
    plot(
        r,
        "mailbox",
        "Mailbox depth",
        linear("queued", Unit::Count),
        lines,
    )
}

/// Failed ops, dropped iterations and messages dropped, rejected or dead-lettered,
/// per tick.
pub(super) fn errors(r: &RunResult) -> Plot {
    let lines = vec![
        series(r, "op errors", Scale::Linear, |t| {
            Some(t.ops.iter().map(|o| o.errors).sum::<u64>() as f64)
        }),
        series(r, "dropped iterations", Scale::Linear, |t| {
            Some(t.dropped as f64)
        }),
        increments(r, "messages dropped", |t| t.target.messages_dropped),
        increments(r, "messages rejected", |t| t.target.messages_rejected),
        increments(r, "dead letters", |t| t.target.messages_dead_lettered),
    ];
    plot(
        r,
        "errors",
        "Errors, drops and dead letters per tick",
        linear("per tick", Unit::Count),
        lines,
    )
}

/// Supervisor restarts and related lifecycle events, per tick.
pub(super) fn restarts(r: &RunResult) -> Plot {
    let lines = vec![
        increments(r, "restarts", |t| t.target.restarts),
        increments(r, "activations", |t| t.target.activations),
        increments(r, "passivations", |t| t.target.passivations),
        increments(r, "breaker rejections", |t| t.target.breaker_rejections),
    ];
    plot(
        r,
        "restarts",
        "Restarts and lifecycle events per tick",
        linear("per tick", Unit::Count),
        lines,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_marked_with_a_fault_become_its_band() {
        let json = include_str!("../../tests/data/tiny.json");
        let mut r = RunResult::from_json(json).unwrap();
        r.faults.clear();
        for t in &mut r.timeline {
            t.active_faults.clear();
        }
        for i in [3, 4, 5, 8] {
            r.timeline[i].active_faults.push("partition".to_owned());
        }
        let faults: Vec<(f64, f64)> = bands(&r)
            .iter()
            .filter(|b| b.kind == BandKind::Fault)
            .map(|b| (b.start_s, b.end_s))
            .collect();
        // Ticks end at 1, 2, ... s: ticks 3..=5 cover 3-6 s, tick 8 covers 8-9 s.
        assert_eq!(faults, [(3.0, 6.0), (8.0, 9.0)]);
    }
}
