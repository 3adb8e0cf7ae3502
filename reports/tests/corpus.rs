//! Malformed and extreme results files (`tests/corpus/`, one per class of problem
//! seen; `EXPECTED` lists each with the fragment its error must contain, or `OK`).
//!
//! A file that must be refused is refused with that message, which names where the
//! problem is. A file that must be read is read and rendered (every chart as SVG, the
//! HTML page, `summary.md`, `junit.xml`, and a comparison with itself) without a
//! panic; the chart stage clamps values, so drawing ends.

use std::path::Path;

use gauntlet_reports::RunResult;
use gauntlet_reports::compare::{Tolerances, compare};
use gauntlet_reports::outcome::Outcome;
use gauntlet_reports::{html, junit, markdown};

fn corpus() -> Vec<(String, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let expected = std::fs::read_to_string(dir.join("EXPECTED")).unwrap();
    expected
        .lines()
        .map(|line| {
            let (file, fragment) = line.split_once('\t').unwrap();
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            (file.to_owned(), fragment.to_owned(), text)
        })
        .collect()
}

/// Renders everything a report holds, as `gauntlet report` and `compare` would.
fn render_all(r: &RunResult) {
    let comparison = compare(&[("self".to_owned(), r.clone())], r, &Tolerances::default());
    let outcome = Outcome {
        result: r,
        comparison: Some(&comparison),
    };
    let charts = html::render_charts(&outcome).unwrap();
    assert!(!charts.is_empty());
    let page = html::render(&outcome, &charts);
    assert!(page.contains("</html>"));
    let summary = markdown::render(&outcome, 2);
    // Compact numbers: no 300-digit runs anywhere in what people read.
    for text in [&page, &summary, &comparison.console_table()] {
        let longest_digits = text
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest_digits <= 24, "a {longest_digits}-digit number");
    }
    junit::render(&outcome).unwrap();
}

#[test]
fn every_corpus_file_gets_its_expected_answer() {
    let files = corpus();
    assert!(files.len() >= 30, "the corpus lost files: {}", files.len());
    let mut refused = 0;
    for (file, fragment, text) in &files {
        match (RunResult::from_json(text), fragment.as_str()) {
            (Ok(r), "OK") => render_all(&r),
            (Ok(_), _) => panic!("{file}: read, but should fail with `{fragment}`"),
            (Err(e), "OK") => panic!("{file}: should read, failed: {e}"),
            (Err(e), fragment) => {
                let message = e.to_string();
                assert!(
                    message.contains(fragment),
                    "{file}: `{message}` lacks `{fragment}`"
                );
                assert!(!message.contains("VersionOnly"), "{file}: {message}");
                if file.contains("hist") {
                    assert!(message.contains("ops[0] (op `ask`)."), "{file}: {message}");
                }
                refused += 1;
            }
        }
    }
    assert!(refused >= 25, "{refused}");
}

#[test]
fn thousands_of_ops_chart_a_bounded_number() {
    let text = corpus()
        .into_iter()
        .find(|(f, _, _)| f == "elapsed-2e19.json")
        .unwrap()
        .2;
    let mut r = RunResult::from_json(&text).unwrap();
    let template = r.ops[0].clone();
    r.ops = (0..2000)
        .map(|i| {
            let mut o = template.clone();
            o.op = format!("op{i}");
            o
        })
        .collect();
    let plots = gauntlet_reports::chart::charts(&r);
    // 12 latency charts and 7 others, whatever the number of ops.
    assert!(plots.len() <= 20, "{}", plots.len());
    assert!(plots.iter().all(|p| p.series.len() <= 14));
    assert!(
        plots
            .iter()
            .any(|p| p.notes.iter().any(|n| n.contains("1988 more ops")))
    );
    // Comparing 2000 ops with 2000 ops is rows, not a quadratic search.
    let c = compare(&[("b".to_owned(), r.clone())], &r, &Tolerances::default());
    assert_eq!(c.rows.len(), 2000 * 6 + 3);
}

#[test]
fn thousands_of_fault_windows_shade_a_bounded_number() {
    let text = corpus()
        .into_iter()
        .find(|(f, _, _)| f == "elapsed-2e19.json")
        .unwrap()
        .2;
    let mut r = RunResult::from_json(&text).unwrap();
    // Partial results: fault kinds marked per tick, 5000 distinct ones at once.
    r.faults.clear();
    let kinds: Vec<String> = (0..5000).map(|i| format!("kind{i}")).collect();
    for t in &mut r.timeline {
        t.active_faults = kinds.clone();
    }
    let plots = gauntlet_reports::chart::charts(&r);
    for p in &plots {
        assert!(p.bands.len() <= 100, "{}: {}", p.name, p.bands.len());
    }
    assert!(
        plots[0]
            .notes
            .iter()
            .any(|n| n.contains("more fault windows are not shaded"))
    );
}
