//! Reports of a suite: several scenarios run in order (`gauntlet suite`) with one
//! combined verdict, one `junit.xml`, one `summary.md` and an `index.html` linking
//! each scenario's own report (in a subdirectory named after it).

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::compare::Comparison;
use crate::html::esc;
use crate::junit::{self, JunitError};
use crate::markdown::{self, md};
use crate::outcome::Outcome;
use crate::schema::RunResult;

/// One scenario of a suite.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The scenario file as given.
    pub file: String,
    /// Its report directory, relative to the suite's (`smoke`).
    pub dir: String,
    /// What happened.
    pub outcome: EntryOutcome,
}

/// What happened to one scenario of a suite.
#[derive(Debug, Clone)]
pub enum EntryOutcome {
    /// It ran (pass or fail).
    Ran {
        /// Its results.
        result: Box<RunResult>,
        /// Its baseline comparison, when a baseline was found.
        comparison: Option<Comparison>,
    },
    /// It could not run (invalid scenario, target failed to build, ...).
    Failed {
        /// Why.
        message: String,
    },
}

impl Entry {
    /// The run's outcome, when it ran.
    pub fn outcome(&self) -> Option<Outcome<'_>> {
        match &self.outcome {
            EntryOutcome::Ran { result, comparison } => Some(Outcome {
                result,
                comparison: comparison.as_ref(),
            }),
            EntryOutcome::Failed { .. } => None,
        }
    }

    /// Whether this scenario passed (ran, met its thresholds, did not regress).
    pub fn passed(&self) -> bool {
        self.outcome().is_some_and(|o| o.passed())
    }
}

/// Whether every scenario of the suite passed (an empty suite does not).
pub fn passed(entries: &[Entry]) -> bool {
    !entries.is_empty() && entries.iter().all(Entry::passed)
}

/// The suite's `summary.md`: a table of scenarios, then each run's summary.
pub fn summary_md(entries: &[Entry]) -> String {
    let ok = entries.iter().filter(|e| e.passed()).count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## {} Gauntlet suite: {ok}/{} scenario(s) passed\n",
        if passed(entries) { "✅" } else { "❌" },
        entries.len()
    );
    s.push_str(
        "| | scenario | file | thresholds | baseline | notes |\n|---|---|---|---:|---|---|\n",
    );
    for e in entries {
        match e.outcome() {
            Some(o) => {
                let r = o.result;
                let held = r.thresholds.iter().filter(|t| t.passed).count();
                let baseline = match o.comparison {
                    None => "–".to_owned(),
                    Some(c) if c.regressed() => {
                        format!("❌ {} regression(s)", c.regressions().count())
                    }
                    Some(_) => "✅".to_owned(),
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {held}/{} | {baseline} | {} |",
                    if o.passed() { "✅" } else { "❌" },
                    md(&r.scenario.name),
                    md(&e.file),
                    r.thresholds.len(),
                    md(&r.verdict.reasons.join("; "))
                );
            }
            None => {
                let message = match &e.outcome {
                    EntryOutcome::Failed { message } => message.as_str(),
                    EntryOutcome::Ran { .. } => "",
                };
                let _ = writeln!(
                    s,
                    "| ❌ | {} | {} | – | – | did not run: {} |",
                    md(&e.dir),
                    md(&e.file),
                    md(message)
                );
            }
        }
    }
    s.push('\n');
    for o in entries.iter().filter_map(Entry::outcome) {
        s.push_str(&markdown::render(&o, 3));
    }
    s
}

/// The suite's `junit.xml`: each run's suites, and a failing case for a scenario
/// that did not run.
pub fn junit(entries: &[Entry]) -> Result<String, JunitError> {
    let mut suites = Vec::new();
    for e in entries {
        match &e.outcome {
            EntryOutcome::Ran { .. } => {
                if let Some(o) = e.outcome() {
                    suites.extend(junit::suites(&o));
                }
            }
            EntryOutcome::Failed { message } => {
                let mut suite = TestSuite::new(e.dir.clone());
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(message.clone());
                let mut case = TestCase::new(format!("run {}", e.file), status);
                case.set_classname(e.dir.clone());
                suite.add_test_case(case);
                suites.push(suite);
            }
        }
    }
    junit::to_xml("gauntlet suite", suites)
}

/// The suite's `index.html`: the combined verdict and a link to each report.
pub fn index_html(entries: &[Entry]) -> String {
    let all = passed(entries);
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>gauntlet suite — {}</title>\n\
         <style>body{{font-family:system-ui,\"DejaVu Sans\",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}}\
         header{{padding:16px 24px;color:#fff;background:{}}}main{{max-width:1040px;margin:0 auto;padding:16px 24px}}\
         table{{border-collapse:collapse;width:100%;background:#fff}}th,td{{border:1px solid #d8dce3;padding:4px 8px;text-align:left}}\
         .ok{{color:#1f7a3a;font-weight:600}}.bad{{color:#b3261e;font-weight:600}}</style>\n</head>\n<body>\n\
         <header><h1>{} · gauntlet suite: {}/{} passed</h1></header>\n<main>\n<table>\n\
         <thead><tr><th>verdict</th><th>scenario</th><th>file</th><th>why</th></tr></thead>\n<tbody>\n",
        if all { "PASS" } else { "FAIL" },
        if all { "#1f7a3a" } else { "#b3261e" },
        if all { "PASS" } else { "FAIL" },
        entries.iter().filter(|e| e.passed()).count(),
        entries.len()
    );
    for e in entries {
        let (class, word) = if e.passed() {
            ("ok", "✓ pass")
        } else {
            ("bad", "✗ fail")
        };
        let why = match (&e.outcome, e.outcome()) {
            (_, Some(o)) => o.reasons().join("; "),
            (EntryOutcome::Failed { message }, None) => format!("did not run: {message}"),
            (EntryOutcome::Ran { .. }, None) => String::new(),
        };
        let link = match &e.outcome {
            EntryOutcome::Ran { .. } => format!(
                "<a href=\"{}/report.html\">{}</a>",
                esc(&e.dir),
                esc(&e.dir)
            ),
            EntryOutcome::Failed { .. } => esc(&e.dir).into_owned(),
        };
        let _ = writeln!(
            s,
            "<tr><td class=\"{class}\">{word}</td><td>{link}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.file),
            esc(&why)
        );
    }
    s.push_str("</tbody>\n</table>\n</main>\n</body>\n</html>\n");
    s
}
