//! Shards: what a sharded run records about itself, and what a merged result keeps
//! per shard.
//!
//! `gauntlet run --shard I/N` runs shard `I` of `N` of a scenario (each shard issues
//! its share of every load, see the harness's `shard` module) and records a
//! [`ShardInfo`] in its `results.json`. `gauntlet merge` ([`crate::merge`]) adds the
//! shards' results into one and records in [`MergedFrom`] what cannot be added
//! (faults, stalls, deadlocks and leak checks stay per shard, as do the shards' own
//! verdicts).

use serde::{Deserialize, Serialize};

use crate::schema::{
    DeadlockRecord, FaultRecord, LeakCheck, MessageAccounting, RunStatus, StallRecord, Verdict,
};

/// The `shard` field of a shard's `results.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// This shard's index, `0..count`.
    pub index: u32,
    /// How many shards the scenario was split into.
    pub count: u32,
    /// The seed this shard's random choices derive from (derived from the scenario's
    /// seed, which stays in `scenario.seed`; replay with `--seed SCENARIO_SEED --shard I/N`).
    pub seed: u64,
    /// Wall-clock instant of the shard's load start (`t_s = 0` of its timeline),
    /// milliseconds since the Unix epoch: what shards are aligned by.
    pub load_started_at_unix_ms: u64,
    /// The start instant asked for with `--start-at` (`null`: start at once).
    #[serde(default)]
    pub start_at_unix_ms: Option<u64>,
}

/// The `merged` field of a merged `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedFrom {
    /// How many shards the scenario was split into (all of them were merged).
    pub count: u32,
    /// The measured window of the merged run in seconds: from the earliest shard's
    /// end of warm-up to the latest shard's end of load (what rates divide by).
    pub measured_s: f64,
    /// Largest difference between the shards' load starts, in milliseconds.
    pub start_skew_ms: u64,
    /// One entry per shard, by index.
    pub shards: Vec<ShardSummary>,
}

/// What stays per shard in a merged result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardSummary {
    /// The shard's index.
    pub index: u32,
    /// Where the shard's results were read from.
    pub source: String,
    /// The shard's derived seed.
    pub seed: u64,
    /// The shard's load start, milliseconds since the Unix epoch.
    pub load_started_at_unix_ms: u64,
    /// Seconds from the merged timeline's `t_s = 0` (the earliest shard's load start)
    /// to this shard's; the shard's times are shifted by this much in the merged result.
    pub offset_s: f64,
    /// Whether the shard completed.
    pub status: RunStatus,
    /// Ops the shard completed in its measured window, all ops together.
    pub completed: u64,
    /// The shard's own verdict (its thresholds judged on its data alone).
    pub verdict: Verdict,
    /// The shard's faults, times as the shard recorded them (its own `t_s`).
    pub faults: Vec<FaultRecord>,
    /// The shard's stalls, times as the shard recorded them.
    pub stalls: Vec<StallRecord>,
    /// The shard's deadlocks, times as the shard recorded them.
    pub deadlocks: Vec<DeadlockRecord>,
    /// The shard's leak check (each shard's target is its own process).
    pub leaks: LeakCheck,
    /// The shard's message accounting.
    pub messages: MessageAccounting,
}
