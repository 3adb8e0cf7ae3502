//! `gauntlet suite`: several scenarios in order, one verdict.
//!
//! Every scenario is validated before the first one runs, so a typo in the last file
//! fails the suite at once (exit 2) instead of after minutes of load. Each scenario
//! then runs on its own, writes its results and reports to `OUT/<name>/` and, when
//! the baseline directory has runs of it, is compared with them. The suite writes
//! `OUT/summary.md`, `OUT/junit.xml` and `OUT/index.html` over all of them.

use std::path::{Path, PathBuf};

use gauntlet_reports::bundle::{self, ReportError};
use gauntlet_reports::suite::{self as report, Entry, EntryOutcome};

use super::{GateError, compare_files, find_baselines, write_reports, write_results};
use crate::run::{RunOptions, run};
use crate::scenario::{Overrides, Scenario, load_file_in};

/// How to run a suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteOptions {
    /// Output directory of the suite.
    pub out: PathBuf,
    /// Where baselines live (`DIR/NAME.json` or `DIR/NAME/*.json`).
    pub baseline_dir: Option<PathBuf>,
    /// `--tolerance METRIC=VALUE` flags.
    pub tolerance_flags: Vec<String>,
    /// Duration and seed overrides applied to every scenario.
    pub overrides: Overrides,
    /// Draw the live progress line.
    pub progress: bool,
    /// The workloads scenarios may name.
    pub registry: crate::workload::Registry,
}

/// Why a suite could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// Bad input: missing files, invalid scenarios, bad tolerances (exit 2).
    #[error(transparent)]
    Input(#[from] GateError),
    /// The suite's own files could not be written (exit 1).
    #[error(transparent)]
    Write(#[from] ReportError),
}

/// The scenario files named by `inputs`: files as given, directories expanded to
/// their `*.toml` files in name order.
pub fn scenario_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, GateError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let entries = std::fs::read_dir(input).map_err(|source| GateError::Io {
                path: input.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(GateError::Input(format!(
                    "{}: no *.toml scenario files in this directory",
                    input.display()
                )));
            }
            files.extend(found);
        } else if input.is_file() {
            files.push(input.clone());
        } else {
            return Err(GateError::Input(format!(
                "{}: no such scenario file or directory",
                input.display()
            )));
        }
    }
    Ok(files)
}

/// Report directory names, one per scenario: its name, made unique with a suffix
/// when two scenarios share one.
fn dir_names(scenarios: &[Scenario]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(scenarios.len());
    let mut used = std::collections::HashSet::new();
    for s in scenarios {
        let mut name = s.name.clone();
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{}-{n}", s.name);
            n += 1;
        }
        used.insert(name.clone());
        names.push(name);
    }
    names
}

/// Runs the suite and writes its reports; returns every entry (pass or fail).
pub fn run_suite(inputs: &[PathBuf], options: &SuiteOptions) -> Result<Vec<Entry>, SuiteError> {
    let files = scenario_files(inputs)?;
    let mut scenarios = Vec::with_capacity(files.len());
    let mut problems = Vec::new();
    for f in &files {
        match load_file_in(&options.registry, f, &options.overrides) {
            Ok(s) => scenarios.push(s),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        return Err(GateError::Input(problems.join("\n")).into());
    }
    // Flags are checked before the first run, not after it.
    let mut check = gauntlet_reports::compare::Tolerances::default();
    for flag in &options.tolerance_flags {
        check
            .apply_flag(flag)
            .map_err(|source| GateError::Tolerance {
                origin: "--tolerance".to_owned(),
                source,
            })?;
    }
    let dirs = dir_names(&scenarios);
    // Scenario names passed the name rule when they were validated; checked again
    // here because each becomes a folder under OUT.
    for (dir, s) in dirs.iter().zip(&scenarios) {
        gauntlet_reports::path_name::check(dir)
            .map_err(|e| GateError::Input(format!("{}: suite entry folder {e}", s.file)))?;
    }
    std::fs::create_dir_all(&options.out).map_err(|source| ReportError::Io {
        path: options.out.clone(),
        source,
    })?;

    let mut entries = Vec::with_capacity(scenarios.len());
    for (i, (scenario, dir_name)) in scenarios.iter().zip(&dirs).enumerate() {
        eprintln!(
            "gauntlet suite: [{}/{}] {} ({})",
            i + 1,
            scenarios.len(),
            scenario.name,
            scenario.file
        );
        let dir = options.out.join(dir_name);
        let outcome = run_one(scenario, &dir, options)?;
        let entry = Entry {
            file: scenario.file.clone(),
            dir: dir_name.clone(),
            outcome,
        };
        match &entry.outcome {
            EntryOutcome::Ran { result, comparison } => {
                print!(
                    "{}",
                    crate::summary::render(
                        result,
                        Some(&dir.join("results.json").display().to_string())
                    )
                );
                if let Some(c) = comparison {
                    print!("{}", c.console_table());
                }
            }
            EntryOutcome::Failed { message } => {
                eprintln!("gauntlet suite: {}: {message}", scenario.file)
            }
        }
        entries.push(entry);
    }

    bundle::write_file(
        &options.out.join("summary.md"),
        report::summary_md(&entries).as_bytes(),
    )?;
    bundle::write_file(
        &options.out.join("junit.xml"),
        report::junit(&entries)
            .map_err(ReportError::from)?
            .as_bytes(),
    )?;
    bundle::write_file(
        &options.out.join("index.html"),
        report::index_html(&entries).as_bytes(),
    )?;
    Ok(entries)
}

/// Runs one scenario of the suite and writes its reports into `dir`.
fn run_one(
    scenario: &Scenario,
    dir: &Path,
    options: &SuiteOptions,
) -> Result<EntryOutcome, SuiteError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let run_options = RunOptions {
        progress: options.progress,
        handle_ctrl_c: true,
        snapshot: None,
        ..RunOptions::default()
    };
    let result = match run(scenario, &run_options) {
        Ok(r) => r,
        Err(e) => {
            return Ok(EntryOutcome::Failed {
                message: e.to_string(),
            });
        }
    };
    write_results(dir, &result)?;
    let baselines = match &options.baseline_dir {
        Some(b) => find_baselines(b, &scenario.name)?,
        None => Vec::new(),
    };
    if options.baseline_dir.is_some() && baselines.is_empty() {
        eprintln!(
            "gauntlet suite: no baseline for `{}` in {}; not compared",
            scenario.name,
            options
                .baseline_dir
                .as_deref()
                .unwrap_or(Path::new(""))
                .display()
        );
    }
    let comparison = if baselines.is_empty() {
        None
    } else {
        Some(compare_files(
            &baselines,
            &result,
            &options.tolerance_flags,
        )?)
    };
    write_reports(dir, &result, comparison.as_ref())?;
    Ok(EntryOutcome::Ran {
        result: Box::new(result),
        comparison,
    })
}
