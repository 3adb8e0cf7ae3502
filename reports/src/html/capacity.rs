//! `capacity.html`: the page of one capacity sweep, self-contained like `report.html`
//! (same shell and style sheet, inline SVG, no script, every text from the file
//! escaped).
//!
//! Sections, in order: the statement; the SLO; the levels; the USL model; Little's
//! law; why the sweep stopped; the three capacity charts.

use std::fmt::Write as _;

use super::sections::{self, Cell, esc, heading, mark, num, para, table};
use super::{RenderedChart, open_page};
use crate::capacity::statement::{coefficient, duration, number, rate};
use crate::capacity_schema::{CapacityResult, Level};
use crate::chart::{self, Size};

/// Draws the capacity charts ([`chart::capacity::charts`]) as SVG.
pub fn render_charts(r: &CapacityResult) -> Result<Vec<RenderedChart>, chart::ChartError> {
    chart::capacity::charts(r)
        .into_iter()
        .map(|plot| {
            let svg = chart::draw::svg(&plot, Size::default())?;
            Ok(RenderedChart { plot, svg })
        })
        .collect()
}

/// Renders `capacity.html` for `r` with its `charts` (see [`render_charts`]).
pub fn render(r: &CapacityResult, charts: &[RenderedChart]) -> String {
    let mut page =
        String::with_capacity(32 * 1024 + charts.iter().map(|c| c.svg.len()).sum::<usize>());
    open_page(
        &mut page,
        &format!("{} — capacity — gauntlet report", r.scenario.name),
    );
    let class = if r.max_within_slo.is_some() {
        "pass"
    } else {
        "fail"
    };
    let _ = write!(
        page,
        "<div class=\"banner {class}\"><h1>Capacity: {}</h1>\n<div class=\"sub\">{}</div></div>\n<main>\n",
        esc(&r.scenario.name),
        esc(&r.statement)
    );
    facts(&mut page, r);
    levels(&mut page, r);
    model(&mut page, r);
    little(&mut page, r);
    heading(&mut page, "stop", "Why the sweep stopped");
    para(&mut page, "", &r.stop.detail);
    sections::charts(&mut page, charts);
    let _ = write!(
        page,
        "<p class=\"muted\">Written by gauntlet {} from capacity.json (schema {}).</p>\n</main>\n</body>\n</html>\n",
        esc(&r.gauntlet_version),
        r.schema_version
    );
    page
}

fn facts(page: &mut String, r: &CapacityResult) {
    heading(page, "sweep", "Sweep and SLO");
    let slo = if r.slo.summary.is_empty() {
        "no latency objective".to_owned()
    } else {
        r.slo.summary.clone()
    };
    let rows = [
        (
            "scenario",
            format!("{} ({})", r.scenario.name, r.scenario.file),
        ),
        (
            "swept",
            format!(
                "load `{}` (op `{}`), levels in {}",
                r.load,
                r.op,
                r.variable.unit()
            ),
        ),
        ("levels", r.levels.len().to_string()),
        ("SLO", slo),
    ];
    page.push_str("<dl class=\"facts\">\n");
    for (k, v) in rows {
        let _ = writeln!(page, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    page.push_str("</dl>\n");
    if !r.slo.thresholds.is_empty() {
        page.push_str("<ul>\n");
        for t in &r.slo.thresholds {
            let _ = writeln!(page, "<li><code>{}</code></li>", esc(t));
        }
        page.push_str("</ul>\n");
    }
}

/// The worst value of a latency figure over a level's ops.
fn worst(l: &Level, pick: fn(&crate::schema::LatencySummary) -> u64) -> String {
    l.ops
        .iter()
        .map(|o| pick(&o.latency))
        .max()
        .map_or_else(|| "-".to_owned(), |v| duration(v as f64))
}

fn levels(page: &mut String, r: &CapacityResult) {
    heading(page, "levels", "Levels");
    if r.levels.is_empty() {
        para(page, "muted", "No level was run.");
        return;
    }
    let offered = format!("offered ({})", r.variable.unit());
    let headers = [
        "level",
        offered.as_str(),
        "throughput (ops/s)",
        "N",
        "p50",
        "p99",
        "max",
        "errors",
        "dropped",
        "RSS max",
        "tasks max",
        "SLO",
    ];
    let rows: Vec<Vec<Cell>> = r
        .levels
        .iter()
        .map(|l| {
            vec![
                num(l.index.to_string()),
                num(number(l.offered)),
                num(number(l.throughput_per_s)),
                num(l.concurrency.map_or_else(|| "-".to_owned(), number)),
                num(worst(l, |s| s.p50_ns)),
                num(worst(l, |s| s.p99_ns)),
                num(worst(l, |s| s.max_ns)),
                num(l.errors.to_string()),
                num(l.dropped_iterations.to_string()),
                num(sections::opt_bytes(l.rss_max_bytes)),
                num(sections::opt_u64(l.alive_tasks_max)),
                if l.passed {
                    mark(true, "pass")
                } else {
                    mark(false, l.failures.join("; "))
                },
            ]
        })
        .collect();
    table(page, &headers, &rows);
}

fn model(page: &mut String, r: &CapacityResult) {
    heading(page, "model", "USL model");
    let Some(f) = &r.fit else {
        let why = r.fit_error.as_deref().unwrap_or("no fit recorded");
        para(page, "bad", &format!("No USL model: {why}"));
        return;
    };
    let mut rows = vec![
        ("λ (one client)", format!("{} ops/s", rate(f.lambda))),
        ("σ (contention)", coefficient(f.sigma)),
        ("κ (coherency)", coefficient(f.kappa)),
        ("R²", format!("{:.4} over {} levels", f.r_squared, f.points)),
    ];
    if let (Some(n), Some(x)) = (f.peak_concurrency, f.peak_throughput_per_s) {
        rows.push(("peak N*", n.to_string()));
        rows.push(("X(N*)", format!("{} ops/s", rate(x))));
    } else {
        rows.push(("peak N*", "none (κ = 0)".to_owned()));
    }
    if let Some(c) = f.amdahl_ceiling_per_s {
        rows.push(("Amdahl ceiling λ/σ", format!("{} ops/s", rate(c))));
    }
    page.push_str("<dl class=\"facts\">\n");
    for (k, v) in rows {
        let _ = writeln!(page, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    page.push_str("</dl>\n");
    para(page, "muted", &format!("Method: {}.", f.method));
    let rows: Vec<Vec<Cell>> = f
        .curve
        .iter()
        .map(|p| {
            vec![
                num(number(p.concurrency)),
                num(number(p.measured_per_s)),
                num(number(p.predicted_per_s)),
                num(crate::units::format_plain(p.efficiency, 3)),
                num(crate::units::format_plain(p.measured_efficiency, 3)),
            ]
        })
        .collect();
    table(
        page,
        &[
            "N",
            "measured (ops/s)",
            "model (ops/s)",
            "efficiency, model",
            "efficiency, measured",
        ],
        &rows,
    );
}

fn little(page: &mut String, r: &CapacityResult) {
    heading(page, "little", "Little's law (N = X·R)");
    let rows: Vec<Vec<Cell>> = r
        .levels
        .iter()
        .filter_map(|l| {
            let c = l.little?;
            Some(vec![
                num(l.index.to_string()),
                num(number(c.concurrency)),
                num(number(c.implied)),
                num(crate::units::format_plain(c.ratio, 2)),
                if c.holds {
                    mark(true, "holds")
                } else {
                    mark(false, "does not hold: the level is not one steady state")
                },
            ])
        })
        .collect();
    if rows.is_empty() {
        para(page, "muted", "No level completed an op: nothing to check.");
        return;
    }
    table(page, &["level", "N", "X·R", "ratio", "check"], &rows);
}
