//! Timelines aligned by wall-clock tick and combined per column.
//!
//! Shard `s` started its load `offset_s` seconds after the earliest shard; its tick
//! ending at `t_s` lands in merged tick `round((offset_s + t_s) / tick_s)`, which ends
//! at `index * tick_s` on the merged timeline (a shard's later tick never shares a
//! slot with its earlier one: it moves to the next). Each merged tick combines the
//! shards' ticks in that slot column by column:
//!
//! | column | rule |
//! |---|---|
//! | `ops[].completed`, `errors`, `rate_per_s` | summed |
//! | `ops[].p50_ns` .. `p999_ns`, `max_ns` | the largest shard's value: exact for `max`, an upper bound for percentiles (a percentile of a union never exceeds the largest of the parts'); per-tick histograms are not in results, the run's totals are exact |
//! | `offered_per_s`, `dropped`, `in_flight` | summed |
//! | `warmup` | any shard still warming up |
//! | `process.cpu_percent` | summed (CPU of all shards) |
//! | `process.rss_bytes`, `threads` | the largest shard's (per-process figures, so memory limits mean what they mean on one node) |
//! | `runtime.alive_tasks`, `global_queue_depth` | summed |
//! | `runtime.busy_ratio`, `sched_lag_max_ns`, `sched_lag_mean_ns` | the largest shard's |
//! | `target.actors_alive`, `mailbox_depth` | summed over the shards in the slot |
//! | `target` cumulative counters (`messages_*`, `restarts`, ...) | summed, each shard's latest value carried into slots it has no tick in |
//! | `target.breaker_state` | the worst (open > half-open > closed) |
//! | `active_faults` | the union |
//!
//! A figure a shard did not measure (`null`) is left out; a merged figure no shard
//! measured stays `null`.

use std::collections::BTreeMap;

use crate::schema::{
    BreakerState, GeneratorLoadTick, GeneratorTick, ProcessSample, RuntimeSample, TargetSample,
    Tick, TickOp,
};

use super::ShardInput;

/// Sum of the values present; `None` when none is.
fn sum(values: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    values.fold(None, |acc, v| match (acc, v) {
        (a, None) => a,
        (None, Some(v)) => Some(v),
        (Some(a), Some(v)) => Some(a + v),
    })
}

/// Largest of the values present.
fn max<T: PartialOrd + Copy>(values: impl Iterator<Item = Option<T>>) -> Option<T> {
    values.flatten().fold(None, |acc, v| match acc {
        Some(a) if a >= v => Some(a),
        _ => Some(v),
    })
}

fn breaker_rank(s: BreakerState) -> u8 {
    match s {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    }
}

/// Cumulative target counters, as accessors.
const CUMULATIVE: [fn(&TargetSample) -> Option<u64>; 13] = [
    |t| t.messages_sent,
    |t| t.messages_delivered,
    |t| t.messages_dropped,
    |t| t.messages_rejected,
    |t| t.messages_dead_lettered,
    |t| t.restarts,
    |t| t.passivations,
    |t| t.deadlocks,
    |t| t.stalls,
    |t| t.activations,
    |t| t.breaker_transitions,
    |t| t.breaker_rejections,
    |t| t.hibernations,
];

/// The merged timeline; `offsets_s[i]` is shard `i`'s load start after the earliest.
pub(super) fn merge_timeline(inputs: &[ShardInput], offsets_s: &[f64], tick_s: f64) -> Vec<Tick> {
    let mut slots: BTreeMap<i64, Vec<(usize, &Tick)>> = BTreeMap::new();
    for (i, s) in inputs.iter().enumerate() {
        let mut last: Option<i64> = None;
        for t in &s.result.timeline {
            let at = if tick_s > 0.0 {
                ((offsets_s[i] + t.t_s) / tick_s).round() as i64
            } else {
                0
            };
            let at = last.map_or(at, |l| at.max(l + 1));
            last = Some(at);
            slots.entry(at).or_default().push((i, t));
        }
    }
    let mut latest: Vec<Option<&Tick>> = vec![None; inputs.len()];
    slots
        .into_iter()
        .map(|(at, present)| {
            for (i, t) in &present {
                latest[*i] = Some(t);
            }
            combine(at as f64 * tick_s, &present, &latest)
        })
        .collect()
}

fn combine(t_s: f64, present: &[(usize, &Tick)], latest: &[Option<&Tick>]) -> Tick {
    let ticks = || present.iter().map(|(_, t)| *t);
    let mut ops: Vec<TickOp> = Vec::new();
    for op in ticks().flat_map(|t| &t.ops) {
        match ops.iter_mut().find(|o| o.op == op.op) {
            None => ops.push(op.clone()),
            Some(m) => {
                m.completed += op.completed;
                m.errors += op.errors;
                m.rate_per_s += op.rate_per_s;
                m.p50_ns = max([m.p50_ns, op.p50_ns].into_iter());
                m.p90_ns = max([m.p90_ns, op.p90_ns].into_iter());
                m.p99_ns = max([m.p99_ns, op.p99_ns].into_iter());
                m.p999_ns = max([m.p999_ns, op.p999_ns].into_iter());
                m.max_ns = max([m.max_ns, op.max_ns].into_iter());
            }
        }
    }
    let mut active_faults: Vec<String> = ticks().flat_map(|t| t.active_faults.clone()).collect();
    active_faults.sort_unstable();
    active_faults.dedup();
    let carried =
        |f: fn(&TargetSample) -> Option<u64>| sum(latest.iter().flatten().map(|t| f(&t.target)));
    let mut target = TargetSample {
        actors_alive: sum(ticks().map(|t| t.target.actors_alive)),
        mailbox_depth: sum(ticks().map(|t| t.target.mailbox_depth)),
        actors_hibernating: sum(ticks().map(|t| t.target.actors_hibernating)),
        breaker_state: ticks()
            .filter_map(|t| t.target.breaker_state)
            .max_by_key(|s| breaker_rank(*s)),
        ..TargetSample::default()
    };
    let [
        sent,
        delivered,
        dropped,
        rejected,
        dead,
        restarts,
        passivations,
        deadlocks,
        stalls,
        activations,
        transitions,
        rejections,
        hibernations,
    ] = CUMULATIVE.map(carried);
    target.messages_sent = sent;
    target.messages_delivered = delivered;
    target.messages_dropped = dropped;
    target.messages_rejected = rejected;
    target.messages_dead_lettered = dead;
    target.restarts = restarts;
    target.passivations = passivations;
    target.deadlocks = deadlocks;
    target.stalls = stalls;
    target.activations = activations;
    target.breaker_transitions = transitions;
    target.breaker_rejections = rejections;
    target.hibernations = hibernations;
    Tick {
        t_s,
        warmup: ticks().any(|t| t.warmup),
        ops,
        offered_per_s: ticks().map(|t| t.offered_per_s).sum(),
        dropped: ticks().map(|t| t.dropped).sum(),
        in_flight: ticks().map(|t| t.in_flight).sum(),
        process: ProcessSample {
            rss_bytes: max(ticks().map(|t| t.process.rss_bytes)),
            cpu_percent: ticks()
                .filter_map(|t| t.process.cpu_percent)
                .fold(None, |a: Option<f64>, v| Some(a.unwrap_or(0.0) + v)),
            threads: max(ticks().map(|t| t.process.threads)),
            // Each shard's own machine: the worst shard speaks for the run.
            load_threads_busy_ratio: max(ticks().map(|t| t.process.load_threads_busy_ratio)),
            store_thread_busy_ratio: max(ticks().map(|t| t.process.store_thread_busy_ratio)),
            steal_percent: max(ticks().map(|t| t.process.steal_percent)),
            other_cpu_percent: max(ticks().map(|t| t.process.other_cpu_percent)),
        },
        runtime: RuntimeSample {
            alive_tasks: ticks().map(|t| t.runtime.alive_tasks).sum(),
            global_queue_depth: ticks().map(|t| t.runtime.global_queue_depth).sum(),
            busy_ratio: max(ticks().map(|t| t.runtime.busy_ratio)),
            sched_lag_max_ns: max(ticks().map(|t| t.runtime.sched_lag_max_ns)),
            sched_lag_mean_ns: max(ticks().map(|t| t.runtime.sched_lag_mean_ns)),
        },
        target,
        active_faults,
        generator: merged_generator(ticks().filter_map(|t| t.generator.as_ref())),
    }
}

/// The shards' load-generator figures for one tick: the busiest thread of any shard,
/// the largest lateness (the merged p99 is the largest shard p99, an upper bound),
/// drops and completions added per load, a load starved if it was in any shard; mean
/// lateness weighted by the shards' completions (the ops it was taken over).
fn merged_generator<'a>(
    shards: impl Iterator<Item = &'a GeneratorTick> + Clone,
) -> Option<GeneratorTick> {
    shards.clone().next()?;
    let mut loads: Vec<GeneratorLoadTick> = Vec::new();
    for g in shards.clone() {
        for l in &g.loads {
            match loads.iter_mut().find(|m| m.load == l.load) {
                None => loads.push(l.clone()),
                Some(m) => {
                    m.lateness_mean_s = weighted_mean([
                        (m.lateness_mean_s, m.completed),
                        (l.lateness_mean_s, l.completed),
                    ]);
                    m.completed += l.completed;
                    m.dropped += l.dropped;
                    m.lateness_p99_s = max([m.lateness_p99_s, l.lateness_p99_s].into_iter());
                    m.max_lateness_s = max([m.max_lateness_s, l.max_lateness_s].into_iter());
                    m.starved |= l.starved;
                }
            }
        }
    }
    Some(GeneratorTick {
        busy_ratio: max(shards.clone().map(|g| g.busy_ratio)),
        lateness_p99_s: max(shards.clone().map(|g| g.lateness_p99_s)),
        max_lateness_s: max(shards.clone().map(|g| g.max_lateness_s)),
        lateness_mean_s: weighted_mean(
            shards
                .clone()
                .map(|g| (g.lateness_mean_s, g.loads.iter().map(|l| l.completed).sum())),
        ),
        dropped: shards.map(|g| g.dropped).sum(),
        loads,
    })
}

/// The mean of means weighted by their counts, over those that have a mean; `None`
/// when none has.
fn weighted_mean(parts: impl IntoIterator<Item = (Option<f64>, u64)>) -> Option<f64> {
    let (mut sum, mut weight, mut any) = (0.0, 0.0, false);
    for (mean, count) in parts {
        if let Some(m) = mean {
            sum += m * count as f64;
            weight += count as f64;
            any = true;
        }
    }
    any.then(|| if weight > 0.0 { sum / weight } else { 0.0 })
}
