//! A run's outcome: its own verdict (thresholds and invariants) together with its
//! baseline comparison, if it had one. Every report renders one of these, so the
//! banner, `summary.md`, `junit.xml` and the exit code agree.

use crate::compare::{Comparison, Row};
use crate::schema::RunResult;

/// A run and, optionally, how it compared with its baseline(s).
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    /// The run.
    pub result: &'a RunResult,
    /// Its comparison with baseline runs (`None`: not compared).
    pub comparison: Option<&'a Comparison>,
}

impl<'a> Outcome<'a> {
    /// A run without a baseline comparison.
    pub fn new(result: &'a RunResult) -> Self {
        Self {
            result,
            comparison: None,
        }
    }

    /// Passed: the run's own verdict passed and no metric regressed.
    pub fn passed(&self) -> bool {
        self.result.verdict.passed && !self.regressed()
    }

    /// Whether the baseline comparison found a regression.
    pub fn regressed(&self) -> bool {
        self.comparison.is_some_and(Comparison::regressed)
    }

    /// Every reason for failure: the run's, then each regression.
    pub fn reasons(&self) -> Vec<String> {
        let mut reasons = self.result.verdict.reasons.clone();
        if let Some(c) = self.comparison {
            reasons.extend(c.regressions().map(Row::regression_text));
        }
        reasons
    }
}
