//! Tables as JUnit test cases: each row that holds a check (a [`super::Cell::Mark`])
//! becomes one test case, failed when its check failed. The case is named by the
//! row's key columns (by default its text cells), and its output lists every cell
//! under its column title. Rows without a check are figures, not tests, and are left
//! out.

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus};

use super::{Cell, Table};

/// The test cases of `t`, each with class name `classname`, named by the cells of
/// the columns `key` (each as `title value`), or by the row's text cells when `key`
/// is empty.
pub fn cases(t: &Table, classname: &str, key: &[usize]) -> Vec<TestCase> {
    t.rows
        .iter()
        .filter_map(|row| {
            let (ok, label) = row.iter().find_map(|c| match c {
                Cell::Mark(ok, l) => Some((*ok, l.clone())),
                _ => None,
            })?;
            let name: Vec<String> = if key.is_empty() {
                row.iter()
                    .filter(|c| matches!(c, Cell::Text(_)))
                    .map(|c| c.text().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            } else {
                key.iter()
                    .filter_map(|k| Some((t.columns.get(*k)?, row.get(*k)?)))
                    .map(|(col, c)| format!("{} {}", col.title, c.text()))
                    .collect()
            };
            let figures: Vec<String> = t
                .columns
                .iter()
                .zip(row)
                .filter(|(_, c)| !c.text().is_empty())
                .map(|(col, c)| format!("{}: {}", col.title, c.text()))
                .collect();
            let status = if ok {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(if label.is_empty() {
                    "failed".to_owned()
                } else {
                    label
                });
                s.set_description(figures.join("; "));
                s
            };
            let mut case = TestCase::new(name.join(" "), status);
            case.set_classname(classname.to_owned());
            case.set_system_out(figures.join("\n"));
            Some(case)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Align, Table, mark, num, text};
    use super::*;

    #[test]
    fn checked_rows_become_cases() {
        let mut t = Table::new(&[
            ("level", Align::Left),
            ("throughput", Align::Right),
            ("SLO", Align::Left),
        ]);
        t.push(vec![text("level 0"), num("100"), mark(true, "pass")]);
        t.push(vec![
            text("level 1"),
            num("90"),
            mark(false, "p99 over 5ms"),
        ]);
        t.push(vec![text("figures only"), num("1")]);
        let cases = cases(&t, "cap.levels", &[]);
        assert_eq!(cases.len(), 2);
        let mut suite = quick_junit::TestSuite::new("cap");
        suite.add_test_cases(cases);
        let mut report = quick_junit::Report::new("r");
        report.add_test_suite(suite);
        let xml = report.to_string().unwrap();
        assert!(xml.contains("name=\"level 0\""), "{xml}");
        assert!(xml.contains("<failure message=\"p99 over 5ms\""), "{xml}");
        assert!(xml.contains("throughput: 90"), "{xml}");
        let keyed = super::cases(&t, "cap.levels", &[0, 1]);
        assert_eq!(keyed[1].name.as_str(), "level level 1 throughput 90");
        assert!(!xml.contains("figures only"));
    }
}
