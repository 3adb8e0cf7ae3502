//! From levels to conclusions: the USL fit over the levels and the best level that met
//! the SLO.

use crate::capacity::fit::{Point, fit};
use crate::capacity::model::UslModel;
use crate::capacity::statement::statement;
use crate::capacity::uncertainty::{bootstrap, highest_throughput};
use crate::capacity::utilization::sweep_bound;
use crate::capacity_schema::{
    CapacityResult, ConcurrencySource, FitPoint, FitRecord, LatencyLimit, Level, Slo, SloCapacity,
};
use crate::schema::ThresholdOutcome;

/// The fitting method as written into `capacity.json`.
pub const METHOD: &str = "nonlinear least squares on throughput, bounded Levenberg-Marquardt (λ > 0, σ and κ in [0, 1]) from Gunther's linearisation over a λ grid";

/// R² below which a fit is called weak.
pub const WEAK_R_SQUARED: f64 = 0.9;

/// The points a level gives the fit: each completed repeat's (concurrency,
/// throughput), or the level's own figures in files without repeats.
fn level_points(l: &Level) -> Vec<(usize, Point)> {
    let point = |n: Option<f64>, x: f64| {
        n.filter(|n| n.is_finite() && x.is_finite() && x > 0.0)
            .map(|n| Point {
                concurrency: n,
                throughput: x,
            })
    };
    if l.repeats.is_empty() {
        return point(l.concurrency, l.throughput_per_s)
            .map(|p| (l.index, p))
            .into_iter()
            .collect();
    }
    l.repeats
        .iter()
        .filter(|r| r.status == crate::schema::RunStatus::Completed)
        .filter_map(|r| point(r.concurrency, r.throughput_per_s).map(|p| (l.index, p)))
        .collect()
}

/// Fits the USL to every completed level with a concurrency, each repeat a point, in
/// order of concurrency, with bootstrap intervals. `Err` carries why no model could
/// be fitted, in words.
pub fn fit_levels(levels: &[Level]) -> Result<FitRecord, String> {
    let mut used: Vec<&Level> = levels
        .iter()
        .filter(|l| l.status == crate::schema::RunStatus::Completed)
        .filter(|l| {
            l.concurrency.is_some_and(f64::is_finite)
                && l.throughput_per_s.is_finite()
                && l.throughput_per_s > 0.0
        })
        .collect();
    used.sort_by(|a, b| {
        a.concurrency
            .unwrap_or(0.0)
            .total_cmp(&b.concurrency.unwrap_or(0.0))
    });
    let groups: Vec<Vec<(usize, Point)>> = used
        .iter()
        .map(|l| level_points(l))
        .filter(|g| !g.is_empty())
        .collect();
    let mut indexed: Vec<(usize, Point)> = groups.iter().flatten().copied().collect();
    indexed.sort_by(|a, b| a.1.concurrency.total_cmp(&b.1.concurrency));
    let points: Vec<Point> = indexed.iter().map(|(_, p)| *p).collect();
    let fitted = fit(&points).map_err(|e| {
        let skipped = levels.len() - used.len();
        if skipped > 0 {
            format!("{e} ({skipped} level(s) left out: aborted or nothing completed)")
        } else {
            e.to_string()
        }
    })?;
    let m = fitted.model;
    // Hand-edited or degenerate figures (throughputs near f64::MAX, all equal) can give
    // a "fit" of infinities and NaN: that is no model.
    let figures = [
        m.lambda,
        m.sigma,
        m.kappa,
        fitted.r_squared,
        m.peak_throughput().unwrap_or(0.0),
        m.amdahl_ceiling().unwrap_or(0.0),
    ];
    if figures.iter().any(|v| !v.is_finite()) {
        return Err(format!(
            "the fit over {} level(s) is degenerate (λ = {}, σ = {}, κ = {}, R² = {}): the levels' throughputs do not describe a scalability curve",
            fitted.points,
            crate::capacity::statement::coefficient(m.lambda),
            crate::capacity::statement::coefficient(m.sigma),
            crate::capacity::statement::coefficient(m.kappa),
            crate::capacity::statement::coefficient(fitted.r_squared),
        ));
    }
    let groups: Vec<Vec<Point>> = groups
        .iter()
        .map(|g| g.iter().map(|(_, p)| *p).collect())
        .collect();
    let (uncertainty, peak_ci) = match bootstrap(&groups, &fitted) {
        Some((u, peak)) => (Some(u), peak),
        None => (None, None),
    };
    let largest = points.last().map_or(0.0, |p| p.concurrency);
    let extrapolated = match (m.peak_concurrency(), m.amdahl_ceiling()) {
        (Some(n), _) => n as f64 > largest,
        (None, Some(_)) => true,
        (None, None) => false,
    };
    Ok(FitRecord {
        method: METHOD.to_owned(),
        lambda: m.lambda,
        sigma: m.sigma,
        kappa: m.kappa,
        r_squared: fitted.r_squared,
        points: fitted.points,
        peak_concurrency: m.peak_concurrency(),
        peak_throughput_per_s: m.peak_throughput(),
        amdahl_ceiling_per_s: m.amdahl_ceiling(),
        curve: indexed
            .iter()
            .map(|(level, p)| FitPoint {
                level: *level,
                concurrency: p.concurrency,
                measured_per_s: p.throughput,
                predicted_per_s: m.throughput(p.concurrency),
                efficiency: m.efficiency(p.concurrency),
                measured_efficiency: p.throughput / (p.concurrency * m.lambda),
            })
            .collect(),
        peak_throughput_ci_95: peak_ci,
        extrapolated,
        weak_fit: fitted.r_squared < WEAK_R_SQUARED,
        uncertainty,
    })
}

/// Fills in what follows from the levels: the fit (or why there is none), the best
/// level within the SLO, and the statement.
pub fn conclude(r: &mut CapacityResult) {
    let fitted = if r.concurrency_source == ConcurrencySource::LittlesLaw {
        littles_law_concurrency_rises(&r.levels).and_then(|()| fit_levels(&r.levels))
    } else {
        fit_levels(&r.levels)
    };
    match fitted {
        Ok(f) => {
            r.fit = Some(f);
            r.fit_error = None;
        }
        Err(e) => {
            r.fit = None;
            r.fit_error = Some(e);
        }
    }
    r.max_within_slo = max_within_slo(&r.levels);
    let usl_peak = r.fit.as_ref().and_then(|f| {
        Some(highest_throughput(&UslModel {
            lambda: f.lambda,
            sigma: f.sigma,
            kappa: f.kappa,
        }))
        .filter(|x| x.is_finite())
    });
    r.bounds = sweep_bound(&r.levels, usl_peak);
    r.statement = statement(r);
}

/// An open-loop sweep's concurrency is inferred (`N = X·R`); it must rise with the
/// offered rate, or it is not where the load sees the target's work (a `tell`
/// completes when queued: its work waits in mailboxes the harness does not count) and
/// a USL fit over it would describe noise.
fn littles_law_concurrency_rises(levels: &[Level]) -> Result<(), String> {
    let mut ordered: Vec<&Level> = levels
        .iter()
        .filter(|l| l.status == crate::schema::RunStatus::Completed)
        .collect();
    ordered.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    for pair in ordered.windows(2) {
        if let (Some(a), Some(b)) = (pair[0].concurrency, pair[1].concurrency)
            && b <= a
        {
            return Err(format!(
                "the concurrency inferred by Little's law (throughput x mean service time) does not rise with the offered rate (level {}: N = {}, level {}: N = {}), so it does not measure the target's load (ops that complete when queued, such as tells, leave their work in mailboxes); sweep a closed-loop load for a USL model",
                pair[0].index,
                crate::units::format_plain(a, 3),
                pair[1].index,
                crate::units::format_plain(b, 3)
            ));
        }
    }
    Ok(())
}

/// The passing level with the highest throughput, among the levels below the first
/// failing one (a level past the breakpoint that passes by chance does not count).
pub fn max_within_slo(levels: &[Level]) -> Option<SloCapacity> {
    let mut ordered: Vec<&Level> = levels.iter().collect();
    ordered.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    ordered
        .into_iter()
        .take_while(|l| l.passed)
        .max_by(|a, b| a.throughput_per_s.total_cmp(&b.throughput_per_s))
        .map(|l| SloCapacity {
            level: l.index,
            offered: l.offered,
            throughput_per_s: l.throughput_per_s,
            concurrency: l.concurrency,
            p99_ns: l.ops.iter().map(|o| o.latency.p99_ns).max(),
        })
}

/// The SLO of a run: its thresholds, and their latency part in short form
/// (`p99 < 5ms`; with the op named when there are several).
pub fn slo(thresholds: &[ThresholdOutcome]) -> Slo {
    let latency: Vec<(&str, &str)> = thresholds
        .iter()
        .filter_map(|t| {
            let op = t.metric.strip_prefix("latency{op=")?.strip_suffix('}')?;
            Some((op, t.expression.as_str()))
        })
        .collect();
    let several_ops = latency.iter().any(|(op, _)| *op != latency[0].0);
    let summary = latency
        .iter()
        .map(|(op, expr)| {
            let short = short_expression(expr);
            if several_ops {
                format!("{short} ({op})")
            } else {
                short
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let latency_limits = thresholds
        .iter()
        .filter(|t| t.unit == "ns")
        .filter_map(|t| {
            let op = t.metric.strip_prefix("latency{op=")?.strip_suffix('}')?;
            let short = short_expression(&t.expression);
            let statistic = short.split_whitespace().next().unwrap_or("").to_owned();
            Some(LatencyLimit {
                op: op.to_owned(),
                statistic,
                limit_ns: t.limit,
            })
        })
        .collect();
    Slo {
        latency_limits,
        thresholds: thresholds
            .iter()
            .map(|t| format!("{}: {}", t.metric, t.expression))
            .collect(),
        summary,
    }
}

/// `p(99) < 5ms` -> `p99 < 5ms`; `p(99.9)` -> `p99.9`.
fn short_expression(expr: &str) -> String {
    let trimmed = expr.trim();
    if let Some(rest) = trimmed.strip_prefix("p(")
        && let Some((q, tail)) = rest.split_once(')')
    {
        return format!("p{}{}", q.trim(), tail);
    }
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(metric: &str, expression: &str) -> ThresholdOutcome {
        ThresholdOutcome {
            metric: metric.into(),
            expression: expression.into(),
            observed: Some(1.0),
            unit: "ns".into(),
            limit: 2.0,
            passed: true,
        }
    }

    #[test]
    fn slo_names_latency_objectives_shortly() {
        let s = slo(&[
            outcome("latency{op=ask}", "p(99) < 5ms"),
            outcome("errors{op=ask}", "count == 0"),
        ]);
        assert_eq!(s.summary, "p99 < 5ms");
        assert_eq!(
            s.latency_limits,
            [LatencyLimit {
                op: "ask".into(),
                statistic: "p99".into(),
                limit_ns: 2.0
            }]
        );
        assert_eq!(s.thresholds[1], "errors{op=ask}: count == 0");
        let two = slo(&[
            outcome("latency{op=a}", "p(99.9) < 5ms"),
            outcome("latency{op=b}", "max < 1s"),
        ]);
        assert_eq!(two.summary, "p99.9 < 5ms (a), max < 1s (b)");
    }
}
