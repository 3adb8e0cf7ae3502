//! The gate's subcommands as the CLI runs them: what they print and their exit code
//! (0 pass, 1 a failed verdict or a regression, 2 bad input).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gauntlet_reports::RunResult;

use super::suite::{SuiteError, SuiteOptions, run_suite};
use super::{FinishError, compare_files, finish_run as finish, read_results, write_reports};

const EXIT_FAIL: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// `--baseline` and `--tolerance` of `gauntlet run`.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Baseline results files (none: no comparison).
    pub files: Vec<PathBuf>,
    /// `METRIC=VALUE` tolerance flags.
    pub tolerances: Vec<String>,
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("gauntlet: {message}");
    ExitCode::from(code)
}

/// The end of `gauntlet run`: write results and reports, print the summary (and
/// the comparison), and turn the outcome into an exit code.
pub fn finish_run(dir: &Path, result: &RunResult, baseline: &Baseline) -> ExitCode {
    match finish(dir, result, &baseline.files, &baseline.tolerances) {
        Ok((path, comparison)) => {
            print!(
                "{}",
                crate::summary::render(result, Some(&path.display().to_string()))
            );
            if let Some(c) = &comparison {
                print!("{}", c.console_table());
            }
            println!("  report:   {}", dir.join("report.html").display());
            let regressed = comparison.as_ref().is_some_and(|c| c.regressed());
            if result.verdict.passed && !regressed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAIL)
            }
        }
        Err(FinishError::Input(e)) => {
            print!("{}", crate::summary::render(result, None));
            fail(
                EXIT_USAGE,
                format!(
                    "{e} (results were written to {})",
                    dir.join("results.json").display()
                ),
            )
        }
        Err(FinishError::Write(e)) => fail(EXIT_FAIL, e),
    }
}

/// `gauntlet report RESULTS [--out DIR]`.
pub fn report(results: &Path, out: Option<PathBuf>) -> ExitCode {
    let result = match read_results(results) {
        Ok(r) => r,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let dir = out.unwrap_or_else(|| {
        results
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return fail(
            EXIT_USAGE,
            format!("cannot create output directory {}: {e}", dir.display()),
        );
    }
    match write_reports(&dir, &result, None) {
        Ok(w) => {
            println!("report:   {}", w.html.display());
            println!("summary:  {}", w.summary.display());
            println!("junit:    {}", w.junit.display());
            println!(
                "charts:   {} file(s) in {}",
                w.charts.len(),
                dir.join("charts").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(EXIT_FAIL, e),
    }
}

/// `gauntlet compare BASELINE... RESULTS [--tolerance M=V] [--out DIR]`.
pub fn compare(files: &[PathBuf], tolerances: &[String], out: Option<PathBuf>) -> ExitCode {
    let Some((current_path, baselines)) = files.split_last() else {
        return fail(EXIT_USAGE, "compare needs BASELINE... RESULTS");
    };
    if baselines.is_empty() {
        return fail(
            EXIT_USAGE,
            "compare needs at least one baseline before the results file",
        );
    }
    let current = match read_results(current_path) {
        Ok(r) => r,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let comparison = match compare_files(baselines, &current, tolerances) {
        Ok(c) => c,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    println!("  RESULTS   {}", current_path.display());
    print!("{}", comparison.console_table());
    if let Some(dir) = out {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return fail(
                EXIT_USAGE,
                format!("cannot create output directory {}: {e}", dir.display()),
            );
        }
        match write_reports(&dir, &current, Some(&comparison)) {
            Ok(w) => println!("  report:   {}", w.html.display()),
            Err(e) => return fail(EXIT_FAIL, e),
        }
    }
    if comparison.regressed() {
        ExitCode::from(EXIT_FAIL)
    } else {
        ExitCode::SUCCESS
    }
}

/// `gauntlet suite DIR_OR_FILE... [--out DIR] [--baseline-dir DIR]`.
pub fn suite(inputs: &[PathBuf], options: SuiteOptions) -> ExitCode {
    match run_suite(inputs, &options) {
        Ok(entries) => {
            let passed = gauntlet_reports::suite::passed(&entries);
            let ok = entries.iter().filter(|e| e.passed()).count();
            println!(
                "\n  SUITE     {} {ok}/{} scenario(s) passed",
                if passed { "✓ PASS" } else { "✗ FAIL" },
                entries.len()
            );
            println!("  summary:  {}", options.out.join("summary.md").display());
            println!("  junit:    {}", options.out.join("junit.xml").display());
            println!("  index:    {}", options.out.join("index.html").display());
            if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAIL)
            }
        }
        Err(SuiteError::Input(e)) => fail(EXIT_USAGE, e),
        Err(SuiteError::Write(e)) => fail(EXIT_FAIL, e),
    }
}
