//! The durability checker: what the target acknowledged, held against what a
//! restarted target still has.
//!
//! A target process killed with SIGKILL (`kill-process`) gets no chance to flush: what
//! survives is what it committed. The checker records every write the target
//! acknowledged and, after every restart of its process and at the end of the run,
//! reads those keys back *through the target* (its own read path, on the reopened
//! state) and counts what is missing or older:
//!
//! - **Durable** writes ([`Ack::Durable`]: a key, the value and the version the reply
//!   carried) were committed before they were acknowledged. A read-back that finds the
//!   key at a lower version with a different value, or cannot read it, counts the
//!   write as lost: `durability.lost_acknowledged`, which must be 0. (The same value
//!   at a lower version is not a loss: a write that changed nothing is acknowledged
//!   with the version in memory, which may count written-behind changes a kill lost.)
//! - **Written-behind** writes ([`Ack::WriteBehind`]: a key and the write's time) were
//!   acknowledged before they were written, and a kill may lose them. A read-back after
//!   a restart that finds the key last changed before such a write counts it lost:
//!   `durability.write_behind_lost`. What is bounded is how old the oldest lost one
//!   was when the process went down: at most the target's documented bound
//!   ([`Stored::bound_ms`]; smart-home: two flush intervals plus
//!   `WRITE_BEHIND_SLACK`), the invariant `durability.write_behind_bounded`.
//!
//! **How acknowledgements travel.** An op that a workload acknowledges as a write calls
//! [`acknowledge`] while it runs; in a target child each op runs inside [`collect`],
//! which gathers them, and they go back on the op's `Done` frame. The harness records
//! them only for ops it counts as succeeded (an op whose reply was lost in a kill is an
//! `Unavailable` error, and its write is not held against the target). Outside a
//! target child nothing is collected and [`tracking`] is false: an op costs one
//! task-local lookup, no allocation.
//!
//! **When it reads back.** After every restart of the target's process, before the new
//! incarnation takes any op (so it reads what the reopened state holds, not what new
//! ops wrote), and at the end of the run, before shutdown (durable writes only: the
//! live target still holds what it wrote behind). Each read-back is one check of each
//! invariant; a scenario with `kill-process` or `restart-process` gets both invariants
//! with `count == 0` unless it states its own thresholds
//! (`"invariant{name=durability.lost_acknowledged}"`).
//!
//! **Message accounting** across incarnations is not the checker's: results.json's
//! `messages` sums every child, with what a killed child still held counted as
//! `lost_in_kill` ([`crate::child::accounts`] keeps each incarnation's figures).

mod ledger;

use std::cell::RefCell;
use std::future::Future;

use serde::{Deserialize, Serialize};

pub use ledger::Ledger;

use crate::faults::kinds::Kind;
use crate::workload::Invariant;

/// The invariant: no acknowledged durable write lost.
pub const LOST_ACKNOWLEDGED: &str = "durability.lost_acknowledged";
/// The invariant: written-behind writes lost only within the target's bound.
pub const WRITE_BEHIND_BOUNDED: &str = "durability.write_behind_bounded";

/// The durability invariants, for a scenario with faults of these kinds: both when
/// one of them restarts the target's process on its state
/// ([`Facts::restarts_process`](crate::faults::vocabulary::Facts::restarts_process)),
/// none otherwise.
pub fn invariants_for(fault_kinds: impl IntoIterator<Item = Kind>) -> Vec<Invariant> {
    if !fault_kinds.into_iter().any(|k| k.facts().restarts_process) {
        return Vec::new();
    }
    vec![
        Invariant::at_end(
            LOST_ACKNOWLEDGED,
            "every write acknowledged as durable is read back, after every restart and at the end, at its version or newer",
        ),
        Invariant::at_end(
            WRITE_BEHIND_BOUNDED,
            "written-behind writes lost in a kill were at most the target's documented bound old",
        ),
    ]
}

/// Whether `scenario` runs the durability checker: its faults restart the target's
/// process.
pub fn checked(scenario: &crate::scenario::Scenario) -> bool {
    !invariants_for(scenario.faults.iter().map(|f| f.kind())).is_empty()
}

/// The invariants a run of `scenario` checks: its workload's, and the durability
/// checker's when its faults restart the target's process.
pub fn declared(scenario: &crate::scenario::Scenario) -> Vec<Invariant> {
    let mut all = scenario.target.info().invariants.clone();
    all.extend(invariants_for(scenario.faults.iter().map(|f| f.kind())));
    all
}

/// A write the target acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ack {
    /// Committed before the reply: must survive any kill.
    Durable {
        /// What was written (`device-17`): a key [`crate::target::Target::read_back`]
        /// understands.
        key: String,
        /// The value, as shown in reports (`target=21`).
        value: String,
        /// The version the reply carried.
        version: u64,
    },
    /// Acknowledged before it was written (write-behind): a kill may lose it, within
    /// the target's bound.
    WriteBehind {
        /// What was written.
        key: String,
        /// When, in milliseconds since the Unix epoch, on the target's clock (the
        /// same clock [`Stored::changed_at_ms`] is read on).
        at_ms: u64,
    },
}

/// A key as a read-back found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// Its version.
    pub version: u64,
    /// Its value, as shown in reports.
    pub value: Option<String>,
    /// When it last changed, milliseconds since the Unix epoch.
    pub changed_at_ms: Option<u64>,
    /// The target's bound on how old a lost written-behind write may be when the
    /// process goes down, in milliseconds.
    pub bound_ms: Option<u64>,
}

tokio::task_local! {
    static ACKS: RefCell<Vec<Ack>>;
}

/// Records that the op now running acknowledged `ack` (a no-op outside [`collect`]).
pub fn acknowledge(ack: Ack) {
    let _ = ACKS.try_with(|a| a.borrow_mut().push(ack));
}

/// Whether acknowledgements are being collected for the op now running: build an
/// [`Ack`] only then.
pub fn tracking() -> bool {
    ACKS.try_with(|_| ()).is_ok()
}

/// Runs `op`, collecting what it [`acknowledge`]s.
pub async fn collect<F: Future>(op: F) -> (F::Output, Vec<Ack>) {
    ACKS.scope(RefCell::new(Vec::new()), async move {
        let out = op.await;
        let acks = ACKS.try_with(|a| a.take()).unwrap_or_default();
        (out, acks)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn acknowledgements_are_collected_only_inside_collect() {
        acknowledge(Ack::WriteBehind {
            key: "k".into(),
            at_ms: 1,
        });
        assert!(!tracking());
        let (out, acks) = collect(async {
            assert!(tracking());
            acknowledge(Ack::Durable {
                key: "k".into(),
                value: "v".into(),
                version: 3,
            });
            7
        })
        .await;
        assert_eq!(out, 7);
        assert_eq!(acks.len(), 1);
    }

    #[test]
    fn only_restarting_faults_bring_the_invariants() {
        assert!(invariants_for([Kind::Crash, Kind::PauseProcess]).is_empty());
        assert_eq!(invariants_for([Kind::RestartProcess]).len(), 2);
        let names: Vec<&str> = invariants_for([Kind::Crash, Kind::KillProcess])
            .iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, [LOST_ACKNOWLEDGED, WRITE_BEHIND_BOUNDED]);
    }
}
