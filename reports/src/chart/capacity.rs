//! Charts of a capacity sweep (`capacity.json`): throughput against concurrency with
//! the fitted USL curve and its peak, latency against throughput (the hockey stick)
//! with the SLO's latency bounds, and efficiency `X(N)/(N·λ)` per level.
//!
//! Measured levels are drawn as dots (one single-point segment each) on top of the
//! model curves (lines), one series per saturation label (target, generator, neither)
//! so the legend says who limited each level; levels measured several times carry
//! their 95% intervals as vertical bars (throughput and p99), and the utilization
//! law's bound `workers / D` is a horizontal line beside the USL. A sweep without a model (`fit_error`) still shows its measurements,
//! with the reason written in the chart.
//!
//! ```
//! use gauntlet_reports::capacity_schema::CapacityResult;
//! use gauntlet_reports::chart::{self, Size};
//!
//! fn svgs(r: &CapacityResult) -> Result<Vec<String>, chart::ChartError> {
//!     chart::capacity::charts(r)
//!         .iter()
//!         .map(|plot| chart::draw::svg(plot, Size::default()))
//!         .collect()
//! }
//! ```

use super::{Axis, Plot, Scale, Series, Unit};
use crate::capacity::model::UslModel;
use crate::capacity::statement::rate;
use crate::capacity_schema::{CapacityResult, ConcurrencySource, Level, Saturated};
use crate::schema::LatencySummary;
use crate::units::format_ns;

/// Points of a drawn model curve.
const CURVE_STEPS: usize = 80;

/// How far past the largest measured `N` the curve may reach to show the peak: a peak
/// further out would squash the measurements into the left edge.
const PEAK_REACH: f64 = 3.0;

/// The three capacity charts, in report order.
pub fn charts(r: &CapacityResult) -> Vec<Plot> {
    vec![throughput(r), latency(r), efficiency(r)]
}

/// Dots: each point its own segment, which the renderer draws as a marker.
fn dots(label: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Series {
    Series {
        label: label.into(),
        segments: points
            .into_iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|p| vec![p])
            .collect(),
    }
}

/// The 95% intervals of the levels' throughput as vertical bars at their `N`.
fn error_bars(r: &CapacityResult) -> Series {
    Series {
        label: "95% CI over repeats".to_owned(),
        segments: r
            .levels
            .iter()
            .filter_map(|l| {
                let n = l.concurrency?;
                let [lo, hi] = l.throughput_ci_95?;
                Some(vec![(n, lo.max(0.0)), (n, hi)])
            })
            .filter(|s| s.iter().all(|(x, y)| x.is_finite() && y.is_finite()))
            .collect(),
    }
}

/// The measured levels as dots, one series per saturation label (so the legend says
/// who limited each level); one plain series when no level was labelled.
fn labelled_dots(r: &CapacityResult) -> Vec<Series> {
    let at = |pick: Option<Saturated>| {
        r.levels
            .iter()
            .filter(move |l| pick.is_none_or(|s| l.saturated == s))
            .filter_map(|l| Some((l.concurrency?, l.throughput_per_s)))
    };
    if r.levels.iter().all(|l| l.saturated == Saturated::None) {
        return vec![dots("measured", at(None))];
    }
    [
        (Saturated::None, "measured (neither saturated)"),
        (Saturated::Target, "measured (target saturated)"),
        (
            Saturated::Generator,
            "measured (generator saturated: a lower bound)",
        ),
    ]
    .into_iter()
    .map(|(s, label)| dots(label, at(Some(s))))
    .filter(|d| !d.segments.is_empty())
    .collect()
}

/// `(N, X)` of every level with a concurrency.
fn measured(r: &CapacityResult) -> Vec<(f64, f64)> {
    r.levels
        .iter()
        .filter_map(|l| Some((l.concurrency?, l.throughput_per_s)))
        .collect()
}

fn concurrency_axis(r: &CapacityResult) -> Axis {
    Axis {
        label: match r.concurrency_source {
            ConcurrencySource::Configured => "concurrency N (clients)",
            ConcurrencySource::LittlesLaw => "concurrency N = X·R (Little's law)",
        },
        scale: Scale::Linear,
        unit: Unit::Count,
    }
}

fn model(r: &CapacityResult) -> Option<UslModel> {
    r.fit.as_ref().map(|f| UslModel {
        lambda: f.lambda,
        sigma: f.sigma,
        kappa: f.kappa,
    })
}

/// Where the model curves end: the largest measured `N`, or past the peak when the
/// peak is near enough to show.
fn curve_end(r: &CapacityResult, n_max: f64) -> f64 {
    match r.fit.as_ref().and_then(|f| f.peak_concurrency) {
        Some(p) if (p as f64) <= PEAK_REACH * n_max => n_max.max(p as f64 * 1.25),
        _ => n_max,
    }
}

/// The concurrency axis from 0 (where `X(0) = 0`) to a little past `end`, so that no
/// dot sits on the frame; `None` (fit to the data) when nothing has a concurrency.
fn n_span(end: f64) -> Option<(f64, f64)> {
    (end > 0.0).then_some((0.0, end * 1.05))
}

fn sample(from: f64, to: f64, f: impl Fn(f64) -> f64) -> Vec<(f64, Option<f64>)> {
    (0..=CURVE_STEPS)
        .map(|i| {
            let n = from + (to - from) * i as f64 / CURVE_STEPS as f64;
            (n, Some(f(n)))
        })
        .collect()
}

fn no_model_note(r: &CapacityResult, notes: &mut Vec<String>) {
    if let Some(e) = &r.fit_error {
        notes.push(format!("no USL model: {e}"));
    }
}

/// Throughput against `N`: measured dots, the USL curve, the peak `N*` as a vertical
/// line up to `X(N*)`, and Amdahl's ceiling when κ = 0.
fn throughput(r: &CapacityResult) -> Plot {
    let points = measured(r);
    let mut series = Vec::new();
    let mut notes = Vec::new();
    let n_max = points.iter().map(|p| p.0).fold(0.0, f64::max);
    let x_max = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let mut n_end = n_max;
    if let (Some(m), Some(f)) = (model(r), &r.fit) {
        let end = curve_end(r, n_max);
        n_end = end;
        series.push(Series::from_points(
            format!("USL model (R² = {:.3})", f.r_squared),
            sample(0.0, end, |n| m.throughput(n)),
            Scale::Linear,
        ));
        match (f.peak_concurrency, f.peak_throughput_per_s) {
            (Some(n), Some(x)) if n as f64 <= end => series.push(Series::from_points(
                format!("peak N* = {n}, X = {} ops/s", rate(x)),
                [(n as f64, Some(0.0)), (n as f64, Some(x))],
                Scale::Linear,
            )),
            (Some(n), Some(x)) => notes.push(format!(
                "model peak N* = {n} ({} ops/s) is beyond the swept range",
                rate(x)
            )),
            _ => {}
        }
        if let Some(c) = f.amdahl_ceiling_per_s {
            if c <= PEAK_REACH * x_max {
                series.push(Series::from_points(
                    format!("Amdahl ceiling λ/σ = {} ops/s", rate(c)),
                    [(0.0, Some(c)), (end, Some(c))],
                    Scale::Linear,
                ));
            } else {
                notes.push(format!("κ = 0: Amdahl's ceiling λ/σ = {} ops/s", rate(c)));
            }
        }
    }
    if let Some(b) = &r.bounds {
        let x = b.utilization_bound_per_s;
        if x <= PEAK_REACH * x_max.max(1.0) {
            series.push(Series::from_points(
                format!("workers/D bound: {} ops/s", rate(x)),
                [(0.0, Some(x)), (n_end.max(n_max), Some(x))],
                Scale::Linear,
            ));
        } else {
            notes.push(format!(
                "utilization bound workers/D: {} ops/s (off the chart)",
                rate(x)
            ));
        }
    }
    let bars = error_bars(r);
    if !bars.segments.is_empty() {
        series.push(bars);
    }
    // Drawn last, so that the dots sit on top of the curve.
    series.extend(labelled_dots(r));
    no_model_note(r, &mut notes);
    if points.is_empty() {
        notes.push(if r.levels.is_empty() {
            "no levels were run".to_owned()
        } else {
            "no level has a concurrency N (nothing completed)".to_owned()
        });
    }
    Plot {
        name: "capacity-throughput".to_owned(),
        title: format!("Throughput vs concurrency: {} ({})", r.op, r.scenario.name),
        x: concurrency_axis(r),
        y: Axis {
            label: "throughput (ops/s)",
            scale: Scale::Linear,
            unit: Unit::Count,
        },
        x_span: n_span(n_end),
        series,
        bands: Vec::new(),
        notes,
    }
}

/// The latency figures the charts use at a level: the swept op's, or the worst over
/// ops when that op is missing.
fn level_latency(r: &CapacityResult, l: &Level, pick: fn(&LatencySummary) -> u64) -> Option<f64> {
    let own = l.ops.iter().find(|o| o.op == r.op);
    let ns = match own {
        Some(o) => Some(pick(&o.latency)),
        None => l.ops.iter().map(|o| pick(&o.latency)).max(),
    };
    ns.filter(|v| *v > 0).map(|v| v as f64)
}

/// p50 and p99 against throughput, level by level in sweep order; the SLO's latency
/// bounds on the swept op as horizontal lines.
fn latency(r: &CapacityResult) -> Plot {
    let x_end = r
        .levels
        .iter()
        .map(|l| l.throughput_per_s)
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.1;
    let line = |label: &str, pick: fn(&LatencySummary) -> u64| {
        let points: Vec<(f64, Option<f64>)> = r
            .levels
            .iter()
            .map(|l| (l.throughput_per_s, level_latency(r, l, pick)))
            .collect();
        Series::from_points(label, points, Scale::Log)
    };
    // With repeats, p99 is the mean over them (what its interval bars are around).
    let p99 = Series::from_points(
        "p99",
        r.levels
            .iter()
            .map(|l| {
                let mean = l.p99_mean_ns.filter(|_| l.repeats.len() > 1);
                (
                    l.throughput_per_s,
                    mean.or_else(|| level_latency(r, l, |s| s.p99_ns)),
                )
            })
            .collect::<Vec<_>>(),
        Scale::Log,
    );
    let mut series = vec![line("p50", |s| s.p50_ns), p99];
    let p99_bars = Series {
        label: "p99 95% CI over repeats".to_owned(),
        segments: r
            .levels
            .iter()
            .filter_map(|l| {
                let [lo, hi] = l.p99_ci_95?;
                let x = l.throughput_per_s;
                (x.is_finite() && hi.is_finite() && hi > 0.0)
                    .then(|| vec![(x, lo.max(hi / 1e3).max(1.0)), (x, hi)])
            })
            .collect(),
    };
    let several_ops = r.slo.latency_limits.iter().any(|l| l.op != r.op);
    for limit in r.slo.latency_limits.iter().filter(|l| l.op == r.op) {
        let mut label = format!("SLO {} < {}", limit.statistic, format_ns(limit.limit_ns));
        if several_ops {
            label.push_str(&format!(" ({})", limit.op));
        }
        series.push(Series::from_points(
            label,
            [(0.0, Some(limit.limit_ns)), (x_end, Some(limit.limit_ns))],
            Scale::Log,
        ));
    }
    if !p99_bars.segments.is_empty() {
        series.push(p99_bars);
    }
    let mut notes = Vec::new();
    if series.iter().take(2).all(Series::is_empty) {
        notes.push(if r.levels.is_empty() {
            "no levels were run".to_owned()
        } else {
            "no latency was recorded".to_owned()
        });
    }
    Plot {
        name: "capacity-latency".to_owned(),
        title: format!("Latency vs throughput: {} ({})", r.op, r.scenario.name),
        x: Axis {
            label: "throughput (ops/s)",
            scale: Scale::Linear,
            unit: Unit::Count,
        },
        y: Axis {
            label: "latency (from intended start)",
            scale: Scale::Log,
            unit: Unit::Nanoseconds,
        },
        x_span: Some((0.0, x_end)),
        series,
        bands: Vec::new(),
        notes,
    }
}

/// Efficiency `X(N)/(N·λ)`: measured dots and the model's curve, with perfect linear
/// scaling (1) for reference. Without a model, λ is estimated from the level with
/// the smallest `N` and said so.
fn efficiency(r: &CapacityResult) -> Plot {
    let mut series = Vec::new();
    let mut notes = Vec::new();
    let points = measured(r);
    let n_max = points.iter().map(|p| p.0).fold(0.0, f64::max);
    let mut n_end = n_max;
    match (model(r), &r.fit) {
        (Some(m), Some(f)) => {
            let start = f
                .curve
                .iter()
                .map(|p| p.concurrency)
                .fold(f64::INFINITY, f64::min)
                .clamp(f64::MIN_POSITIVE, 1.0);
            let end = curve_end(r, n_max).max(start);
            n_end = end;
            series.push(Series::from_points(
                "linear scaling",
                [(0.0, Some(1.0)), (end, Some(1.0))],
                Scale::Linear,
            ));
            series.push(Series::from_points(
                "USL model",
                sample(start, end, |n| m.efficiency(n)),
                Scale::Linear,
            ));
            series.push(dots(
                "measured",
                f.curve
                    .iter()
                    .map(|p| (p.concurrency, p.measured_efficiency)),
            ));
        }
        _ => {
            let first = points
                .iter()
                .filter(|p| p.0 > 0.0 && p.1 > 0.0)
                .min_by(|a, b| a.0.total_cmp(&b.0));
            if let Some(&(n1, x1)) = first {
                let lambda = x1 / n1;
                series.push(dots(
                    "measured (λ = X₁/N₁)",
                    points.iter().map(|&(n, x)| (n, x / (n * lambda))),
                ));
            }
            no_model_note(r, &mut notes);
            if first.is_some() {
                notes.push("λ estimated from the level with the smallest N".to_owned());
            } else {
                notes.push("no level with a concurrency and throughput".to_owned());
            }
        }
    }
    Plot {
        name: "capacity-efficiency".to_owned(),
        title: format!("Efficiency X(N)/(N·λ): {} ({})", r.op, r.scenario.name),
        x: concurrency_axis(r),
        y: Axis {
            label: "efficiency",
            scale: Scale::Linear,
            unit: Unit::Ratio,
        },
        x_span: n_span(n_end),
        series,
        bands: Vec::new(),
        notes,
    }
}
