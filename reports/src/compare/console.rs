//! The comparison as text: the console table `gauntlet compare` prints, and the cell
//! texts the Markdown and HTML tables share.

use std::fmt::Write as _;

use super::{Comparison, Row, Verdict};
use crate::units::format_value;

impl Row {
    /// The baseline cell: the reference, and with several baselines their range.
    pub fn baseline_text(&self) -> String {
        match (self.reference, self.baseline_range) {
            (Some(r), Some((lo, hi))) if hi > lo => format!(
                "{} ({}..{})",
                format_value(Some(r), self.unit),
                format_value(Some(lo), self.unit),
                format_value(Some(hi), self.unit)
            ),
            (r, _) => value_text(r, self.unit),
        }
    }

    /// The current value.
    pub fn current_text(&self) -> String {
        value_text(self.current, self.unit)
    }

    /// The relative change, signed (`+12.3%`), or `-` when there is none to show.
    pub fn delta_text(&self) -> String {
        self.delta
            .map_or_else(|| "-".to_owned(), |d| format!("{:+.1}%", d * 100.0))
    }

    /// The limit the current value had to meet, with its direction (`≤ 1.20ms`).
    pub fn limit_text(&self) -> String {
        match self.limit {
            None => "-".to_owned(),
            Some(l) => {
                let op = match super::Metric::from_key(self.metric).map(super::Metric::better) {
                    Some(super::Better::Higher) => "≥",
                    _ => "≤",
                };
                format!("{op} {}", format_value(Some(l), self.unit))
            }
        }
    }

    /// A one-line account of a regression, for verdict reasons.
    pub fn regression_text(&self) -> String {
        format!(
            "baseline: {} {} -> {} ({}, limit {})",
            self.name(),
            self.baseline_text(),
            self.current_text(),
            self.delta_text(),
            self.limit_text()
        )
    }
}

fn value_text(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format_value(Some(v), unit))
}

impl Comparison {
    /// The comparison as an aligned console table with a closing verdict line.
    pub fn console_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\n  BASELINE  {} run(s): {}",
            self.baselines.len(),
            self.baselines.join(", ")
        );
        for w in &self.warnings {
            let _ = writeln!(s, "  warning:  {w}");
        }
        let header = [
            "METRIC",
            "BASELINE",
            "CURRENT",
            "DELTA",
            "TOLERANCE",
            "LIMIT",
            "VERDICT",
        ];
        let cells: Vec<[String; 7]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.name(),
                    r.baseline_text(),
                    r.current_text(),
                    r.delta_text(),
                    r.tolerance.to_string(),
                    r.limit_text(),
                    mark(r.verdict),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |s: &mut String, row: &[String]| {
            let mut l = String::from(" ");
            for (i, (c, w)) in row.iter().zip(widths).enumerate() {
                let pad = w - c.chars().count();
                // Text left, numbers right.
                if i == 0 || i == 6 {
                    let _ = write!(l, " {c}{}", " ".repeat(pad));
                } else {
                    let _ = write!(l, " {}{c}", " ".repeat(pad));
                }
            }
            let _ = writeln!(s, "{}", l.trim_end());
        };
        line(&mut s, &header.map(str::to_owned));
        for row in &cells {
            line(&mut s, row);
        }
        let regressions: Vec<String> = self.regressions().map(Row::name).collect();
        if regressions.is_empty() {
            let _ = writeln!(s, "\n  COMPARISON ✓ no regression");
        } else {
            let _ = writeln!(
                s,
                "\n  COMPARISON ✗ {} regression(s): {}",
                regressions.len(),
                regressions.join(", ")
            );
        }
        s
    }
}

fn mark(v: Verdict) -> String {
    match v {
        Verdict::Pass => "✓ ok".to_owned(),
        Verdict::Regressed => "✗ REGRESSED".to_owned(),
        other => other.label().to_owned(),
    }
}
