//! Gauntlet harness: scenarios -> load + probes -> results.
//!
//! [`scenario`] parses and validates scenario files; [`run::run`] builds the target on
//! its own tokio runtime, drives the scenario's loads ([`load`]), samples the
//! [`probe`]s every tick, watches for stalls ([`watchdog`]) and enforces a hard
//! deadline, then shuts the target down, checks for leaks and evaluates the
//! [`threshold`]s into a [`RunResult`](gauntlet_reports::RunResult). [`summary`]
//! renders the end-of-run console summary; [`metrics`] exports every tick to Prometheus
//! while the run goes on. [`shard`] splits a run over several processes and judges
//! their merged results. The `gauntlet` binary is a thin CLI on top.
//!
//! ```
//! use gauntlet_harness::run::{run, RunOptions};
//! use gauntlet_harness::scenario::parse_str;
//!
//! let scenario = parse_str(r#"
//!     name = "doc"
//!     duration = "300ms"
//!     tick = "100ms"
//!     [target]
//!     workload = "synthetic"
//!     [[load]]
//!     op = "call"
//!     executor = "constant-arrival-rate"
//!     rate = 200
//!     max_in_flight = 4
//!     [thresholds]
//!     "errors{op=call}" = ["count == 0"]
//! "#, "doc.toml").unwrap();
//! let result = run(&scenario, &RunOptions::default()).unwrap();
//! assert!(result.verdict.passed, "{:?}", result.verdict.reasons);
//! assert!(result.ops[0].count > 0);
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
// No panic is reachable from input: `unwrap`, `expect` and `panic!` outside tests need
// an `#[allow(.., reason = "..")]` that says why they cannot fire.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod capacity;
pub mod child;
pub mod cli;
pub mod durability;
pub mod faults;
pub mod gate;
pub mod input;
pub mod load;
pub mod metrics;
pub mod probe;
pub mod proc_cpu;
pub mod progress;
pub mod run;
pub mod scenario;
pub mod shard;
pub mod summary;
pub mod target;
pub mod threshold;
pub mod top;
pub mod units;
pub mod watchdog;
pub mod workload;
