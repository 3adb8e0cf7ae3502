//! The CI gate: report files for a run, baseline comparison and suites.
//!
//! `gauntlet run` ends here ([`finish_run`]): results.json, report.html, summary.md,
//! junit.xml and the charts are written to the run's directory and, with
//! `--baseline`, the run is compared with earlier runs. `gauntlet report` re-renders
//! a results file offline, `gauntlet compare` compares files, and `gauntlet suite`
//! ([`suite`]) runs several scenarios with one verdict.
//!
//! Bad input (a results file that is not JSON, of an unknown schema version, a
//! tolerance that is not a percentage) is a [`GateError`], which the CLI reports
//! with exit code 2; a failure to write reports is a
//! [`ReportError`] (exit 1).

mod baseline;
pub mod command;
pub mod suite;

use std::path::{Path, PathBuf};

use gauntlet_reports::RunResult;
use gauntlet_reports::bundle::{self, ReportError, Written};
use gauntlet_reports::compare::{Comparison, ToleranceError, Tolerances, compare};
use gauntlet_reports::outcome::Outcome;
use gauntlet_reports::schema::ReadError;

pub use baseline::{find_baselines, read_baselines};

/// Input the gate cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A results file could not be read.
    #[error("{}: cannot read results: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A results file is malformed or of a schema version this build does not read.
    #[error("{}: {source}", path.display())]
    Results {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: ReadError,
    },
    /// A tolerance setting is not valid.
    #[error("{origin}: {source}")]
    Tolerance {
        /// Where it came from (`--tolerance`, or the results file's `[baseline]` table).
        origin: String,
        /// What is wrong with it.
        source: ToleranceError,
    },
    /// Anything else about the input (missing files, an empty suite, ...).
    #[error("{0}")]
    Input(String),
}

/// Reads and checks a results file.
pub fn read_results(path: &Path) -> Result<RunResult, GateError> {
    let text = crate::input::read_text(path).map_err(|e| GateError::Io {
        path: path.to_path_buf(),
        source: e.into_io(),
    })?;
    RunResult::from_json(&text).map_err(|source| GateError::Results {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `result` as `dir/results.json` (through a temporary file).
pub fn write_results(dir: &Path, result: &RunResult) -> Result<PathBuf, ReportError> {
    let path = dir.join("results.json");
    let json = result.to_json().map_err(|e| ReportError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    bundle::write_file(&path, json.as_bytes())?;
    Ok(path)
}

/// The tolerances for judging `current`: the defaults, then the scenario's
/// `[baseline]` table recorded in its results, then `flags` (`METRIC=VALUE`).
pub fn tolerances(current: &RunResult, flags: &[String]) -> Result<Tolerances, GateError> {
    let mut t = Tolerances::default();
    t.apply(
        current
            .scenario
            .baseline_tolerances
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(|source| GateError::Tolerance {
        origin: format!("[baseline] table of scenario `{}`", current.scenario.name),
        source,
    })?;
    for flag in flags {
        t.apply_flag(flag).map_err(|source| GateError::Tolerance {
            origin: "--tolerance".to_owned(),
            source,
        })?;
    }
    Ok(t)
}

/// Compares `current` with the baseline files under the resolved tolerances.
pub fn compare_files(
    baselines: &[PathBuf],
    current: &RunResult,
    flags: &[String],
) -> Result<Comparison, GateError> {
    let tolerances = tolerances(current, flags)?;
    let baselines = read_baselines(baselines)?;
    Ok(compare(&baselines, current, &tolerances))
}

/// Writes every report file of a run into `dir`.
pub fn write_reports(
    dir: &Path,
    result: &RunResult,
    comparison: Option<&Comparison>,
) -> Result<Written, ReportError> {
    bundle::write(dir, &Outcome { result, comparison })
}

/// The end of `gauntlet run`: write results and reports to `dir`, compare with the
/// `baselines` if any. Returns where results.json went and the comparison. Bad
/// baseline input is reported after results.json is written, so a run is never lost
/// to a typo in a flag.
pub fn finish_run(
    dir: &Path,
    result: &RunResult,
    baselines: &[PathBuf],
    flags: &[String],
) -> Result<(PathBuf, Option<Comparison>), FinishError> {
    let path = write_results(dir, result)?;
    let comparison = if baselines.is_empty() {
        None
    } else {
        Some(compare_files(baselines, result, flags)?)
    };
    write_reports(dir, result, comparison.as_ref())?;
    Ok((path, comparison))
}

/// Why the end of a run failed.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    /// Baseline input was bad (exit 2).
    #[error(transparent)]
    Input(#[from] GateError),
    /// Writing failed (exit 1).
    #[error(transparent)]
    Write(#[from] ReportError),
}
