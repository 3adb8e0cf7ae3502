//! The sections of the report page. Every value from the results goes through
//! [`esc`] (or is a number formatted here).

use std::borrow::Cow;
use std::fmt::Write as _;

use super::RenderedChart;
use crate::compare::{Comparison, Verdict};
use crate::outcome::Outcome;
use crate::schema::{RunResult, RunStatus};
use crate::units::{format_bytes, format_plain as fp};

/// HTML-escapes text for element content and double-quoted attributes.
pub fn esc(text: &str) -> Cow<'_, str> {
    html_escape::encode_quoted_attribute(text)
}

pub(super) use crate::table::{Cell, mark, num, text};

/// Writes a table of `headers` and `rows` (the HTML renderer of [`crate::table`]).
pub(super) fn table(page: &mut String, headers: &[&str], rows: &[Vec<Cell>]) {
    let columns: Vec<(&str, crate::table::Align)> = headers
        .iter()
        .map(|h| (*h, crate::table::Align::Left))
        .collect();
    let mut t = crate::table::Table::new(&columns);
    t.rows = rows.to_vec();
    put(page, &t);
}

/// Writes `t` (the HTML renderer of [`crate::table`]).
pub(super) fn put(page: &mut String, t: &crate::table::Table) {
    page.push_str(&crate::table::html::render(t));
}

pub(super) fn heading(page: &mut String, id: &str, title: &str) {
    let _ = writeln!(page, "<h2 id=\"{id}\">{}</h2>", esc(title));
}

pub(super) fn para(page: &mut String, class: &str, body: &str) {
    let _ = writeln!(page, "<p class=\"{class}\">{}</p>", esc(body));
}

pub(super) fn opt_bytes(v: Option<u64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format_bytes(v as f64))
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
        ("limit", {
            let (label, e) = crate::capacity::saturation::classify(r);
            format!("{}: {}", label.label(), e.reason)
        }),
        (
            "machine noise",
            crate::capacity::noise::of_run(r).map_or_else(
                || "not measured".to_owned(),
                |n| {
                    format!(
                        "{}{}",
                        crate::capacity::noise::describe(&n),
                        if n.noisy { " (noisy)" } else { "" }
                    )
                },
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
    put(page, &crate::table::run::thresholds(r));
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
        put(page, &crate::table::run::ops(r));
    }
    if !r.loads.is_empty() {
        page.push_str("<p></p>\n");
        put(page, &crate::table::run::loads(r));
    }
}

pub(super) fn faults(page: &mut String, r: &RunResult) {
    heading(page, "faults", "Faults");
    if r.faults.is_empty() {
        para(page, "muted", "No faults were injected.");
        return;
    }
    put(page, &crate::table::run::faults(r));
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
    let Some(t) = crate::table::run::messages(&r.messages) else {
        para(page, "muted", "This target does not report message counts.");
        return;
    };
    para(
        page,
        "muted",
        "sent = delivered + dropped by policy + rejected + dead-lettered + queued + lost; lost is computed, never assumed.",
    );
    put(page, &t);
}

pub(super) fn durability(page: &mut String, r: &RunResult) {
    let Some(t) = crate::table::run::durability(r.durability.as_ref()) else {
        return;
    };
    heading(page, "durability", "Durability");
    para(
        page,
        "muted",
        "Every write the target acknowledged, read back through the restarted target after every restart of its process and at the end: durable writes must all be found; written-behind ones may be lost in a kill, at most the bound old.",
    );
    put(page, &t);
    if let Some(t) = crate::table::run::lost_writes(r.durability.as_ref(), usize::MAX) {
        put(page, &t);
    }
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
