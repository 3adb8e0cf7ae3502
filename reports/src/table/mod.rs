//! One table model for every output: a [`Table`] is built once from the results
//! (by [`run`] for a run's tables, [`capacity`] for a sweep's) and written by a
//! renderer per format: [`console`] (aligned text for the terminal), [`markdown`]
//! (GitHub-flavoured, escaped), [`html`] (escaped, classed cells) and [`junit`]
//! (each checked row a test case). As the charts are one `Plot` with an SVG and a
//! PNG renderer, a table's columns and figures are decided in one place, so the
//! formats cannot drift apart.
//!
//! ```
//! use gauntlet_reports::table::{Align, Table, mark, num, text};
//!
//! let mut t = Table::new(&[("op", Align::Left), ("count", Align::Right), ("", Align::Left)]);
//! t.push(vec![text("ask"), num("8000"), mark(true, "ok")]);
//! assert_eq!(
//!     gauntlet_reports::table::markdown::render(&t),
//!     "| op | count |  |\n|---|---:|---|\n| ask | 8000 | ✅ ok |\n"
//! );
//! assert!(gauntlet_reports::table::html::render(&t).contains("<td class=\"num\">8000</td>"));
//! ```

pub mod capacity;
pub mod console;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod run;

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text: left.
    Left,
    /// Numbers and measurements: right.
    Right,
}

/// A column: its title and alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header text.
    pub title: String,
    /// How its cells line up.
    pub align: Align,
}

/// What a cell holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text (left-aligned by default).
    Text(String),
    /// A number or measurement (right-aligned by default).
    Num(String),
    /// A check: passed (`true`) or failed, with a label (may be empty).
    Mark(bool, String),
}

impl Cell {
    /// The cell's text without its mark.
    pub fn text(&self) -> &str {
        match self {
            Self::Text(t) | Self::Num(t) | Self::Mark(_, t) => t,
        }
    }
}

/// A text cell.
pub fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// A number cell.
pub fn num(s: impl Into<String>) -> Cell {
    Cell::Num(s.into())
}

/// A check cell.
pub fn mark(ok: bool, label: impl Into<String>) -> Cell {
    Cell::Mark(ok, label.into())
}

/// A table: columns and rows of cells (a row shorter than the columns is padded with
/// empty cells by the renderers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these columns and no rows.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            columns: columns
                .iter()
                .map(|(title, align)| Column {
                    title: (*title).to_owned(),
                    align: *align,
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
