//! Refusals: shards that cannot be merged, and why.
//!
//! Shards merge only when they are the same run split `N` ways: the same schema
//! version, scenario (name, file, workload, duration, warm-up, tick, thresholds), seed,
//! shard count and histogram settings; every index `0..N` exactly once; and load
//! starts no further apart than the allowed skew.

use crate::schema::RunResult;
use crate::shard::ShardInfo;

use super::{MergeError, ShardInput};

/// The fields of a result that identify the run it is a shard of, as text pairs
/// `(field, value)` so that a mismatch can name the field.
fn identity(r: &RunResult) -> Vec<(&'static str, String)> {
    let thresholds: Vec<String> = r
        .thresholds
        .iter()
        .map(|t| format!("{}: {}", t.metric, t.expression))
        .collect();
    vec![
        ("schema_version", r.schema_version.to_string()),
        ("scenario.name", r.scenario.name.clone()),
        ("scenario.file", r.scenario.file.clone()),
        ("scenario.workload", r.scenario.workload.clone()),
        ("scenario.seed", r.scenario.seed.to_string()),
        ("scenario.duration_s", r.scenario.duration_s.to_string()),
        ("scenario.warmup_s", r.scenario.warmup_s.to_string()),
        ("scenario.tick_s", r.scenario.tick_s.to_string()),
        ("thresholds", thresholds.join("; ")),
    ]
}

/// Checks that `inputs` are every shard of one run; returns their [`ShardInfo`]s in
/// input order.
pub(super) fn check(
    inputs: &[ShardInput],
    max_start_skew_ms: u64,
) -> Result<Vec<ShardInfo>, MergeError> {
    let first = inputs.first().ok_or(MergeError::NoShards)?;
    let infos = inputs
        .iter()
        .map(|s| {
            s.result.shard.clone().ok_or_else(|| MergeError::NotAShard {
                source_name: s.source.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let want = identity(&first.result);
    for s in &inputs[1..] {
        for ((field, expected), (_, found)) in want.iter().zip(identity(&s.result)) {
            if *expected != found {
                return Err(MergeError::DifferentRun {
                    source_name: s.source.clone(),
                    first: first.source.clone(),
                    field,
                    expected: expected.clone(),
                    found,
                });
            }
        }
    }
    let count = infos[0].count;
    let mut seen: Vec<Option<usize>> = vec![None; count as usize];
    for (i, info) in infos.iter().enumerate() {
        if info.count != count {
            return Err(MergeError::DifferentRun {
                source_name: inputs[i].source.clone(),
                first: first.source.clone(),
                field: "shard.count",
                expected: count.to_string(),
                found: info.count.to_string(),
            });
        }
        let Some(slot) = seen.get_mut(info.index as usize) else {
            return Err(MergeError::IndexOutOfRange {
                source_name: inputs[i].source.clone(),
                index: info.index,
                count,
            });
        };
        if let Some(other) = slot {
            return Err(MergeError::DuplicateIndex {
                index: info.index,
                first: inputs[*other].source.clone(),
                second: inputs[i].source.clone(),
            });
        }
        *slot = Some(i);
    }
    let missing: Vec<u32> = (0..count).filter(|i| seen[*i as usize].is_none()).collect();
    if !missing.is_empty() {
        return Err(MergeError::MissingShards { missing, count });
    }
    let earliest = infos.iter().map(|i| i.load_started_at_unix_ms).min();
    let latest = infos.iter().map(|i| i.load_started_at_unix_ms).max();
    if let (Some(lo), Some(hi)) = (earliest, latest)
        && hi - lo > max_start_skew_ms
    {
        return Err(MergeError::StartSkew {
            skew_ms: hi - lo,
            max_ms: max_start_skew_ms,
        });
    }
    Ok(infos)
}
