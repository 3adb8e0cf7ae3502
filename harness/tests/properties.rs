//! Property tests: arbitrary and mutated scenario text, threshold expressions,
//! durations and byte sizes never make the parsers or the validator panic; every
//! error names the file (and, with a place, its line and column); work is bounded by
//! the input (the number of problems printed is capped).

use gauntlet_harness::scenario::{ScenarioError, parse_str};
use gauntlet_harness::threshold::Threshold;
use gauntlet_harness::units::{parse_bytes, parse_duration};
use proptest::prelude::*;

const SMOKE: &str = include_str!("../../scenarios/smoke.toml");
const CHAOS: &str = include_str!("../../scenarios/chaos/ci-chaos.toml");

fn check(text: &str) -> Result<(), TestCaseError> {
    match parse_str(text, "p.toml") {
        Ok(_) => Ok(()),
        Err(e @ ScenarioError::Invalid { .. }) => {
            let message = e.to_string();
            prop_assert!(!e.problems().is_empty());
            for line in message.lines() {
                prop_assert!(line.starts_with("p.toml:"), "{}", line);
            }
            prop_assert!(message.lines().count() <= 51, "{}", message.lines().count());
            for forbidden in ["i128", "VersionOnly"] {
                prop_assert!(!message.contains(forbidden), "{}", message);
            }
            Ok(())
        }
        Err(e) => Err(TestCaseError::fail(format!("not a scenario error: {e}"))),
    }
}

/// Values a person (or a fuzzer) might put where a value goes.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1e300".to_owned()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        Just("nan".to_owned()),
        Just("inf".to_owned()),
        Just("\"\"".to_owned()),
        Just("\"..\"".to_owned()),
        Just("\"1ns\"".to_owned()),
        Just("\"300000h\"".to_owned()),
        Just("1979-05-27".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("99999999999999999999".to_owned()),
        "-?[0-9]{1,25}(\\.[0-9]{1,5})?",
        "\"[a-z0-9./{}=<>()* -]{0,12}\"",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check(&text)?;
    }

    #[test]
    fn a_value_replaced_anywhere_is_accepted_or_located(
        base in prop_oneof![Just(SMOKE), Just(CHAOS)],
        line in any::<prop::sample::Index>(),
        v in value(),
    ) {
        let lines: Vec<&str> = base.lines().collect();
        let i = line.index(lines.len());
        let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        if let Some((key, _)) = lines[i].split_once(" = ") {
            out[i] = format!("{key} = {v}");
        }
        check(&out.join("\n"))?;
    }

    #[test]
    fn bytes_cut_or_inserted_anywhere(
        base in prop_oneof![Just(SMOKE), Just(CHAOS)],
        at in any::<prop::sample::Index>(),
        insert in "[\\[\\]{}\"=.,a-z0-9 \n-]{0,6}",
        cut in 0_usize..4,
    ) {
        let mut at = at.index(base.len());
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + cut).min(base.len());
        while !base.is_char_boundary(end) {
            end -= 1;
        }
        check(&format!("{}{insert}{}", &base[..at], &base[end..]))?;
    }

    #[test]
    fn threshold_expressions_never_panic(
        key in prop_oneof![
            Just("latency{op=ask}"), Just("errors{op=ask}"), Just("memory.rss"),
            Just("memory.growth"), Just("messages.lost"), Just("recovery{fault=crash}"),
            Just("throughput{op=ask}"), Just("sched_lag"),
        ],
        agg in prop_oneof![
            prop::sample::select(vec!["p(99)", "p(0)", "p(1e309)", "avg", "max", "count", "rate", "med"])
                .prop_map(str::to_owned),
            "[a-z()0-9.]{0,6}",
        ],
        op in "[<>=!]{0,4}",
        v in prop_oneof![value(), "-?[0-9.]{1,8}(ns|us|ms|s|m|h|B|kB|MB|GB|GiB)?"],
    ) {
        let expr = format!("{agg} {op} {v}");
        if let Err(e) = Threshold::parse(key, std::slice::from_ref(&expr)) {
            prop_assert!(e.0.len() < 2000, "{}", e.0);
        }
    }

    #[test]
    fn durations_and_sizes_never_panic(text in "[0-9.e+-]{0,30}(ns|us|µs|ms|s|m|h|B|kB|MB|GiB|x)?") {
        if let Ok(d) = parse_duration(&text) {
            prop_assert!(d.as_secs_f64() <= 1e9);
        }
        if let Ok(b) = parse_bytes(&text) {
            prop_assert!(b.is_finite() && b.abs() <= 1e18);
        }
    }
}
