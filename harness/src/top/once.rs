//! `gauntlet top --once ADDR`: one plain-text table on stdout, for scripts and CI logs.

use std::io::{self, Write};

use super::columns::{TITLES, cells, numeric, summary, waits};
use crate::metrics::actors::ActorsPage;

/// Writes `page` as plain text: the summary lines, an aligned table of its rows (in
/// the page's order) and the wait-for graph.
pub fn write(page: &ActorsPage, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "gauntlet top: {} (sort {})", page.scenario, page.sort)?;
    for line in summary(page) {
        writeln!(out, "{line}")?;
    }
    let rows: Vec<[String; 10]> = page.actors.iter().map(cells).collect();
    let mut widths: Vec<usize> = TITLES.iter().map(|t| t.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| -> String {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = w.saturating_sub(cell.chars().count());
            if numeric(i) {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            }
        }
        text.trim_end().to_owned()
    };
    writeln!(out)?;
    writeln!(out, "{}", line(&TITLES))?;
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells))?;
    }
    let edges = waits(page);
    if !edges.is_empty() {
        writeln!(out, "\nwaiting (ask):")?;
        for e in edges {
            writeln!(out, "  {e}")?;
        }
    }
    Ok(())
}
