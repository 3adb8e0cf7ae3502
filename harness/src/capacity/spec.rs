//! The `[capacity]` table of a scenario: how `gauntlet capacity` sweeps it.
//!
//! Every field is optional; command-line flags override them, and [`super::plan`]
//! fills in defaults from the scenario's own load.

use std::time::Duration;

use serde::Deserialize;

use crate::scenario::{Executor, Load};
use crate::units::DurationSpec;

/// The `[capacity]` table, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitySpec {
    /// Name of the load whose level is stepped (default: the first load).
    pub load: Option<String>,
    /// The levels, strictly increasing: ops/s for an arrival-rate load, clients for a
    /// concurrency load.
    pub steps: Option<Vec<f64>>,
    /// Measured time per level.
    pub step_duration: Option<DurationSpec>,
    /// Time at the start of each level excluded from its figures.
    pub settle: Option<DurationSpec>,
    /// Hard limit of the whole sweep.
    pub deadline: Option<DurationSpec>,
    /// A level that does not raise throughput by this fraction over the best so far
    /// counts as not rising.
    pub min_gain: Option<f64>,
    /// Levels in a row that must not rise before the sweep stops.
    pub patience: Option<u32>,
    /// Levels still run after the first one that breaks a threshold, so that the model
    /// sees past the knee (they never count as within the SLO).
    pub levels_after_break: Option<u32>,
    /// Times each level is measured (interleaved across the levels), for intervals.
    pub repeats: Option<u32>,
}

/// Most levels a sweep may plan.
pub const MAX_STEPS: usize = 1000;

/// Most repeats of each level.
pub const MAX_REPEATS: u32 = 50;

/// Checks a number of repeats: 1 to [`MAX_REPEATS`].
pub fn check_repeats(k: u32) -> Result<(), String> {
    if (1..=MAX_REPEATS).contains(&k) {
        Ok(())
    } else {
        Err(format!("must be between 1 and {MAX_REPEATS} (got {k})"))
    }
}

impl CapacitySpec {
    /// Problems with the table, as (field, message), given the scenario's loads.
    pub fn problems(&self, loads: &[Load]) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(name) = &self.load
            && !loads.iter().any(|l| &l.name == name)
        {
            let names: Vec<&str> = loads.iter().map(|l| l.name.as_str()).collect();
            p.push((
                "load",
                format!("no load named `{name}` (loads: {})", names.join(", ")),
            ));
        }
        if let Some(steps) = &self.steps
            && let Err(e) = check_steps(steps)
        {
            p.push(("steps", e));
        }
        for (field, d) in [
            ("step_duration", self.step_duration),
            ("deadline", self.deadline),
        ] {
            if d.is_some_and(|d| d.0.is_zero()) {
                p.push((field, "must be longer than 0s".to_owned()));
            }
        }
        if let Some(g) = self.min_gain
            && !(g.is_finite() && (0.0..=1.0).contains(&g))
        {
            p.push(("min_gain", format!("must be between 0 and 1 (got {g})")));
        }
        if self.patience == Some(0) {
            p.push(("patience", "must be at least 1".to_owned()));
        }
        if let Some(k) = self.repeats
            && let Err(e) = check_repeats(k)
        {
            p.push(("repeats", e));
        }
        let swept = match &self.load {
            Some(name) => loads.iter().find(|l| &l.name == name),
            None => loads.first(),
        };
        if let Some(swept) = swept {
            for l in loads.iter().filter(|l| l.name != swept.name) {
                if !matches!(
                    l.executor,
                    Executor::ConstantArrivalRate { .. } | Executor::ConstantConcurrency { .. }
                ) {
                    p.push((
                        "load",
                        format!(
                            "load `{}` runs beside the swept load `{}` at every level, so it must be constant-arrival-rate or constant-concurrency (it is {})",
                            l.name,
                            swept.name,
                            l.executor.name()
                        ),
                    ));
                }
            }
            // The documented limits of the load the levels stand for (issue 14).
            let (limit, unit) = if swept.executor.is_open_loop() {
                (crate::scenario::limits::MAX_RATE, "ops/s")
            } else {
                (crate::scenario::limits::MAX_CONCURRENCY as f64, "clients")
            };
            if let Some(steps) = &self.steps
                && let Some(big) = steps.iter().find(|s| **s > limit)
            {
                p.push((
                    "steps",
                    format!(
                        "a level of {} {unit} is over the limit of {} {unit} for load `{}`",
                        crate::units::format_number(*big),
                        crate::units::format_number(limit),
                        swept.name
                    ),
                ));
            }
            if let Some(steps) = &self.steps
                && !swept.executor.is_open_loop()
                && steps.iter().any(|s| s.fract() != 0.0)
            {
                p.push((
                    "steps",
                    format!(
                        "load `{}` is closed-loop: its levels are numbers of clients and must be whole",
                        swept.name
                    ),
                ));
            }
        }
        p
    }
}

/// Checks a list of levels: 1 to [`MAX_STEPS`] finite positive values, strictly
/// increasing.
pub fn check_steps(steps: &[f64]) -> Result<(), String> {
    if steps.is_empty() {
        return Err("needs at least one level".to_owned());
    }
    if steps.len() > MAX_STEPS {
        return Err(format!("at most {MAX_STEPS} levels (got {})", steps.len()));
    }
    for (i, s) in steps.iter().enumerate() {
        if !(s.is_finite() && *s > 0.0) {
            return Err(format!(
                "level {i} must be greater than 0 (got {})",
                crate::units::format_number(*s)
            ));
        }
        if i > 0 && *s <= steps[i - 1] {
            return Err(format!(
                "levels must increase: level {i} ({}) is not above level {} ({})",
                crate::units::format_number(*s),
                i - 1,
                crate::units::format_number(steps[i - 1])
            ));
        }
    }
    Ok(())
}

/// Parses `--steps`: a list (`1000,2000,4000`), a geometric range (`1000..64000*2`:
/// from 1000, times 2, up to 64000) or an arithmetic range (`2..32+2`).
pub fn parse_steps(text: &str) -> Result<Vec<f64>, String> {
    let text = text.trim();
    let number = |s: &str| -> Result<f64, String> {
        let s = s.trim().replace('_', "");
        s.parse::<f64>()
            .map_err(|_| format!("`{s}` is not a number"))
    };
    let steps = if let Some((from, rest)) = text.split_once("..") {
        let (to, op, by) = if let Some((to, by)) = rest.split_once('*') {
            (to, '*', by)
        } else if let Some((to, by)) = rest.split_once('+') {
            (to, '+', by)
        } else {
            return Err(format!(
                "`{text}`: a range needs a step, `FROM..TO*FACTOR` or `FROM..TO+INCREMENT`"
            ));
        };
        let (from, to, by) = (number(from)?, number(to)?, number(by)?);
        let growing = match op {
            '*' => by > 1.0,
            _ => by > 0.0,
        };
        if !(from.is_finite() && to.is_finite() && by.is_finite() && from > 0.0 && growing) {
            return Err(format!(
                "`{text}`: needs FROM > 0 and a factor above 1 (or an increment above 0)"
            ));
        }
        let mut v = Vec::new();
        let mut x = from;
        // A tolerance so that 0.1-steps still reach their end.
        while x <= to * (1.0 + 1e-9) {
            v.push(x);
            if v.len() > MAX_STEPS {
                return Err(format!("`{text}` makes more than {MAX_STEPS} levels"));
            }
            x = if op == '*' { x * by } else { x + by };
        }
        v
    } else {
        text.split(',').map(number).collect::<Result<Vec<_>, _>>()?
    };
    check_steps(&steps)?;
    Ok(steps)
}

/// Defaults when neither the table nor the command line sets a field.
pub mod defaults {
    use super::Duration;

    /// Measured time per level.
    pub const STEP_DURATION: Duration = Duration::from_secs(10);
    /// Settle time per level.
    pub const SETTLE: Duration = Duration::from_secs(2);
    /// Hard limit of the whole sweep.
    pub const DEADLINE: Duration = Duration::from_secs(30 * 60);
    /// Least relative throughput gain that counts as rising.
    pub const MIN_GAIN: f64 = 0.03;
    /// Non-rising levels in a row before the sweep stops.
    pub const PATIENCE: u32 = 2;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_as_lists_and_ranges() {
        assert_eq!(parse_steps("1,2,4").unwrap(), vec![1.0, 2.0, 4.0]);
        assert_eq!(
            parse_steps("1000..8000*2").unwrap(),
            vec![1000.0, 2000.0, 4000.0, 8000.0]
        );
        assert_eq!(parse_steps("2..8+2").unwrap(), vec![2.0, 4.0, 6.0, 8.0]);
        assert_eq!(parse_steps("10_000").unwrap(), vec![10_000.0]);
    }

    #[test]
    fn bad_steps_say_what_is_wrong() {
        assert!(
            parse_steps("1,x")
                .unwrap_err()
                .contains("`x` is not a number")
        );
        assert!(parse_steps("4,2").unwrap_err().contains("must increase"));
        assert!(parse_steps("0,2").unwrap_err().contains("greater than 0"));
        assert!(parse_steps("1..8").unwrap_err().contains("needs a step"));
        assert!(
            parse_steps("1..8*1")
                .unwrap_err()
                .contains("factor above 1")
        );
        assert!(parse_steps("1..1e9+1").unwrap_err().contains("more than"));
    }
}
