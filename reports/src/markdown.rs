//! `summary.md`: the run in a few tables, for a CI job summary
//! (`$GITHUB_STEP_SUMMARY`) or a pull-request comment. GitHub-flavoured Markdown;
//! every value from the results is escaped so that it cannot break a table or
//! inject markup.

use std::fmt::Write as _;

use crate::compare::Verdict;
use crate::outcome::Outcome;
use crate::schema::RunStatus;
use crate::units::{format_bytes, format_ns, format_plain as fp, format_value};

/// Escapes text for a Markdown table cell or paragraph.
pub fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn row(s: &mut String, cells: &[String]) {
    let _ = writeln!(s, "| {} |", cells.join(" | "));
}

fn header(s: &mut String, cells: &[&str], numeric_from: usize) {
    let _ = writeln!(s, "| {} |", cells.join(" | "));
    let align: Vec<&str> = (0..cells.len())
        .map(|i| if i >= numeric_from { "---:" } else { "---" })
        .collect();
    let _ = writeln!(s, "|{}|", align.join("|"));
}

/// The verdict line of one run: `✅ **PASS** smoke` or `❌ **FAIL** smoke`.
pub fn verdict_line(outcome: &Outcome<'_>) -> String {
    format!(
        "{} {} `{}`",
        if outcome.passed() { "✅" } else { "❌" },
        if outcome.passed() {
            "**PASS**"
        } else {
            "**FAIL**"
        },
        md(&outcome.result.scenario.name)
    )
}

/// Renders `summary.md` for one run; `heading` is the Markdown heading level (2 for
/// a run on its own, 3 inside a suite summary).
pub fn render(outcome: &Outcome<'_>, heading: usize) -> String {
    let r = outcome.result;
    let h = "#".repeat(heading.clamp(1, 5));
    let mut s = String::new();
    let _ = writeln!(s, "{h} {}\n", verdict_line(outcome));
    let status = match r.status {
        RunStatus::Completed => "completed".to_owned(),
        RunStatus::Aborted => format!(
            "**aborted**: {}",
            md(r.abort_reason.as_deref().unwrap_or("unknown reason"))
        ),
    };
    let _ = writeln!(
        s,
        "{} · workload `{}` · seed {} · {} s (warm-up {} s) · {} · {} {}, {} CPUs\n",
        md(&r.scenario.file),
        md(&r.scenario.workload),
        r.scenario.seed,
        fp(r.scenario.duration_s, 1),
        fp(r.scenario.warmup_s, 1),
        status,
        md(&r.environment.os),
        md(&r.environment.arch),
        r.environment.cpus
    );
    let reasons = outcome.reasons();
    if !reasons.is_empty() {
        for reason in &reasons {
            let _ = writeln!(s, "- {}", md(reason));
        }
        s.push('\n');
    }

    if !r.thresholds.is_empty() {
        let _ = writeln!(s, "{h}# Thresholds\n");
        header(&mut s, &["", "metric", "expression", "observed"], 3);
        for t in &r.thresholds {
            row(
                &mut s,
                &[
                    (if t.passed { "✅" } else { "❌" }).to_owned(),
                    md(&t.metric),
                    md(&t.expression),
                    md(&format_value(t.observed, &t.unit)),
                ],
            );
        }
        s.push('\n');
    }

    if let Some(c) = outcome.comparison {
        let _ = writeln!(s, "{h}# Baseline ({} run(s))\n", c.baselines.len());
        for w in &c.warnings {
            let _ = writeln!(s, "> ⚠️ {}\n", md(w));
        }
        header(
            &mut s,
            &["", "metric", "baseline", "current", "delta", "tolerance"],
            2,
        );
        for r in &c.rows {
            let icon = match r.verdict {
                Verdict::Pass => "✅",
                Verdict::Regressed => "❌",
                Verdict::Improved => "⬆️",
                Verdict::Info | Verdict::NotMeasured => "➖",
            };
            row(
                &mut s,
                &[
                    icon.to_owned(),
                    md(&r.name()),
                    md(&r.baseline_text()),
                    md(&r.current_text()),
                    md(&r.delta_text()),
                    md(&r.tolerance.to_string()),
                ],
            );
        }
        s.push('\n');
    }

    if !r.ops.is_empty() {
        let _ = writeln!(s, "{h}# Operations\n");
        header(
            &mut s,
            &[
                "op", "count", "errors", "rate", "p50", "p99", "p99.9", "max",
            ],
            1,
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
            row(
                &mut s,
                &[
                    md(&o.op),
                    o.count.to_string(),
                    o.errors.to_string(),
                    format!("{}/s", fp(o.throughput_per_s, 1)),
                    ns(l.p50_ns),
                    ns(l.p99_ns),
                    ns(l.p999_ns),
                    ns(l.max_ns),
                ],
            );
        }
        s.push('\n');
    }

    if !r.faults.is_empty() {
        let _ = writeln!(s, "{h}# Faults\n");
        header(
            &mut s,
            &["kind", "target", "window", "events", "detected", "recovery"],
            2,
        );
        for f in &r.faults {
            let recovery = match (&f.error, f.recovered, f.recovery_s) {
                (Some(e), _, _) => format!("❌ not injected: {}", md(e)),
                (None, true, Some(v)) => format!("✅ {} s", fp(v, 2)),
                (None, true, None) => "✅".to_owned(),
                (None, false, _) => "❌ not recovered".to_owned(),
            };
            row(
                &mut s,
                &[
                    md(&f.kind),
                    md(&f.target),
                    format!("{}–{} s", fp(f.start_s, 1), fp(f.end_s, 1)),
                    f.events_affected.to_string(),
                    f.detected.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                    recovery,
                ],
            );
        }
        s.push('\n');
    }

    let m = &r.messages;
    let lost = m.lost.map_or_else(|| "n/a".to_owned(), |v| v.to_string());
    let l = &r.leaks;
    let _ = writeln!(
        s,
        "**Health:** {} deadlock(s), {} stall(s) · tasks {} → {} · RSS growth {} · shutdown {} · messages {}\n",
        r.deadlocks.len(),
        r.stalls.len(),
        l.tasks_before,
        l.tasks_after,
        l.rss_growth_bytes_per_min
            .map_or_else(|| "n/a".to_owned(), |g| format!("{}/min", format_bytes(g))),
        if l.shutdown_clean {
            "clean"
        } else {
            "**not clean**"
        },
        if m.measured {
            format!(
                "sent {}, delivered {}, lost {lost}",
                m.sent.map_or_else(|| "n/a".to_owned(), |v| v.to_string()),
                m.delivered
                    .map_or_else(|| "n/a".to_owned(), |v| v.to_string())
            )
        } else {
            "not measured".to_owned()
        }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_tables_and_markup_intact() {
        assert_eq!(md("a|b"), "a\\|b");
        assert_eq!(md("<script>"), "\\<script\\>");
        assert_eq!(md("p(99) < 5ms\nnext"), "p(99) \\< 5ms next");
        assert_eq!(md("latency{op=ask}"), "latency{op=ask}");
    }
}
