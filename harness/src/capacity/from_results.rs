//! `gauntlet capacity --from FILES`: a capacity analysis of runs made earlier, one
//! results file per level, or several per level: runs at the same level are its
//! repeats, with intervals as in a sweep with `repeats`.

use std::path::PathBuf;

use gauntlet_reports::capacity::analysis::{conclude, slo};
use gauntlet_reports::capacity::level;
use gauntlet_reports::capacity_schema::{
    CAPACITY_SCHEMA_VERSION, CapacityResult, LoadVariable, Source, Stop, StopReason,
};
use gauntlet_reports::schema::RunResult;

use super::sweep::concurrency_source;

/// Why results files cannot be analysed together (each names the file).
#[derive(Debug, thiserror::Error)]
pub enum FromError {
    /// No files given.
    #[error("--from: give at least one results file")]
    NoFiles,
    /// A file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not a results file of a known schema.
    #[error("{}: {source}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Why.
        source: gauntlet_reports::schema::ReadError,
    },
    /// Files that do not belong to one sweep.
    #[error("{}: {message}", file.display())]
    Mismatch {
        /// The file.
        file: PathBuf,
        /// What does not match.
        message: String,
    },
}

/// Reads `files` (one run per level) and analyses them; `load` names the load whose
/// level differs between the runs (default: the first load).
pub fn from_results(files: &[PathBuf], load: Option<&str>) -> Result<CapacityResult, FromError> {
    if files.is_empty() {
        return Err(FromError::NoFiles);
    }
    let mut runs: Vec<(PathBuf, RunResult)> = Vec::new();
    for file in files {
        let text = crate::input::read_text(file).map_err(|e| FromError::Io {
            file: file.clone(),
            source: e.into_io(),
        })?;
        let run = RunResult::from_json(&text).map_err(|source| FromError::Invalid {
            file: file.clone(),
            source,
        })?;
        runs.push((file.clone(), run));
    }
    let (first_file, first) = &runs[0];
    // The scenario's name becomes the default output folder (`out/NAME-capacity`).
    gauntlet_reports::path_name::check(&first.scenario.name).map_err(|e| FromError::Mismatch {
        file: first_file.clone(),
        message: format!("scenario.name {e}"),
    })?;
    let swept = match load {
        Some(name) => first.loads.iter().position(|l| l.name == name),
        None => (!first.loads.is_empty()).then_some(0),
    }
    .ok_or_else(|| FromError::Mismatch {
        file: first_file.clone(),
        message: match load {
            Some(name) => format!("--load: no load named `{name}`"),
            None => "the run has no loads".to_owned(),
        },
    })?;
    let name = first.loads[swept].name.clone();
    let variable = if first.loads[swept].executor.contains("arrival-rate") {
        LoadVariable::ArrivalRate
    } else {
        LoadVariable::Concurrency
    };
    let mut levels = Vec::new();
    for (file, run) in &runs {
        let mismatch = |message: String| FromError::Mismatch {
            file: file.clone(),
            message,
        };
        if run.scenario.name != first.scenario.name {
            return Err(mismatch(format!(
                "scenario `{}`, but {} is of `{}`: one sweep is one scenario",
                run.scenario.name,
                first_file.display(),
                first.scenario.name
            )));
        }
        let l = run
            .loads
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| mismatch(format!("has no load named `{name}`")))?;
        let open = l.executor.contains("arrival-rate");
        if open != (variable == LoadVariable::ArrivalRate) {
            return Err(mismatch(format!(
                "load `{name}` is {} here but {} in {}",
                l.executor,
                first.loads[swept].executor,
                first_file.display()
            )));
        }
        let offered = match variable {
            LoadVariable::Concurrency => l.max_in_flight as f64,
            LoadVariable::ArrivalRate => match l.scheduled {
                Some(n) if run.scenario.duration_s > 0.0 => n as f64 / run.scenario.duration_s,
                _ => return Err(mismatch(format!("load `{name}` has no schedule"))),
            },
        };
        levels.push(level::from_run(
            run,
            0,
            offered,
            variable,
            Some(file.display().to_string()),
        ));
    }
    levels.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    // Runs at the same level are its repeats (in the order given).
    let mut grouped: Vec<Vec<gauntlet_reports::capacity_schema::Level>> = Vec::new();
    for l in levels {
        match grouped.last_mut() {
            Some(g) if g[0].offered == l.offered => g.push(l),
            _ => grouped.push(vec![l]),
        }
    }
    let mut levels: Vec<_> = grouped.into_iter().filter_map(level::combine).collect();
    for (i, l) in levels.iter_mut().enumerate() {
        l.index = i;
    }
    let mut r = CapacityResult {
        schema_version: CAPACITY_SCHEMA_VERSION,
        gauntlet_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: first.scenario.clone(),
        started_at_unix_ms: runs
            .iter()
            .map(|(_, r)| r.started_at_unix_ms)
            .min()
            .unwrap_or(0),
        elapsed_s: 0.0,
        source: Source::Results,
        load: name.clone(),
        op: first.loads[swept].op.clone(),
        variable,
        concurrency_source: concurrency_source(variable),
        sweep: None,
        slo: slo(&first.thresholds),
        stop: Stop {
            reason: StopReason::AllLevels,
            level: None,
            detail: format!(
                "read {} results file(s): {} level(s)",
                runs.len(),
                levels.len()
            ),
        },
        levels,
        fit: None,
        fit_error: None,
        max_within_slo: None,
        statement: String::new(),
        bounds: None,
    };
    conclude(&mut r);
    Ok(r)
}
