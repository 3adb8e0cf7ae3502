//! Charts drawn from hand-built results: the series and labels they show, fault
//! shading, and the edge cases (no ops, one tick, unmeasured fields, aborted runs).

mod common;

use gauntlet_reports::chart::{self, BandKind, Plot, Scale, Size};

fn plot<'a>(plots: &'a [Plot], name: &str) -> &'a Plot {
    plots
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no chart {name}"))
}

fn labels(p: &Plot) -> Vec<&str> {
    p.series.iter().map(|s| s.label.as_str()).collect()
}

#[test]
fn a_run_has_every_chart_the_report_promises() {
    let plots = chart::charts(&common::run());
    let names: Vec<&str> = plots.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "throughput",
            "latency-ask",
            "latency-tell",
            "spectrum",
            "memory",
            "tasks",
            "mailbox",
            "errors",
            "restarts"
        ]
    );
    assert_eq!(
        labels(plot(&plots, "throughput")),
        [
            "offered (all loads)",
            "ask achieved",
            "tell achieved",
            "all ops achieved"
        ]
    );
    let latency = plot(&plots, "latency-ask");
    assert_eq!(labels(latency), ["p50", "p90", "p99", "p99.9", "max"]);
    assert_eq!(latency.y.scale, Scale::Log);
    assert_eq!(
        labels(plot(&plots, "tasks")),
        ["alive tasks", "actors alive", "ops in flight"]
    );
    assert_eq!(
        labels(plot(&plots, "errors")),
        [
            "op errors",
            "dropped iterations",
            "messages dropped",
            "messages rejected",
            "dead letters"
        ]
    );
}

#[test]
fn every_time_chart_shades_the_fault_and_the_warm_up() {
    let plots = chart::charts(&common::run());
    for p in plots.iter().filter(|p| p.name != "spectrum") {
        let fault = p
            .bands
            .iter()
            .find(|b| b.kind == BandKind::Fault)
            .unwrap_or_else(|| panic!("{} has no fault band", p.name));
        assert_eq!((fault.start_s, fault.end_s), (3.5, 6.0));
        assert_eq!(fault.label, "crash: actor://smoke/worker-1");
        assert!(
            p.bands
                .iter()
                .any(|b| b.kind == BandKind::Warmup && b.end_s == 2.0)
        );
        assert_eq!(p.x_span, Some((0.0, 10.0)));

        let svg = chart::draw::svg(p, Size::default()).unwrap();
        assert!(
            svg.contains("crash: actor://smoke/worker-1"),
            "{}: label",
            p.name
        );
        assert!(svg.contains("warm-up"), "{}", p.name);
        // The fault band is the translucent red rectangle.
        assert!(
            svg.contains("opacity=\"0.16\" fill=\"#D62728\""),
            "{}: no shading",
            p.name
        );
        assert!(svg.contains(&p.title), "{}", p.name);
        for s in &p.series {
            assert!(svg.contains(&s.label), "{}: legend {}", p.name, s.label);
        }
    }
}

#[test]
fn restarts_and_dead_letters_are_per_tick_increments() {
    let plots = chart::charts(&common::run());
    let restarts = &plot(&plots, "restarts").series[0];
    assert_eq!(restarts.label, "restarts");
    let per_tick: Vec<f64> = restarts.points().map(|p| p.1).collect();
    assert_eq!(per_tick, [0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    let dead = plot(&plots, "errors")
        .series
        .iter()
        .find(|s| s.label == "dead letters")
        .unwrap();
    assert_eq!(dead.points().map(|p| p.1).sum::<f64>(), 7.0);
}

#[test]
fn the_spectrum_decodes_each_ops_histogram() {
    let r = common::run();
    let plots = chart::charts(&r);
    let spectrum = plot(&plots, "spectrum");
    assert_eq!(labels(spectrum), ["ask", "tell"]);
    assert_eq!(
        (spectrum.x.scale, spectrum.y.scale),
        (Scale::Log, Scale::Log)
    );
    let ask = &spectrum.series[0];
    let points: Vec<(f64, f64)> = ask.points().collect();
    assert_eq!(points[0].0, 1.0, "starts at the median's left: q = 0");
    assert!(
        points
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
        "monotone"
    );
    let last = points.last().unwrap();
    assert_eq!(last.0, 8000.0, "ends where the count runs out");
    assert_eq!(last.1, r.ops[0].latency.max_ns as f64);
    let svg = chart::draw::svg(spectrum, Size::default()).unwrap();
    assert!(svg.contains("99.9%"), "x ticks read as percentiles");
}

#[test]
fn edge_cases_draw_with_a_note_instead_of_failing() {
    let r = common::aborted_one_tick();
    let plots = chart::charts(&r);
    for p in &plots {
        let svg = chart::draw::svg(p, Size::default()).unwrap();
        assert!(svg.starts_with("<svg"), "{}", p.name);
    }
    let tp = plot(&plots, "throughput");
    assert!(tp.notes.iter().any(|n| n == "no ops were issued"));
    assert_eq!(labels(tp), ["offered (all loads)"]);
    assert!(
        plot(&plots, "latency")
            .notes
            .contains(&"no ops were issued".to_owned())
    );
    assert!(
        plot(&plots, "memory")
            .notes
            .contains(&"not measured by this target".to_owned())
    );
    assert_eq!(
        plot(&plots, "memory").x_span,
        Some((0.0, 1.0)),
        "an aborted run ends where it stopped"
    );

    let mut empty = r.clone();
    empty.timeline.clear();
    for p in chart::charts(&empty) {
        let svg = chart::draw::svg(&p, Size::default()).unwrap();
        if p.name != "spectrum" {
            assert!(svg.contains("no samples"), "{}", p.name);
        }
    }
}

#[test]
fn a_broken_histogram_is_a_note_not_an_error() {
    let mut r = common::run();
    r.ops[1].histogram.data = "not base64!".to_owned();
    let plots = chart::charts(&r);
    let spectrum = plot(&plots, "spectrum");
    assert_eq!(labels(spectrum), ["ask"]);
    assert!(
        spectrum.notes[0].starts_with("tell: histogram not readable"),
        "{:?}",
        spectrum.notes
    );
}

#[test]
fn text_from_the_results_is_escaped_in_svg() {
    let mut r = common::run();
    r.faults[0].target = "<script>&".to_owned();
    let plots = chart::charts(&r);
    let svg = chart::draw::svg(&plots[0], Size::default()).unwrap();
    assert!(!svg.contains("<script>"));
    assert!(svg.contains("&lt;script&gt;&amp;"));
}

#[test]
fn png_files_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let plots = chart::charts(&common::run());
    let path = dir.path().join("throughput.png");
    chart::draw::png(&plots[0], Size::default(), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}
