//! Scenarios: what to run, for how long, under which load, judged by which thresholds.
//!
//! A scenario is a TOML file (see `scenarios/README.md` for every field). [`load_file`]
//! and [`parse_str`] turn it into a validated [`Scenario`] or a [`ScenarioError`] that
//! names the file, line, column and field of every problem found. Parsing never panics.
//!
//! ```
//! use gauntlet_harness::scenario::parse_str;
//!
//! let toml = r#"
//!     name = "tiny"
//!     duration = "2s"
//!     [target]
//!     workload = "synthetic"
//!     [[load]]
//!     op = "call"
//!     executor = "constant-arrival-rate"
//!     rate = 100
//!     max_in_flight = 8
//!     [thresholds]
//!     "latency{op=call}" = ["p(99) < 50ms"]
//! "#;
//! let scenario = parse_str(toml, "tiny.toml").unwrap();
//! assert_eq!(scenario.loads[0].name, "call");
//!
//! let err = parse_str(&toml.replace("rate = 100", "rate = -5"), "tiny.toml").unwrap_err();
//! assert!(err.to_string().contains("tiny.toml:9:12: load[0].rate"));
//! ```

mod error;
mod fault;
pub mod limits;
mod location;
mod model;
mod parse;
mod raw;
pub mod suggest;
mod target;
mod validate;

pub use error::{Problem, ScenarioError};
pub use model::{
    EXECUTORS, Executor, Load, MailboxPolicy, RuntimeSettings, Scenario, Stage, TargetSpec,
    WatchdogSettings,
};
pub use parse::{Overrides, load_file, load_file_in, parse_in, parse_str, parse_with};
