//! The faults section of the console summary: one line per injected window with its
//! victims, events affected and recovery, and the before/during/after figures.

use std::fmt::Write as _;

use gauntlet_reports::schema::{FaultRecord, RunResult, WindowStats};

use crate::units::format_ns;

fn figures(w: &WindowStats) -> String {
    let mut s = format!(
        "{:.0}/s p99 {} err {}",
        w.throughput_per_s,
        w.p99_ns
            .map_or_else(|| "n/a".to_owned(), |p| format_ns(p as f64)),
        w.errors
    );
    for (name, v) in [
        ("restarts", w.restarts),
        ("breaker", w.breaker_transitions),
        ("dropped", w.dropped),
        ("dead", w.dead_lettered),
    ] {
        if let Some(v) = v.filter(|v| *v > 0) {
            let _ = write!(s, " {name} {v}");
        }
    }
    s
}

fn line(f: &FaultRecord) -> String {
    let mut s = format!(
        "{} {}at {:.1}-{:.1}s",
        f.kind,
        if f.target.is_empty() {
            String::new()
        } else {
            format!("{} ", f.target)
        },
        f.start_s,
        f.end_s
    );
    if let Some(e) = &f.error {
        let _ = write!(s, ": NOT INJECTED: {e}");
        return s;
    }
    if !f.victims.is_empty() {
        let _ = write!(s, ", {} victim(s)", f.victims.len());
    }
    let _ = write!(s, ", {} affected", f.events_affected);
    if let Some(d) = f.detected {
        let _ = write!(s, " ({d} detected)");
    }
    let _ = match (f.recovered, f.recovery_s) {
        (true, Some(r)) => write!(s, ", recovered in ≤{r:.1}s"),
        (false, Some(r)) => write!(s, ", recovered only after {r:.1}s (past the bound)"),
        _ => write!(s, ", NOT recovered"),
    };
    s
}

/// Renders the faults section (empty when no fault was injected).
pub fn render(r: &RunResult) -> String {
    let mut s = String::new();
    if r.faults.is_empty() {
        return s;
    }
    let _ = writeln!(s, "  FAULTS");
    for f in &r.faults {
        let mark = if f.recovered && f.error.is_none() {
            "✓"
        } else {
            "✗"
        };
        let _ = writeln!(s, "    {mark} {}", line(f));
        if let Some(w) = &f.windows {
            let _ = writeln!(s, "        before {}", figures(&w.before));
            let _ = writeln!(s, "        during {}", figures(&w.during));
            let _ = writeln!(s, "        after  {}", figures(&w.after));
        }
    }
    s
}
