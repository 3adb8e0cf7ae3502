//! report.html, summary.md, junit.xml and the report bundle from hand-built results.

mod common;

use gauntlet_reports::compare::{Tolerances, compare};
use gauntlet_reports::outcome::Outcome;
use gauntlet_reports::{bundle, html, junit, markdown};

fn page(outcome: &Outcome<'_>) -> String {
    let charts = html::render_charts(outcome).unwrap();
    html::render(outcome, &charts)
}

#[test]
fn the_page_has_every_section_and_inline_charts_only() {
    let r = common::run();
    let html = page(&Outcome::new(&r));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<header class=\"banner pass\""));
    for section in [
        "run",
        "thresholds",
        "ops",
        "faults",
        "stalls",
        "leaks",
        "messages",
        "charts",
    ] {
        assert!(
            html.contains(&format!("<h2 id=\"{section}\">")),
            "section {section}"
        );
    }
    assert!(html.contains("seed</dt><dd>7</dd>"));
    assert!(html.contains("2026-"), "start time in UTC");
    assert!(html.contains("recovered in 1.20 s"));
    assert!(html.contains("p(99) &lt; 50ms"));
    assert_eq!(html.matches("<figure id=\"chart-").count(), 9);
    assert_eq!(html.matches("<svg").count(), 9);
    assert!(!html.contains("<script"), "no script needed");
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "no network"
    );
    assert!(!html.contains("src="), "nothing loaded");
    assert!(!html.contains("Baseline comparison"), "no baseline given");
}

#[test]
fn text_from_the_results_is_escaped() {
    let mut r = common::run();
    r.scenario.description = "<img src=x onerror=alert(1)> & \"quoted\"".to_owned();
    r.stalls.push(gauntlet_reports::schema::StallRecord {
        start_s: 1.0,
        duration_s: 2.0,
        in_flight: 4,
        recovered: false,
        detail: "</table><b>".to_owned(),
    });
    let html = page(&Outcome::new(&r));
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;"));
    assert!(html.contains("&lt;/table&gt;&lt;b&gt;"));
    let md = markdown::render(&Outcome::new(&r), 2);
    assert!(!md.contains("<img"));
}

#[test]
fn an_aborted_run_fails_the_banner_with_its_reason() {
    let r = common::aborted_one_tick();
    let o = Outcome::new(&r);
    let html = page(&o);
    assert!(html.contains("<header class=\"banner fail\""));
    assert!(html.contains("ABORTED: hard deadline reached &lt;12s&gt;"));
    assert!(html.contains("No ops were issued."));
    assert!(html.contains("does not report message counts"));
    assert!(html.contains("No faults were injected."));
    let md = markdown::render(&o, 2);
    assert!(md.starts_with("## ❌ **FAIL** `hand-built`"), "{md}");
    assert!(
        md.contains("**aborted**: hard deadline reached \\<12s\\>"),
        "{md}"
    );
}

#[test]
fn summary_md_has_thresholds_ops_and_faults() {
    let r = common::run();
    let md = markdown::render(&Outcome::new(&r), 2);
    assert!(md.starts_with("## ✅ **PASS** `hand-built`"), "{md}");
    assert!(
        md.contains("| ✅ | latency{op=ask} | p(99) \\< 50ms | 1.05ms |"),
        "{md}"
    );
    // The same columns as report.html and the console (one table model): timeouts,
    // p90 and the service time's p99 included.
    assert!(
        md.contains("| ask | 8000 | 16 | 0 | 800.0/s | 75.3µs | 95.5µs | 100.0µs | 1.09ms | 1.10ms | 100.0µs |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| crash | actor://smoke/worker-1 | 3.5–6.0 s | 50% | 3 | - | 1 | - | - | - | ✅ recovered in 1.20 s |"
        ),
        "{md}"
    );
    assert!(md.contains("lost 0"), "{md}");
    assert!(md.contains("### Messages"), "{md}");
}

#[test]
fn a_fault_that_could_not_be_injected_says_why() {
    let mut r = common::run();
    r.faults[0].error = Some("selector matched no live actor".to_owned());
    r.faults[0].recovered = false;
    r.faults[0].detected = Some(2);
    let outcome = Outcome::new(&r);
    let md = markdown::render(&outcome, 2);
    assert!(
        md.contains("| 3 | 2 | 1 | - | - | - | ❌ not injected: selector matched no live actor |"),
        "{md}"
    );
    let html = page(&outcome);
    assert!(
        html.contains("not injected: selector matched no live actor"),
        "{html}"
    );
}

#[test]
fn junit_lists_thresholds_invariants_and_baseline_metrics() {
    let mut r = common::run();
    r.thresholds[0].passed = false;
    r.leaks.tasks_leaked = 2;
    let base = common::run();
    let mut current = r.clone();
    current.ops[0].latency.p99_ns *= 3;
    let c = compare(
        &[("base.json".into(), base)],
        &current,
        &Tolerances::default(),
    );
    let xml = junit::render(&Outcome {
        result: &current,
        comparison: Some(&c),
    })
    .unwrap();
    assert!(xml.contains("<testsuite name=\"hand-built\""), "{xml}");
    assert!(
        xml.contains("name=\"threshold latency{op=ask}: p(99) &lt; 50ms\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"observed 1.05ms; expected p(99) &lt; 50ms\""),
        "{xml}"
    );
    assert!(xml.contains("name=\"invariant: no task leaked\""), "{xml}");
    assert!(xml.contains("2 task(s) leaked"), "{xml}");
    assert!(xml.contains("name=\"invariant: run completed\""), "{xml}");
    assert!(
        xml.contains("<testsuite name=\"hand-built.baseline\""),
        "{xml}"
    );
    assert!(xml.contains("name=\"baseline p99{op=ask}\""), "{xml}");
    assert!(xml.contains("baseline: p99{op=ask}"), "{xml}");
    assert!(
        xml.contains("<skipped message=\"tolerance off: not judged\""),
        "{xml}"
    );
    // 1 threshold + 5 invariants; 9 rows per... counted by the suite header.
    assert!(
        xml.contains("tests=\"6\" ") && xml.contains("failures=\"2\""),
        "{xml}"
    );
}

#[test]
fn a_regression_turns_the_report_red_and_is_listed() {
    let base = common::run();
    let mut current = common::run();
    current.ops[0].throughput_per_s *= 0.5;
    let c = compare(
        &[("base.json".into(), base)],
        &current,
        &Tolerances::default(),
    );
    let o = Outcome {
        result: &current,
        comparison: Some(&c),
    };
    assert!(!o.passed());
    let html = page(&o);
    assert!(html.contains("<header class=\"banner fail\""));
    assert!(html.contains("Baseline comparison"));
    assert!(
        html.contains(
            "baseline: throughput{op=ask} 800.0/s -&gt; 400.0/s (-50.0%, limit ≥ 720.0/s)"
        ),
        "reason in the banner"
    );
    let md = markdown::render(&o, 2);
    assert!(
        md.contains("| ❌ | throughput{op=ask} | 800.0/s | 400.0/s | -50.0% | 10% |"),
        "{md}"
    );
}

#[test]
fn the_bundle_writes_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let r = common::run();
    let w = bundle::write(dir.path(), &Outcome::new(&r)).unwrap();
    for f in [&w.html, &w.summary, &w.junit] {
        assert!(std::fs::metadata(f).unwrap().len() > 100, "{}", f.display());
    }
    assert_eq!(w.charts.len(), 18, "9 charts as SVG and PNG");
    assert!(dir.path().join("charts/latency-ask.png").is_file());
    assert!(dir.path().join("charts/spectrum.svg").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}
