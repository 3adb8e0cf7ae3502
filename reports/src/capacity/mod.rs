//! Capacity planning: where does adding load stop paying?
//!
//! A capacity sweep (`gauntlet capacity`) runs a scenario at increasing load levels
//! and records each level's throughput, latency, errors and resources
//! ([`crate::capacity_schema`]). This module turns those levels into a model and a
//! plain statement:
//!
//! - [`model::UslModel`]: Gunther's Universal Scalability Law,
//!   `X(N) = λN / (1 + σ(N−1) + κN(N−1))`, with its peak `N* = floor(sqrt((1−σ)/κ))`,
//!   Amdahl's ceiling `λ/σ` when κ = 0, and the efficiency `X(N)/(N·λ)`.
//! - [`fit::fit`]: the model fitted to (concurrency, throughput) points by **bounded
//!   nonlinear least squares** (a Levenberg-Marquardt with σ, κ ∈ [0, 1] and λ > 0,
//!   started from Gunther's linearisation over a grid of λ values; see [`fit`] for
//!   the details and why it is not a crate), and typed refusals of inputs that cannot
//!   carry a model (too few points, flat or falling curves, bad values).
//! - [`little`]: Little's law, `N = X·R`, checked at each level.
//! - [`stats`]: repeated levels: mean, 95% confidence interval, unstable levels.
//! - [`uncertainty`]: bootstrap intervals of λ, σ, κ, `N*` and the peak.
//! - [`utilization`]: the operational laws beside the USL (service demand from the
//!   workers' busy time, the bottleneck bound `workers / D`).
//! - [`saturation`]: who limited each level, the target or the load generator.
//! - [`noise`]: other load on the machine while a level ran.
//! - [`statement`]: the sentence and the `summary.md` section a person reads, with
//!   the intervals and the caveats (extrapolated, weak fit, generator-limited, noisy).
//!
//! ```
//! use gauntlet_reports::capacity::fit::{fit, Point};
//! use gauntlet_reports::capacity::model::UslModel;
//!
//! let truth = UslModel { lambda: 1000.0, sigma: 0.05, kappa: 0.001 };
//! let points: Vec<Point> = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
//!     .iter()
//!     .map(|&n| Point { concurrency: n, throughput: truth.throughput(n) })
//!     .collect();
//! let fitted = fit(&points).unwrap();
//! assert!((fitted.model.sigma - 0.05).abs() < 1e-6);
//! assert_eq!(fitted.model.peak_concurrency(), Some(30));
//!
//! // Two points cannot carry three parameters: a typed error, not a guess.
//! assert!(fit(&points[..2]).is_err());
//! ```

pub mod analysis;
pub mod fit;
pub mod level;
pub mod little;
pub mod measured;
pub mod model;
pub mod noise;
pub mod saturation;
pub mod statement;
pub mod stats;
pub mod uncertainty;
pub mod utilization;
