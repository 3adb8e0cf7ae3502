//! The sharding parts of the command line: `gauntlet run --shard/--start-at` and
//! `gauntlet merge`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use gauntlet_reports::merge::{MergeSettings, ShardInput};

use super::judge::merge_and_judge;
use super::start::parse_start_at;
use super::{Shard, ShardRun};
use crate::gate::command::{Baseline, finish_run};
use crate::gate::read_results;
use crate::scenario::Scenario;

const EXIT_USAGE: u8 = 2;

/// The environment variable that gives the start instant when `--start-at` does not.
pub const START_AT_ENV: &str = "GAUNTLET_START_AT";

/// `--shard` and `--start-at` of `gauntlet run`, as given.
#[derive(Debug, Clone, Default)]
pub struct ShardFlags {
    /// `--shard I/N` or `--shard N`.
    pub shard: Option<String>,
    /// `--start-at UNIX_MS|RFC3339`.
    pub start_at: Option<String>,
}

/// The scenario a shard runs and its run options (`None`: not a sharded run), from the
/// flags and the environment (`JOB_COMPLETION_INDEX`, `GAUNTLET_SHARDS`,
/// `GAUNTLET_START_AT`). The error is a usage message.
pub fn prepare(
    scenario: &Scenario,
    flags: &ShardFlags,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Scenario, Option<ShardRun>), String> {
    let shard = Shard::resolve(flags.shard.as_deref(), &env).map_err(|e| e.to_string())?;
    let start_at = flags.start_at.clone().or_else(|| env(START_AT_ENV));
    let Some(shard) = shard else {
        if start_at.is_some() {
            return Err(
                "--start-at (or $GAUNTLET_START_AT) is for sharded runs: add --shard I/N"
                    .to_owned(),
            );
        }
        return Ok((scenario.clone(), None));
    };
    let start_at = start_at
        .map(|t| parse_start_at(&t, SystemTime::now()))
        .transpose()
        .map_err(|e| e.to_string())?;
    let (own, run) = ShardRun::prepare(shard, start_at, scenario);
    Ok((own, Some(run)))
}

/// How long until `run` starts its loads (zero when it starts at once).
pub fn wait_before_start(run: Option<&ShardRun>) -> Duration {
    run.and_then(|r| r.start_at)
        .and_then(|t| t.duration_since(SystemTime::now()).ok())
        .unwrap_or_default()
}

/// `gauntlet merge RESULTS... --out DIR`: merge, judge, write results and reports,
/// compare with baselines; exit 0 pass, 1 fail or regression, 2 refused.
pub fn merge(
    files: &[PathBuf],
    out: &Path,
    settings: MergeSettings,
    baseline: &Baseline,
) -> ExitCode {
    let mut inputs = Vec::with_capacity(files.len());
    for f in files {
        match read_results(f) {
            Ok(result) => inputs.push(ShardInput {
                source: f.display().to_string(),
                result,
            }),
            Err(e) => {
                eprintln!("gauntlet merge: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let merged = match merge_and_judge(&inputs, settings) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("gauntlet merge: refused: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!(
            "gauntlet merge: cannot create output directory {}: {e}",
            out.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    if let Some(m) = &merged.merged {
        println!(
            "merged {} shards (load starts {} ms apart) over {:.1} s measured",
            m.count, m.start_skew_ms, m.measured_s
        );
        for s in &m.shards {
            println!(
                "  shard {:<4} {:>10} ops  judged alone: {:<4}  {}",
                s.index,
                s.completed,
                if s.verdict.passed { "pass" } else { "fail" },
                s.source
            );
        }
    }
    finish_run(out, &merged, baseline)
}
