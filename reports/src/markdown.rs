//! `summary.md`: the run in a few tables, for a CI job summary
//! (`$GITHUB_STEP_SUMMARY`) or a pull-request comment. GitHub-flavoured Markdown;
//! every value from the results is escaped so that it cannot break a table or
//! inject markup.

use std::fmt::Write as _;

use crate::compare::Verdict;
use crate::outcome::Outcome;
use crate::schema::RunStatus;
use crate::table;
use crate::units::{format_bytes, format_plain as fp};

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

    if let Some(w) = crate::capacity::saturation::run_warning(r) {
        let _ = writeln!(s, "> ⚠️ {}\n", md(&w));
    }
    if let Some(n) = crate::capacity::noise::of_run(r).filter(|n| n.noisy) {
        let _ = writeln!(
            s,
            "> ⚠️ Measured under machine noise ({}): the figures are not the target's alone.\n",
            md(&crate::capacity::noise::describe(&n))
        );
    }

    if !r.thresholds.is_empty() {
        let _ = writeln!(s, "{h}# Thresholds\n");
        s.push_str(&table::markdown::render(&table::run::thresholds(r)));
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
        s.push_str(&table::markdown::render(&table::run::ops(r)));
        s.push('\n');
    }
    if !r.loads.is_empty() {
        s.push_str(&table::markdown::render(&table::run::loads(r)));
        s.push('\n');
    }

    if !r.faults.is_empty() {
        let _ = writeln!(s, "{h}# Faults\n");
        s.push_str(&table::markdown::render(&table::run::faults(r)));
        s.push('\n');
    }

    if let Some(t) = table::run::messages(&r.messages) {
        let _ = writeln!(s, "{h}# Messages\n");
        s.push_str(&table::markdown::render(&t));
        s.push('\n');
    }

    if let Some(t) = table::run::durability(r.durability.as_ref()) {
        let _ = writeln!(s, "{h}# Durability\n");
        s.push_str(&table::markdown::render(&t));
        s.push('\n');
        if let Some(t) = table::run::lost_writes(r.durability.as_ref(), usize::MAX) {
            s.push_str(&table::markdown::render(&t));
            s.push('\n');
        }
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
