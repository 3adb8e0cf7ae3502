//! Per-operation and per-load figures: counts summed, histograms added.
//!
//! Latency is never averaged: each op's full HDR histograms (latency and service time)
//! are decoded and added bucket by bucket into one histogram, which is then encoded and
//! summarised afresh. With equal lowest-discernible values and significant figures
//! (checked) the buckets line up exactly, so every percentile of the merged histogram
//! equals that of one histogram that had recorded every shard's values.

use hdrhistogram::Histogram;

use crate::histogram::EncodedHistogram;
use crate::schema::{LatencySummary, LoadResult, OpResult};

use super::{MergeError, ShardInput};

/// Adds encoded histograms; `what` names them for errors (`latency of op ask`).
fn add_histograms(
    parts: &[(&str, &EncodedHistogram)],
    what: &str,
) -> Result<Histogram<u64>, MergeError> {
    let mut total: Option<(Histogram<u64>, &str)> = None;
    for (source, encoded) in parts {
        let h = encoded.decode().map_err(|e| MergeError::Histogram {
            source_name: (*source).to_owned(),
            what: what.to_owned(),
            problem: e.to_string(),
        })?;
        match &mut total {
            None => {
                let mut acc =
                    Histogram::new_with_bounds(h.low(), h.high().max(2 * h.low()), h.sigfig())
                        .map_err(|e| MergeError::Histogram {
                            source_name: (*source).to_owned(),
                            what: what.to_owned(),
                            problem: format!("{e:?}"),
                        })?;
                acc.auto(true);
                acc.add(&h).map_err(|e| MergeError::Histogram {
                    source_name: (*source).to_owned(),
                    what: what.to_owned(),
                    problem: format!("{e:?}"),
                })?;
                total = Some((acc, source));
            }
            Some((acc, first)) => {
                if h.low() != acc.low() || h.sigfig() != acc.sigfig() {
                    return Err(MergeError::HistogramSettings {
                        source_name: (*source).to_owned(),
                        first: (*first).to_owned(),
                        what: what.to_owned(),
                        expected: format!("lowest {} sigfig {}", acc.low(), acc.sigfig()),
                        found: format!("lowest {} sigfig {}", h.low(), h.sigfig()),
                    });
                }
                acc.add(&h).map_err(|e| MergeError::Histogram {
                    source_name: (*source).to_owned(),
                    what: what.to_owned(),
                    problem: format!("{e:?}"),
                })?;
            }
        }
    }
    total.map(|(h, _)| h).ok_or(MergeError::NoShards)
}

/// Op names in order of first appearance across shards.
fn op_names(inputs: &[ShardInput]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in inputs {
        for o in &s.result.ops {
            if !names.contains(&o.op) {
                names.push(o.op.clone());
            }
        }
    }
    names
}

/// Merges every op: counts summed, histograms added, throughput over `measured_s`.
pub(super) fn merge_ops(
    inputs: &[ShardInput],
    measured_s: f64,
) -> Result<Vec<OpResult>, MergeError> {
    op_names(inputs)
        .into_iter()
        .map(|name| {
            let parts: Vec<(&str, &OpResult)> = inputs
                .iter()
                .filter_map(|s| s.result.op(&name).map(|o| (s.source.as_str(), o)))
                .collect();
            let latency: Vec<(&str, &EncodedHistogram)> =
                parts.iter().map(|(s, o)| (*s, &o.histogram)).collect();
            let latency = add_histograms(&latency, &format!("latency of op `{name}`"))?;
            let service = parts
                .iter()
                .map(|(s, o)| {
                    o.service_histogram
                        .as_ref()
                        .map(|h| (*s, h))
                        .ok_or_else(|| MergeError::Histogram {
                            source_name: (*s).to_owned(),
                            what: format!("service time of op `{name}`"),
                            problem: "the histogram is missing".to_owned(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let service = add_histograms(&service, &format!("service time of op `{name}`"))?;
            let encode = |h: &Histogram<u64>, what: &str| {
                EncodedHistogram::encode(h, "ns").map_err(|e| MergeError::Histogram {
                    source_name: "merged".to_owned(),
                    what: format!("{what} of op `{name}`"),
                    problem: e.to_string(),
                })
            };
            let count: u64 = parts.iter().map(|(_, o)| o.count).sum();
            Ok(OpResult {
                op: name.clone(),
                count,
                errors: parts.iter().map(|(_, o)| o.errors).sum(),
                timeouts: parts.iter().map(|(_, o)| o.timeouts).sum(),
                error_kinds: crate::schema::ErrorKinds {
                    rejected: parts.iter().map(|(_, o)| o.error_kinds.rejected).sum(),
                    failed: parts.iter().map(|(_, o)| o.error_kinds.failed).sum(),
                },
                throughput_per_s: if measured_s > 0.0 {
                    count as f64 / measured_s
                } else {
                    0.0
                },
                latency: LatencySummary::from_histogram(&latency),
                service_time: LatencySummary::from_histogram(&service),
                histogram: encode(&latency, "latency")?,
                service_histogram: Some(encode(&service, "service time")?),
            })
        })
        .collect()
}

/// Merges every load by name: every count summed (the shards' shares add up to the
/// scenario's load), `scheduled` summed when every shard has a schedule.
pub(super) fn merge_loads(inputs: &[ShardInput]) -> Vec<LoadResult> {
    let mut out: Vec<LoadResult> = Vec::new();
    for s in inputs {
        for l in &s.result.loads {
            match out.iter_mut().find(|m| m.name == l.name) {
                None => out.push(l.clone()),
                Some(m) => {
                    m.scheduled = m.scheduled.zip(l.scheduled).map(|(a, b)| a + b);
                    m.started += l.started;
                    m.completed += l.completed;
                    m.errors += l.errors;
                    m.dropped_iterations += l.dropped_iterations;
                    m.dropped_iterations_measured += l.dropped_iterations_measured;
                    m.unfinished += l.unfinished;
                    m.max_in_flight += l.max_in_flight;
                    // A tick in which any shard starved counts once per shard: an
                    // upper bound of the merged run's starved ticks.
                    m.starved_ticks += l.starved_ticks;
                }
            }
        }
    }
    out
}
