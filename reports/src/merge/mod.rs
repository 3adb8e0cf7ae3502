//! `gauntlet merge`: the results of every shard of a sharded run, added into one
//! result, exactly.
//!
//! Each shard of `gauntlet run --shard I/N` issues its share of the scenario's load in
//! its own process (a pod of a Kubernetes Indexed Job, say) and writes its own
//! `results.json`. [`merge`] turns them into the `results.json` of the whole run; the
//! reports, `compare` and `--baseline` read it like any other. What it does per field:
//!
//! | field | merged as |
//! |---|---|
//! | `ops[].histogram`, `service_histogram` | HDR histograms added bucket by bucket (never percentiles averaged); `latency` and `service_time` summaries recomputed from them |
//! | `ops[].count`, `errors`, `timeouts` | summed |
//! | `ops[].throughput_per_s` | merged count over the merged measured window ([`MergedFrom::measured_s`]) |
//! | `loads[]` | by name, every count summed (`scheduled` when every shard has one) |
//! | `timeline` | aligned by wall-clock tick and combined per column ([`timeline`] has the table) |
//! | `messages` | every count summed; `lost` recomputed from the sums (each shard's own `lost` is judged in its verdict, so a loss cannot be cancelled by another shard's surplus) |
//! | `invariants` | by name: violations summed, checks summed but 0 when any shard never checked it (an invariant of the run holds only if every shard checked it), the first violation the earliest shard's (its message naming the shard), reasons a shard could not check one kept with the shard named |
//! | `faults`, `stalls`, `deadlocks` | every shard's, times shifted onto the merged timeline; also kept per shard, unshifted, in `merged.shards[]` |
//! | `leaks` | tasks before/after summed, `tasks_leaked` the sum of the shards' positive leaks, RSS figures the largest shard's, `passed` only when every shard passed; each shard's check kept in `merged.shards[]` |
//! | `status`, `abort_reason` | aborted when any shard was, with each shard's reason |
//! | `started_at_unix_ms`, `elapsed_s` | the earliest start; until the latest shard ended |
//! | `environment` | CPUs, target workers and load threads summed (what the whole run had) |
//! | `scenario` | the shards' (identical, checked; `seed` is the scenario's seed) |
//! | `durability` | counts and read-backs summed, the oldest lost write the oldest of any shard, lost writes listed shard by shard (at most 100); absent when no shard has it |
//! | `thresholds`, `verdict` | copied from the first shard here; `gauntlet merge` re-evaluates the thresholds on the merged data and judges the merged verdict (the harness owns the evaluator) |
//!
//! [`merge`] refuses ([`MergeError`]) results that are not all the shards of one run:
//! see [`check`]. Merging is pure and cheap: `cargo bench -p gauntlet-reports --bench
//! merge` measures 64 shards of a 10-minute run.

mod check;
mod ops;
pub mod timeline;

use crate::schema::{InvariantRecord, LeakCheck, MessageAccounting, RunResult, RunStatus};
use crate::shard::{MergedFrom, ShardSummary};

/// One shard's results and where they came from (for messages).
#[derive(Debug, Clone)]
pub struct ShardInput {
    /// Where the results were read from (a path, usually).
    pub source: String,
    /// The shard's results.
    pub result: RunResult,
}

/// How strict the merge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeSettings {
    /// Largest allowed difference between the shards' load starts, in milliseconds.
    pub max_start_skew_ms: u64,
}

impl Default for MergeSettings {
    /// One second: shards started with a shared `--start-at` start within a few
    /// milliseconds of each other.
    fn default() -> Self {
        Self {
            max_start_skew_ms: 1000,
        }
    }
}

/// Why shards could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no shard results to merge")]
    NoShards,
    /// A result has no `shard` field.
    #[error("{source_name}: not a shard's results (no `shard` field; run with `--shard I/N`)")]
    NotAShard {
        /// The result's source.
        source_name: String,
    },
    /// A result is from a different run than the first.
    #[error(
        "{source_name}: a shard of a different run than {first}: {field} is `{found}`, expected `{expected}`"
    )]
    DifferentRun {
        /// The mismatching result.
        source_name: String,
        /// The first result, which the others are compared with.
        first: String,
        /// The field that differs.
        field: &'static str,
        /// The first result's value.
        expected: String,
        /// This result's value.
        found: String,
    },
    /// A shard index is not below the shard count.
    #[error("{source_name}: shard index {index} is out of range for {count} shards")]
    IndexOutOfRange {
        /// The result.
        source_name: String,
        /// Its index.
        index: u32,
        /// The shard count.
        count: u32,
    },
    /// Two results claim the same shard index.
    #[error("shard {index} appears twice: {first} and {second}")]
    DuplicateIndex {
        /// The index.
        index: u32,
        /// The first result with it.
        first: String,
        /// The second.
        second: String,
    },
    /// Some shards' results are missing.
    #[error("missing shard(s) {missing:?} of {count}: every shard must be merged")]
    MissingShards {
        /// The missing indices.
        missing: Vec<u32>,
        /// The shard count.
        count: u32,
    },
    /// The shards started too far apart to be one run.
    #[error(
        "shards started {skew_ms} ms apart (at most {max_ms} ms allowed): start them with a shared --start-at"
    )]
    StartSkew {
        /// The largest difference between load starts.
        skew_ms: u64,
        /// The allowed difference.
        max_ms: u64,
    },
    /// Histograms were recorded with different settings.
    #[error(
        "{source_name}: {what} was recorded with {found}, {first} with {expected}: histograms of different settings cannot be added exactly"
    )]
    HistogramSettings {
        /// The result.
        source_name: String,
        /// The first result.
        first: String,
        /// Which histogram.
        what: String,
        /// The first result's settings.
        expected: String,
        /// This result's settings.
        found: String,
    },
    /// A histogram could not be read or added.
    #[error("{source_name}: {what}: {problem}")]
    Histogram {
        /// The result.
        source_name: String,
        /// Which histogram.
        what: String,
        /// What went wrong.
        problem: String,
    },
}

/// The measured window a shard's rates were computed over, in seconds: recovered from
/// its ops (`count / throughput_per_s`, exactly what the run divided by), else the
/// planned `duration - warmup`.
fn shard_measured_s(r: &RunResult) -> f64 {
    r.ops
        .iter()
        .find(|o| o.count > 0 && o.throughput_per_s > 0.0)
        .map(|o| o.count as f64 / o.throughput_per_s)
        .unwrap_or((r.scenario.duration_s - r.scenario.warmup_s).max(0.0))
}

/// Merges every shard of one run into the run's result. See the module docs for what
/// happens to each field and [`MergeError`] for what is refused.
pub fn merge(inputs: &[ShardInput], settings: MergeSettings) -> Result<RunResult, MergeError> {
    let infos = check::check(inputs, settings.max_start_skew_ms)?;
    let first = &inputs[0].result;
    let earliest = infos
        .iter()
        .map(|i| i.load_started_at_unix_ms)
        .min()
        .unwrap_or(0);
    let latest = infos
        .iter()
        .map(|i| i.load_started_at_unix_ms)
        .max()
        .unwrap_or(0);
    let offsets_s: Vec<f64> = infos
        .iter()
        .map(|i| (i.load_started_at_unix_ms - earliest) as f64 / 1000.0)
        .collect();
    let warmup_s = first.scenario.warmup_s;
    let measured_start = offsets_s.iter().copied().fold(f64::INFINITY, f64::min) + warmup_s;
    let measured_end = inputs
        .iter()
        .zip(&offsets_s)
        .map(|(s, off)| off + warmup_s + shard_measured_s(&s.result))
        .fold(0.0, f64::max);
    let measured_s = (measured_end - measured_start).max(0.0);

    let mut result = first.clone();
    result.shard = None;
    result.ops = ops::merge_ops(inputs, measured_s)?;
    result.loads = ops::merge_loads(inputs);
    result.timeline = timeline::merge_timeline(inputs, &offsets_s, first.scenario.tick_s);
    result.started_at_unix_ms = inputs
        .iter()
        .map(|s| s.result.started_at_unix_ms)
        .min()
        .unwrap_or(0);
    result.elapsed_s = inputs
        .iter()
        .zip(&offsets_s)
        .map(|(s, off)| off + s.result.elapsed_s)
        .fold(0.0, f64::max);
    let aborted: Vec<String> = inputs
        .iter()
        .zip(&infos)
        .filter(|(s, _)| s.result.status == RunStatus::Aborted)
        .map(|(s, i)| {
            format!(
                "shard {}: {}",
                i.index,
                s.result.abort_reason.as_deref().unwrap_or("aborted")
            )
        })
        .collect();
    result.status = if aborted.is_empty() {
        RunStatus::Completed
    } else {
        RunStatus::Aborted
    };
    result.abort_reason = (!aborted.is_empty()).then(|| aborted.join("; "));
    result.environment.cpus = inputs.iter().map(|s| s.result.environment.cpus).sum();
    result.environment.target_worker_threads = inputs
        .iter()
        .map(|s| s.result.environment.target_worker_threads)
        .sum();
    result.environment.load_threads = inputs
        .iter()
        .map(|s| s.result.environment.load_threads)
        .sum();
    result.messages = merge_messages(inputs.iter().map(|s| &s.result.messages));
    result.leaks = merge_leaks(inputs.iter().map(|s| &s.result.leaks));
    result.invariants = merge_invariants(inputs, &infos, &offsets_s);
    result.durability = merge_durability(inputs.iter().map(|s| s.result.durability.as_ref()));
    result.faults = Vec::new();
    result.stalls = Vec::new();
    result.deadlocks = Vec::new();
    for (s, off) in inputs.iter().zip(&offsets_s) {
        result
            .faults
            .extend(s.result.faults.iter().cloned().map(|mut f| {
                f.start_s += off;
                f.end_s += off;
                if let Some(w) = &mut f.windows {
                    for part in [&mut w.before, &mut w.during, &mut w.after] {
                        part.start_s += off;
                        part.end_s += off;
                    }
                }
                f
            }));
        result
            .stalls
            .extend(s.result.stalls.iter().cloned().map(|mut st| {
                st.start_s += off;
                st
            }));
        result
            .deadlocks
            .extend(s.result.deadlocks.iter().cloned().map(|mut d| {
                d.at_s += off;
                d
            }));
    }
    result
        .faults
        .sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    result
        .stalls
        .sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    result.deadlocks.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));

    let mut shards: Vec<ShardSummary> = inputs
        .iter()
        .zip(&infos)
        .zip(&offsets_s)
        .map(|((s, info), off)| ShardSummary {
            index: info.index,
            source: s.source.clone(),
            seed: info.seed,
            load_started_at_unix_ms: info.load_started_at_unix_ms,
            offset_s: *off,
            status: s.result.status,
            completed: s.result.ops.iter().map(|o| o.count).sum(),
            verdict: s.result.verdict.clone(),
            faults: s.result.faults.clone(),
            stalls: s.result.stalls.clone(),
            deadlocks: s.result.deadlocks.clone(),
            leaks: s.result.leaks,
            messages: s.result.messages.clone(),
        })
        .collect();
    shards.sort_by_key(|s| s.index);
    result.merged = Some(MergedFrom {
        count: infos[0].count,
        measured_s,
        start_skew_ms: latest - earliest,
        shards,
    });
    Ok(result)
}

/// Invariants by name: checks and violations summed, the earliest violation kept.
fn merge_invariants(
    inputs: &[ShardInput],
    infos: &[crate::shard::ShardInfo],
    offsets_s: &[f64],
) -> Vec<InvariantRecord> {
    let mut out: Vec<InvariantRecord> = Vec::new();
    let mut unchecked: Vec<String> = Vec::new();
    for ((s, info), off) in inputs.iter().zip(infos).zip(offsets_s) {
        for inv in &s.result.invariants {
            if inv.checks == 0 {
                unchecked.push(inv.name.clone());
            }
            let named = |text: &String| format!("shard {}: {text}", info.index);
            let first = inv.first_violation_s.map(|t| t + off);
            match out.iter_mut().find(|m| m.name == inv.name) {
                None => out.push(InvariantRecord {
                    first_violation_s: first,
                    message: inv.message.as_ref().map(named),
                    unchecked_reason: inv.unchecked_reason.as_ref().map(named),
                    ..inv.clone()
                }),
                Some(m) => {
                    m.every_tick &= inv.every_tick;
                    m.checks += inv.checks;
                    m.violations += inv.violations;
                    if let Some(t) = first
                        && m.first_violation_s.is_none_or(|earlier| t < earlier)
                    {
                        m.first_violation_s = Some(t);
                        m.message = inv.message.as_ref().map(named);
                    }
                    if let Some(why) = inv.unchecked_reason.as_ref().map(named) {
                        m.unchecked_reason = Some(match m.unchecked_reason.take() {
                            Some(before) => format!("{before}; {why}"),
                            None => why,
                        });
                    }
                }
            }
        }
    }
    for m in &mut out {
        if unchecked.contains(&m.name) {
            m.checks = 0;
        }
    }
    out
}

/// Every count summed; `lost` recomputed from the sums; each shard's incarnations
/// kept, in shard order.
fn merge_messages<'a>(all: impl Iterator<Item = &'a MessageAccounting>) -> MessageAccounting {
    let all: Vec<&MessageAccounting> = all.collect();
    let mut m = MessageAccounting::sum(all.iter().copied());
    if m.measured {
        m.incarnations = all.iter().flat_map(|s| s.incarnations.clone()).collect();
    }
    m
}

/// Tasks summed, positive leaks summed, RSS the largest shard's, passed when all did.
fn merge_leaks<'a>(all: impl Iterator<Item = &'a LeakCheck>) -> LeakCheck {
    let all: Vec<&LeakCheck> = all.collect();
    let max = |f: fn(&LeakCheck) -> Option<u64>| all.iter().filter_map(|l| f(l)).max();
    LeakCheck {
        shutdown_clean: all.iter().all(|l| l.shutdown_clean),
        tasks_before: all.iter().map(|l| l.tasks_before).sum(),
        tasks_after: all.iter().map(|l| l.tasks_after).sum(),
        tasks_leaked: all.iter().map(|l| l.tasks_leaked.max(0)).sum(),
        rss_before_bytes: max(|l| l.rss_before_bytes),
        rss_after_bytes: max(|l| l.rss_after_bytes),
        rss_growth_bytes_per_min: all
            .iter()
            .filter_map(|l| l.rss_growth_bytes_per_min)
            .reduce(f64::max),
        passed: all.iter().all(|l| l.passed),
    }
}

/// The shards' durability findings together (`None` when no shard ran the checker).
fn merge_durability<'a>(
    shards: impl Iterator<Item = Option<&'a crate::schema::Durability>>,
) -> Option<crate::schema::Durability> {
    let mut out: Option<crate::schema::Durability> = None;
    for d in shards.flatten() {
        let m = out.get_or_insert_with(Default::default);
        m.acknowledged += d.acknowledged;
        m.lost_acknowledged += d.lost_acknowledged;
        m.write_behind_acknowledged += d.write_behind_acknowledged;
        m.write_behind_lost += d.write_behind_lost;
        m.write_behind_oldest_lost_ms =
            match (m.write_behind_oldest_lost_ms, d.write_behind_oldest_lost_ms) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        m.write_behind_bound_ms = m.write_behind_bound_ms.or(d.write_behind_bound_ms);
        m.readbacks += d.readbacks;
        let room = 100usize.saturating_sub(m.lost.len());
        m.lost.extend(d.lost.iter().take(room).cloned());
    }
    out
}

#[cfg(test)]
mod durability_tests {
    use super::merge_durability;
    use crate::schema::Durability;

    #[test]
    fn shards_durability_findings_add_up() {
        assert_eq!(merge_durability([None, None].into_iter()), None);
        let a = Durability {
            acknowledged: 10,
            lost_acknowledged: 1,
            write_behind_oldest_lost_ms: Some(900.0),
            write_behind_bound_ms: Some(1250.0),
            readbacks: 4,
            ..Durability::default()
        };
        let b = Durability {
            acknowledged: 5,
            write_behind_oldest_lost_ms: Some(950.0),
            readbacks: 4,
            ..Durability::default()
        };
        let m = merge_durability([Some(&a), None, Some(&b)].into_iter()).unwrap();
        assert_eq!(
            (m.acknowledged, m.lost_acknowledged, m.readbacks),
            (15, 1, 8)
        );
        assert_eq!(m.write_behind_oldest_lost_ms, Some(950.0));
        assert_eq!(m.write_behind_bound_ms, Some(1250.0));
    }
}
