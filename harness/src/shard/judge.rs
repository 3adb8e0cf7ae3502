//! Judging a merged run: the shards' results added ([`gauntlet_reports::merge`]),
//! then the scenario's thresholds evaluated again on the merged data.
//!
//! A threshold is a statement about the whole run, so it is judged on the merged
//! data, never by combining the shards' verdicts: `count < 150` may hold on each of
//! three shards of 100 ops and fail on the run's 300, and `p(99) < 5ms` may fail on
//! one shard and hold for the run. The thresholds come from the results themselves
//! (each outcome records its metric key and expression as written), so merging needs
//! no scenario file. The invariants stay per shard (each shard's target is its own
//! process): a shard's aborted run, leaked tasks, lost messages, uninjectable faults
//! or stalls fail the merged verdict with the shard named.

use gauntlet_reports::merge::{MergeError, MergeSettings, ShardInput, merge};
use gauntlet_reports::schema::{RunResult, ThresholdOutcome, Verdict};

use crate::threshold::{Threshold, ThresholdError};

/// Why shards could not be merged and judged.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The shards could not be merged.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// A threshold recorded in the results does not parse.
    #[error("{source_name}: threshold `{metric}`: {error}")]
    Threshold {
        /// The results it was read from.
        source_name: String,
        /// Its metric key.
        metric: String,
        /// What is wrong with it.
        error: ThresholdError,
    },
}

/// The thresholds recorded in `outcomes`, keys in first-seen order.
fn thresholds(outcomes: &[ThresholdOutcome]) -> Result<Vec<Threshold>, (String, ThresholdError)> {
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for o in outcomes {
        match keys.iter_mut().find(|(k, _)| *k == o.metric) {
            Some((_, exprs)) => exprs.push(o.expression.clone()),
            None => keys.push((o.metric.clone(), vec![o.expression.clone()])),
        }
    }
    keys.into_iter()
        .map(|(k, e)| Threshold::parse(&k, &e).map_err(|err| (k, err)))
        .collect()
}

/// Merges the shards and judges the merged run: thresholds re-evaluated on the merged
/// data, invariants carried over from each shard.
pub fn merge_and_judge(
    inputs: &[ShardInput],
    settings: MergeSettings,
) -> Result<RunResult, JudgeError> {
    let mut merged = merge(inputs, settings)?;
    let thresholds =
        thresholds(&merged.thresholds).map_err(|(metric, error)| JudgeError::Threshold {
            source_name: inputs
                .first()
                .map_or_else(String::new, |s| s.source.clone()),
            metric,
            error,
        })?;
    let measured_s = merged.merged.as_ref().map_or(0.0, |m| m.measured_s);
    merged.thresholds = thresholds
        .iter()
        .flat_map(|t| t.evaluate(&merged, measured_s))
        .collect();
    merged.verdict = verdict(&merged);
    Ok(merged)
}

fn verdict(r: &RunResult) -> Verdict {
    let mut reasons = Vec::new();
    if let Some(why) = &r.abort_reason {
        reasons.push(format!("run aborted: {why}"));
    }
    reasons.extend(crate::threshold::failure_reasons(r));
    for s in r.merged.iter().flat_map(|m| &m.shards) {
        reasons.extend(
            s.verdict
                .reasons
                .iter()
                .filter(|why| {
                    !why.starts_with("threshold failed:") && !why.starts_with("run aborted:")
                })
                .map(|why| format!("shard {}: {why}", s.index)),
        );
    }
    Verdict {
        passed: reasons.is_empty(),
        reasons,
    }
}
