//! The end-of-run console summary, in the spirit of k6's: thresholds with ✓/✗ and the
//! observed value, the per-op, per-load and message tables (the same tables as
//! `summary.md` and `report.html`: [`gauntlet_reports::table`]), who limited the run
//! (target or load generator) and the machine's noise, the leak check, stalls and the
//! verdict.

use std::fmt::Write as _;

use gauntlet_reports::schema::{RunResult, RunStatus};
use gauntlet_reports::table::{self, console};
use gauntlet_reports::units::format_plain as fp;

use crate::units::{format_bytes, format_ns};

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
        s.push_str(&console::render(&table::run::thresholds(r), 4));
    }
    let _ = writeln!(s);
    s.push_str(&console::render(&table::run::ops(r), 2));
    if !r.loads.is_empty() {
        let _ = writeln!(s);
        s.push_str(&console::render(&table::run::loads(r), 2));
    }
    if let Some(t) = table::run::messages(&r.messages) {
        let _ = writeln!(s, "\n  MESSAGES");
        s.push_str(&console::render(&t, 4));
    }
    if let Some(t) = table::run::durability(r.durability.as_ref()) {
        let _ = writeln!(s, "\n  DURABILITY");
        s.push_str(&console::render(&t, 4));
        if let Some(t) = table::run::lost_writes(r.durability.as_ref(), 5) {
            s.push_str(&console::render(&t, 4));
            if let Some(d) = &r.durability
                && d.lost_acknowledged > 5
            {
                let _ = writeln!(
                    s,
                    "    ... {} more lost (results.json names the first 100)",
                    d.lost_acknowledged - 5
                );
            }
        }
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
    let (saturated, evidence) = gauntlet_reports::capacity::saturation::classify(r);
    let _ = writeln!(s, "  LIMIT     {}: {}", saturated.label(), evidence.reason);
    if let Some(w) = gauntlet_reports::capacity::saturation::run_warning(r) {
        let _ = writeln!(s, "  ⚠ WARNING {w}");
    }
    for l in r.loads.iter().filter(|l| l.starved_ticks > 0) {
        let _ = writeln!(
            s,
            "  ⚠ WARNING load {} was starved by the load generator in {} ticks (iterations dropped \
             while fewer than half its in-flight slots were busy): its figures show the generator's \
             limit, not the target's; add load_threads or lower the other loads' rates",
            l.name, l.starved_ticks
        );
    }
    if let Some(n) = gauntlet_reports::capacity::noise::of_run(r) {
        let _ = writeln!(
            s,
            "  MACHINE   {}{}",
            gauntlet_reports::capacity::noise::describe(&n),
            if n.noisy {
                "  ⚠ NOISY: other load on the machine; the figures are not the target's alone"
            } else {
                ""
            }
        );
    }
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
