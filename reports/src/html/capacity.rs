//! `capacity.html`: the page of one capacity sweep, self-contained like `report.html`
//! (same shell and style sheet, inline SVG, no script, every text from the file
//! escaped).
//!
//! Sections, in order: the statement; the SLO; the levels; the USL model; Little's
//! law; why the sweep stopped; the three capacity charts.

use std::fmt::Write as _;

use super::sections::{self, esc, heading, para, put};
use super::{RenderedChart, open_page};
use crate::capacity::statement::rate;
use crate::capacity_schema::CapacityResult;
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
        ("repeats", repeats(r).to_string()),
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

fn levels(page: &mut String, r: &CapacityResult) {
    heading(page, "levels", "Levels");
    if r.levels.is_empty() {
        para(page, "muted", "No level was run.");
        return;
    }
    let repeats = repeats(r);
    para(
        page,
        "muted",
        &format!(
            "Each level measured {repeats} time(s){}; throughput and p99 are means over the repeats with 95% confidence intervals (⚠ unstable: the repeats' throughput varies by more than 10%). Saturated says who limited the level: the target, the load generator (then the figures are a lower bound of the target's), or neither. U bound: the utilization law's X / U from the target workers' busy time.",
            if repeats > 1 {
                ", the repeats interleaved across the levels"
            } else {
                ""
            }
        ),
    );
    put(page, &crate::table::capacity::levels(r));
}

fn model(page: &mut String, r: &CapacityResult) {
    heading(page, "model", "USL model");
    let Some(f) = &r.fit else {
        let why = r.fit_error.as_deref().unwrap_or("no fit recorded");
        para(page, "bad", &format!("No USL model: {why}"));
        return;
    };
    put(page, &crate::table::capacity::model(f));
    let mut notes = vec![format!("Method: {}.", f.method)];
    if let Some(u) = &f.uncertainty {
        notes.push(format!(
            "Intervals: {} (seed {}; {} of {} resamples could not be fitted).",
            u.method, u.seed, u.failed, u.resamples
        ));
    }
    if let Some(b) = &r.bounds {
        notes.push(format!(
            "Utilization law: the {}' busy time bounds throughput at {} ops/s (level {}); {}.",
            b.resource,
            rate(b.utilization_bound_per_s),
            b.level,
            match (b.usl_peak_per_s, b.usl_exceeds_bound) {
                (Some(p), true) => format!(
                    "the USL's {} ops/s exceeds it: the utilization bound is the tighter",
                    rate(p)
                ),
                (Some(p), false) => format!("the USL's {} ops/s is the tighter bound", rate(p)),
                (None, _) => "no USL peak to compare".to_owned(),
            }
        ));
    }
    for n in notes {
        para(page, "muted", &n);
    }
    put(page, &crate::table::capacity::curve(f));
}

fn little(page: &mut String, r: &CapacityResult) {
    heading(page, "little", "Little's law (N = X·R)");
    let t = crate::table::capacity::little(r);
    if t.is_empty() {
        para(page, "muted", "No level completed an op: nothing to check.");
        return;
    }
    put(page, &t);
}

/// Times each level was measured: the sweep's setting, or the most repeats a level
/// has (`--from`).
fn repeats(r: &CapacityResult) -> usize {
    r.sweep.as_ref().map_or_else(
        || {
            r.levels
                .iter()
                .map(|l| l.repeats.len())
                .max()
                .unwrap_or(1)
                .max(1)
        },
        |s| s.repeats as usize,
    )
}
