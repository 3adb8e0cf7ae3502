//! The tables of a capacity sweep: its levels, the fitted model with its intervals,
//! the model against each measurement, and Little's law per level. Written to the
//! console, the capacity section of `summary.md` and `capacity.html` from here.

use super::{Align, Table, mark, num, text};
use crate::capacity::noise;
use crate::capacity::statement::{coefficient, duration, number, rate};
use crate::capacity_schema::{CapacityResult, FitRecord, Level};
use crate::units::format_plain as fp;

const L: Align = Align::Left;
const R: Align = Align::Right;

fn worst(l: &Level, pick: fn(&crate::schema::LatencySummary) -> u64) -> String {
    l.ops
        .iter()
        .map(|o| pick(&o.latency))
        .max()
        .map_or_else(|| "-".to_owned(), |v| duration(v as f64))
}

fn interval(ci: Option<[f64; 2]>, f: fn(f64) -> String) -> String {
    ci.map_or_else(|| "-".to_owned(), |[lo, hi]| format!("{}–{}", f(lo), f(hi)))
}

/// One row per level: its figures (means over its repeats, with 95% intervals), who
/// limited it, the utilization bound, the machine's noise and the SLO.
pub fn levels(r: &CapacityResult) -> Table {
    let offered = format!("offered ({})", r.variable.unit());
    let mut t = Table::new(&[
        ("level", R),
        (offered.as_str(), R),
        ("repeats", R),
        ("throughput (ops/s)", R),
        ("95% CI", R),
        ("N", R),
        ("p50", R),
        ("p99 (mean)", R),
        ("p99 95% CI", R),
        ("max", R),
        ("errors", R),
        ("dropped", R),
        ("RSS max", R),
        ("tasks max", R),
        ("saturated", L),
        ("U bound (ops/s)", R),
        ("noise", L),
        ("SLO", L),
    ]);
    for l in &r.levels {
        let unstable = if l.unstable { " ⚠ unstable" } else { "" };
        t.push(vec![
            num(l.index.to_string()),
            num(number(l.offered)),
            num(l.repeats.len().max(1).to_string()),
            num(format!("{}{unstable}", number(l.throughput_per_s))),
            num(interval(l.throughput_ci_95, number)),
            num(l.concurrency.map_or_else(|| "-".to_owned(), number)),
            num(worst(l, |s| s.p50_ns)),
            num(l
                .p99_mean_ns
                .map_or_else(|| worst(l, |s| s.p99_ns), duration)),
            num(interval(l.p99_ci_95, duration)),
            num(worst(l, |s| s.max_ns)),
            num(l.errors.to_string()),
            num(l.dropped_iterations.to_string()),
            num(l
                .rss_max_bytes
                .map_or_else(|| "-".to_owned(), |b| format!("{:.1} MB", b as f64 / 1e6))),
            num(l
                .alive_tasks_max
                .map_or_else(|| "-".to_owned(), |v| v.to_string())),
            text(match &l.saturation {
                Some(e) => format!(
                    "{}: {}{}",
                    l.saturated.label(),
                    e.reason,
                    e.pacing_lateness_mean_ns
                        .map_or_else(String::new, |ns| format!(
                            " (ops started {} late on average)",
                            duration(ns)
                        ))
                ),
                None => l.saturated.label().to_owned(),
            }),
            num(l
                .utilization_bound_per_s
                .map_or_else(|| "-".to_owned(), number)),
            text(l.noise.map_or_else(
                || "-".to_owned(),
                |n| {
                    format!(
                        "{}{}",
                        if n.noisy { "⚠ noisy: " } else { "" },
                        noise::describe(&n)
                    )
                },
            )),
            if l.passed {
                mark(true, "pass")
            } else {
                mark(false, l.failures.join("; "))
            },
        ]);
    }
    t
}

/// The fitted parameters with their bootstrap intervals.
pub fn model(f: &FitRecord) -> Table {
    let mut t = Table::new(&[("", L), ("estimate", R), ("95% CI", R)]);
    let u = f.uncertainty.as_ref();
    let ci = |pick: fn(&crate::capacity_schema::FitUncertainty) -> [f64; 2],
              show: fn(f64) -> String| {
        u.map_or_else(|| "-".to_owned(), |u| interval(Some(pick(u)), show))
    };
    t.push(vec![
        text("λ (one client, ops/s)"),
        num(number(f.lambda)),
        num(ci(|u| u.lambda_ci_95, number)),
    ]);
    t.push(vec![
        text("σ (contention)"),
        num(coefficient(f.sigma)),
        num(ci(|u| u.sigma_ci_95, coefficient)),
    ]);
    t.push(vec![
        text("κ (coherency)"),
        num(coefficient(f.kappa)),
        num(ci(|u| u.kappa_ci_95, coefficient)),
    ]);
    let weak = if f.weak_fit { " ⚠ weak fit" } else { "" };
    t.push(vec![
        text("R²"),
        num(format!(
            "{} over {} points{weak}",
            fp(f.r_squared, 4),
            f.points
        )),
        num("-"),
    ]);
    let extrapolated = if f.extrapolated {
        " (extrapolated)"
    } else {
        ""
    };
    t.push(vec![
        text("peak N*"),
        num(f.peak_concurrency.map_or_else(
            || "none (κ = 0)".to_owned(),
            |n| format!("{n}{extrapolated}"),
        )),
        num(u.map_or_else(
            || "-".to_owned(),
            |u| {
                u.peak_concurrency_ci_95.map_or_else(
                    || format!("unbounded ({:.0}% without a peak)", u.no_peak_share * 100.0),
                    |i| interval(Some(i), number),
                )
            },
        )),
    ]);
    let highest = match (f.peak_throughput_per_s, f.amdahl_ceiling_per_s) {
        (Some(x), _) => Some(("X(N*) (ops/s)", x)),
        (None, Some(c)) => Some(("Amdahl ceiling λ/σ (ops/s)", c)),
        _ => None,
    };
    if let Some((name, x)) = highest {
        t.push(vec![
            text(name),
            num(format!("{}{extrapolated}", rate(x))),
            num(f
                .peak_throughput_ci_95
                .map_or_else(|| "unbounded".to_owned(), |i| interval(Some(i), rate))),
        ]);
    }
    t
}

/// The model against every measured point.
pub fn curve(f: &FitRecord) -> Table {
    let mut t = Table::new(&[
        ("level", R),
        ("N", R),
        ("measured (ops/s)", R),
        ("model (ops/s)", R),
        ("efficiency X(N)/(N·λ), model", R),
        ("measured", R),
    ]);
    for p in &f.curve {
        t.push(vec![
            num(p.level.to_string()),
            num(number(p.concurrency)),
            num(number(p.measured_per_s)),
            num(number(p.predicted_per_s)),
            num(fp(p.efficiency, 3)),
            num(fp(p.measured_efficiency, 3)),
        ]);
    }
    t
}

/// Little's law at each level where it could be checked.
pub fn little(r: &CapacityResult) -> Table {
    let mut t = Table::new(&[
        ("level", R),
        ("N", R),
        ("X·R", R),
        ("ratio", R),
        ("check", L),
    ]);
    for l in &r.levels {
        let Some(c) = l.little else { continue };
        t.push(vec![
            num(l.index.to_string()),
            num(number(c.concurrency)),
            num(number(c.implied)),
            num(fp(c.ratio, 2)),
            if c.holds {
                mark(true, "holds")
            } else {
                mark(false, "does not hold: the level is not one steady state")
            },
        ]);
    }
    t
}
