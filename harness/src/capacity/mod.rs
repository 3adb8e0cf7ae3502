//! Capacity sweeps: `gauntlet capacity SCENARIO` runs a scenario at increasing load
//! levels and answers "how much can one node take before the SLO breaks, and where
//! does adding concurrency stop paying?".
//!
//! **What a level is.** One load of the scenario is *swept* (`[capacity] load`, or
//! `--load`, default the first). Each level is a complete [`crate::run::run`] of the
//! scenario with that load held constant at the level: an arrival rate (ops/s) for an
//! open-loop load, a number of clients for a closed-loop one. The other loads run
//! unchanged beside it (they must be constant executors). Each level runs
//! `settle + step_duration`; the settle time is the run's warm-up, so it is measured
//! but left out of the level's figures and thresholds. Throughput thresholds are left
//! out of level runs: a sweep varies throughput on purpose.
//!
//! **When it stops.** At the first level that fails the scenario's thresholds or
//! invariants (the *breakpoint*; `levels_after_break` more levels may still run so
//! that the model sees past the knee), when throughput has not risen by `min_gain`
//! over the best so far for `patience` levels in a row (the *plateau*), when the next
//! level could not end before the sweep's `deadline` (a level can take at most
//! `settle + step_duration + grace + shutdown_timeout`, each bounded by the run's own
//! hard deadline), on Ctrl-C, or after the last level.
//!
//! **What it writes** (`--out DIR`, default `out/<name>-capacity`):
//! `levels/NN-LEVEL/results.json` per level (the ordinary results contract),
//! `capacity.json` ([`gauntlet_reports::capacity_schema`], rewritten after every
//! level so an interrupted sweep keeps what it measured) and `summary.md` (the
//! capacity section). The model and the statement come from
//! [`gauntlet_reports::capacity`]: a bounded least-squares USL fit over the levels
//! (concurrency: the clients of a closed loop, Little's law `X·R` for an open loop),
//! the best throughput within the SLO, and Little's law checked per level.
//!
//! **Repeats** (`[capacity] repeats`, `--repeats K`): after the first round has
//! decided where the sweep stops, K − 1 more rounds rerun the same levels, alternately
//! top-down and bottom-up, so drift hits every level alike; each level then has means
//! and 95% intervals, the fit uses every repeat and carries bootstrap intervals, and
//! each level says who limited it (target or load generator), its utilization-law
//! bound and the machine's noise (see [`gauntlet_reports::capacity`]).
//!
//! `gauntlet capacity --from FILES` does the analysis on runs made earlier (several
//! files of one level are its repeats).

pub mod cli;
pub mod from_results;
pub mod output;
pub mod plan;
pub mod spec;
pub mod sweep;

pub use cli::{CapacityArgs, command};
pub use spec::CapacitySpec;
