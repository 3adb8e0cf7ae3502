//! Sharded runs: one scenario split over `N` processes (pods of a Kubernetes Indexed
//! Job, say) that together issue exactly the scenario's load.
//!
//! **The split rule.** Every load's work is a sequence of units: the ops of an
//! arrival-rate schedule (op `k` intended at the `k`-th arrival), the workers of a
//! concurrency schedule (worker `k` active while the scenario's concurrency exceeds
//! `k`) and the slots of `max_in_flight`. Unit `k` of load `j` (in scenario order)
//! belongs to shard `(k + j) mod N`. So each shard issues every `N`-th op of every
//! load at the op's own intended time (its rate is the scenario's over `N` at every
//! moment, ramps included), the shards' ops together are exactly the scenario's, with
//! the same intended times, and at every moment the shards' workers add up to the
//! scenario's concurrency. Remainders (a total not divisible by `N`) fall to
//! different shards for different loads, because of the `+ j`. The only rounding up:
//! an arrival-rate load keeps at least one slot on each shard, so when its
//! `max_in_flight` is below `N` the shards' bounds add up to more than the scenario's.
//!
//! **Seeds.** Shard `I` of `N` draws its random choices (target layout, fault
//! victims and windows) from [`derive_seed`]`(seed, I, N)`; with `N = 1` that is the
//! scenario's seed itself. The scenario's seed stays in `results.json`'s
//! `scenario.seed`, the derived one in `shard.seed`: `--seed S --shard I/N` replays
//! a shard exactly.
//!
//! **Faults** are per shard: each shard's target is its own process, so a
//! `[[fault]]` block is injected into every shard's target, with victims and windows
//! drawn from that shard's seed. A merged result lists every shard's faults.
//!
//! **Which shard.** `--shard I/N` names it; `--shard N` (or no flag and
//! `GAUNTLET_SHARDS=N`) takes `I` from `JOB_COMPLETION_INDEX`, which Kubernetes sets
//! in each pod of an Indexed Job ([`Shard::resolve`]). The shared start instant
//! (`--start-at`) is in [`start`]; merging shards' results in [`judge`].

pub mod command;
pub mod judge;
pub mod start;

use std::time::SystemTime;

use gauntlet_reports::schema::RunResult;
use gauntlet_reports::shard::ShardInfo;

use crate::load::LoadState;
use crate::load::schedule::share;
use crate::scenario::Scenario;

/// The environment variable Kubernetes sets to a pod's index in an Indexed Job.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// The environment variable that gives the shard count when `--shard` does not.
pub const COUNT_ENV: &str = "GAUNTLET_SHARDS";
/// The most shards a run may be split into.
pub const MAX_SHARDS: u32 = 10_000;

/// One shard of a sharded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard's index, `0..count`.
    pub index: u32,
    /// How many shards the run is split into.
    pub count: u32,
}

/// Why the shard could not be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// `--shard` is not `I/N` or `N`.
    #[error("--shard `{0}`: expected I/N (e.g. 0/4) or N with the index in ${INDEX_ENV}")]
    Syntax(String),
    /// The index or count is out of range.
    #[error(
        "shard {index}/{count}: the index must be below the count, and the count between 1 and {MAX_SHARDS}"
    )]
    OutOfRange {
        /// The index given.
        index: u64,
        /// The count given.
        count: u64,
    },
    /// The index must come from the environment, which lacks it or has a bad value.
    #[error("the shard index comes from ${INDEX_ENV}, which is {0}")]
    Index(String),
    /// The count from the environment is not a number.
    #[error("${COUNT_ENV} `{0}` is not a shard count")]
    Count(String),
}

fn number(text: &str, err: impl Fn() -> ShardError) -> Result<u64, ShardError> {
    text.trim().parse::<u64>().map_err(|_| err())
}

impl Shard {
    /// A shard, checked.
    pub fn new(index: u64, count: u64) -> Result<Self, ShardError> {
        if count == 0 || count > u64::from(MAX_SHARDS) || index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Self {
            index: index as u32,
            count: count as u32,
        })
    }

    /// The shard from `--shard` (`flag`) and the environment (`env` looks a variable
    /// up): `I/N`; or `N`, or no flag and [`COUNT_ENV`] set, with the index from
    /// [`INDEX_ENV`]. `None`: not a sharded run.
    pub fn resolve(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ShardError> {
        let count_text = match flag {
            Some(f) => match f.split_once('/') {
                Some((i, n)) => {
                    let syntax = || ShardError::Syntax(f.to_owned());
                    return Self::new(number(i, syntax)?, number(n, syntax)?).map(Some);
                }
                None => f.to_owned(),
            },
            None => match env(COUNT_ENV) {
                Some(n) => n,
                None => return Ok(None),
            },
        };
        let count = match flag {
            Some(f) => number(&count_text, || ShardError::Syntax(f.to_owned()))?,
            None => number(&count_text, || ShardError::Count(count_text.clone()))?,
        };
        let index = match env(INDEX_ENV) {
            None => return Err(ShardError::Index("not set".to_owned())),
            Some(i) => number(&i, || ShardError::Index(format!("`{i}`, not a number")))?,
        };
        Self::new(index, count).map(Some)
    }

    /// The offset of this shard among load `j`'s units (see the module docs).
    fn offset(&self, load: usize) -> u64 {
        let n = u64::from(self.count);
        (u64::from(self.index) + n - load as u64 % n) % n
    }

    /// Gives every load its share: unit `k` of load `j` to shard `(k + j) mod N`.
    pub fn apply(&self, loads: &mut [LoadState]) {
        let n = u64::from(self.count);
        for (j, l) in loads.iter_mut().enumerate() {
            let offset = self.offset(j);
            l.rate = l.rate.take().map(|r| r.strided(offset, n));
            l.concurrency = l.concurrency.take().map(|c| c.strided(offset, n));
            l.load.max_in_flight = match &l.concurrency {
                Some(c) => c.peak(),
                None => share(l.load.max_in_flight, offset, n).max(1),
            };
        }
    }
}

/// The seed of shard `index` of `count`: the scenario's seed when there is one shard,
/// otherwise a SplitMix64 mix of both, so shards draw independent choices.
pub fn derive_seed(seed: u64, index: u32, count: u32) -> u64 {
    if count <= 1 {
        return seed;
    }
    splitmix64(seed ^ splitmix64(u64::from(index) + 1))
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE5_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A shard about to run: what `run` needs to start it on time and record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRun {
    /// Which shard.
    pub shard: Shard,
    /// When the loads start (`None`: at once).
    pub start_at: Option<SystemTime>,
    /// The scenario's own seed (the shard runs with [`derive_seed`] of it).
    pub scenario_seed: u64,
}

impl ShardRun {
    /// The scenario this shard runs (its seed derived) and the shard's run options.
    pub fn prepare(
        shard: Shard,
        start_at: Option<SystemTime>,
        scenario: &Scenario,
    ) -> (Scenario, Self) {
        let mut own = scenario.clone();
        own.seed = derive_seed(scenario.seed, shard.index, shard.count);
        let run = Self {
            shard,
            start_at,
            scenario_seed: scenario.seed,
        };
        (own, run)
    }

    /// Records the shard in its results: `shard`, and the scenario's own seed in
    /// `scenario.seed`. `load_started_at` is the wall-clock instant of `t_s = 0`.
    pub fn record(&self, result: &mut RunResult, load_started_at: SystemTime) {
        let ms = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64)
        };
        result.shard = Some(ShardInfo {
            index: self.shard.index,
            count: self.shard.count,
            seed: result.scenario.seed,
            load_started_at_unix_ms: ms(load_started_at),
            start_at_unix_ms: self.start_at.map(ms),
        });
        result.scenario.seed = self.scenario_seed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_shard_comes_from_the_flag_or_the_indexed_job_environment() {
        let none = env(&[]);
        assert_eq!(Shard::resolve(None, &none), Ok(None));
        assert_eq!(
            Shard::resolve(Some("2/5"), &none),
            Ok(Some(Shard { index: 2, count: 5 }))
        );
        let job = env(&[(INDEX_ENV, "3"), (COUNT_ENV, "4")]);
        assert_eq!(
            Shard::resolve(None, &job),
            Ok(Some(Shard { index: 3, count: 4 }))
        );
        assert_eq!(
            Shard::resolve(Some("8"), &job),
            Ok(Some(Shard { index: 3, count: 8 }))
        );
        // The flag's I/N wins over the environment.
        assert_eq!(
            Shard::resolve(Some("0/2"), &job),
            Ok(Some(Shard { index: 0, count: 2 }))
        );
    }

    #[test]
    fn bad_shards_say_why() {
        let none = env(&[]);
        assert!(matches!(
            Shard::resolve(Some("a/3"), &none),
            Err(ShardError::Syntax(_))
        ));
        assert!(matches!(
            Shard::resolve(Some("3/3"), &none),
            Err(ShardError::OutOfRange { index: 3, count: 3 })
        ));
        assert!(matches!(
            Shard::resolve(Some("0/0"), &none),
            Err(ShardError::OutOfRange { .. })
        ));
        let e = Shard::resolve(Some("4"), &none).unwrap_err();
        assert!(e.to_string().contains("JOB_COMPLETION_INDEX"), "{e}");
        let e = Shard::resolve(None, env(&[(COUNT_ENV, "x")])).unwrap_err();
        assert!(matches!(e, ShardError::Count(_)), "{e}");
        let e = Shard::resolve(Some("4"), env(&[(INDEX_ENV, "-1")])).unwrap_err();
        assert!(matches!(e, ShardError::Index(_)), "{e}");
    }

    #[test]
    fn seeds_differ_per_shard_and_one_shard_keeps_the_scenarios() {
        assert_eq!(derive_seed(42, 0, 1), 42);
        let seeds: Vec<u64> = (0..64).map(|i| derive_seed(42, i, 64)).collect();
        let mut unique = seeds.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 64);
        assert_eq!(derive_seed(42, 5, 64), seeds[5], "deterministic");
        assert_ne!(derive_seed(43, 5, 64), seeds[5]);
    }

    #[test]
    fn remainders_rotate_over_loads() {
        let s = |index| Shard { index, count: 3 };
        // Load 0: shard 0 takes units 0, 3, ...; load 1: shard 1 takes units 0, 3, ...
        assert_eq!(s(0).offset(0), 0);
        assert_eq!(s(1).offset(1), 0);
        assert_eq!(s(2).offset(2), 0);
        assert_eq!(s(0).offset(1), 2);
        // 4 slots over 3 shards: the extra one goes to a different shard per load.
        let extra = |load| (0..3).find(|i| share(4, s(*i).offset(load), 3) == 2);
        assert_eq!([extra(0), extra(1), extra(2)], [Some(0), Some(1), Some(2)]);
    }
}
