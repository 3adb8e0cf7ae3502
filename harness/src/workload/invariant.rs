//! Invariants: the rules of a workload's own system, checked by the harness.
//!
//! A workload declares its invariants ([`Invariant`]); its target checks them
//! ([`Target::check_invariants`](crate::target::Target::check_invariants)) when the
//! harness asks: at the end of the run, when the target is quiescent (loads stopped,
//! nothing in flight), and also at every tick for those declared `every_tick`.
//!
//! Each declared invariant becomes the threshold `invariant{name=NAME}` with
//! `count == 0` (`count` is the number of checks that found it violated): a verdict
//! line in results.json, the console, report.html, summary.md and junit.xml, with the
//! target's own message when it fails. An invariant that the target never reported
//! is *not measured*, which fails the threshold: a checker that does not run proves
//! nothing. A scenario can tighten or restate the threshold in `[thresholds]`, or
//! waive it with an empty list: `"invariant{name=NAME}" = []`.

/// A rule of the system under test, declared by its workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invariant {
    /// Short name, used in `invariant{name=NAME}` (letters, digits, `-`, `_`, `.`).
    pub name: &'static str,
    /// What it says, for reports (`total money is conserved`).
    pub description: &'static str,
    /// Checked at every tick too (it must then hold while the load runs), not only at
    /// the end.
    pub every_tick: bool,
}

impl Invariant {
    /// An invariant checked at the end of the run.
    pub const fn at_end(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            every_tick: false,
        }
    }

    /// An invariant checked at every tick and at the end.
    pub const fn every_tick(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            every_tick: true,
        }
    }
}

/// When an invariant is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// During the run, at a tick: ops are in flight. Check only the invariants declared
    /// `every_tick`.
    Tick,
    /// At the end: loads stopped, every op finished or timed out, nothing injected,
    /// before shutdown. Check every invariant.
    End,
}

/// The outcome of checking one invariant once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantCheck {
    /// The invariant's name, as declared.
    pub name: String,
    /// `None` when it held; otherwise what was wrong, in the system's own terms
    /// (`total 999,950 != 1,000,000: 50 missing`).
    pub violation: Option<String>,
}

impl InvariantCheck {
    /// The invariant held.
    pub fn holds(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            violation: None,
        }
    }

    /// The invariant was violated, with a message saying how.
    pub fn violated(name: &str, message: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            violation: Some(message.into()),
        }
    }

    /// Holds when `ok`, otherwise violated with the message `why()` makes.
    pub fn check(name: &str, ok: bool, why: impl FnOnce() -> String) -> Self {
        if ok {
            Self::holds(name)
        } else {
            Self::violated(name, why())
        }
    }
}

/// Whether `name` is a valid invariant name.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
