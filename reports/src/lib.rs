//! Gauntlet reports: the results schema and the tools that read it.
//!
//! `reports` is pure: no tokio, no clock. It reads a `results.json` written by
//! `gauntlet run` on any machine. [`schema`] holds the types of that file;
//! [`histogram`] the portable encoding of latency histograms inside it.
//! [`capacity_schema`] holds the types of `capacity.json` (a `gauntlet capacity`
//! sweep) and [`capacity`] the Universal Scalability Law fit, Little's law check and
//! statement drawn from it.
//!
//! From a [`RunResult`] it makes what people and CI read: [`chart`] (plots as SVG and
//! PNG, fault windows shaded), [`html`] (the self-contained `report.html`),
//! [`markdown`] (`summary.md`), [`junit`] (`junit.xml`), [`bundle`] (all of them
//! written to a directory), [`compare`] (baseline comparison with tolerances) and
//! [`suite`] (the combined reports of several runs). [`outcome::Outcome`] pairs a run
//! with its comparison so that every report gives the same verdict. [`table`] is the
//! one table model behind the console, Markdown, HTML and JUnit tables.
//!
//! ```
//! use gauntlet_reports::schema::{RunResult, SCHEMA_VERSION};
//!
//! // A file from a future schema version is refused rather than misread.
//! let err = RunResult::from_json(r#"{"schema_version": 999}"#).unwrap_err();
//! assert!(err.to_string().contains("999"));
//! assert_eq!(SCHEMA_VERSION, 1);
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
// No panic is reachable from input: `unwrap`, `expect` and `panic!` outside tests need
// an `#[allow(.., reason = "..")]` that says why they cannot fire.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bundle;
pub mod capacity;
pub mod capacity_schema;
pub mod chart;
pub mod compare;
pub mod histogram;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod outcome;
pub mod path_name;
pub mod schema;
pub mod shard;
pub mod suite;
pub mod table;
pub mod units;

pub use histogram::EncodedHistogram;
pub use schema::{RunResult, SCHEMA_VERSION};
