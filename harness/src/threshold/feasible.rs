//! Thresholds that can never hold are refused when the scenario is validated, not
//! after the run: `p(99) < -5` (a latency is never negative), `count == 0.5` (counts
//! are whole), an error `rate > 2` (a fraction is at most 1), `max < -5MB`.
//!
//! Each metric and aggregation has a domain its observed values lie in
//! ([`Domain::of`]); an expression whose comparison no value of that domain can
//! satisfy is an error that names the domain.

use super::{Aggregation, Comparison, MessageField, Metric};

/// Where the observed values of one metric and aggregation lie.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Domain {
    /// Smallest possible value.
    lo: f64,
    /// Largest possible value.
    hi: f64,
    /// Whether only whole numbers occur.
    whole: bool,
    /// The domain in words, for messages.
    words: &'static str,
}

impl Domain {
    pub(super) fn of(metric: &Metric, agg: Aggregation) -> Self {
        let non_negative = Self {
            lo: 0.0,
            hi: f64::INFINITY,
            whole: false,
            words: "is never negative",
        };
        match (metric, agg) {
            // Computed differences: negative when counted twice or tasks ended.
            (Metric::Messages(MessageField::Lost) | Metric::TasksLeaked, Aggregation::Count) => {
                Self {
                    lo: f64::NEG_INFINITY,
                    hi: f64::INFINITY,
                    whole: true,
                    words: "is a whole number",
                }
            }
            (_, Aggregation::Count) => Self {
                whole: true,
                words: "is a whole number, never negative",
                ..non_negative
            },
            (Metric::Errors { .. }, Aggregation::Rate) => Self {
                lo: 0.0,
                hi: 1.0,
                whole: false,
                words: "is a fraction between 0 and 1",
            },
            // RSS may shrink.
            (Metric::MemoryGrowth, _) => Self {
                lo: f64::NEG_INFINITY,
                hi: f64::INFINITY,
                whole: false,
                words: "can be any number",
            },
            _ => non_negative,
        }
    }

    /// Why `observed OP limit` can hold for no observed value of the domain, if so.
    pub(super) fn impossible(&self, comparison: Comparison, limit: f64) -> Option<String> {
        let never = match comparison {
            Comparison::Lt => limit <= self.lo,
            Comparison::Le => limit < self.lo,
            Comparison::Gt => limit >= self.hi,
            Comparison::Ge => limit > self.hi,
            Comparison::Eq => {
                limit < self.lo || limit > self.hi || (self.whole && limit.fract() != 0.0)
            }
            Comparison::Ne => false,
        };
        never.then(|| format!("can never hold: the value {}", self.words))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Threshold;

    fn err(key: &str, expr: &str) -> String {
        Threshold::parse(key, &[expr.to_owned()])
            .map(|_| String::new())
            .unwrap_or_else(|e| e.0)
    }

    #[test]
    fn impossible_expressions_are_refused() {
        for (key, expr) in [
            ("latency{op=a}", "p(99) < -5"),
            ("latency{op=a}", "p(99) < 0ms"),
            ("errors{op=a}", "count == -1"),
            ("errors{op=a}", "count == 0.5"),
            ("errors{op=a}", "rate > 2"),
            ("errors{op=a}", "rate >= 1.5"),
            ("memory.rss", "max < -5MB"),
            ("throughput{op=a}", "rate < 0"),
            ("stalls", "count <= -1"),
        ] {
            let e = err(key, expr);
            assert!(e.contains("can never hold"), "{key} {expr}: {e:?}");
        }
    }

    #[test]
    fn possible_expressions_pass() {
        for (key, expr) in [
            ("latency{op=a}", "p(99) < 5ms"),
            ("errors{op=a}", "count == 0"),
            ("errors{op=a}", "rate < 0.01"),
            ("errors{op=a}", "rate <= 1"),
            ("messages.lost", "count == -1"),
            ("tasks.leaked", "count <= 0"),
            ("memory.growth", "rate < -1MB"),
            ("memory.rss", "max != -5MB"),
            ("stalls", "count <= 0"),
        ] {
            assert_eq!(err(key, expr), "", "{key} {expr}");
        }
    }
}
