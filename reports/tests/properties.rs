//! Property tests: whatever bytes or values arrive, the histogram reader, the results
//! reader, the number formatting and the chart renderer return (an error or a value),
//! never panic, and do bounded work: bounded by the input's size and fixed limits,
//! which the cases check by counting (counters allocated, characters written), not
//! by the clock.

use base64::Engine as _;
use gauntlet_reports::EncodedHistogram;
use gauntlet_reports::RunResult;
use gauntlet_reports::chart::{self, Axis, Band, BandKind, Plot, Scale, Series, Size, Unit};
use gauntlet_reports::histogram::ENCODING;
use gauntlet_reports::histogram::checked::MAX_COUNTERS;
use gauntlet_reports::units::{format_bytes, format_count, format_ns, format_value};
use hdrhistogram::Histogram;
use proptest::prelude::*;

fn encoded(bytes: &[u8]) -> EncodedHistogram {
    EncodedHistogram {
        encoding: ENCODING.to_owned(),
        unit: "ns".to_owned(),
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

fn valid_histogram_bytes(values: &[u64]) -> Vec<u8> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    for v in values {
        h.record((*v).clamp(1, 60_000_000_000)).unwrap();
    }
    let enc = EncodedHistogram::encode(&h, "ns").unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(enc.data)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(h) = encoded(&bytes).decode() {
            prop_assert!(h.distinct_values() as u64 <= MAX_COUNTERS);
        }
    }

    #[test]
    fn mutated_histograms_decode_or_fail_within_limits(
        values in proptest::collection::vec(1_u64..60_000_000_000, 1..50),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = valid_histogram_bytes(&values);
        for (at, b) in flips {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        match encoded(&bytes).decode() {
            Ok(h) => prop_assert!(h.distinct_values() as u64 <= MAX_COUNTERS),
            Err(e) => {
                let message = e.to_string();
                prop_assert!(!message.contains("Error("), "Debug text: {}", message);
                prop_assert!(message.len() < 300, "{}", message);
            }
        }
    }

    #[test]
    fn valid_histograms_round_trip(values in proptest::collection::vec(1_u64..60_000_000_000, 0..200)) {
        let bytes = valid_histogram_bytes(&values);
        let h = encoded(&bytes).decode().unwrap();
        prop_assert_eq!(h.len(), values.len() as u64);
    }

    #[test]
    fn results_text_never_panics(text in "\\PC{0,200}") {
        let _ = RunResult::from_json(&text);
    }

    #[test]
    fn mutated_results_files_read_or_fail(cut in 0_usize..18_000, insert in "[\\[\\]{}\",:0-9a-z.e-]{0,8}") {
        let base = include_str!("data/tiny.json");
        let cut = (0..=cut.min(base.len())).rev().find(|c| base.is_char_boundary(*c)).unwrap_or(0);
        let text = format!("{}{}{}", &base[..cut], insert, &base[cut..]);
        if let Err(e) = RunResult::from_json(&text) {
            prop_assert!(!e.to_string().contains("VersionOnly"));
        }
    }

    #[test]
    fn any_number_formats_compactly(v in any::<f64>()) {
        for text in [
            format_ns(v),
            format_bytes(v),
            format_count(v),
            format_value(Some(v), "per_s"),
            format_value(Some(v), "count"),
            format_value(Some(v), "fraction"),
        ] {
            prop_assert!(text.chars().count() <= 24, "{} -> {}", v, text);
        }
    }
}

fn any_coordinate() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::MAX),
        Just(-f64::MAX),
        Just(f64::INFINITY),
        Just(f64::NAN),
        Just(0.0),
        -1e6_f64..1e6,
    ]
}

proptest! {
    // Drawing is the slow part (each case draws one SVG): fewer cases.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn charts_of_any_values_draw(
        points in proptest::collection::vec((any_coordinate(), any_coordinate()), 0..8),
        span in proptest::option::of((any_coordinate(), any_coordinate())),
        band in (any_coordinate(), any_coordinate()),
        log_x in any::<bool>(),
        log_y in any::<bool>(),
    ) {
        let scale = |log| if log { Scale::Log } else { Scale::Linear };
        let plot = Plot {
            name: "p".into(),
            title: "p".into(),
            x: Axis { label: "x", scale: scale(log_x), unit: Unit::Seconds },
            y: Axis { label: "y", scale: scale(log_y), unit: Unit::Nanoseconds },
            x_span: span,
            series: vec![Series { label: "s".into(), segments: vec![points] }],
            bands: vec![Band { start_s: band.0, end_s: band.1, label: "b".into(), kind: BandKind::Fault }],
            notes: vec![],
        };
        let svg = chart::draw::svg(&plot, Size { width: 320, height: 200 }).unwrap();
        // Bounded output: a few thousand elements at most for 8 points.
        prop_assert!(svg.len() < 200_000, "{}", svg.len());
    }
}
