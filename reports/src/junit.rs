//! `junit.xml`: every threshold, invariant and judged baseline metric as a JUnit test
//! case, so that CI systems that read JUnit (GitLab, Jenkins, GitHub test reporters)
//! list them one by one. Written with the `quick-junit` crate.
//!
//! One test suite per run, named after the scenario; the baseline comparison is a
//! second suite `<scenario>.baseline`. A capacity sweep's `junit.xml` ([`capacity`])
//! has a case per level (failed when the level missed the SLO) and one for the model.
//! Invariants: the run completed, the target
//! shut down cleanly, no task leaked, no message was lost, no stall failed the
//! verdict.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::compare::Verdict;
use crate::outcome::Outcome;
use crate::schema::RunStatus;
use crate::units::format_value;

/// Why JUnit XML could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write junit.xml: {0}")]
pub struct JunitError(String);

fn case(name: String, failure: Option<String>) -> TestCase {
    match failure {
        None => TestCase::new(name, TestCaseStatus::success()),
        Some(message) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(message.clone());
            status.set_description(message);
            TestCase::new(name, status)
        }
    }
}

fn skipped(name: String, message: &str) -> TestCase {
    let mut status = TestCaseStatus::skipped();
    status.set_message(message.to_owned());
    TestCase::new(name, status)
}

/// The test suites of one run: thresholds and invariants, then the baseline
/// comparison if there is one.
pub fn suites(outcome: &Outcome<'_>) -> Vec<TestSuite> {
    let r = outcome.result;
    let name = r.scenario.name.as_str();
    let mut suite = TestSuite::new(name);
    if let Some(t) = started_at(r.started_at_unix_ms) {
        suite.set_timestamp(t);
    }
    // A hand-edited file may hold any number here: out of range is no time.
    suite.set_time(
        std::time::Duration::try_from_secs_f64(r.elapsed_s).unwrap_or(std::time::Duration::ZERO),
    );
    for t in &r.thresholds {
        let observed = format_value(t.observed, &t.unit);
        let mut c = case(
            format!("threshold {}: {}", t.metric, t.expression),
            (!t.passed).then(|| match r.invariant_message(&t.metric) {
                Some(m) => format!("observed {observed}; expected {}: {m}", t.expression),
                None => format!("observed {observed}; expected {}", t.expression),
            }),
        );
        c.set_classname(format!("{name}.thresholds"));
        c.set_system_out(format!("observed {observed}"));
        suite.add_test_case(c);
    }
    // Stalls fail the verdict only with the scenario's `fail_on_stall`, which the
    // results record as the harness's reason line, not as a field.
    let stall_failed = r
        .verdict
        .reasons
        .iter()
        .any(|x| x.contains("stall(s) detected"));
    let mut invariants = vec![
        case(
            "invariant: run completed".to_owned(),
            (r.status == RunStatus::Aborted).then(|| {
                format!(
                    "aborted: {}",
                    r.abort_reason.as_deref().unwrap_or("unknown reason")
                )
            }),
        ),
        case(
            "invariant: target shut down cleanly".to_owned(),
            (!r.leaks.shutdown_clean).then(|| "shutdown overran its budget".to_owned()),
        ),
        case(
            "invariant: no task leaked".to_owned(),
            (r.leaks.tasks_leaked > 0).then(|| {
                format!(
                    "{} task(s) leaked ({} before, {} after)",
                    r.leaks.tasks_leaked, r.leaks.tasks_before, r.leaks.tasks_after
                )
            }),
        ),
    ];
    invariants.push(if r.messages.measured {
        case(
            "invariant: no message lost".to_owned(),
            match r.messages.lost {
                Some(0) => None,
                Some(n) => Some(format!("{n} message(s) unaccounted for")),
                None => Some("lost could not be computed".to_owned()),
            },
        )
    } else {
        skipped(
            "invariant: no message lost".to_owned(),
            "the target does not report message counts",
        )
    });
    invariants.push(case(
        "invariant: no stall".to_owned(),
        stall_failed.then(|| format!("{} stall(s) recorded", r.stalls.len())),
    ));
    for mut c in invariants {
        c.set_classname(format!("{name}.invariants"));
        suite.add_test_case(c);
    }
    let mut suites = vec![suite];

    if let Some(comparison) = outcome.comparison {
        let mut baseline = TestSuite::new(format!("{name}.baseline"));
        for row in &comparison.rows {
            let title = format!("baseline {}", row.name());
            let mut c = match row.verdict {
                Verdict::Pass | Verdict::Improved => case(title, None),
                Verdict::Regressed => case(title, Some(row.regression_text())),
                Verdict::Info => skipped(title, "tolerance off: not judged"),
                Verdict::NotMeasured => skipped(title, "not measured by the baseline or this run"),
            };
            c.set_classname(format!("{name}.baseline"));
            c.set_system_out(format!(
                "baseline {} current {} delta {}",
                row.baseline_text(),
                row.current_text(),
                row.delta_text()
            ));
            baseline.add_test_case(c);
        }
        suites.push(baseline);
    }
    suites
}

/// Writes a report holding `suites` as JUnit XML.
pub fn to_xml(report_name: &str, suites: Vec<TestSuite>) -> Result<String, JunitError> {
    let mut report = Report::new(report_name);
    report.add_test_suites(suites);
    report.to_string().map_err(|e| JunitError(e.to_string()))
}

/// `junit.xml` of one run.
pub fn render(outcome: &Outcome<'_>) -> Result<String, JunitError> {
    to_xml("gauntlet", suites(outcome))
}

/// `junit.xml` of a capacity sweep: one suite `<scenario>.capacity` with a case per
/// level, named by its index and offered load and failed when the level missed the
/// SLO (the case's output holds the level's row of the levels table), and a case
/// `USL model` failed when no model could be fitted.
pub fn capacity(r: &crate::capacity_schema::CapacityResult) -> Result<String, JunitError> {
    let name = format!("{}.capacity", r.scenario.name);
    let mut suite = TestSuite::new(name.as_str());
    if let Some(t) = started_at(r.started_at_unix_ms) {
        suite.set_timestamp(t);
    }
    suite.set_time(
        std::time::Duration::try_from_secs_f64(r.elapsed_s).unwrap_or(std::time::Duration::ZERO),
    );
    let levels = crate::table::capacity::levels(r);
    suite.add_test_cases(crate::table::junit::cases(&levels, &name, &[0, 1]));
    let mut model = case(
        "USL model".to_owned(),
        r.fit_error
            .clone()
            .or_else(|| r.fit.is_none().then(|| "no model was fitted".to_owned())),
    );
    model.set_classname(name.clone());
    model.set_system_out(r.statement.clone());
    suite.add_test_case(model);
    to_xml("gauntlet capacity", vec![suite])
}

/// The run's start (UTC), `None` when the file's timestamp is out of range.
pub(crate) fn started_at(unix_ms: u64) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::from_timestamp_millis(i64::try_from(unix_ms).ok()?).map(|t| t.fixed_offset())
}
