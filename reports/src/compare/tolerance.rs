//! Which metrics a baseline comparison judges, and how much each may move.
//!
//! A tolerance is a percentage of the baseline (`"10%"`) or `"off"` (the delta is
//! shown but never fails). Defaults follow what users of load tools expect:
//! throughput may drop 10%, p99 may rise 20%, peak RSS 15%. They can be set per
//! metric in a scenario's `[baseline]` table (recorded in its results) and by
//! `--tolerance METRIC=VALUE` on the command line, which wins.

use std::collections::BTreeMap;
use std::fmt;

/// A metric a comparison judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Completed ops per second, per op (higher is better).
    Throughput,
    /// Median latency, per op.
    P50,
    /// 99th-percentile latency, per op.
    P99,
    /// 99.9th-percentile latency, per op.
    P999,
    /// Largest latency, per op.
    Max,
    /// Failed ops, per op.
    Errors,
    /// Peak resident memory over the measured window.
    Rss,
    /// RSS trend over the measured window (bytes per minute).
    RssGrowth,
    /// Peak alive tasks on the target runtime over the measured window.
    Tasks,
}

/// Whether a metric is better when it goes up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Higher is better (throughput).
    Higher,
    /// Lower is better (latency, memory, errors).
    Lower,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 9] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P99,
        Metric::P999,
        Metric::Max,
        Metric::Errors,
        Metric::Rss,
        Metric::RssGrowth,
        Metric::Tasks,
    ];

    /// The key used in `[baseline]` tables and `--tolerance` flags.
    pub fn key(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::P999 => "p999",
            Metric::Max => "max",
            Metric::Errors => "errors",
            Metric::Rss => "rss",
            Metric::RssGrowth => "rss_growth",
            Metric::Tasks => "tasks",
        }
    }

    /// Looks a metric up by its key.
    pub fn from_key(key: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.key() == key)
    }

    /// Which direction is better.
    pub fn better(self) -> Better {
        match self {
            Metric::Throughput => Better::Higher,
            _ => Better::Lower,
        }
    }

    /// Base unit of the metric's values (as in `ThresholdOutcome::unit`).
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Throughput => "per_s",
            Metric::P50 | Metric::P99 | Metric::P999 | Metric::Max => "ns",
            Metric::Errors | Metric::Tasks => "count",
            Metric::Rss => "bytes",
            Metric::RssGrowth => "bytes_per_min",
        }
    }

    /// The tolerance used when neither the scenario nor a flag sets one.
    pub fn default_tolerance(self) -> Tolerance {
        match self {
            Metric::Throughput => Tolerance::Relative(0.10),
            Metric::P50 | Metric::P99 => Tolerance::Relative(0.20),
            Metric::P999 => Tolerance::Relative(0.30),
            // The largest value is one sample: too noisy to gate on by default.
            Metric::Max => Tolerance::Off,
            Metric::Errors => Tolerance::Relative(0.20),
            Metric::Rss => Tolerance::Relative(0.15),
            // A least-squares slope over a short run is mostly noise; the leak check
            // and `memory.growth` thresholds judge growth.
            Metric::RssGrowth => Tolerance::Off,
            Metric::Tasks => Tolerance::Relative(0.15),
        }
    }

    /// The smallest change that can count as a regression, in the metric's unit: a
    /// percentage of a value near zero (no errors, a flat RSS slope) would otherwise
    /// turn noise into a failure.
    pub fn noise_floor(self) -> f64 {
        match self {
            Metric::Throughput | Metric::Errors => 0.0,
            Metric::P50 | Metric::P99 | Metric::P999 | Metric::Max => 1_000.0,
            Metric::Rss => 1_000_000.0,
            Metric::RssGrowth => 1_000_000.0,
            Metric::Tasks => 2.0,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// How far a metric may move against its baseline before it counts as a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// A fraction of the baseline value (`0.1` = 10%).
    Relative(f64),
    /// Shown, never judged.
    Off,
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tolerance::Relative(r) => write!(f, "{}%", (r * 1e4).round() / 1e2),
            Tolerance::Off => f.write_str("off"),
        }
    }
}

/// A tolerance setting that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToleranceError {
    /// The metric is not one a comparison judges.
    #[error("unknown baseline metric `{0}` (expected one of: {keys})", keys = keys())]
    UnknownMetric(String),
    /// The value is not a percentage or `off`.
    #[error(
        "`{value}` is not a tolerance for `{metric}`: write a percentage such as \"10%\", or \"off\""
    )]
    InvalidValue {
        /// The metric.
        metric: String,
        /// The value as written.
        value: String,
    },
    /// A `--tolerance` flag without `=`.
    #[error("`{0}` is not METRIC=VALUE (e.g. p99=30%)")]
    NotAPair(String),
}

fn keys() -> String {
    Metric::ALL.map(Metric::key).join(", ")
}

/// The tolerance of every metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerances {
    set: BTreeMap<Metric, Tolerance>,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            set: Metric::ALL
                .into_iter()
                .map(|m| (m, m.default_tolerance()))
                .collect(),
        }
    }
}

impl Tolerances {
    /// The tolerance of `metric`.
    pub fn get(&self, metric: Metric) -> Tolerance {
        self.set
            .get(&metric)
            .copied()
            .unwrap_or_else(|| metric.default_tolerance())
    }

    /// Sets one metric's tolerance from its key and written value (`"p99"`, `"25%"`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ToleranceError> {
        let metric = Metric::from_key(key.trim())
            .ok_or_else(|| ToleranceError::UnknownMetric(key.to_owned()))?;
        let tolerance = parse(value).ok_or_else(|| ToleranceError::InvalidValue {
            metric: key.to_owned(),
            value: value.to_owned(),
        })?;
        self.set.insert(metric, tolerance);
        Ok(())
    }

    /// Applies `key = value` settings in order (a `[baseline]` table).
    pub fn apply<'a>(
        &mut self,
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), ToleranceError> {
        settings.into_iter().try_for_each(|(k, v)| self.set(k, v))
    }

    /// Applies a `METRIC=VALUE` flag.
    pub fn apply_flag(&mut self, flag: &str) -> Result<(), ToleranceError> {
        let (k, v) = flag
            .split_once('=')
            .ok_or_else(|| ToleranceError::NotAPair(flag.to_owned()))?;
        self.set(k, v)
    }
}

/// `"10%"`, `"-10%"` (the sign is the direction, which the metric already knows),
/// `"0.5%"`, `"off"`.
fn parse(value: &str) -> Option<Tolerance> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("off") {
        return Some(Tolerance::Off);
    }
    let number = v.strip_suffix('%')?.trim();
    let number = number
        .strip_prefix('-')
        .or_else(|| number.strip_prefix('+'))
        .unwrap_or(number);
    let pct: f64 = number.parse().ok()?;
    (pct.is_finite() && pct >= 0.0).then_some(Tolerance::Relative(pct / 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let t = Tolerances::default();
        assert_eq!(t.get(Metric::Throughput), Tolerance::Relative(0.10));
        assert_eq!(t.get(Metric::P99), Tolerance::Relative(0.20));
        assert_eq!(t.get(Metric::Rss), Tolerance::Relative(0.15));
        assert_eq!(t.get(Metric::Max), Tolerance::Off);
    }

    #[test]
    fn settings_parse_percentages_signs_and_off() {
        let mut t = Tolerances::default();
        t.apply([("p99", "35%"), ("throughput", "-5%"), ("max", "+50%")])
            .unwrap();
        t.apply_flag("rss=off").unwrap();
        assert_eq!(t.get(Metric::P99), Tolerance::Relative(0.35));
        assert_eq!(t.get(Metric::Throughput), Tolerance::Relative(0.05));
        assert_eq!(t.get(Metric::Max), Tolerance::Relative(0.5));
        assert_eq!(t.get(Metric::Rss), Tolerance::Off);
        assert_eq!(Tolerance::Relative(0.35).to_string(), "35%");
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let mut t = Tolerances::default();
        let e = t.set("p95", "10%").unwrap_err();
        assert!(
            e.to_string().contains("unknown baseline metric `p95`"),
            "{e}"
        );
        assert!(e.to_string().contains("p999"), "{e}");
        for bad in ["10", "ten%", "-%", "NaN%", ""] {
            let e = t.set("p99", bad).unwrap_err();
            assert!(
                matches!(e, ToleranceError::InvalidValue { .. }),
                "{bad}: {e}"
            );
        }
        assert!(matches!(
            t.apply_flag("p99"),
            Err(ToleranceError::NotAPair(_))
        ));
        assert_eq!(t, Tolerances::default(), "failed settings change nothing");
    }
}
