//! Invalid scenarios are reported with file, line, column and field — never a panic.

use gauntlet_harness::scenario::{ScenarioError, parse_str};

const VALID: &str = r#"name = "tiny"
duration = "2s"
[target]
workload = "synthetic"
[[load]]
op = "call"
executor = "constant-arrival-rate"
rate = 100
max_in_flight = 8
[thresholds]
"latency{op=call}" = ["p(99) < 50ms"]
"#;

fn error_of(from: &str, to: &str) -> String {
    let text = VALID.replace(from, to);
    assert_ne!(text, VALID, "replacement `{from}` did not apply");
    match parse_str(&text, "tiny.toml") {
        Ok(_) => panic!("`{to}` was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_valid_base_parses() {
    let s = parse_str(VALID, "tiny.toml").unwrap();
    assert_eq!(s.loads.len(), 1);
    assert_eq!(s.thresholds.len(), 1);
}

#[test]
fn negative_rate_names_line_column_and_field() {
    assert_eq!(
        error_of("rate = 100", "rate = -5"),
        "tiny.toml:8:8: load[0].rate: must be greater than 0 (got -5)"
    );
}

#[test]
fn wrong_type() {
    let e = error_of("rate = 100", "rate = \"fast\"");
    assert!(
        e.starts_with("tiny.toml:8:8: load[0].rate: invalid type"),
        "{e}"
    );
}

#[test]
fn unknown_field_points_at_the_key() {
    let e = error_of("rate = 100", "rate = 100\nburst = 1");
    assert!(
        e.starts_with("tiny.toml:9:1: load[0].burst: unknown field `burst`"),
        "{e}"
    );
    let e = error_of(
        "workload = \"synthetic\"",
        "workload = \"synthetic\"\nfoo = 3",
    );
    assert!(
        e.starts_with("tiny.toml:5:1: target.foo: unknown field `foo`"),
        "{e}"
    );
    let e = error_of("name = \"tiny\"", "name = \"tiny\"\nspeed = 3");
    assert!(
        e.starts_with("tiny.toml:2:1: speed: unknown field `speed`"),
        "{e}"
    );
}

#[test]
fn unknown_workload_and_op() {
    let e = error_of("workload = \"synthetic\"", "workload = \"toaster\"");
    assert!(
        e.starts_with("tiny.toml:4:12: target.workload: unknown workload `toaster`; registered workloads: `actors`, `graph`, `smart-home`, `synthetic`"),
        "{e}"
    );
    let e = error_of("op = \"call\"", "op = \"fly\"");
    assert!(
        e.contains("tiny.toml:6:6: load[0].op: workload `synthetic` has no op `fly`"),
        "{e}"
    );
}

#[test]
fn stage_without_duration() {
    let e = error_of(
        "executor = \"constant-arrival-rate\"\nrate = 100",
        "executor = \"ramping-arrival-rate\"\nstages = [{ target = 5 }]",
    );
    assert_eq!(
        e,
        "tiny.toml:8:11: load[0].stages[0]: missing field `duration`"
    );
    let e = error_of(
        "executor = \"constant-arrival-rate\"\nrate = 100",
        "executor = \"ramping-arrival-rate\"\nstages = [{ target = 5, duration = \"0s\" }]",
    );
    assert!(
        e.contains("load[0].stages[0].duration: a stage needs a duration"),
        "{e}"
    );
}

#[test]
fn fields_of_another_executor_are_refused() {
    let e = error_of(
        "executor = \"constant-arrival-rate\"",
        "executor = \"constant-concurrency\"\nconcurrency = 2",
    );
    assert!(
        e.contains("load[0].rate: `rate` is not used by executor `constant-concurrency`"),
        "{e}"
    );
    assert!(
        e.contains("load[0].max_in_flight: `max_in_flight` is not used"),
        "{e}"
    );
}

#[test]
fn missing_in_flight_bound() {
    let e = error_of("max_in_flight = 8\n", "");
    assert!(
        e.contains(
            "tiny.toml:5:1: load[0]: executor `constant-arrival-rate` needs `max_in_flight`"
        ),
        "{e}"
    );
}

#[test]
fn thresholds_on_unknown_metrics_or_ops() {
    let e = error_of("\"latency{op=call}\"", "\"latency{op=nope}\"");
    assert_eq!(
        e,
        "tiny.toml:11:1: thresholds.\"latency{op=nope}\": threshold on op `nope`, but no load issues it (ops issued: call)"
    );
    let e = error_of("\"latency{op=call}\"", "\"bogus\"");
    assert!(
        e.starts_with("tiny.toml:11:1: thresholds.bogus: unknown metric `bogus`"),
        "{e}"
    );
    let e = error_of("p(99) < 50ms", "p(99) < fifty");
    assert!(
        e.contains("thresholds.\"latency{op=call}\": expression `p(99) < fifty`"),
        "{e}"
    );
}

#[test]
fn durations_need_units() {
    let e = error_of("duration = \"2s\"", "duration = 2");
    assert!(
        e.starts_with("tiny.toml:2:12: duration: invalid type: integer `2`"),
        "{e}"
    );
    let e = error_of("duration = \"2s\"", "duration = \"2 fortnights\"");
    assert!(e.contains("unknown duration unit `fortnights`"), "{e}");
}

#[test]
fn warmup_must_be_shorter_than_the_run() {
    let e = error_of("duration = \"2s\"", "duration = \"2s\"\nwarmup = \"3s\"");
    assert!(
        e.contains("tiny.toml:3:10: warmup: warm-up (3s) must be shorter than the duration (2s)"),
        "{e}"
    );
}

#[test]
fn several_problems_are_reported_together() {
    let text = VALID
        .replace("rate = 100", "rate = 0")
        .replace("\"latency{op=call}\"", "\"latency{op=x}\"");
    let err = parse_str(&text, "tiny.toml").unwrap_err();
    assert_eq!(err.problems().len(), 2, "{err}");
}

#[test]
fn syntax_errors_have_a_position() {
    let e = error_of("[[load]]", "[[load]");
    assert!(e.starts_with("tiny.toml:5:"), "{e}");
    let e = error_of("name = \"tiny\"", "name = \"tiny\"\nname = \"x\"");
    assert!(e.starts_with("tiny.toml:2:1: duplicate key"), "{e}");
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "\u{0}",
        "[[[",
        "name = 1",
        "load = 5",
        "[target]\nworkload = 5",
        "name=\"a\"\nduration=\"1s\"\n[target]\nworkload=\"actors\"\ntopology=\"mesh\"\n[[load]]\nop=\"ask\"\nexecutor=\"constant-arrival-rate\"\nrate=1e308\nmax_in_flight=1",
        "name=\"a\"\nduration=\"99999999999999h\"",
        "name=\"a\"\nduration=\"1s\"\n[target]\nworkload=\"actors\"\ntopology=\"supervision-tree\"\ndepth=8\nbreadth=1000\n[[load]]\nop=\"ask\"\nexecutor=\"constant-concurrency\"\nconcurrency=1",
    ];
    for i in inputs {
        match parse_str(i, "x.toml") {
            Ok(_) => {}
            Err(ScenarioError::Invalid { problems, .. }) => assert!(!problems.is_empty()),
            Err(e) => panic!("unexpected error kind: {e}"),
        }
    }
}

/// What a workload can do decides what a scenario may ask of it: declared
/// capabilities and checks, not lists of workload names.
#[test]
fn what_the_workload_cannot_do_is_refused_at_validate() {
    let e = error_of(
        "\"latency{op=call}\" = [\"p(99) < 50ms\"]",
        "\"deadlocks\" = [\"count == 0\"]",
    );
    assert!(
        e.contains("thresholds.deadlocks: workload `synthetic` hands over no actor system"),
        "{e}"
    );
    let e = error_of(
        "[thresholds]",
        "[[fault]]\nkind = \"crash\"\ntarget = \"actor://gauntlet/*\"\nat = \"1s\"\nfor = \"500ms\"\n[thresholds]",
    );
    assert!(
        e.contains("fault[0].kind: `crash` faults need a workload that hands over its actor system (capability `actor-system`); workload `synthetic` does not"),
        "{e}"
    );
    let graph = VALID
        .replace(
            "workload = \"synthetic\"",
            "workload = \"graph\"\nshape = \"chain\"\ntasks = 5\nmax_steps = 3",
        )
        .replace("op = \"call\"", "op = \"run\"")
        .replace("{op=call}", "{op=run}")
        .replace(
            "duration = \"2s\"",
            "duration = \"2s\"\n[runtime]\nmailbox_policy = \"drop-newest\"",
        );
    let e = parse_str(&graph, "g.toml").unwrap_err().to_string();
    assert!(e.contains("target.workload: the graph workload needs `[runtime] mailbox_policy` block, fail or unbounded"), "{e}");
    assert!(
        e.contains("target.max_steps: a run of this graph takes at least 5 steps"),
        "{e}"
    );
    let e = error_of(
        "\"latency{op=call}\" = [\"p(99) < 50ms\"]",
        "\"invariant{name=money.conserved}\" = [\"count == 0\"]",
    );
    assert!(
        e.contains("workload `synthetic` declares no invariants"),
        "{e}"
    );
}

#[test]
fn hibernate_after_is_optional_and_read_when_given() {
    let s = parse_str(VALID, "tiny.toml").unwrap();
    assert_eq!(s.runtime.hibernate_after, None);
    assert_eq!(s.runtime.system_config().hibernate_after, None);
    let text = VALID.replace("[target]", "[runtime]\nhibernate_after = \"30s\"\n[target]");
    let s = parse_str(&text, "tiny.toml").unwrap();
    let expected = Some(std::time::Duration::from_secs(30));
    assert_eq!(s.runtime.hibernate_after, expected);
    assert_eq!(s.runtime.system_config().hibernate_after, expected);
}

#[test]
fn a_hibernate_after_under_a_millisecond_is_refused() {
    let e = error_of(
        "[target]",
        "[runtime]\nhibernate_after = \"100us\"\n[target]",
    );
    assert!(
        e.contains("runtime.hibernate_after: must be at least 1ms"),
        "{e}"
    );
}
