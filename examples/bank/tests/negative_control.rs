//! The bank's checkers can fail: with the planted `double-credit` bug, a chaos run
//! whose latency window makes tellers retry credits fails on the named invariants;
//! without it, the same run passes them.

use gauntlet_harness::run::{RunOptions, run};
use gauntlet_harness::scenario::{Overrides, parse_in};
use gauntlet_harness::workload::Registry;

/// A short chaos run: transfers under a latency fault longer than the step timeout,
/// so that credit replies are late and credits are retried.
fn scenario(bug: &str) -> String {
    format!(
        r#"
name = "bank-negative-control"
seed = 5
duration = "6s"
tick = "500ms"
grace = "10s"
[watchdog]
fail_on_stall = false
[target]
workload = "bank"
accounts = 20
tellers = 4
step_timeout = "20ms"
{bug}
[[load]]
op = "transfer"
executor = "constant-arrival-rate"
rate = 200
max_in_flight = 256
drop_after = "2s"
op_timeout = "20s"
[[fault]]
kind = "latency"
target = "actor://bank/accounts/acct-*"
latency = "40ms"
toxicity = 0.4
at = "1s"
for = "3s"
[recovery]
within = "30s"
"#
    )
}

fn invariant_outcomes(bug: &str) -> (bool, Vec<(String, bool)>, Vec<String>) {
    let registry = Registry::builtin().with(gauntlet_example_bank::Bank);
    let s = parse_in(&registry, &scenario(bug), "nc.toml", &Overrides::default()).unwrap();
    let r = run(&s, &RunOptions::default()).unwrap();
    let outcomes = r
        .thresholds
        .iter()
        .filter(|t| t.metric.starts_with("invariant{"))
        .map(|t| (t.metric.clone(), t.passed))
        .collect();
    (r.verdict.passed, outcomes, r.verdict.reasons)
}

#[test]
fn the_planted_bug_fails_on_its_invariants_and_the_fixed_bank_passes() {
    let (passed, outcomes, reasons) = invariant_outcomes("bug = \"double-credit\"");
    assert!(!passed, "{reasons:?}");
    let failed = |name: &str| {
        outcomes
            .iter()
            .any(|(m, ok)| m == &format!("invariant{{name={name}}}") && !ok)
    };
    assert!(failed("transfers.applied-once"), "{outcomes:?}");
    assert!(failed("money.conserved"), "{outcomes:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("invariant{name=transfers.applied-once}")
                && r.contains("credited more than once")),
        "{reasons:?}"
    );

    let (_, outcomes, reasons) = invariant_outcomes("");
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|(_, ok)| *ok),
        "{outcomes:?} {reasons:?}"
    );
}
