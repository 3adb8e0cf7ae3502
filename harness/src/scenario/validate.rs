//! Semantic validation: the raw file -> the model, collecting every problem with its
//! field path (impossible values, fields of another executor, thresholds on metrics or
//! ops that do not exist).

use std::time::Duration;

use toml::de::DeTable;

use super::error::{LineIndex, Problem, problem_indexed};
use super::fault::fault_invariants;
use super::location::{Seg, locate, render};
use super::model::{
    Executor, Load, MailboxPolicy, RuntimeSettings, Scenario, Stage, TargetSpec, WatchdogSettings,
};
use super::parse::Overrides;
use super::raw::{ExecutorKind, RawLoad, RawScenario};
use crate::threshold::{Metric, Threshold};

pub(super) struct Validator<'a> {
    pub(super) text: &'a str,
    pub(super) doc: &'a DeTable<'a>,
    pub(super) problems: Vec<Problem>,
    /// Line starts of `text`, built once for all problems.
    lines: LineIndex,
}

impl<'a> Validator<'a> {
    /// A validator of `text` (parsed as `doc`) that already holds `problems`.
    pub(super) fn new(text: &'a str, doc: &'a DeTable<'a>, problems: Vec<Problem>) -> Self {
        Self {
            text,
            doc,
            problems,
            lines: LineIndex::new(text),
        }
    }
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

use super::limits::{MAX_CONCURRENCY, MAX_IN_FLIGHT, MAX_RATE, MAX_THREADS, MIN_TIME_UNIT};
use crate::units::format_number;

impl Validator<'_> {
    pub(super) fn problem(&mut self, path: &[Seg], message: impl Into<String>) {
        let span = locate(self.doc, path);
        let field = (!path.is_empty()).then(|| render(path));
        self.problems.push(problem_indexed(
            self.text,
            &self.lines,
            span,
            field,
            message,
        ));
    }

    pub(super) fn scenario(
        &mut self,
        raw: RawScenario,
        target: Option<TargetSpec>,
        file: &str,
        ov: &Overrides,
    ) -> Option<Scenario> {
        if let Err(e) = gauntlet_reports::path_name::check(&raw.name) {
            self.problem(&[key("name")], e.to_string());
        }
        let duration = ov.duration.unwrap_or(raw.duration.0);
        if duration.is_zero() {
            self.problem(&[key("duration")], "must be longer than 0s");
        }
        let mut warmup = raw.warmup.map_or(Duration::ZERO, |d| d.0);
        // A `--duration` shorter than the warm-up (a quick check of a long scenario)
        // disables the warm-up rather than refusing the run.
        if ov.duration.is_some() && warmup >= duration {
            warmup = Duration::ZERO;
        }
        if !duration.is_zero() && warmup >= duration {
            self.problem(
                &[key("warmup")],
                format!(
                    "warm-up ({}s) must be shorter than the duration ({}s)",
                    warmup.as_secs_f64(),
                    duration.as_secs_f64()
                ),
            );
        }
        let tick = raw.tick.map_or(Duration::from_secs(1), |d| d.0);
        if tick < Duration::from_millis(10) {
            self.problem(&[key("tick")], "must be at least 10ms");
        } else if !duration.is_zero() && tick > duration {
            self.problem(
                &[key("tick")],
                format!(
                    "a tick of {}s is longer than the run ({}s): the run would have no sample",
                    tick.as_secs_f64(),
                    duration.as_secs_f64()
                ),
            );
        }
        let grace = raw.grace.map_or(Duration::from_secs(10), |d| d.0);

        let runtime = RuntimeSettings {
            worker_threads: self.int_in(
                raw.runtime.worker_threads,
                &[key("runtime"), key("worker_threads")],
                1..=MAX_THREADS,
                2,
            ) as usize,
            load_threads: self.int_in(
                raw.runtime.load_threads,
                &[key("runtime"), key("load_threads")],
                1..=MAX_THREADS,
                1,
            ) as usize,
            mailbox_capacity: self.int_in(
                raw.runtime.mailbox_capacity,
                &[key("runtime"), key("mailbox_capacity")],
                1..=(1 << 30),
                1024,
            ) as usize,
            mailbox_policy: raw.runtime.mailbox_policy.unwrap_or(MailboxPolicy::Block),
            hibernate_after: raw.runtime.hibernate_after.map(|d| d.0),
        };
        if runtime
            .hibernate_after
            .is_some_and(|d| d < Duration::from_millis(1))
        {
            self.problem(
                &[key("runtime"), key("hibernate_after")],
                "must be at least 1ms",
            );
        }
        let watchdog = WatchdogSettings {
            stall_after: raw
                .watchdog
                .stall_after
                .map_or(Duration::from_secs(5), |d| d.0),
            fail_on_stall: raw.watchdog.fail_on_stall.unwrap_or(true),
            shutdown_timeout: raw
                .watchdog
                .shutdown_timeout
                .map_or(Duration::from_secs(5), |d| d.0),
        };
        if watchdog.stall_after < Duration::from_millis(10) {
            self.problem(
                &[key("watchdog"), key("stall_after")],
                "must be at least 10ms",
            );
        }

        if let Some(t) = &target {
            let ctx = crate::workload::CheckContext {
                runtime: runtime.clone(),
            };
            for (field, message) in t.check(&ctx) {
                self.problem(&[key("target"), Seg::Key(field)], message);
            }
        }

        // Thresholds are checked against every op a load names, valid or not, so that
        // one mistake in a load is reported once.
        let named_ops: Vec<String> = raw.loads.iter().map(|l| l.op.clone()).collect();
        let named_loads: Vec<String> = raw
            .loads
            .iter()
            .map(|l| l.name.clone().unwrap_or_else(|| l.op.clone()))
            .collect();
        // Sets, so that thousands of thresholds and loads stay linear.
        let op_set: std::collections::HashSet<&str> =
            named_ops.iter().map(String::as_str).collect();
        let load_set: std::collections::HashSet<&str> =
            named_loads.iter().map(String::as_str).collect();
        if raw.loads.is_empty() {
            self.problem(&[], "at least one [[load]] block is required");
        }
        let mut loads: Vec<Load> = Vec::with_capacity(raw.loads.len());
        let mut load_names = std::collections::HashSet::new();
        for (i, l) in raw.loads.into_iter().enumerate() {
            let Some(load) = self.load(i, l, target.as_ref(), duration) else {
                continue;
            };
            if !load_names.insert(load.name.clone()) {
                let field =
                    if locate(self.doc, &[key("load"), Seg::Index(i), key("name")]).is_some() {
                        "name"
                    } else {
                        "op"
                    };
                self.problem(
                    &[key("load"), Seg::Index(i), key(field)],
                    format!(
                        "a load named `{}` already exists; give each load a unique `name`",
                        load.name
                    ),
                );
            } else {
                loads.push(load);
            }
        }

        // Kinds as written, valid or not: a fault with a bad field is reported once,
        // not again by every threshold on its kind.
        let mut fault_kinds: Vec<&'static str> = raw.faults.iter().map(|f| f.kind.name()).collect();
        fault_kinds.dedup();
        // A scenario that restarts the target's process is held to what it
        // acknowledged (crate::durability).
        let durability = crate::durability::invariants_for(raw.faults.iter().map(|f| f.kind));
        let faults = self.faults(raw.faults, target.as_ref(), duration);
        let recovery = self.recovery(raw.recovery);
        let mut thresholds = Vec::new();
        let mut declared: Vec<&str> = target
            .as_ref()
            .map(|t| t.info().invariants.iter().map(|i| i.name).collect())
            .unwrap_or_default();
        if target.is_some() {
            declared.extend(durability.iter().map(|i| i.name));
        }
        let mut waived: Vec<String> = Vec::new();
        for (k, exprs) in raw.thresholds {
            let path = [key("thresholds"), Seg::Key(k.clone())];
            let metric = Metric::parse(&k);
            if let (Ok(Metric::Deadlocks | Metric::Restarts), Some(t)) = (&metric, &target)
                && !t.info().capabilities.actor_system
            {
                self.problem(
                    &path,
                    format!(
                        "workload `{}` hands over no actor system, so `{}` can never be measured",
                        t.workload(),
                        k.trim()
                    ),
                );
                continue;
            }
            if let Ok(Metric::Invariant { name }) = metric {
                if target.is_some() && !declared.contains(&name.as_str()) {
                    let workload = target.as_ref().map_or("", |t| t.workload());
                    self.problem(
                        &path,
                        if declared.is_empty() {
                            format!("workload `{workload}` declares no invariants")
                        } else {
                            format!(
                                "workload `{workload}` declares no invariant `{name}` (it declares: {})",
                                declared.join(", ")
                            )
                        },
                    );
                    continue;
                }
                if exprs.is_empty() {
                    // `"invariant{name=X}" = []` waives the invariant's default threshold.
                    waived.push(name);
                    continue;
                }
            }
            match Threshold::parse(&k, &exprs) {
                Ok(t) => {
                    if let Some(op) = t.metric.op()
                        && !op_set.contains(op)
                    {
                        let mut issued: Vec<&str> = Vec::new();
                        for o in &named_ops {
                            if !issued.contains(&o.as_str()) && issued.len() < 10 {
                                issued.push(o);
                            }
                        }
                        let more = if op_set.len() > issued.len() {
                            ", ..."
                        } else {
                            ""
                        };
                        self.problem(
                            &path,
                            format!(
                                "threshold on op `{op}`, but no load issues it (ops issued: {}{more}){}",
                                issued.join(", "),
                                super::suggest::did_you_mean(op, op_set.iter().copied())
                            ),
                        );
                    } else if let Metric::DroppedIterations { load: Some(name) } = &t.metric
                        && !load_set.contains(name.as_str())
                    {
                        self.problem(
                            &path,
                            format!("threshold on load `{name}`, which does not exist"),
                        );
                    } else if let Metric::Recovery { fault } | Metric::FaultsAffected { fault } =
                        &t.metric
                        && !fault_kinds.contains(&fault.as_str())
                    {
                        let kinds = &fault_kinds;
                        self.problem(
                            &path,
                            format!(
                                "threshold on fault kind `{fault}`, but the scenario injects no `{fault}` fault (its [[fault]] kinds: {}), so it could never be measured",
                                if kinds.is_empty() { "none".to_owned() } else { kinds.join(", ") }
                            ),
                        );
                    } else {
                        thresholds.push(t);
                    }
                }
                Err(e) => self.problem(&path, e.0),
            }
        }

        if let Some(c) = &raw.capacity {
            for (field, message) in c.problems(&loads) {
                self.problem(&[key("capacity"), key(field)], message);
            }
        }
        for (k, v) in &raw.baseline {
            if let Err(e) = gauntlet_reports::compare::Tolerances::default().set(k, v) {
                self.problem(&[key("baseline"), Seg::Key(k.clone())], e.to_string());
            }
        }

        fault_invariants(
            &faults,
            target.as_ref().map(|t| &t.info().capabilities),
            &mut thresholds,
        );
        invariant_thresholds(&declared, &waived, &mut thresholds);
        let target = target?;
        Some(Scenario {
            name: raw.name,
            description: raw.description,
            file: file.to_owned(),
            seed: ov.seed.or(raw.seed).unwrap_or(0),
            duration,
            warmup,
            tick,
            grace,
            runtime,
            watchdog,
            target,
            loads,
            thresholds,
            capacity: raw.capacity,
            baseline_tolerances: raw.baseline,
            faults,
            recovery,
        })
    }

    fn int_in(
        &mut self,
        v: Option<i64>,
        path: &[Seg],
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> i64 {
        match v {
            None => default,
            Some(n) if range.contains(&n) => n,
            Some(n) => {
                self.problem(
                    path,
                    format!(
                        "must be between {} and {} (got {n})",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    fn load(
        &mut self,
        i: usize,
        l: RawLoad,
        target: Option<&TargetSpec>,
        run: Duration,
    ) -> Option<Load> {
        let at = |f: &str| vec![key("load"), Seg::Index(i), key(f)];
        let before = self.problems.len();
        let name = l.name.clone().unwrap_or_else(|| l.op.clone());
        // Load names label files, metrics and report rows: the same rule as every name.
        if let Err(e) = gauntlet_reports::path_name::check(&name) {
            let field = if l.name.is_some() { "name" } else { "op" };
            self.problem(&at(field), e.to_string());
        }
        if let Some(target) = target
            && !target.ops().contains(&l.op.as_str())
        {
            self.problem(
                &at("op"),
                format!(
                    "workload `{}` has no op `{}` (it offers: {})",
                    target.workload(),
                    l.op,
                    target.ops().join(", ")
                ),
            );
        }
        let kind = l.executor;
        let kind_name = match kind {
            ExecutorKind::ConstantArrivalRate => "constant-arrival-rate",
            ExecutorKind::RampingArrivalRate => "ramping-arrival-rate",
            ExecutorKind::ConstantConcurrency => "constant-concurrency",
            ExecutorKind::RampingConcurrency => "ramping-concurrency",
        };
        // Fields that belong to other executors are mistakes, not noise.
        let allowed: &[&str] = match kind {
            ExecutorKind::ConstantArrivalRate => &[
                "rate",
                "time_unit",
                "duration",
                "max_in_flight",
                "drop_after",
            ],
            ExecutorKind::RampingArrivalRate => &[
                "start_rate",
                "time_unit",
                "stages",
                "max_in_flight",
                "drop_after",
            ],
            ExecutorKind::ConstantConcurrency => &["concurrency", "duration"],
            ExecutorKind::RampingConcurrency => &["start_concurrency", "stages"],
        };
        let present = [
            ("rate", l.rate.is_some()),
            ("time_unit", l.time_unit.is_some()),
            ("start_rate", l.start_rate.is_some()),
            ("concurrency", l.concurrency.is_some()),
            ("start_concurrency", l.start_concurrency.is_some()),
            ("stages", l.stages.is_some()),
            ("duration", l.duration.is_some()),
            ("max_in_flight", l.max_in_flight.is_some()),
            ("drop_after", l.drop_after.is_some()),
        ];
        for (field, is_set) in present {
            if is_set && !allowed.contains(&field) {
                let hint = if field == "max_in_flight" {
                    " (a concurrency executor's in-flight bound is its concurrency)"
                } else {
                    ""
                };
                self.problem(
                    &at(field),
                    format!(
                        "`{field}` is not used by executor `{kind_name}`{hint}; it takes: {}",
                        allowed.join(", ")
                    ),
                );
            }
        }
        let start = l.start.map_or(Duration::ZERO, |d| d.0);
        if start >= run && !run.is_zero() {
            self.problem(
                &at("start"),
                format!(
                    "starts at {}s, after the run ends ({}s)",
                    start.as_secs_f64(),
                    run.as_secs_f64()
                ),
            );
        }
        let remaining = run.saturating_sub(start);
        let duration = l.duration.map_or(remaining, |d| d.0.min(remaining));
        if l.duration.is_some_and(|d| d.0.is_zero()) {
            self.problem(&at("duration"), "must be longer than 0s");
        }
        let per_s = match l.time_unit {
            Some(tu) if tu.0 < MIN_TIME_UNIT => {
                self.problem(
                    &at("time_unit"),
                    format!(
                        "must be at least 1ms (got {}s); write the rate per second instead",
                        format_number(tu.0.as_secs_f64())
                    ),
                );
                1.0
            }
            Some(tu) => 1.0 / tu.0.as_secs_f64(),
            None => 1.0,
        };
        let stages = |v: &mut Self, integer: bool| -> Vec<Stage> {
            let Some(stages) = &l.stages else {
                v.problem(
                    &[key("load"), Seg::Index(i)],
                    format!("executor `{kind_name}` needs `stages`, e.g. stages = [{{ target = 100, duration = \"10s\" }}]"),
                );
                return Vec::new();
            };
            if stages.is_empty() {
                v.problem(&at("stages"), "needs at least one stage");
            }
            let mut out = Vec::new();
            for (j, s) in stages.iter().enumerate() {
                let sp = |f: &str| {
                    vec![
                        key("load"),
                        Seg::Index(i),
                        key("stages"),
                        Seg::Index(j),
                        key(f),
                    ]
                };
                if !(s.target.is_finite() && s.target >= 0.0) {
                    v.problem(
                        &sp("target"),
                        format!("must be 0 or more (got {})", format_number(s.target)),
                    );
                } else if integer && s.target > MAX_CONCURRENCY as f64 {
                    v.problem(
                        &sp("target"),
                        format!(
                            "must be at most {MAX_CONCURRENCY} (got {})",
                            format_number(s.target)
                        ),
                    );
                } else if integer && s.target.fract() != 0.0 {
                    v.problem(
                        &sp("target"),
                        format!(
                            "a concurrency must be a whole number (got {})",
                            format_number(s.target)
                        ),
                    );
                } else if !integer && s.target * per_s > MAX_RATE {
                    v.problem(
                        &sp("target"),
                        format!(
                            "must be at most {} ops/s (got {} ops/s)",
                            format_number(MAX_RATE),
                            format_number(s.target * per_s)
                        ),
                    );
                }
                if s.duration.0.is_zero() {
                    v.problem(&sp("duration"), "a stage needs a duration longer than 0s");
                }
                out.push(Stage {
                    target: if integer { s.target } else { s.target * per_s },
                    duration: s.duration.0,
                });
            }
            out
        };
        let positive_rate = |v: &mut Self, x: Option<f64>, field: &str, allow_zero: bool| -> f64 {
            match x {
                None if allow_zero => 0.0,
                None => {
                    v.problem(
                        &[key("load"), Seg::Index(i)],
                        format!("executor `{kind_name}` needs `{field}`"),
                    );
                    0.0
                }
                Some(r) if r.is_finite() && r * per_s > MAX_RATE => {
                    v.problem(
                        &at(field),
                        format!(
                            "must be at most {} ops/s (got {} ops/s)",
                            format_number(MAX_RATE),
                            format_number(r * per_s)
                        ),
                    );
                    0.0
                }
                Some(r) if r.is_finite() && (r > 0.0 || (allow_zero && r == 0.0)) => r * per_s,
                Some(r) => {
                    let bound = if allow_zero {
                        "0 or more"
                    } else {
                        "greater than 0"
                    };
                    v.problem(
                        &at(field),
                        format!("must be {bound} (got {})", format_number(r)),
                    );
                    0.0
                }
            }
        };
        let executor = match kind {
            ExecutorKind::ConstantArrivalRate => Executor::ConstantArrivalRate {
                rate: positive_rate(self, l.rate, "rate", false),
                duration,
            },
            ExecutorKind::RampingArrivalRate => Executor::RampingArrivalRate {
                start_rate: positive_rate(self, l.start_rate, "start_rate", true),
                stages: stages(self, false),
            },
            ExecutorKind::ConstantConcurrency => Executor::ConstantConcurrency {
                concurrency: match l.concurrency {
                    Some(c) if (1..=MAX_CONCURRENCY).contains(&c) => c as u64,
                    Some(c) => {
                        self.problem(
                            &at("concurrency"),
                            format!("must be between 1 and {MAX_CONCURRENCY} (got {c})"),
                        );
                        1
                    }
                    None => {
                        self.problem(
                            &[key("load"), Seg::Index(i)],
                            "executor `constant-concurrency` needs `concurrency`",
                        );
                        1
                    }
                },
                duration,
            },
            ExecutorKind::RampingConcurrency => Executor::RampingConcurrency {
                start_concurrency: match l.start_concurrency {
                    None => 0,
                    Some(c) if (0..=MAX_CONCURRENCY).contains(&c) => c as u64,
                    Some(c) => {
                        self.problem(
                            &at("start_concurrency"),
                            format!("must be between 0 and {MAX_CONCURRENCY} (got {c})"),
                        );
                        0
                    }
                },
                stages: stages(self, true),
            },
        };
        let max_in_flight = match &executor {
            Executor::ConstantConcurrency { concurrency, .. } => *concurrency,
            Executor::RampingConcurrency {
                start_concurrency,
                stages,
            } => stages
                .iter()
                .map(|s| s.target as u64)
                .chain(std::iter::once(*start_concurrency))
                .max()
                .unwrap_or(0)
                .max(1),
            _ => match l.max_in_flight {
                Some(m) if (1..=MAX_IN_FLIGHT).contains(&m) => m as u64,
                Some(m) => {
                    self.problem(
                        &at("max_in_flight"),
                        format!("must be between 1 and {MAX_IN_FLIGHT} (got {m})"),
                    );
                    1
                }
                None => {
                    self.problem(
                        &[key("load"), Seg::Index(i)],
                        format!("executor `{kind_name}` needs `max_in_flight`, the bound on ops in flight (e.g. max_in_flight = 64)"),
                    );
                    1
                }
            },
        };
        let op_timeout = l.op_timeout.map_or(Duration::from_secs(5), |d| d.0);
        if op_timeout.is_zero() {
            self.problem(&at("op_timeout"), "must be longer than 0s");
        }
        if self.problems.len() > before {
            return None;
        }
        Some(Load {
            name,
            op: l.op,
            executor,
            start,
            max_in_flight,
            drop_after: l.drop_after.map_or(Duration::from_millis(10), |d| d.0),
            op_timeout,
        })
    }
}

/// Every declared invariant gets `count == 0` unless the scenario states its own
/// threshold for it or waives it.
fn invariant_thresholds(declared: &[&str], waived: &[String], thresholds: &mut Vec<Threshold>) {
    for name in declared {
        let k = format!("invariant{{name={name}}}");
        if waived.iter().any(|w| w == name) || thresholds.iter().any(|t| t.key == k) {
            continue;
        }
        if let Ok(t) = Threshold::parse(&k, &["count == 0".to_owned()]) {
            thresholds.push(t);
        }
    }
}
