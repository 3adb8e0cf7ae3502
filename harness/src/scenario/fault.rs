//! The `[[fault]]` blocks and the `[recovery]` table: as written, and their validation
//! into [`FaultSpec`] and [`RecoverySettings`], with every problem named by field.

use std::time::Duration;

use globset::Glob;
use serde::Deserialize;

use super::limits::MAX_FAULT_DELAY;
use super::location::Seg;
use super::model::TargetSpec;
use super::validate::Validator;
use crate::child::Process;
use crate::faults::Kind;
use crate::faults::selector::check_glob;
use crate::faults::spec::{FaultSpec, RecoverySettings};
use crate::faults::vocabulary::{Detection, Fields, Targets, Toxicity};
use crate::threshold::Threshold;
use crate::units::DurationSpec;
use crate::workload::Capabilities;

/// A `[[fault]]` block as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFault {
    pub kind: Kind,
    pub target: Option<String>,
    pub at: DurationSpec,
    #[serde(rename = "for")]
    pub for_: DurationSpec,
    pub every: Option<DurationSpec>,
    pub toxicity: Option<f64>,
    pub victims: Option<i64>,
    pub latency: Option<DurationSpec>,
    pub jitter: Option<DurationSpec>,
    pub messages: Option<i64>,
    pub peer: Option<String>,
    pub block_for: Option<DurationSpec>,
    pub size: Option<String>,
    pub length: Option<i64>,
    pub cycles: Option<i64>,
}

/// The `[recovery]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecovery {
    pub tolerance: Option<f64>,
    pub within: Option<DurationSpec>,
    pub p99_floor: Option<DurationSpec>,
    pub baseline: Option<DurationSpec>,
    pub error_floor: Option<f64>,
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// The kinds whose events `toxicity` thins out, as named in the message refusing it
/// on another kind: the actor kinds first, then the dependency ones.
fn toxic_kinds() -> String {
    let mut kinds: Vec<Kind> = Kind::ALL
        .iter()
        .copied()
        .filter(|k| k.facts().toxicity == Toxicity::Thins)
        .collect();
    kinds.sort_by_key(|k| k.facts().target == Targets::Dependency);
    kinds
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kind-specific fields of a block, to be read by its kind.
fn fields(f: &mut RawFault) -> Fields {
    let mut fields = Fields::new(f.kind.name());
    fields.latency = f.latency.as_ref().map(|d| d.0);
    fields.jitter = f.jitter.as_ref().map(|d| d.0);
    fields.messages = f.messages;
    fields.peer = f.peer.take();
    fields.block_for = f.block_for.as_ref().map(|d| d.0);
    fields.size = f.size.take();
    fields.length = f.length;
    fields.cycles = f.cycles;
    fields
}

/// Why the fault glob `glob` can match no address the target creates, if it cannot.
///
/// The workload's address patterns are globs too; a fault glob is refused only when
/// it matches none of the workload's concrete addresses and shares no literal prefix
/// with any of its patterns (so it can never match).
fn unmatched_glob(glob: &str, target: &TargetSpec) -> Option<String> {
    let patterns = target.addresses();
    if patterns.is_empty() {
        return None;
    }
    let matcher = Glob::new(glob).ok()?.compile_matcher();
    let literal = |s: &str| -> String { s.chars().take_while(|c| !"*?[{".contains(*c)).collect() };
    let g = literal(glob);
    let can_match = patterns.iter().any(|p| {
        if matcher.is_match(p) {
            return true;
        }
        let is_pattern = p.contains(['*', '?', '[', '{']);
        let pl = literal(p);
        is_pattern && (pl.starts_with(&g) || g.starts_with(&pl))
    });
    if can_match {
        return None;
    }
    let shown: Vec<&str> = patterns.iter().take(6).map(String::as_str).collect();
    let more = if patterns.len() > 6 {
        format!(" and {} more", patterns.len() - 6)
    } else {
        String::new()
    };
    Some(format!(
        "`{glob}` matches no actor of workload `{}` with this [target]: its addresses are {}{more} (see `gauntlet list --addresses`)",
        target.workload(),
        shown.join(", ")
    ))
}

/// The invariants every chaos run is judged by, added as thresholds unless the
/// scenario sets the same metric itself: nothing lost, nothing leaked, every fault
/// recovered within `[recovery] within`, and every injected ask cycle detected.
/// "Nothing lost" (`messages.lost`) is added only where the workload can measure it:
/// message accounting comes from the actor system it hands over (`actor_system`), so a
/// workload without one (`synthetic`) is not failed on a count it has no way to make.
/// An explicit `messages.lost` threshold is kept either way (and is reported as not
/// measured there).
pub(super) fn fault_invariants(
    faults: &[FaultSpec],
    capabilities: Option<&Capabilities>,
    thresholds: &mut Vec<Threshold>,
) {
    if faults.is_empty() {
        return;
    }
    let mut wanted = vec!["tasks.leaked", "faults.unrecovered"];
    if capabilities.is_none_or(|c| c.actor_system) {
        wanted.insert(0, "messages.lost");
    }
    if faults
        .iter()
        .any(|f| f.kind().facts().detected != Detection::Nothing)
    {
        wanted.push("faults.undetected");
    }
    for key in wanted {
        if thresholds.iter().any(|t| t.key == key) {
            continue;
        }
        if let Ok(t) = Threshold::parse(key, &["count == 0".to_owned()]) {
            thresholds.push(t);
        }
    }
}

impl Validator<'_> {
    pub(super) fn recovery(&mut self, raw: RawRecovery) -> RecoverySettings {
        let d = RecoverySettings::default();
        let tolerance = raw.tolerance.unwrap_or(d.tolerance);
        if !(tolerance > 0.0 && tolerance <= 10.0) {
            self.problem(
                &[key("recovery"), key("tolerance")],
                format!("must be greater than 0 and at most 10 (got {tolerance})"),
            );
        }
        let baseline = raw.baseline.map_or(d.baseline, |v| v.0);
        if baseline.is_zero() {
            self.problem(
                &[key("recovery"), key("baseline")],
                "must be longer than 0s",
            );
        }
        let error_floor = raw.error_floor.unwrap_or(d.error_floor);
        if !(0.0..=1.0).contains(&error_floor) {
            self.problem(
                &[key("recovery"), key("error_floor")],
                format!(
                    "must be between 0 and 1 (got {})",
                    crate::units::format_number(error_floor)
                ),
            );
        }
        RecoverySettings {
            tolerance,
            within: raw.within.map_or(d.within, |v| v.0),
            p99_floor: raw.p99_floor.map_or(d.p99_floor, |v| v.0),
            baseline,
            error_floor,
        }
    }

    pub(super) fn faults(
        &mut self,
        raw: Vec<RawFault>,
        target: Option<&TargetSpec>,
        run: Duration,
    ) -> Vec<FaultSpec> {
        raw.into_iter()
            .enumerate()
            .filter_map(|(i, f)| self.fault(i, f, target, run))
            .collect()
    }

    fn fault(
        &mut self,
        i: usize,
        mut f: RawFault,
        target: Option<&TargetSpec>,
        run: Duration,
    ) -> Option<FaultSpec> {
        let at = |k: &str| [key("fault"), Seg::Index(i), key(k)];
        let before = self.problems.len();
        let kind = f.kind;
        let facts = kind.facts();
        let (workload, caps) = match target {
            Some(t) => (t.workload(), t.info().capabilities),
            None => ("", crate::workload::Capabilities::default()),
        };
        if target.is_some()
            && let Some(missing) = facts.requires.capability.missing(&caps)
        {
            self.problem(
                &at("kind"),
                format!(
                    "`{kind}` faults need a workload that {missing}; workload `{workload}` does not"
                ),
            );
        }
        // Process faults need the target in a child process, and the faults that act
        // inside the target's process cannot reach it there.
        match (facts.requires.process, target.map(TargetSpec::process)) {
            (Process::Child, Some(Process::InProcess)) => self.problem(
                &at("kind"),
                format!("`{kind}` faults need the target in a child process: `[target] process = \"child\"`"),
            ),
            (Process::InProcess, Some(Process::Child)) => {
                let process_kinds: Vec<String> = Kind::ALL
                    .iter()
                    .filter(|k| k.facts().requires.process == Process::Child)
                    .map(|k| format!("`{k}`"))
                    .collect();
                self.problem(
                    &at("kind"),
                    format!(
                        "`{kind}` faults act inside the target's process, which `[target] process = \"child\"` puts out of reach; with it, use {}",
                        or_list(&process_kinds)
                    ),
                );
            }
            _ => {}
        }
        let mut fields = fields(&mut f);
        for field in fields.given() {
            if !facts.fields.contains(&field) {
                self.problem(
                    &at(field),
                    format!("`{field}` does not apply to `{kind}` faults"),
                );
            }
        }
        let target_text = f.target.clone().unwrap_or_default();
        match (facts.target, &f.target) {
            (Targets::Actors, None) => self.problem(
                &[key("fault"), Seg::Index(i)],
                format!("`{kind}` needs a `target`: an actor address glob such as `actor://gauntlet/worker-*`"),
            ),
            (Targets::Actors, Some(g)) => {
                if let Err(e) = check_glob(g) {
                    self.problem(&at("target"), e);
                } else if let Some(t) = target
                    && let Some(e) = unmatched_glob(g, t)
                {
                    self.problem(&at("target"), e);
                }
            }
            (Targets::Dependency, Some(d)) if caps.dependencies.contains(&d.as_str()) => {}
            (Targets::Dependency, _) if caps.dependencies.is_empty() => {}
            (Targets::Dependency, _) => self.problem(
                &at("target"),
                format!(
                    "`{kind}` needs `target` naming a dependency of workload `{workload}`: {}",
                    caps.dependencies.join(", ")
                ),
            ),
            (Targets::Nothing(acts_on), Some(_)) => self.problem(
                &at("target"),
                format!("`{kind}` takes no target: {acts_on}"),
            ),
            (Targets::Nothing(_), None) => {}
        }
        if f.at.0 >= run {
            self.problem(
                &at("at"),
                format!(
                    "starts at {}s, after the run ends ({}s)",
                    f.at.0.as_secs_f64(),
                    run.as_secs_f64()
                ),
            );
        }
        if f.for_.0.is_zero() {
            self.problem(&at("for"), "must be longer than 0s");
        }
        if let Some(every) = &f.every
            && every.0 <= f.for_.0
        {
            self.problem(
                &at("every"),
                format!(
                    "must be longer than `for` ({}s): windows of one fault must not overlap",
                    f.for_.0.as_secs_f64()
                ),
            );
        }
        let toxicity = f.toxicity.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&toxicity) || toxicity.is_nan() {
            self.problem(
                &at("toxicity"),
                format!(
                    "must be between 0 and 1 (got {})",
                    crate::units::format_number(toxicity)
                ),
            );
        }
        match (f.toxicity, facts.toxicity) {
            (None, _) | (_, Toxicity::Thins) => {}
            (Some(_), Toxicity::RefusedBecause(why)) => self.problem(&at("toxicity"), why),
            // As for every field of another kind: silently ignoring it would mislead.
            (Some(_), Toxicity::Refused) => self.problem(
                &at("toxicity"),
                format!(
                    "`toxicity` does not apply to `{kind}` faults (it applies to {})",
                    toxic_kinds()
                ),
            ),
        }
        for (field, d) in [("latency", &f.latency), ("jitter", &f.jitter)] {
            if let Some(d) = d
                && d.0 > MAX_FAULT_DELAY
            {
                self.problem(
                    &at(field),
                    format!(
                        "must be at most {}s (got {}s)",
                        MAX_FAULT_DELAY.as_secs(),
                        crate::units::format_number(d.0.as_secs_f64())
                    ),
                );
            }
        }
        let victims = match f.victims {
            None => None,
            Some(n) if n >= 1 && facts.target == Targets::Actors => Some(n as usize),
            Some(_) if facts.target != Targets::Actors => {
                self.problem(
                    &at("victims"),
                    format!("`victims` does not apply to `{kind}` faults"),
                );
                None
            }
            Some(n) => {
                self.problem(&at("victims"), format!("must be at least 1 (got {n})"));
                None
            }
        };
        // The kind reads its own fields; their problems come last, as they always have.
        let fault = kind.read(&mut fields);
        for (field, message) in fields.into_problems() {
            match field {
                Some(field) => self.problem(&at(field), message),
                None => self.problem(&[key("fault"), Seg::Index(i)], message),
            }
        }
        let fault = fault?;
        (self.problems.len() == before).then(|| FaultSpec {
            index: i,
            fault,
            target: target_text,
            at: f.at.0,
            duration: f.for_.0,
            every: f.every.map(|e| e.0),
            toxicity,
            victims,
        })
    }
}

/// `a`, `b` or `c`.
fn or_list(items: &[String]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => items.join(""),
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse_str;

    fn scenario(faults: &str) -> String {
        format!(
            r#"
name = "f"
duration = "10s"
[target]
workload = "actors"
topology = "round-robin"
[[load]]
op = "tell"
executor = "constant-arrival-rate"
rate = 10
max_in_flight = 4
{faults}"#
        )
    }

    #[test]
    fn a_valid_fault_parses() {
        let s = parse_str(
            &scenario(
                r#"
[[fault]]
kind = "latency"
target = "actor://gauntlet/worker-*"
at = "2s"
for = "3s"
every = "4s"
toxicity = 0.5
victims = 2
latency = "5ms"
jitter = "2ms"
[thresholds]
"recovery{fault=latency}" = ["max < 2s"]
"#,
            ),
            "f.toml",
        )
        .unwrap();
        // The scenario's own threshold plus the invariants every chaos run gets.
        let keys: Vec<&str> = s.thresholds.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "recovery{fault=latency}",
                "messages.lost",
                "tasks.leaked",
                "faults.unrecovered",
                "invariant{name=actors.accounted}"
            ]
        );
        assert_eq!(s.thresholds[0].expressions[0].limit, 2e9);
        assert_eq!(s.faults.len(), 1);
        assert_eq!(s.faults[0].victims, Some(2));
        assert_eq!(s.faults[0].toxicity, 0.5);
    }

    fn synthetic_with(extra: &str) -> String {
        format!(
            r#"
name = "s"
duration = "10s"
[target]
workload = "synthetic"
[[load]]
op = "call"
executor = "constant-arrival-rate"
rate = 10
max_in_flight = 4
[[fault]]
kind = "memory-pressure"
size = "1MB"
at = "2s"
for = "3s"
{extra}"#
        )
    }

    #[test]
    fn messages_lost_is_implied_only_where_the_workload_accounts_messages() {
        let keys = |s: &crate::scenario::Scenario| -> Vec<String> {
            s.thresholds.iter().map(|t| t.key.clone()).collect()
        };
        // Synthetic hands over no actor system: no message accounting to judge.
        let s = parse_str(&synthetic_with(""), "s.toml").unwrap();
        assert_eq!(keys(&s), ["tasks.leaked", "faults.unrecovered"]);
        // A threshold the scenario sets itself is kept (and is not measured there).
        let s = parse_str(
            &synthetic_with("[thresholds]\n\"messages.lost\" = [\"count == 0\"]\n"),
            "s.toml",
        )
        .unwrap();
        assert!(
            keys(&s).iter().any(|k| k == "messages.lost"),
            "{:?}",
            keys(&s)
        );
        // An actors scenario with the same fault still gets the invariant.
        let s = parse_str(
            &scenario(
                "[[fault]]\nkind = \"memory-pressure\"\nsize = \"1MB\"\nat = \"2s\"\nfor = \"3s\"\n",
            ),
            "f.toml",
        )
        .unwrap();
        assert!(
            keys(&s).iter().any(|k| k == "messages.lost"),
            "{:?}",
            keys(&s)
        );
    }

    fn errors(faults: &str) -> String {
        parse_str(&scenario(faults), "f.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_faults_are_named_by_file_line_and_field() {
        let e = errors(
            "[[fault]]\nkind = \"crash\"\ntarget = \"worker-*\"\nat = \"1s\"\nfor = \"1s\"\ntoxicity = 2\n",
        );
        assert!(
            e.contains("f.toml:14:10: fault[0].target: `worker-*` is not an actor address glob"),
            "{e}"
        );
        assert!(
            e.contains("fault[0].toxicity: must be between 0 and 1 (got 2)"),
            "{e}"
        );
        let e = errors(
            "[[fault]]\nkind = \"latency\"\ntarget = \"actor://gauntlet/*\"\nat = \"1s\"\nfor = \"1s\"\nmessages = 3\n",
        );
        assert!(
            e.contains("fault[0].messages: `messages` does not apply to `latency` faults"),
            "{e}"
        );
        assert!(e.contains("fault[0]: `latency` needs `latency`"), "{e}");
        let e = errors(
            "[[fault]]\nkind = \"dependency-outage\"\ntarget = \"device-repository\"\nat = \"1s\"\nfor = \"1s\"\n",
        );
        assert!(
            e.contains("fault[0].kind: `dependency-outage` faults need a workload that exposes a dependency seam"),
            "{e}"
        );
        let e = errors(
            "[[fault]]\nkind = \"crash\"\ntarget = \"actor://gauntlet/*\"\nat = \"20s\"\nfor = \"1s\"\nevery = \"1s\"\n",
        );
        assert!(
            e.contains("fault[0].at: starts at 20s, after the run ends (10s)"),
            "{e}"
        );
        assert!(
            e.contains("fault[0].every: must be longer than `for`"),
            "{e}"
        );
        let e = errors("[[fault]]\nkind = \"meltdown\"\nat = \"1s\"\nfor = \"1s\"\n");
        assert!(
            e.contains("fault[0].kind: unknown variant `meltdown`"),
            "{e}"
        );
        let e = errors(
            "[[fault]]\nkind = \"ask-cycle\"\ntarget = \"actor://gauntlet/*\"\nat = \"1s\"\nfor = \"1s\"\n",
        );
        assert!(e.contains("`ask-cycle` takes no target"), "{e}");
        let e = errors("[thresholds]\n\"recovery\" = [\"max < 2s\"]\n");
        assert!(
            e.contains("`recovery` needs a fault kind, e.g. `recovery{fault=crash}`"),
            "{e}"
        );
    }
}
