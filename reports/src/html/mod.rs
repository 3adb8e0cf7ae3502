//! `report.html`: one self-contained page per run, for people.
//!
//! Everything is inline: the charts are inline SVG, the style sheet is in the page, no
//! script and no network request is needed to read it, so it can be attached to a CI
//! run, mailed or opened from disk years later. Every text that comes from the
//! results file (scenario names, fault targets, abort reasons, stall details) is
//! HTML-escaped.
//!
//! Sections, in order: verdict banner; run facts (scenario, seed, machine, duration);
//! thresholds with observed values; baseline comparison; per-op and per-load tables;
//! faults with recovery times; deadlocks and stalls; leak check; message accounting;
//! the charts.

mod actor_rows;
pub mod capacity;
mod sections;

use std::fmt::Write as _;

use crate::chart::{self, Plot, Size};
use crate::outcome::Outcome;

pub use sections::esc;

/// A chart as it goes into the page.
#[derive(Debug, Clone)]
pub struct RenderedChart {
    /// The plot it shows.
    pub plot: Plot,
    /// Its SVG document.
    pub svg: String,
}

/// Draws every chart of the run as SVG.
pub fn render_charts(outcome: &Outcome<'_>) -> Result<Vec<RenderedChart>, chart::ChartError> {
    chart::charts(outcome.result)
        .into_iter()
        .map(|plot| {
            let svg = chart::draw::svg(&plot, Size::default())?;
            Ok(RenderedChart { plot, svg })
        })
        .collect()
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
main { max-width: 1040px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.5rem; margin: 0; }
h2 { font-size: 1.15rem; margin: 28px 0 8px; border-bottom: 1px solid #d8dce3; padding-bottom: 4px; }
.banner { padding: 16px 24px; color: #fff; }
.banner.pass { background: #1f7a3a; }
.banner.fail { background: #b3261e; }
.banner ul { margin: 8px 0 0; padding-left: 20px; }
.banner .sub { opacity: .9; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: .9rem; }
th, td { border: 1px solid #d8dce3; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef0f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ok { color: #1f7a3a; font-weight: 600; }
.bad { color: #b3261e; font-weight: 600; }
.muted { color: #687080; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { color: #687080; }
dl.facts dd { margin: 0; }
figure { margin: 16px 0; background: #fff; border: 1px solid #d8dce3; padding: 8px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: .85rem; color: #687080; margin-top: 4px; }
nav.charts a { margin-right: 12px; }
code { font-size: .85rem; }
"#;

/// Starts a page: doctype, head with `title` (escaped here) and the style sheet,
/// `<body>`.
fn open_page(page: &mut String, title: &str) {
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(title)
    );
}

/// Renders the report page of `outcome` with its `charts` (see [`render_charts`]).
pub fn render(outcome: &Outcome<'_>, charts: &[RenderedChart]) -> String {
    let r = outcome.result;
    let mut page =
        String::with_capacity(64 * 1024 + charts.iter().map(|c| c.svg.len()).sum::<usize>());
    let passed = outcome.passed();
    open_page(
        &mut page,
        &format!(
            "{} — {} — gauntlet report",
            r.scenario.name,
            if passed { "PASS" } else { "FAIL" }
        ),
    );
    sections::banner(&mut page, outcome);
    page.push_str("<main>\n");
    sections::facts(&mut page, r);
    sections::thresholds(&mut page, r);
    if let Some(c) = outcome.comparison {
        sections::comparison(&mut page, c);
    }
    sections::ops(&mut page, r);
    sections::faults(&mut page, r);
    sections::deadlocks_and_stalls(&mut page, r);
    actor_rows::actors_at_detection(&mut page, r);
    sections::leaks(&mut page, r);
    sections::messages(&mut page, r);
    sections::durability(&mut page, r);
    sections::charts(&mut page, charts);
    let _ = write!(
        page,
        "<p class=\"muted\">Written by gauntlet {} from results.json (schema {}).</p>\n</main>\n</body>\n</html>\n",
        esc(&r.gauntlet_version),
        r.schema_version
    );
    page
}
