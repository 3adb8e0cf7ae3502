//! The end-of-run console summary, in the spirit of k6's: thresholds with ✓/✗ and the
//! observed value, a per-op table, the leak check, stalls and the verdict.

use std::fmt::Write as _;

use gauntlet_reports::schema::{RunResult, RunStatus, ThresholdOutcome};

use gauntlet_reports::units::{format_plain as fp, format_value};

use crate::units::{format_bytes, format_ns};

fn observed(t: &ThresholdOutcome) -> String {
    format_value(t.observed, &t.unit)
}

fn opt_bytes(v: Option<u64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |b| format_bytes(b as f64))
}

/// Renders the summary of `r`; `results_path` is where results.json was written.
pub fn render(r: &RunResult, results_path: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "  scenario: {} ({})  workload: {}  seed: {}",
        r.scenario.name, r.scenario.file, r.scenario.workload, r.scenario.seed
    );
    let _ = writeln!(
        s,
        "  duration: {}s (warm-up {}s, excluded)  elapsed: {}s  status: {}",
        fp(r.scenario.duration_s, 1),
        fp(r.scenario.warmup_s, 1),
        fp(r.elapsed_s, 1),
        match r.status {
            RunStatus::Completed => "completed".to_owned(),
            RunStatus::Aborted => format!(
                "ABORTED: {}",
                r.abort_reason.as_deref().unwrap_or("unknown reason")
            ),
        }
    );

    if !r.thresholds.is_empty() {
        let _ = writeln!(s, "\n  THRESHOLDS");
        let mut last_metric = "";
        for t in &r.thresholds {
            if t.metric != last_metric {
                let _ = writeln!(s, "    {}", t.metric);
                last_metric = &t.metric;
            }
            let mark = if t.passed { "✓" } else { "✗" };
            let _ = writeln!(
                s,
                "    {mark} {:<24} observed {}",
                t.expression,
                observed(t)
            );
        }
    }

    let _ = writeln!(
        s,
        "\n  {:<12} {:>10} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "OP", "count", "errors", "rate/s", "p50", "p90", "p99", "p99.9", "max"
    );
    for o in &r.ops {
        let l = &o.latency;
        let ns = |v: u64| {
            if l.count == 0 {
                "-".to_owned()
            } else {
                format_ns(v as f64)
            }
        };
        let _ = writeln!(
            s,
            "  {:<12} {:>10} {:>8} {:>10.1} {:>10} {:>10} {:>10} {:>10} {:>10}",
            o.op,
            o.count,
            o.errors,
            o.throughput_per_s,
            ns(l.p50_ns),
            ns(l.p90_ns),
            ns(l.p99_ns),
            ns(l.p999_ns),
            ns(l.max_ns)
        );
    }
    for l in &r.loads {
        let scheduled = l
            .scheduled
            .map_or_else(String::new, |n| format!("scheduled {n}, "));
        let _ = writeln!(
            s,
            "    load {:<10} {} ({scheduled}started {}, dropped {}, unfinished {}, max in flight {})",
            l.name, l.executor, l.started, l.dropped_iterations, l.unfinished, l.max_in_flight
        );
        if l.starved_ticks > 0 {
            let _ = writeln!(
                s,
                "    WARNING: load {} was starved by the load generator in {} ticks (iterations dropped while \
                 fewer than half its in-flight slots were busy): its figures show the generator's limit, \
                 not the target's; add load_threads or lower the other loads' rates",
                l.name, l.starved_ticks
            );
        }
    }

    let m = &r.messages;
    if m.measured {
        let f = |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), |v| v.to_string());
        let _ = writeln!(
            s,
            "\n  MESSAGES  sent {}  delivered {}  dropped {}  rejected {}  dead-lettered {}  queued {}  lost {}",
            f(m.sent),
            f(m.delivered),
            f(m.dropped),
            f(m.rejected),
            f(m.dead_lettered),
            f(m.queued),
            m.lost.map_or_else(|| "n/a".to_owned(), |v| v.to_string())
        );
    }
    let measured: Vec<_> = r.timeline.iter().filter(|t| !t.warmup).collect();
    let peak_rss = measured.iter().filter_map(|t| t.process.rss_bytes).max();
    let peak_tasks = measured.iter().map(|t| t.runtime.alive_tasks).max();
    let max_lag = measured
        .iter()
        .filter_map(|t| t.runtime.sched_lag_max_ns)
        .max();
    let _ = writeln!(
        s,
        "  RUNTIME   peak rss {}  peak tasks {}  max sched lag {}",
        opt_bytes(peak_rss),
        peak_tasks.map_or_else(|| "n/a".to_owned(), |v| v.to_string()),
        max_lag.map_or_else(|| "n/a".to_owned(), |v| format_ns(v as f64)),
    );
    let lk = &r.leaks;
    let _ = writeln!(
        s,
        "  LEAKS     {} tasks {} -> {}  rss {} -> {}  growth {}  shutdown {}",
        if lk.passed { "✓" } else { "✗" },
        lk.tasks_before,
        lk.tasks_after,
        opt_bytes(lk.rss_before_bytes),
        opt_bytes(lk.rss_after_bytes),
        lk.rss_growth_bytes_per_min
            .map_or_else(|| "n/a".to_owned(), |g| format!("{}/min", format_bytes(g))),
        if lk.shutdown_clean {
            "clean"
        } else {
            "NOT clean"
        },
    );
    if r.stalls.is_empty() {
        let _ = writeln!(s, "  STALLS    none");
    } else {
        for st in &r.stalls {
            let _ = writeln!(
                s,
                "  STALL     at {}s for {}s, {} in flight, {}: {}",
                fp(st.start_s, 1),
                fp(st.duration_s, 1),
                st.in_flight,
                if st.recovered {
                    "recovered"
                } else {
                    "not recovered"
                },
                st.detail
            );
        }
    }
    s.push_str(&crate::faults::console::render(r));
    let _ = writeln!(s);
    if r.verdict.passed {
        let _ = writeln!(s, "  VERDICT   ✓ PASS");
    } else {
        let _ = writeln!(s, "  VERDICT   ✗ FAIL");
        for reason in &r.verdict.reasons {
            let _ = writeln!(s, "            - {reason}");
        }
    }
    if let Some(p) = results_path {
        let _ = writeln!(s, "  results:  {p}");
    }
    s
}
