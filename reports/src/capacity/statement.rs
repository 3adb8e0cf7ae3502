//! The plain-language conclusion of a capacity sweep, and its `summary.md` section.

use std::fmt::Write as _;

use crate::capacity_schema::{CapacityResult, LoadVariable, Saturated};

/// The one-paragraph conclusion, for example: "One node sustains 42 k telemetry ops/s
/// at p99 < 5ms (level 3: 40000 ops/s); the USL model predicts a peak of 48 k ops/s at 24 concurrent clients
/// (σ=0.03, κ=0.0004, R²=0.99)." Ignores `r.statement`.
pub fn statement(r: &CapacityResult) -> String {
    let slo = if r.slo.summary.is_empty() {
        "within every threshold".to_owned()
    } else {
        format!("at {}", r.slo.summary)
    };
    let mut s = match &r.max_within_slo {
        Some(best) => format!(
            "One node sustains {} {} ops/s {slo} (level {}: {} {})",
            rate(op_throughput(r, best.level).unwrap_or(best.throughput_per_s)),
            r.op,
            best.level,
            number(best.offered),
            r.variable.unit()
        ),
        None if r.levels.is_empty() => "No level was measured".to_owned(),
        None => format!(
            "No level met the SLO ({}); the lowest, {} {}, failed: {}",
            if r.slo.summary.is_empty() {
                "the scenario's thresholds"
            } else {
                &r.slo.summary
            },
            number(r.levels[0].offered),
            r.variable.unit(),
            r.levels[0]
                .failures
                .first()
                .map_or("aborted", String::as_str)
        ),
    };
    let clients = match r.variable {
        LoadVariable::Concurrency => "concurrent clients",
        LoadVariable::ArrivalRate => "ops in flight",
    };
    if let Some(best) = &r.max_within_slo
        && let Some(l) = r.levels.iter().find(|l| l.index == best.level)
        && l.ops.len() == 1
        && let Some([lo, hi]) = l.throughput_ci_95
    {
        let _ = write!(
            s,
            " (95% CI {}–{} over {} repeats)",
            rate(lo),
            rate(hi),
            l.repeats.len()
        );
    }
    match (&r.fit, &r.fit_error) {
        (Some(f), _) => {
            let params = format!(
                "σ={}, κ={}, R²={:.2}",
                coefficient(f.sigma),
                coefficient(f.kappa),
                f.r_squared
            );
            let interval = f
                .peak_throughput_ci_95
                .map_or_else(String::new, |[lo, hi]| {
                    format!(" (95% CI {}–{})", rate(lo), rate(hi))
                });
            let n_interval = f
                .uncertainty
                .as_ref()
                .and_then(|u| u.peak_concurrency_ci_95)
                .map_or_else(String::new, |[lo, hi]| {
                    format!("; N* 95% CI {}–{}", number(lo), number(hi))
                });
            match (f.peak_concurrency, f.peak_throughput_per_s, f.amdahl_ceiling_per_s) {
                (Some(n), Some(x), _) => write!(
                    s,
                    "; the USL model predicts a peak of {} ops/s{interval} at {n} {clients} ({params}{n_interval}).",
                    rate(x)
                ),
                (_, _, Some(ceiling)) => write!(
                    s,
                    "; the USL model shows no retrograde peak: throughput approaches Amdahl's ceiling of {} ops/s{interval} ({params}).",
                    rate(ceiling)
                ),
                _ => write!(
                    s,
                    "; the USL model finds linear scaling over the measured range ({params})."
                ),
            }
            .ok();
            for caveat in fit_caveats(r, f) {
                let _ = write!(s, " {caveat}");
            }
        }
        (None, Some(e)) => {
            let _ = write!(s, "; no USL model: {e}.");
        }
        (None, None) => {
            let _ = write!(s, ".");
        }
    }
    for caveat in level_caveats(r) {
        let _ = write!(s, " {caveat}");
    }
    s
}

/// What limits trust in the model: extrapolation, a weak fit, a wide interval, and
/// the utilization bound against the USL.
fn fit_caveats(r: &CapacityResult, f: &crate::capacity_schema::FitRecord) -> Vec<String> {
    let mut c = Vec::new();
    let largest = f
        .curve
        .iter()
        .map(|p| p.concurrency)
        .fold(0.0_f64, f64::max);
    if f.extrapolated {
        c.push(match f.peak_concurrency {
            Some(n) => format!(
                "Extrapolated: N* = {n} lies beyond the largest measured level (N = {}).",
                number(largest)
            ),
            None => {
                "Extrapolated: a ceiling is approached only as N grows without bound.".to_owned()
            }
        });
    }
    if f.weak_fit {
        c.push(format!(
            "Weak fit: R² = {:.2} (below {}), the model describes the levels poorly.",
            f.r_squared,
            crate::capacity::analysis::WEAK_R_SQUARED
        ));
    }
    if let Some(u) = &f.uncertainty
        && u.wide
    {
        c.push(match (f.peak_throughput_ci_95, u.peak_concurrency_ci_95) {
            (None, _) => format!(
                "The peak's interval is unbounded ({:.0}% of the resamples find no peak).",
                u.no_peak_share * 100.0
            ),
            (Some(_), None) if f.peak_concurrency.is_some() => format!(
                "N*'s interval is unbounded ({:.0}% of the resamples find no peak): where the peak lies is not known.",
                u.no_peak_share * 100.0
            ),
            (Some([lo, hi]), _) => format!(
                "The peak's interval is wide ({}–{} ops/s): measure more levels or repeats.",
                rate(lo),
                rate(hi)
            ),
        });
    }
    let best = r
        .levels
        .iter()
        .map(|l| l.throughput_per_s)
        .fold(0.0_f64, f64::max);
    let highest = f
        .peak_throughput_per_s
        .or(f.amdahl_ceiling_per_s)
        .filter(|x| x.is_finite());
    if let Some(x) = highest
        && x < best
    {
        c.push(format!(
            "The model's peak ({} ops/s) is below the best measured level ({} ops/s): it underestimates what was measured.",
            rate(x),
            rate(best)
        ));
    }
    if let Some(b) = &r.bounds {
        let bound = format!(
            "The {}' busy time bounds throughput at {} ops/s (utilization law, level {})",
            b.resource,
            rate(b.utilization_bound_per_s),
            b.level
        );
        c.push(match (b.usl_peak_per_s, b.usl_exceeds_bound) {
            (Some(p), true) => format!(
                "{bound}: the USL's {} ops/s exceeds it, so the utilization bound is the tighter and the USL's peak cannot be reached.",
                rate(p)
            ),
            (Some(p), false) => format!(
                "{bound}: the USL's {} ops/s is below it, so the USL is the tighter bound.",
                rate(p)
            ),
            (None, _) => format!("{bound}."),
        });
    }
    c
}

/// Per-level caveats: a generator-limited best level, unstable and noisy levels.
fn level_caveats(r: &CapacityResult) -> Vec<String> {
    let mut c = Vec::new();
    let best = r
        .levels
        .iter()
        .max_by(|a, b| a.throughput_per_s.total_cmp(&b.throughput_per_s));
    if let Some(b) = best
        && b.saturated == Saturated::Generator
    {
        c.push(format!(
            "The best level ({}) was limited by the load generator, not the target: its {} ops/s is a lower bound of the target's capacity.",
            b.index,
            rate(b.throughput_per_s)
        ));
    }
    let list = |f: &dyn Fn(&crate::capacity_schema::Level) -> bool| -> Vec<String> {
        r.levels
            .iter()
            .filter(|l| f(l))
            .map(|l| l.index.to_string())
            .collect()
    };
    let generator = list(&|l| l.saturated == Saturated::Generator);
    if !generator.is_empty() && best.is_some_and(|b| b.saturated != Saturated::Generator) {
        c.push(format!(
            "Generator-limited level(s): {}.",
            generator.join(", ")
        ));
    }
    let unstable = list(&|l| l.unstable);
    if !unstable.is_empty() {
        c.push(format!(
            "Unstable level(s) (repeats vary by more than {:.0}%): {}.",
            crate::capacity::stats::UNSTABLE_CV * 100.0,
            unstable.join(", ")
        ));
    }
    let noisy = list(&|l| l.noise.is_some_and(|n| n.noisy));
    if !noisy.is_empty() {
        c.push(format!(
            "Measured under machine noise (steal or other processes' CPU): level(s) {}.",
            noisy.join(", ")
        ));
    }
    c
}

/// The swept op's throughput at level `index` (the level's total includes the loads
/// beside it).
fn op_throughput(r: &CapacityResult, index: usize) -> Option<f64> {
    r.levels
        .iter()
        .find(|l| l.index == index)?
        .ops
        .iter()
        .find(|o| o.op == r.op)
        .map(|o| o.throughput_per_s)
}

/// The capacity section of `summary.md` (Markdown): the statement, the levels, the
/// model with its intervals, the model against each point, and why the sweep stopped.
pub fn markdown(r: &CapacityResult) -> String {
    use crate::table::{capacity, markdown::render};
    let mut m = String::new();
    let _ = writeln!(m, "## Capacity: {}\n", r.scenario.name);
    let _ = writeln!(m, "> {}\n", r.statement);
    m.push_str(&render(&capacity::levels(r)));
    let _ = writeln!(m);
    let little = capacity::little(r);
    if !little.is_empty() {
        let _ = writeln!(m, "**Little's law** (N = X·R):\n");
        m.push_str(&render(&little));
        let _ = writeln!(m);
    }
    match (&r.fit, &r.fit_error) {
        (Some(f), _) => {
            let _ = writeln!(m, "**USL model** ({}):\n", f.method);
            m.push_str(&render(&capacity::model(f)));
            if let Some(u) = &f.uncertainty {
                let _ = writeln!(m, "\nIntervals: {} (seed {}).", u.method, u.seed);
            }
            let _ = writeln!(m);
            m.push_str(&render(&capacity::curve(f)));
        }
        (None, Some(e)) => {
            let _ = writeln!(m, "**No USL model:** {e}");
        }
        (None, None) => {}
    }
    let _ = writeln!(m, "\n**Stopped:** {}", r.stop.detail);
    m
}

/// The end of `gauntlet capacity` on the terminal: the statement, the levels and the
/// model, as aligned text.
pub fn console(r: &CapacityResult) -> String {
    use crate::table::{capacity, console::render};
    let mut m = String::new();
    let _ = writeln!(m, "\n  CAPACITY  {}\n", r.scenario.name);
    let _ = writeln!(m, "  {}\n", r.statement);
    m.push_str(&render(&capacity::levels(r), 2));
    if let Some(f) = &r.fit {
        let _ = writeln!(m);
        m.push_str(&render(&capacity::model(f), 2));
    } else if let Some(e) = &r.fit_error {
        let _ = writeln!(m, "\n  no USL model: {e}");
    }
    let _ = writeln!(m, "\n  stopped: {}", r.stop.detail);
    m
}

/// A rate for a sentence: `42 k`, `1.25 M`, `950`.
pub fn rate(x: f64) -> String {
    if !x.is_finite() || x >= crate::units::HUGE {
        crate::units::format_plain(x, 0)
    } else if x >= 1e6 {
        format!("{:.3} M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.0} k", x / 1e3)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        crate::units::format_plain(x, 0)
    }
}

/// A coefficient with three significant digits (`0.0277`, `0.000104`, `0`).
pub fn coefficient(v: f64) -> String {
    if v == 0.0 {
        "0".to_owned()
    } else if !v.is_finite() || v.abs() >= crate::units::HUGE || v.abs() < 1e-6 {
        format!("{v:.2e}")
    } else {
        let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    }
}

/// A table number: whole when it is whole or above 100, three significant digits
/// below.
pub fn number(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        crate::units::format_plain(v, 0)
    } else {
        coefficient(v)
    }
}

/// A latency in nanoseconds with three significant digits and its unit.
pub fn duration(ns: f64) -> String {
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    format!("{} {unit}", number(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(rate(42_300.0), "42 k");
        assert_eq!(rate(4_230.0), "4.2 k");
        assert_eq!(rate(1_250_000.0), "1.250 M");
        assert_eq!(coefficient(0.0277285), "0.0277");
        assert_eq!(coefficient(0.0001044), "0.000104");
        assert_eq!(duration(4_870_000.0), "4.87 ms");
        assert_eq!(duration(250.0), "250 ns");
        assert_eq!(number(8.0), "8");
        assert_eq!(number(0.947), "0.947");
    }
}
