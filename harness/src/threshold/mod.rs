//! Thresholds: pass/fail criteria over a run's metrics, in k6's grammar.
//!
//! A scenario's `[thresholds]` table maps a *metric key* to a list of *expressions*:
//!
//! ```toml
//! [thresholds]
//! "latency{op=ask}"    = ["p(99) < 5ms", "max < 50ms"]
//! "throughput{op=ask}" = ["rate > 45000"]
//! "messages.lost"      = ["count == 0"]
//! ```
//!
//! An expression is `aggregation operator value`. Aggregations are `p(N)`, `avg`,
//! `min`, `med`, `max`, `count` and `rate`; operators `<`, `<=`, `>`, `>=`, `==`
//! (`===` too, as in k6) and `!=`. Values may carry the metric's unit: durations
//! (`5ms`; a bare number is milliseconds, as in k6) or bytes (`64MB`). The
//! [`Metric`] catalogue says which aggregations each metric has. Thresholds are
//! evaluated over the measured window (after warm-up); a value that could not be
//! measured fails its threshold.

use std::fmt;

use crate::units::{parse_bytes, parse_duration};

mod evaluate;
pub use evaluate::failure_reasons;
mod feasible;

/// A metric thresholds can refer to.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// `latency{op=X}`: op latency from its intended start (ns).
    Latency {
        /// The operation.
        op: String,
    },
    /// `service_time{op=X}`: op latency from its actual start (ns).
    ServiceTime {
        /// The operation.
        op: String,
    },
    /// `throughput{op=X}`: completed ops (`count`) and ops per second (`rate`).
    Throughput {
        /// The operation.
        op: String,
    },
    /// `errors{op=X}`: failed ops (`count`) and failed fraction of completed ops (`rate`).
    Errors {
        /// The operation.
        op: String,
    },
    /// `dropped_iterations` or `dropped_iterations{load=X}`: count, or per second.
    DroppedIterations {
        /// Restrict to one load; all loads when `None`.
        load: Option<String>,
    },
    /// `messages.<outcome>`: message accounting counts.
    Messages(MessageField),
    /// `memory.rss`: `max` RSS over the measured window (bytes).
    MemoryRss,
    /// `memory.growth`: `rate` of RSS growth, bytes per minute.
    MemoryGrowth,
    /// `tasks.leaked`: `count` of target tasks alive after shutdown beyond the start.
    TasksLeaked,
    /// `stalls`: `count` of stalls the watchdog detected.
    Stalls,
    /// `deadlocks`: `count` of asks the runtime refused as deadlocks (measured window).
    Deadlocks,
    /// `restarts`: `count` of actor restarts during the measured window.
    Restarts,
    /// `sched_lag`: `max`/`avg` scheduling lag of the target runtime (ns).
    SchedLag,
    /// `recovery{fault=KIND}`: `max`/`avg` recovery time of that kind's fault windows
    /// (ns); not measured when any of them never recovered.
    Recovery {
        /// The fault kind.
        fault: String,
    },
    /// `faults.affected{fault=KIND}`: `count` of events the kind's faults affected.
    FaultsAffected {
        /// The fault kind.
        fault: String,
    },
    /// `faults.unrecovered`: `count` of fault windows not recovered within
    /// `[recovery] within`, or not injected at all.
    FaultsUnrecovered,
    /// `faults.undetected`: `count` of injected ask cycles the runtime did not refuse,
    /// and of `blocking-worker` windows its stall watchdog did not report.
    FaultsUndetected,
    /// `invariant{name=X}`: `count` of checks that found the workload's invariant `X`
    /// violated; not measured when it was never checked.
    Invariant {
        /// The invariant's name.
        name: String,
    },
}

/// A field of the message accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageField {
    /// `messages.sent`
    Sent,
    /// `messages.delivered`
    Delivered,
    /// `messages.dropped`
    Dropped,
    /// `messages.rejected`
    Rejected,
    /// `messages.dead_lettered`
    DeadLettered,
    /// `messages.lost`
    Lost,
}

/// How a metric is reduced to one number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// `p(N)`: the N-th percentile, `0 < N <= 100`.
    Percentile(f64),
    /// `avg`
    Avg,
    /// `min`
    Min,
    /// `med`
    Med,
    /// `max`
    Max,
    /// `count`
    Count,
    /// `rate`
    Rate,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==` or `===`
    Eq,
    /// `!=`
    Ne,
}

/// What a metric's values are measured in, which decides how limits are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Nanos,
    Bytes,
    Plain,
}

/// One parsed expression of a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    /// The expression as written.
    pub text: String,
    /// The aggregation.
    pub aggregation: Aggregation,
    /// The comparison.
    pub comparison: Comparison,
    /// The limit in the metric's base unit.
    pub limit: f64,
}

/// A threshold: one metric key and its expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The key as written (`latency{op=ask}`).
    pub key: String,
    /// The metric it names.
    pub metric: Metric,
    /// Its expressions; all must hold.
    pub expressions: Vec<Expression>,
}

/// Why a threshold key or expression is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ThresholdError(pub String);

/// The metric names thresholds accept, for error messages and `gauntlet list`.
pub const METRIC_NAMES: &[&str] = &[
    "latency{op=..}",
    "service_time{op=..}",
    "throughput{op=..}",
    "errors{op=..}",
    "dropped_iterations",
    "dropped_iterations{load=..}",
    "messages.sent",
    "messages.delivered",
    "messages.dropped",
    "messages.rejected",
    "messages.dead_lettered",
    "messages.lost",
    "memory.rss",
    "memory.growth",
    "tasks.leaked",
    "stalls",
    "deadlocks",
    "restarts",
    "sched_lag",
    "recovery{fault=..}",
    "faults.affected{fault=..}",
    "faults.unrecovered",
    "faults.undetected",
    "invariant{name=..}",
];

impl Metric {
    /// Parses a metric key such as `latency{op=ask}` or `messages.lost`.
    pub fn parse(key: &str) -> Result<Self, ThresholdError> {
        let key = key.trim();
        let (name, tag) = match key.find('{') {
            Some(open) => {
                let Some(inner) = key[open + 1..].strip_suffix('}') else {
                    return Err(ThresholdError(format!(
                        "metric `{key}`: a tag must be written `{{name=value}}`"
                    )));
                };
                let Some((k, v)) = inner.split_once('=') else {
                    return Err(ThresholdError(format!(
                        "metric `{key}`: a tag must be written `{{name=value}}`"
                    )));
                };
                (&key[..open], Some((k.trim(), v.trim())))
            }
            None => (key, None),
        };
        let op_tag = |metric: &str| -> Result<String, ThresholdError> {
            match tag {
                Some(("op", v)) if !v.is_empty() => Ok(v.to_owned()),
                Some((k, _)) => Err(ThresholdError(format!(
                    "metric `{key}`: `{metric}` takes the tag `op`, not `{k}`"
                ))),
                None => Err(ThresholdError(format!(
                    "metric `{key}`: `{metric}` needs an operation, e.g. `{metric}{{op=ask}}`"
                ))),
            }
        };
        let untagged = |m: Metric| -> Result<Metric, ThresholdError> {
            match tag {
                None => Ok(m),
                Some(_) => Err(ThresholdError(format!("metric `{key}` takes no tag"))),
            }
        };
        match name {
            "latency" => Ok(Metric::Latency { op: op_tag(name)? }),
            "service_time" => Ok(Metric::ServiceTime { op: op_tag(name)? }),
            "throughput" => Ok(Metric::Throughput { op: op_tag(name)? }),
            "errors" => Ok(Metric::Errors { op: op_tag(name)? }),
            "dropped_iterations" => match tag {
                None => Ok(Metric::DroppedIterations { load: None }),
                Some(("load", v)) if !v.is_empty() => Ok(Metric::DroppedIterations {
                    load: Some(v.to_owned()),
                }),
                Some((k, _)) => Err(ThresholdError(format!(
                    "metric `{key}`: `dropped_iterations` takes the tag `load`, not `{k}`"
                ))),
            },
            "messages.sent" => untagged(Metric::Messages(MessageField::Sent)),
            "messages.delivered" => untagged(Metric::Messages(MessageField::Delivered)),
            "messages.dropped" => untagged(Metric::Messages(MessageField::Dropped)),
            "messages.rejected" => untagged(Metric::Messages(MessageField::Rejected)),
            "messages.dead_lettered" => untagged(Metric::Messages(MessageField::DeadLettered)),
            "messages.lost" => untagged(Metric::Messages(MessageField::Lost)),
            "memory.rss" => untagged(Metric::MemoryRss),
            "memory.growth" => untagged(Metric::MemoryGrowth),
            "tasks.leaked" => untagged(Metric::TasksLeaked),
            "stalls" => untagged(Metric::Stalls),
            "deadlocks" => untagged(Metric::Deadlocks),
            "restarts" => untagged(Metric::Restarts),
            "sched_lag" => untagged(Metric::SchedLag),
            "recovery" | "faults.affected" => {
                let fault = match tag {
                    Some(("fault", v)) if !v.is_empty() => v.to_owned(),
                    _ => {
                        return Err(ThresholdError(format!(
                            "metric `{key}`: `{name}` needs a fault kind, e.g. `{name}{{fault=crash}}`"
                        )));
                    }
                };
                let kinds = crate::faults::Kind::ALL;
                if !kinds.iter().any(|k| k.name() == fault) {
                    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                    return Err(ThresholdError(format!(
                        "metric `{key}`: unknown fault kind `{fault}`{}; known kinds: {}",
                        crate::scenario::suggest::did_you_mean(&fault, names.iter().copied()),
                        names.join(", ")
                    )));
                }
                Ok(if name == "recovery" {
                    Metric::Recovery { fault }
                } else {
                    Metric::FaultsAffected { fault }
                })
            }
            "invariant" => match tag {
                Some(("name", v)) if !v.is_empty() => Ok(Metric::Invariant { name: v.to_owned() }),
                _ => Err(ThresholdError(format!(
                    "metric `{key}`: `invariant` needs the invariant's name, e.g. `invariant{{name=money.conserved}}`"
                ))),
            },
            "faults.unrecovered" => untagged(Metric::FaultsUnrecovered),
            "faults.undetected" => untagged(Metric::FaultsUndetected),
            other => Err(ThresholdError(format!(
                "unknown metric `{other}`{}; known metrics: {}",
                crate::scenario::suggest::did_you_mean(
                    other,
                    METRIC_NAMES
                        .iter()
                        .map(|m| m.split('{').next().unwrap_or(m))
                ),
                METRIC_NAMES.join(", ")
            ))),
        }
    }

    /// The operation this metric is about, if any.
    pub fn op(&self) -> Option<&str> {
        match self {
            Metric::Latency { op }
            | Metric::ServiceTime { op }
            | Metric::Throughput { op }
            | Metric::Errors { op } => Some(op),
            _ => None,
        }
    }

    fn aggregations(&self) -> &'static [&'static str] {
        match self {
            Metric::Latency { .. } | Metric::ServiceTime { .. } => {
                &["p(N)", "avg", "min", "med", "max", "count"]
            }
            Metric::Throughput { .. }
            | Metric::Errors { .. }
            | Metric::DroppedIterations { .. } => &["count", "rate"],
            Metric::MemoryRss => &["max"],
            Metric::MemoryGrowth => &["rate"],
            Metric::SchedLag | Metric::Recovery { .. } => &["max", "avg"],
            _ => &["count"],
        }
    }

    fn accepts(&self, agg: Aggregation) -> bool {
        let name = match agg {
            Aggregation::Percentile(_) => "p(N)",
            Aggregation::Avg => "avg",
            Aggregation::Min => "min",
            Aggregation::Med => "med",
            Aggregation::Max => "max",
            Aggregation::Count => "count",
            Aggregation::Rate => "rate",
        };
        self.aggregations().contains(&name)
    }

    fn value_kind(&self, agg: Aggregation) -> ValueKind {
        match (self, agg) {
            (_, Aggregation::Count) => ValueKind::Plain,
            (
                Metric::Latency { .. }
                | Metric::ServiceTime { .. }
                | Metric::SchedLag
                | Metric::Recovery { .. },
                _,
            ) => ValueKind::Nanos,
            (Metric::MemoryRss | Metric::MemoryGrowth, _) => ValueKind::Bytes,
            _ => ValueKind::Plain,
        }
    }

    fn unit(&self, agg: Aggregation) -> &'static str {
        match (self, agg) {
            (_, Aggregation::Count) => "count",
            (
                Metric::Latency { .. }
                | Metric::ServiceTime { .. }
                | Metric::SchedLag
                | Metric::Recovery { .. },
                _,
            ) => "ns",
            (Metric::MemoryRss, _) => "bytes",
            (Metric::MemoryGrowth, _) => "bytes_per_min",
            (Metric::Errors { .. }, _) => "fraction",
            _ => "per_s",
        }
    }
}

impl Expression {
    /// Parses `aggregation operator value` for `metric`.
    pub fn parse(text: &str, metric: &Metric) -> Result<Self, ThresholdError> {
        let t = text.trim();
        let Some(op_at) = t.find(['<', '>', '=', '!']) else {
            return Err(ThresholdError(format!(
                "expression `{text}`: expected `aggregation operator value`, e.g. `p(99) < 5ms`"
            )));
        };
        let (agg_text, rest) = (t[..op_at].trim(), &t[op_at..]);
        // The whole run of operator characters is the operator: `<<` is an unknown
        // operator, not `<` followed by a bad value.
        let op_len = rest
            .find(|c: char| !matches!(c, '<' | '>' | '=' | '!'))
            .unwrap_or(rest.len());
        let (symbol, value_text) = (&rest[..op_len], rest[op_len..].trim());
        let comparison = match symbol {
            "===" | "==" => Comparison::Eq,
            "!=" => Comparison::Ne,
            "<=" => Comparison::Le,
            ">=" => Comparison::Ge,
            "<" => Comparison::Lt,
            ">" => Comparison::Gt,
            other => {
                return Err(ThresholdError(format!(
                    "expression `{text}`: unknown operator `{other}` (expected <, <=, >, >=, == or !=)"
                )));
            }
        };
        let aggregation = parse_aggregation(agg_text)
            .map_err(|e| ThresholdError(format!("expression `{text}`: {e}")))?;
        if !metric.accepts(aggregation) {
            return Err(ThresholdError(format!(
                "expression `{text}`: this metric has no `{agg_text}`; it offers {}",
                metric.aggregations().join(", ")
            )));
        }
        if value_text.is_empty() {
            return Err(ThresholdError(format!(
                "expression `{text}`: missing value"
            )));
        }
        let limit = match metric.value_kind(aggregation) {
            ValueKind::Nanos => match value_text.parse::<f64>() {
                // k6: a bare number on a time metric is milliseconds.
                Ok(ms) => ms * 1e6,
                Err(_) => parse_duration(value_text)
                    .map_err(|e| ThresholdError(format!("expression `{text}`: {e}")))?
                    .as_nanos() as f64,
            },
            ValueKind::Bytes => parse_bytes(value_text)
                .map_err(|e| ThresholdError(format!("expression `{text}`: {e}")))?,
            ValueKind::Plain => value_text.parse::<f64>().map_err(|_| {
                ThresholdError(format!(
                    "expression `{text}`: `{value_text}` is not a number"
                ))
            })?,
        };
        if !limit.is_finite() {
            return Err(ThresholdError(format!(
                "expression `{text}`: value is not finite"
            )));
        }
        if let Some(why) = feasible::Domain::of(metric, aggregation).impossible(comparison, limit) {
            return Err(ThresholdError(format!("expression `{text}`: {why}")));
        }
        Ok(Self {
            text: t.to_owned(),
            aggregation,
            comparison,
            limit,
        })
    }
}

fn parse_aggregation(s: &str) -> Result<Aggregation, String> {
    match s {
        "avg" => Ok(Aggregation::Avg),
        "min" => Ok(Aggregation::Min),
        "med" => Ok(Aggregation::Med),
        "max" => Ok(Aggregation::Max),
        "count" => Ok(Aggregation::Count),
        "rate" => Ok(Aggregation::Rate),
        _ => {
            let inner = s
                .strip_prefix("p(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| {
                    format!("unknown aggregation `{s}` (expected p(N), avg, min, med, max, count or rate)")
                })?;
            let p: f64 = inner
                .trim()
                .parse()
                .map_err(|_| format!("`{s}`: percentile must be a number"))?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(format!("`{s}`: percentile must be in (0, 100]"));
            }
            Ok(Aggregation::Percentile(p))
        }
    }
}

impl Comparison {
    /// Whether `observed OP limit` holds.
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Comparison::Lt => observed < limit,
            Comparison::Le => observed <= limit,
            Comparison::Gt => observed > limit,
            Comparison::Ge => observed >= limit,
            Comparison::Eq => observed == limit,
            Comparison::Ne => observed != limit,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)
    }
}

impl Threshold {
    /// Parses a key and its expressions.
    pub fn parse(key: &str, expressions: &[String]) -> Result<Self, ThresholdError> {
        let metric = Metric::parse(key)?;
        if expressions.is_empty() {
            return Err(ThresholdError(format!(
                "metric `{key}` has no expressions; write e.g. [\"p(99) < 5ms\"]"
            )));
        }
        let expressions = expressions
            .iter()
            .map(|e| Expression::parse(e, &metric))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            key: key.trim().to_owned(),
            metric,
            expressions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k6_examples_parse() {
        let t = Threshold::parse(
            "latency{op=command}",
            &["p(99) < 5ms".into(), "max < 50ms".into()],
        )
        .unwrap();
        assert_eq!(
            t.metric,
            Metric::Latency {
                op: "command".into()
            }
        );
        assert_eq!(t.expressions[0].aggregation, Aggregation::Percentile(99.0));
        assert_eq!(t.expressions[0].comparison, Comparison::Lt);
        assert_eq!(t.expressions[0].limit, 5e6);
        assert_eq!(t.expressions[1].limit, 50e6);

        let t = Threshold::parse("throughput{op=telemetry}", &["rate > 45000".into()]).unwrap();
        assert_eq!(t.expressions[0].limit, 45000.0);
        let t = Threshold::parse("messages.lost", &["count == 0".into()]).unwrap();
        assert_eq!(t.metric, Metric::Messages(MessageField::Lost));
        assert_eq!(t.expressions[0].comparison, Comparison::Eq);
    }

    #[test]
    fn bare_numbers_on_time_metrics_are_milliseconds() {
        let t = Threshold::parse("latency{op=a}", &["p(99.9)<=2".into()]).unwrap();
        assert_eq!(t.expressions[0].limit, 2e6);
        assert_eq!(t.expressions[0].aggregation, Aggregation::Percentile(99.9));
    }

    #[test]
    fn memory_limits_take_byte_units() {
        let t = Threshold::parse("memory.growth", &["rate < 1MB".into()]).unwrap();
        assert_eq!(t.expressions[0].limit, 1e6);
    }

    #[test]
    fn invalid_thresholds_say_why() {
        let e = Threshold::parse("latency", &["p(99) < 5ms".into()]).unwrap_err();
        assert!(e.0.contains("needs an operation"), "{e}");
        let e = Threshold::parse("bogus", &["count == 0".into()]).unwrap_err();
        assert!(e.0.contains("unknown metric `bogus`"), "{e}");
        let e = Threshold::parse("messages.lost", &["p(99) < 1".into()]).unwrap_err();
        assert!(e.0.contains("offers count"), "{e}");
        let e = Threshold::parse("latency{op=a}", &["p(101) < 1ms".into()]).unwrap_err();
        assert!(e.0.contains("(0, 100]"), "{e}");
        let e = Threshold::parse("latency{op=a}", &["p(99) 5ms".into()]).unwrap_err();
        assert!(e.0.contains("expected `aggregation operator value`"), "{e}");
        let e = Threshold::parse("latency{op=a}", &["p(99) < 5 furlongs".into()]).unwrap_err();
        assert!(e.0.contains("unit"), "{e}");
        let e = Threshold::parse("latency{op=a}", &[]).unwrap_err();
        assert!(e.0.contains("no expressions"), "{e}");
        let e = Threshold::parse("latency{load=a}", &["max < 1".into()]).unwrap_err();
        assert!(e.0.contains("takes the tag `op`"), "{e}");
        let e = Threshold::parse("stalls{op=a}", &["count == 0".into()]).unwrap_err();
        assert!(e.0.contains("takes no tag"), "{e}");
        let e = Threshold::parse("latency{op=a}", &["p(99) << 5ms".into()]).unwrap_err();
        assert!(e.0.contains("unknown operator `<<`"), "{e}");
        let e = Threshold::parse("latency{op=a}", &["p(99) =< 5ms".into()]).unwrap_err();
        assert!(e.0.contains("unknown operator `=<`"), "{e}");
        let e = Threshold::parse("recovery{fault=crsh}", &["max < 5s".into()]).unwrap_err();
        assert!(
            e.0.contains("unknown fault kind `crsh` (did you mean `crash`?)"),
            "{e}"
        );
        let e = Threshold::parse("latncy{op=a}", &["max < 5s".into()]).unwrap_err();
        assert!(
            e.0.contains("unknown metric `latncy` (did you mean `latency`?)"),
            "{e}"
        );
    }

    #[test]
    fn comparisons() {
        assert!(Comparison::Lt.holds(1.0, 2.0));
        assert!(!Comparison::Lt.holds(2.0, 2.0));
        assert!(Comparison::Le.holds(2.0, 2.0));
        assert!(Comparison::Ne.holds(1.0, 2.0));
        assert!(Comparison::Ge.holds(2.0, 2.0));
    }
}
