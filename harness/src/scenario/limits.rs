//! The documented limits of scenario values, in one place: validation enforces them
//! where each value is parsed, `[capacity]` checks its levels against them, and each
//! message states the limit it broke. `scenarios/README.md` lists the same numbers.

use std::time::Duration;

/// Threads of the target runtime and of the load generator: `1..=256`.
pub const MAX_THREADS: i64 = 256;
/// Workers of a concurrency executor (and clients of a capacity level): `..=100000`.
pub const MAX_CONCURRENCY: i64 = 100_000;
/// The bound on ops in flight of an arrival-rate load: `1..=100000`.
pub const MAX_IN_FLIGHT: i64 = 100_000;
/// The highest arrival rate of a load (and of a capacity level), ops per second,
/// after `time_unit`: 10,000,000.
pub const MAX_RATE: f64 = 10_000_000.0;
/// The longest a fault's `latency` or `jitter` (and `block_for`) may be: 60 s. A
/// handler delayed longer than that is a stop, not a slow handler.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(60);
/// The shortest `time_unit`: 1 ms. A rate per nanosecond is a rate per second written
/// in a harder way, and multiplies any typo by 10^9.
pub const MIN_TIME_UNIT: Duration = Duration::from_millis(1);
