//! The sections of the report page. Every value from the results goes through
//! [`esc`] (or is a number formatted here).

use std::borrow::Cow;
use std::fmt::Write as _;

use super::RenderedChart;
use crate::compare::{Comparison, Verdict};
use crate::outcome::Outcome;
use crate::schema::{RunResult, RunStatus};
use crate::units::{format_bytes, format_ns, format_plain as fp, format_value};

/// HTML-escapes text for element content and double-quoted attributes.
pub fn esc(text: &str) -> Cow<'_, str> {
    html_escape::encode_quoted_attribute(text)
}

/// A table cell.
pub(super) enum Cell {
    /// Left-aligned text (escaped when written).
    Text(String),
    /// Right-aligned number or measurement (escaped when written).
    Num(String),
    /// ✓ or ✗ with a colour.
    Mark(bool, String),
}

pub(super) fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

pub(super) fn num(s: impl Into<String>) -> Cell {
    Cell::Num(s.into())
}

pub(super) fn mark(ok: bool, label: impl Into<String>) -> Cell {
    Cell::Mark(ok, label.into())
}

pub(super) fn table(page: &mut String, headers: &[&str], rows: &[Vec<Cell>]) {
    page.push_str("<table>\n<thead><tr>");
    for h in headers {
        let _ = write!(page, "<th>{}</th>", esc(h));
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        page.push_str("<tr>");
        for cell in row {
            match cell {
                Cell::Text(t) => {
                    let _ = write!(page, "<td>{}</td>", esc(t));
                }
                Cell::Num(t) => {
                    let _ = write!(page, "<td class=\"num\">{}</td>", esc(t));
                }
                Cell::Mark(ok, t) => {
                    let (class, sign) = if *ok { ("ok", "✓") } else { ("bad", "✗") };
                    let _ = write!(page, "<td class=\"{class}\">{sign} {}</td>", esc(t));
                }
            }
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n");
}

pub(super) fn heading(page: &mut String, id: &str, title: &str) {
    let _ = writeln!(page, "<h2 id=\"{id}\">{}</h2>", esc(title));
}

pub(super) fn para(page: &mut String, class: &str, body: &str) {
    let _ = writeln!(page, "<p class=\"{class}\">{}</p>", esc(body));
}

pub(super) fn opt_u64(v: Option<u64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| v.to_string())
}

pub(super) fn opt_bytes(v: Option<u64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format_bytes(v as f64))
}

pub(super) fn opt_ns(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format_ns(v as f64))
}

pub(super) fn banner(page: &mut String, outcome: &Outcome<'_>) {
    let r = outcome.result;
    let (class, word) = if outcome.passed() {
        ("pass", "PASS")
    } else {
        ("fail", "FAIL")
    };
    let _ = write!(
        page,
        "<header class=\"banner {class}\" id=\"verdict\">\n<h1>{word} · {}</h1>\n<div class=\"sub\">{}</div>\n",
        esc(&r.scenario.name),
        esc(&r.scenario.description)
    );
    let reasons = outcome.reasons();
    if !reasons.is_empty() {
        page.push_str("<ul>\n");
        for reason in &reasons {
            let _ = writeln!(page, "<li>{}</li>", esc(reason));
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</header>\n");
}

pub(super) fn facts(page: &mut String, r: &RunResult) {
    heading(page, "run", "Run");
    let status = match r.status {
        RunStatus::Completed => "completed".to_owned(),
        RunStatus::Aborted => format!(
            "ABORTED: {}",
            r.abort_reason.as_deref().unwrap_or("unknown reason")
        ),
    };
    let e = &r.environment;
    let facts = [
        (
            "scenario",
            format!("{} ({})", r.scenario.name, r.scenario.file),
        ),
        ("workload", r.scenario.workload.clone()),
        ("seed", r.scenario.seed.to_string()),
        (
            "started",
            crate::junit::started_at(r.started_at_unix_ms).map_or_else(
                || "unknown".to_owned(),
                |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        ),
        (
            "duration",
            format!(
                "{} s planned (warm-up {} s, excluded from the verdict), tick {} s, {} s elapsed",
                fp(r.scenario.duration_s, 1),
                fp(r.scenario.warmup_s, 1),
                fp(r.scenario.tick_s, 2),
                fp(r.elapsed_s, 1)
            ),
        ),
        ("status", status),
        (
            "machine",
            format!(
                "{} {}, {} CPUs; target runtime {} worker thread(s), {} load thread(s)",
                e.os, e.arch, e.cpus, e.target_worker_threads, e.load_threads
            ),
        ),
        ("gauntlet", r.gauntlet_version.clone()),
    ];
    page.push_str("<dl class=\"facts\">\n");
    for (k, v) in facts {
        let _ = writeln!(page, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
    }
    page.push_str("</dl>\n");
}

pub(super) fn thresholds(page: &mut String, r: &RunResult) {
    heading(page, "thresholds", "Thresholds");
    if r.thresholds.is_empty() {
        para(page, "muted", "The scenario sets no thresholds.");
        return;
    }
    let rows: Vec<Vec<Cell>> = r
        .thresholds
        .iter()
        .map(|t| {
            vec![
                text(&t.metric),
                text(&t.expression),
                num(format_value(t.observed, &t.unit)),
                mark(t.passed, if t.passed { "pass" } else { "fail" }),
            ]
        })
        .collect();
    table(page, &["metric", "expression", "observed", "result"], &rows);
}

pub(super) fn comparison(page: &mut String, c: &Comparison) {
    heading(page, "baseline", "Baseline comparison");
    para(
        page,
        "muted",
        &format!(
            "Against {} baseline run(s): {}. Reference = the baselines' mean; allowance = tolerance × reference (at least the metric's noise floor), widened by the baselines' range.",
            c.baselines.len(),
            c.baselines.join(", ")
        ),
    );
    for w in &c.warnings {
        para(page, "bad", &format!("warning: {w}"));
    }
    let rows: Vec<Vec<Cell>> = c
        .rows
        .iter()
        .map(|row| {
            let verdict = match row.verdict {
                Verdict::Pass | Verdict::Improved => mark(true, row.verdict.label()),
                Verdict::Regressed => mark(false, row.verdict.label()),
                Verdict::Info | Verdict::NotMeasured => text(row.verdict.label()),
            };
            vec![
                text(row.name()),
                num(row.baseline_text()),
                num(row.current_text()),
                num(row.delta_text()),
                num(row.tolerance.to_string()),
                num(row.limit_text()),
                verdict,
            ]
        })
        .collect();
    table(
        page,
        &[
            "metric",
            "baseline",
            "current",
            "delta",
            "tolerance",
            "limit",
            "verdict",
        ],
        &rows,
    );
}

pub(super) fn ops(page: &mut String, r: &RunResult) {
    heading(page, "ops", "Operations (measured window)");
    if r.ops.is_empty() {
        para(page, "muted", "No ops were issued.");
    } else {
        let rows: Vec<Vec<Cell>> = r
            .ops
            .iter()
            .map(|o| {
                let l = &o.latency;
                let ns = |v: u64| {
                    if l.count == 0 {
                        "-".to_owned()
                    } else {
                        format_ns(v as f64)
                    }
                };
                vec![
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
                ]
            })
            .collect();
        table(
            page,
            &[
                "op",
                "count",
                "errors",
                "timeouts",
                "throughput",
                "p50",
                "p90",
                "p99",
                "p99.9",
                "max",
                "service p99",
            ],
            &rows,
        );
    }
    if !r.loads.is_empty() {
        let rows: Vec<Vec<Cell>> = r
            .loads
            .iter()
            .map(|l| {
                vec![
                    text(&l.name),
                    text(&l.op),
                    text(&l.executor),
                    num(opt_u64(l.scheduled)),
                    num(l.started.to_string()),
                    num(l.completed.to_string()),
                    num(l.errors.to_string()),
                    num(l.dropped_iterations.to_string()),
                    num(l.unfinished.to_string()),
                    num(l.max_in_flight.to_string()),
                ]
            })
            .collect();
        page.push_str("<p></p>\n");
        table(
            page,
            &[
                "load",
                "op",
                "executor",
                "scheduled",
                "started",
                "completed",
                "errors",
                "dropped",
                "unfinished",
                "max in flight",
            ],
            &rows,
        );
    }
}

pub(super) fn faults(page: &mut String, r: &RunResult) {
    heading(page, "faults", "Faults");
    if r.faults.is_empty() {
        para(page, "muted", "No faults were injected.");
        return;
    }
    let rows: Vec<Vec<Cell>> = r
        .faults
        .iter()
        .map(|f| {
            let recovery = match (&f.error, f.recovered, f.recovery_s) {
                (Some(e), _, _) => mark(false, format!("not injected: {e}")),
                (None, true, Some(s)) => mark(true, format!("recovered in {} s", fp(s, 2))),
                (None, true, None) => mark(true, "recovered"),
                (None, false, _) => mark(false, "not recovered"),
            };
            let window = |pick: fn(&crate::schema::FaultWindows) -> &crate::schema::WindowStats| {
                f.windows.as_ref().map_or_else(
                    || "-".to_owned(),
                    |w| {
                        let s = pick(w);
                        format!("{}/s, p99 {}", fp(s.throughput_per_s, 1), opt_ns(s.p99_ns))
                    },
                )
            };
            vec![
                text(&f.kind),
                text(&f.target),
                num(format!("{}–{} s", fp(f.start_s, 1), fp(f.end_s, 1))),
                num(f
                    .toxicity
                    .map_or_else(|| "-".to_owned(), |t| format!("{}%", fp(t * 100.0, 0)))),
                num(f.events_affected.to_string()),
                num(f.detected.map_or_else(|| "-".to_owned(), |d| d.to_string())),
                num(f.victims.len().to_string()),
                num(window(|w| &w.before)),
                num(window(|w| &w.during)),
                num(window(|w| &w.after)),
                recovery,
            ]
        })
        .collect();
    table(
        page,
        &[
            "kind", "target", "window", "toxicity", "events", "detected", "victims", "before",
            "during", "after", "recovery",
        ],
        &rows,
    );
}

pub(super) fn deadlocks_and_stalls(page: &mut String, r: &RunResult) {
    heading(page, "stalls", "Deadlocks and stalls");
    if r.deadlocks.is_empty() {
        para(page, "ok", "✓ No deadlocks detected.");
    } else {
        let rows: Vec<Vec<Cell>> = r
            .deadlocks
            .iter()
            .map(|d| {
                vec![
                    num(format!("{} s", fp(d.at_s, 2))),
                    text(d.cycle.join(" → ")),
                ]
            })
            .collect();
        table(page, &["detected at", "cycle"], &rows);
    }
    if r.stalls.is_empty() {
        para(page, "ok", "✓ No stalls detected.");
    } else {
        let rows: Vec<Vec<Cell>> = r
            .stalls
            .iter()
            .map(|s| {
                vec![
                    num(format!("{} s", fp(s.start_s, 2))),
                    num(format!("{} s", fp(s.duration_s, 2))),
                    num(s.in_flight.to_string()),
                    mark(
                        s.recovered,
                        if s.recovered {
                            "recovered"
                        } else {
                            "not recovered"
                        },
                    ),
                    text(&s.detail),
                ]
            })
            .collect();
        table(
            page,
            &["started", "lasted", "in flight", "recovered", "detail"],
            &rows,
        );
    }
}

pub(super) fn leaks(page: &mut String, r: &RunResult) {
    heading(page, "leaks", "Leak check");
    let l = &r.leaks;
    let rows = vec![
        vec![
            text("target shutdown"),
            mark(
                l.shutdown_clean,
                if l.shutdown_clean {
                    "clean"
                } else {
                    "not clean"
                },
            ),
        ],
        vec![
            text("alive tasks before → after"),
            mark(
                l.tasks_leaked <= 0,
                format!(
                    "{} → {} ({:+} leaked)",
                    l.tasks_before, l.tasks_after, l.tasks_leaked
                ),
            ),
        ],
        vec![
            text("RSS before → after"),
            num(format!(
                "{} → {}",
                opt_bytes(l.rss_before_bytes),
                opt_bytes(l.rss_after_bytes)
            )),
        ],
        vec![
            text("RSS growth over the measured window"),
            num(l.rss_growth_bytes_per_min.map_or_else(
                || "n/a (fewer than 3 samples)".to_owned(),
                |g| format!("{}/min", format_bytes(g)),
            )),
        ],
        vec![
            text("leak check"),
            mark(l.passed, if l.passed { "passed" } else { "failed" }),
        ],
    ];
    table(page, &["check", "result"], &rows);
}

pub(super) fn messages(page: &mut String, r: &RunResult) {
    heading(page, "messages", "Message accounting");
    let m = &r.messages;
    if !m.measured {
        para(page, "muted", "This target does not report message counts.");
        return;
    }
    para(
        page,
        "muted",
        "sent = delivered + dropped by policy + rejected + dead-lettered + queued + lost; lost is computed, never assumed.",
    );
    let lost_ok = m.lost == Some(0);
    let rows = vec![vec![
        num(opt_u64(m.sent)),
        num(opt_u64(m.delivered)),
        num(opt_u64(m.dropped)),
        num(opt_u64(m.rejected)),
        num(opt_u64(m.dead_lettered)),
        num(opt_u64(m.queued)),
        mark(
            lost_ok,
            m.lost.map_or_else(|| "n/a".to_owned(), |v| v.to_string()),
        ),
    ]];
    table(
        page,
        &[
            "sent",
            "delivered",
            "dropped",
            "rejected",
            "dead-lettered",
            "queued",
            "lost",
        ],
        &rows,
    );
}

pub(super) fn charts(page: &mut String, charts: &[RenderedChart]) {
    heading(page, "charts", "Charts");
    page.push_str("<nav class=\"charts\">");
    for c in charts {
        let _ = write!(
            page,
            "<a href=\"#chart-{}\">{}</a>",
            esc(&c.plot.name),
            esc(&c.plot.title)
        );
    }
    page.push_str("</nav>\n");
    for c in charts {
        let _ = writeln!(
            page,
            "<figure id=\"chart-{}\" class=\"chart\">",
            esc(&c.plot.name)
        );
        // plotters writes an XML prolog-free SVG with its text escaped.
        page.push_str(&c.svg);
        let mut caption = c.plot.title.clone();
        if !c.plot.bands.is_empty() {
            caption.push_str(" — shaded: ");
            let labels: Vec<&str> = c.plot.bands.iter().map(|b| b.label.as_str()).collect();
            caption.push_str(&labels.join(", "));
        }
        let _ = write!(
            page,
            "\n<figcaption>{}</figcaption>\n</figure>\n",
            esc(&caption)
        );
    }
}
