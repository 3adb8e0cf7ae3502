//! Checking the workload's invariants during and at the end of a run.
//!
//! The target checks; this module asks it at the right moments, bounds every check in
//! time, and keeps per invariant how often it was checked and violated. An invariant
//! the target never reported stays at zero checks, which its threshold reads as not
//! measured (a failure), with the reason recorded.

use std::sync::Arc;
use std::time::Duration;

use gauntlet_reports::schema::InvariantRecord;

use crate::target::Target;
use crate::workload::{Checkpoint, Invariant, InvariantCheck};

/// Per-invariant tallies of one run.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    records: Vec<InvariantRecord>,
}

impl Tally {
    pub(crate) fn new(declared: &[Invariant]) -> Self {
        Self {
            records: declared
                .iter()
                .map(|i| InvariantRecord {
                    name: i.name.to_owned(),
                    description: i.description.to_owned(),
                    every_tick: i.every_tick,
                    checks: 0,
                    violations: 0,
                    first_violation_s: None,
                    message: None,
                    unchecked_reason: None,
                })
                .collect(),
        }
    }

    /// Whether any invariant is checked at every tick.
    pub(crate) fn per_tick(&self) -> bool {
        self.records.iter().any(|r| r.every_tick)
    }

    /// Records the outcome of one round of checks at `t_s`. A check for an invariant
    /// the workload did not declare is ignored (and logged): only declared invariants
    /// have thresholds.
    pub(crate) fn absorb(&mut self, checks: Vec<InvariantCheck>, t_s: f64) {
        for c in checks {
            let Some(r) = self.records.iter_mut().find(|r| r.name == c.name) else {
                tracing::warn!(invariant = %c.name, "the target checked an invariant its workload does not declare");
                continue;
            };
            r.checks += 1;
            if let Some(message) = c.violation {
                r.violations += 1;
                if r.first_violation_s.is_none() {
                    r.first_violation_s = Some(t_s);
                    r.message = Some(message);
                }
            }
        }
    }

    /// Notes why the invariants not checked at `at` were not.
    pub(crate) fn missed(&mut self, at: Checkpoint, reason: &str) {
        for r in &mut self.records {
            if (at == Checkpoint::End || r.every_tick) && r.unchecked_reason.is_none() {
                r.unchecked_reason = Some(reason.to_owned());
            }
        }
    }

    /// Marks declared invariants the target never reported.
    fn finish(&mut self) {
        for r in &mut self.records {
            if r.checks == 0 && r.unchecked_reason.is_none() {
                r.unchecked_reason = Some("the target never reported a check of it".to_owned());
            }
        }
    }

    pub(crate) fn records(mut self) -> Vec<InvariantRecord> {
        self.finish();
        self.records
    }

    /// The records as they stand (for mid-run snapshots).
    pub(crate) fn snapshot(&self) -> Vec<InvariantRecord> {
        self.records.clone()
    }
}

/// Runs the target's checks for `at` on the target runtime, within `limit`.
pub(crate) async fn check<T: Target>(
    target: &Arc<T>,
    runtime: &tokio::runtime::Handle,
    at: Checkpoint,
    limit: Duration,
) -> Result<Vec<InvariantCheck>, String> {
    let t = target.clone();
    match tokio::time::timeout(
        limit,
        runtime.spawn(async move { t.check_invariants(at).await }),
    )
    .await
    {
        Ok(Ok(checks)) => Ok(checks),
        Ok(Err(join)) => Err(format!("the check panicked: {join}")),
        Err(_) => Err(format!(
            "the check did not finish within {:.1}s",
            limit.as_secs_f64()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_counted_with_the_first_message() {
        let mut t = Tally::new(&[Invariant::every_tick("a", "A"), Invariant::at_end("b", "B")]);
        assert!(t.per_tick());
        t.absorb(vec![InvariantCheck::holds("a")], 1.0);
        t.absorb(vec![InvariantCheck::violated("a", "first")], 2.0);
        t.absorb(
            vec![
                InvariantCheck::violated("a", "second"),
                InvariantCheck::holds("b"),
                InvariantCheck::holds("undeclared"),
            ],
            3.0,
        );
        let r = t.records();
        assert_eq!((r[0].checks, r[0].violations), (3, 2));
        assert_eq!(r[0].first_violation_s, Some(2.0));
        assert_eq!(r[0].message.as_deref(), Some("first"));
        assert!(r[1].held());
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn an_invariant_never_checked_says_why() {
        let mut t = Tally::new(&[Invariant::at_end("a", "A")]);
        t.missed(Checkpoint::End, "the check did not finish within 1.0s");
        let r = t.records();
        assert!(!r[0].held());
        assert_eq!(
            r[0].unchecked_reason.as_deref(),
            Some("the check did not finish within 1.0s")
        );
        let r = Tally::new(&[Invariant::at_end("a", "A")]).records();
        assert_eq!(
            r[0].unchecked_reason.as_deref(),
            Some("the target never reported a check of it")
        );
    }
}
