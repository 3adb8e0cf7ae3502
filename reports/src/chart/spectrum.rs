//! The latency distribution as an HDR percentile spectrum: x is `1/(1-q)` on a log
//! axis, so 90%, 99%, 99.9% ... are evenly spaced and the tail gets the room it needs.

use super::{Axis, Plot, Scale, Series, Unit};
use crate::schema::RunResult;

/// Points per decade of `1/(1-q)`.
const STEPS_PER_DECADE: u32 = 12;

/// The spectrum of every op's full latency histogram (measured window).
pub(super) fn spectrum(r: &RunResult) -> Plot {
    let mut series = Vec::new();
    let mut notes = Vec::new();
    let mut x_max: f64 = 10.0;
    if r.ops.len() > super::timeline::MAX_OPS_CHARTED {
        notes.push(format!(
            "{} more ops are not charted (see the ops table)",
            r.ops.len() - super::timeline::MAX_OPS_CHARTED
        ));
    }
    for op in r.ops.iter().take(super::timeline::MAX_OPS_CHARTED) {
        let h = match op.histogram.decode() {
            Ok(h) => h,
            Err(e) => {
                notes.push(format!("{}: histogram not readable ({e})", op.op));
                continue;
            }
        };
        if h.is_empty() {
            notes.push(format!("{}: no latencies recorded", op.op));
            continue;
        }
        // Past 1/(1-q) = count the quantiles only repeat the maximum.
        let end = (h.len() as f64).max(10.0);
        x_max = x_max.max(end);
        let decades = end.log10();
        let steps = (decades * f64::from(STEPS_PER_DECADE)).ceil() as u32;
        let mut points: Vec<(f64, Option<f64>)> = (0..steps)
            .map(|i| {
                let x = 10_f64.powf(decades * f64::from(i) / f64::from(steps.max(1)));
                let q = 1.0 - 1.0 / x;
                (x, Some(h.value_at_quantile(q) as f64))
            })
            .collect();
        points.push((end, Some(h.max() as f64)));
        series.push(Series::from_points(op.op.clone(), points, Scale::Log));
    }
    if r.ops.is_empty() {
        notes.push("no ops were issued".to_owned());
    }
    Plot {
        name: "spectrum".to_owned(),
        title: "Latency by percentile (HDR spectrum, measured window)".to_owned(),
        x: Axis {
            label: "percentile",
            scale: Scale::Log,
            unit: Unit::InverseQuantile,
        },
        y: Axis {
            label: "latency (from intended start)",
            scale: Scale::Log,
            unit: Unit::Nanoseconds,
        },
        x_span: Some((1.0, x_max)),
        series,
        bands: Vec::new(),
        notes,
    }
}
