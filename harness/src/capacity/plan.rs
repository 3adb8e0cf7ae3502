//! The sweep plan: which load is stepped, through which levels, for how long, and the
//! scenario each level runs.

use std::time::Duration;

use gauntlet_reports::capacity_schema::{LoadVariable, SweepSettings};

use super::spec::{CapacitySpec, check_steps, defaults};
use crate::scenario::{Executor, Scenario};
use crate::threshold::Metric;

/// Sweep settings given on the command line; they override the `[capacity]` table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepOverrides {
    /// `--load NAME`.
    pub load: Option<String>,
    /// `--steps ...`.
    pub steps: Option<Vec<f64>>,
    /// `--step-duration D`.
    pub step_duration: Option<Duration>,
    /// `--settle D`.
    pub settle: Option<Duration>,
    /// `--deadline D`.
    pub deadline: Option<Duration>,
    /// `--repeats K`.
    pub repeats: Option<u32>,
}

/// A resolved sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Index of the swept load in the scenario.
    pub load: usize,
    /// Whether levels are arrival rates or clients.
    pub variable: LoadVariable,
    /// The levels.
    pub steps: Vec<f64>,
    /// Measured time per level.
    pub step_duration: Duration,
    /// Settle time per level (the level run's warm-up).
    pub settle: Duration,
    /// Hard limit of the whole sweep.
    pub deadline: Duration,
    /// Least relative gain that counts as rising.
    pub min_gain: f64,
    /// Non-rising levels in a row before stopping.
    pub patience: u32,
    /// Levels run after the first breaking one.
    pub levels_after_break: u32,
    /// Times each level is measured (rounds over the levels; see [`super::sweep`]).
    pub repeats: u32,
}

/// Why a sweep cannot be planned (the message names the flag or field).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

impl Plan {
    /// Resolves the plan for `scenario` from its `[capacity]` table, `ov` and defaults.
    pub fn resolve(scenario: &Scenario, ov: &SweepOverrides) -> Result<Self, PlanError> {
        let spec = scenario.capacity.clone().unwrap_or_default();
        let load_name = ov.load.clone().or_else(|| spec.load.clone());
        let load = match &load_name {
            Some(name) => scenario
                .loads
                .iter()
                .position(|l| &l.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = scenario.loads.iter().map(|l| l.name.as_str()).collect();
                    PlanError(format!(
                        "--load: no load named `{name}` in {} (loads: {})",
                        scenario.file,
                        names.join(", ")
                    ))
                })?,
            None => 0,
        };
        let swept = &scenario.loads[load];
        let variable = if swept.executor.is_open_loop() {
            LoadVariable::ArrivalRate
        } else {
            LoadVariable::Concurrency
        };
        // The file's own table was validated with the scenario; what the command line
        // changes is checked here, against the same rules.
        let merged = CapacitySpec {
            load: Some(swept.name.clone()),
            steps: ov.steps.clone().or(spec.steps.clone()),
            ..spec.clone()
        };
        if let Some((field, message)) = merged.problems(&scenario.loads).into_iter().next() {
            let flag = match field {
                "steps" if ov.steps.is_some() => "--steps".to_owned(),
                "load" if ov.load.is_some() => "--load".to_owned(),
                f => format!("{}: capacity.{f}", scenario.file),
            };
            return Err(PlanError(format!("{flag}: {message}")));
        }
        let steps = match merged.steps {
            Some(s) => s,
            None => default_steps(&swept.executor),
        };
        check_steps(&steps).map_err(|e| PlanError(format!("steps: {e}")))?;
        let step_duration = ov
            .step_duration
            .or(spec.step_duration.map(|d| d.0))
            .unwrap_or(defaults::STEP_DURATION);
        if step_duration.is_zero() {
            return Err(PlanError("--step-duration: must be longer than 0s".into()));
        }
        let deadline = ov
            .deadline
            .or(spec.deadline.map(|d| d.0))
            .unwrap_or(defaults::DEADLINE);
        if deadline.is_zero() {
            return Err(PlanError("--deadline: must be longer than 0s".into()));
        }
        let repeats = ov.repeats.or(spec.repeats).unwrap_or(1);
        super::spec::check_repeats(repeats).map_err(|e| {
            PlanError(if ov.repeats.is_some() {
                format!("--repeats: {e}")
            } else {
                format!("{}: capacity.repeats: {e}", scenario.file)
            })
        })?;
        Ok(Self {
            repeats,
            load,
            variable,
            steps,
            step_duration,
            settle: ov
                .settle
                .or(spec.settle.map(|d| d.0))
                .unwrap_or(defaults::SETTLE),
            deadline,
            min_gain: spec.min_gain.unwrap_or(defaults::MIN_GAIN),
            patience: spec.patience.unwrap_or(defaults::PATIENCE),
            levels_after_break: spec.levels_after_break.unwrap_or(0),
        })
    }

    /// The scenario of one level: the swept load held at `level` (a constant executor)
    /// for `settle + step_duration`, the settle time as warm-up, the other loads
    /// unchanged but stretched over the level, and no throughput thresholds (a sweep
    /// varies throughput on purpose; a floor on it would fail every lower level).
    pub fn level_scenario(&self, base: &Scenario, level: f64) -> Scenario {
        let length = self.settle + self.step_duration;
        let mut s = base.clone();
        s.duration = length;
        s.warmup = self.settle;
        for (i, l) in s.loads.iter_mut().enumerate() {
            if i == self.load {
                l.start = Duration::ZERO;
                l.executor = match self.variable {
                    LoadVariable::ArrivalRate => Executor::ConstantArrivalRate {
                        rate: level,
                        duration: length,
                    },
                    LoadVariable::Concurrency => {
                        l.max_in_flight = level as u64;
                        Executor::ConstantConcurrency {
                            concurrency: level as u64,
                            duration: length,
                        }
                    }
                };
            } else {
                if l.start >= length {
                    l.start = Duration::ZERO;
                }
                let rest = length - l.start;
                match &mut l.executor {
                    Executor::ConstantArrivalRate { duration, .. }
                    | Executor::ConstantConcurrency { duration, .. } => *duration = rest,
                    // Refused when the plan is resolved.
                    Executor::RampingArrivalRate { .. } | Executor::RampingConcurrency { .. } => {}
                }
            }
        }
        s.thresholds
            .retain(|t| !matches!(t.metric, Metric::Throughput { .. }));
        s
    }

    /// The longest one level can take: its load, its grace for in-flight ops and its
    /// shutdown budget. The sweep starts no level that could end past its deadline.
    pub fn level_worst_case(&self, base: &Scenario) -> Duration {
        self.settle + self.step_duration + base.grace + base.watchdog.shutdown_timeout
    }

    /// The settings as recorded in `capacity.json`.
    pub fn settings(&self) -> SweepSettings {
        SweepSettings {
            steps: self.steps.clone(),
            step_duration_s: self.step_duration.as_secs_f64(),
            settle_s: self.settle.as_secs_f64(),
            deadline_s: self.deadline.as_secs_f64(),
            min_gain: self.min_gain,
            patience: self.patience,
            repeats: self.repeats,
        }
    }
}

/// Levels around the load's own: an arrival rate `r` from `r/8` to `4r`; a
/// concurrency `c` in powers of two from 1 to at least `4c` (and at least 16).
fn default_steps(executor: &Executor) -> Vec<f64> {
    match executor {
        Executor::ConstantArrivalRate { rate, .. } => rate_steps(*rate),
        Executor::RampingArrivalRate { start_rate, stages } => rate_steps(
            stages
                .iter()
                .map(|s| s.target)
                .fold(*start_rate, f64::max)
                .max(1.0),
        ),
        Executor::ConstantConcurrency { concurrency, .. } => concurrency_steps(*concurrency),
        Executor::RampingConcurrency {
            start_concurrency,
            stages,
        } => concurrency_steps(
            stages
                .iter()
                .map(|s| s.target as u64)
                .fold(*start_concurrency, u64::max),
        ),
    }
}

fn rate_steps(rate: f64) -> Vec<f64> {
    [0.125, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0]
        .iter()
        .map(|f| (rate * f).round().max(1.0))
        .fold(Vec::new(), |mut v, x| {
            if v.last().is_none_or(|&last| x > last) {
                v.push(x);
            }
            v
        })
}

fn concurrency_steps(concurrency: u64) -> Vec<f64> {
    let top = (concurrency.max(1) * 4).clamp(16, 100_000);
    let mut v = Vec::new();
    let mut c = 1u64;
    while c <= top {
        v.push(c as f64);
        c *= 2;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_str;

    const BASE: &str = r#"
        name = "cap"
        duration = "1m"
        warmup = "10s"
        [target]
        workload = "synthetic"
        [[load]]
        name = "main"
        op = "call"
        executor = "ramping-arrival-rate"
        max_in_flight = 64
        stages = [{ target = 1000, duration = "1m" }]
        [[load]]
        name = "background"
        op = "call"
        executor = "constant-concurrency"
        concurrency = 2
        [thresholds]
        "latency{op=call}" = ["p(99) < 5ms"]
        "throughput{op=call}" = ["rate > 900"]
    "#;

    #[test]
    fn defaults_step_around_the_scenarios_own_rate() {
        let s = parse_str(BASE, "cap.toml").unwrap();
        let plan = Plan::resolve(&s, &SweepOverrides::default()).unwrap();
        assert_eq!(plan.variable, LoadVariable::ArrivalRate);
        assert_eq!(plan.steps.first(), Some(&125.0));
        assert_eq!(plan.steps.last(), Some(&4000.0));
        assert_eq!(plan.step_duration, defaults::STEP_DURATION);
    }

    #[test]
    fn a_level_holds_the_swept_load_constant_and_keeps_the_rest() {
        let s = parse_str(BASE, "cap.toml").unwrap();
        let ov = SweepOverrides {
            steps: Some(vec![100.0, 200.0]),
            step_duration: Some(Duration::from_secs(3)),
            settle: Some(Duration::from_secs(1)),
            ..Default::default()
        };
        let plan = Plan::resolve(&s, &ov).unwrap();
        let level = plan.level_scenario(&s, 200.0);
        assert_eq!(level.duration, Duration::from_secs(4));
        assert_eq!(level.warmup, Duration::from_secs(1));
        assert_eq!(
            level.loads[0].executor,
            Executor::ConstantArrivalRate {
                rate: 200.0,
                duration: Duration::from_secs(4)
            }
        );
        assert_eq!(
            level.loads[1].executor,
            Executor::ConstantConcurrency {
                concurrency: 2,
                duration: Duration::from_secs(4)
            }
        );
        assert_eq!(level.thresholds.len(), 1, "the throughput floor is dropped");
    }

    #[test]
    fn closed_loop_levels_are_clients() {
        let toml = BASE.replace("name = \"main\"", "name = \"x\"");
        let s = parse_str(&toml, "cap.toml").unwrap();
        let ov = SweepOverrides {
            load: Some("background".into()),
            steps: Some(vec![1.0, 2.0, 4.0]),
            ..Default::default()
        };
        let err = Plan::resolve(&s, &ov).unwrap_err();
        // The ramping load would have to run beside it.
        assert!(err.to_string().contains("must be constant"), "{err}");

        let ov = SweepOverrides {
            load: Some("nope".into()),
            ..Default::default()
        };
        let err = Plan::resolve(&s, &ov).unwrap_err();
        assert!(
            err.to_string().starts_with("--load: no load named `nope`"),
            "{err}"
        );
    }

    #[test]
    fn command_line_steps_are_checked_against_the_executor() {
        let toml = BASE.replace(
            "executor = \"ramping-arrival-rate\"\n        max_in_flight = 64\n        stages = [{ target = 1000, duration = \"1m\" }]",
            "executor = \"constant-concurrency\"\n        concurrency = 4",
        );
        let s = parse_str(&toml, "cap.toml").unwrap();
        let plan = Plan::resolve(&s, &SweepOverrides::default()).unwrap();
        assert_eq!(plan.variable, LoadVariable::Concurrency);
        assert_eq!(plan.steps, vec![1.0, 2.0, 4.0, 8.0, 16.0]);
        let ov = SweepOverrides {
            steps: Some(vec![1.0, 2.5]),
            ..Default::default()
        };
        let err = Plan::resolve(&s, &ov).unwrap_err();
        assert!(err.to_string().starts_with("--steps: "), "{err}");
        assert!(err.to_string().contains("whole"), "{err}");
    }

    #[test]
    fn repeats_come_from_the_flag_or_the_table_and_are_checked() {
        let s = parse_str(BASE, "cap.toml").unwrap();
        let plan = Plan::resolve(&s, &SweepOverrides::default()).unwrap();
        assert_eq!((plan.repeats, plan.settings().repeats), (1, 1));
        let ov = SweepOverrides {
            repeats: Some(3),
            ..Default::default()
        };
        assert_eq!(Plan::resolve(&s, &ov).unwrap().settings().repeats, 3);
        let ov = SweepOverrides {
            repeats: Some(0),
            ..Default::default()
        };
        let err = Plan::resolve(&s, &ov).unwrap_err().to_string();
        assert_eq!(err, "--repeats: must be between 1 and 50 (got 0)");
        let table = format!("{BASE}\n        [capacity]\n        repeats = 4\n");
        let s = parse_str(&table, "cap.toml").unwrap();
        let plan = Plan::resolve(&s, &SweepOverrides::default()).unwrap();
        assert_eq!(plan.repeats, 4);
        let bad = format!("{BASE}\n        [capacity]\n        repeats = 51\n");
        let err = parse_str(&bad, "cap.toml").unwrap_err().to_string();
        assert!(
            err.contains("capacity.repeats") || err.contains("repeats"),
            "{err}"
        );
        assert!(err.contains("between 1 and 50"), "{err}");
    }
}
