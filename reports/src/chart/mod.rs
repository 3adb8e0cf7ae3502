//! Charts of a run: what the timeline, the histograms and the fault windows look like.
//!
//! Building a chart and drawing it are two stages with a plain data type between them,
//! as in criterion: [`charts`] turns a [`RunResult`] into [`Plot`]s (series of points,
//! axes, shaded bands), and [`draw`] renders a [`Plot`] as SVG or PNG with plotters.
//! Tests can check what a chart shows without parsing pictures.
//!
//! Every time-series chart shades the warm-up and each injected fault's window
//! (`FaultRecord::start_s..end_s`) and labels it with the fault's kind. A value the
//! run could not measure (`null`) leaves a gap in its line instead of a made-up zero.
//! Text is drawn with an embedded DejaVu Sans, so a chart looks the same on a machine
//! without fonts.
//!
//! ```
//! use gauntlet_reports::chart::{self, Size};
//! # let result = gauntlet_reports::RunResult::from_json(include_str!("../../tests/data/tiny.json")).unwrap();
//! for plot in chart::charts(&result) {
//!     let svg = chart::draw::svg(&plot, Size::default()).unwrap();
//!     assert!(svg.contains(&plot.title));
//! }
//! ```

pub mod capacity;
pub mod draw;
mod spectrum;
mod timeline;

use crate::schema::RunResult;

pub use draw::{ChartError, Size};

/// One chart, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// File stem of the chart (`throughput`, `latency-ask`, ...): unique within a run.
    pub name: String,
    /// Title drawn above the chart.
    pub title: String,
    /// The horizontal axis.
    pub x: Axis,
    /// The vertical axis.
    pub y: Axis,
    /// Fixed range of the x axis (every time chart of a run shares one); `None`: fit
    /// to the data.
    pub x_span: Option<(f64, f64)>,
    /// The lines, in legend order.
    pub series: Vec<Series>,
    /// Shaded stretches of the x axis (warm-up, fault windows).
    pub bands: Vec<Band>,
    /// Why the chart is empty or partial (`no samples`, a histogram that could not be
    /// decoded); drawn in the chart.
    pub notes: Vec<String>,
}

/// An axis: its label, scale and how its tick labels are formatted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    /// Axis title.
    pub label: &'static str,
    /// Linear or logarithmic.
    pub scale: Scale,
    /// What the values are, for tick labels.
    pub unit: Unit,
}

/// Scale of an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Evenly spaced values.
    Linear,
    /// Powers of ten evenly spaced; values must be positive.
    Log,
}

/// What an axis measures, which decides how its ticks read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds since the start of the load.
    Seconds,
    /// Nanoseconds, shown as `ns`/`µs`/`ms`/`s`.
    Nanoseconds,
    /// Bytes, shown as `kB`/`MB`/`GB`.
    Bytes,
    /// Counts or rates, shown as `k`/`M`.
    Count,
    /// `1/(1-q)` of a quantile `q`, shown as the percentile (`99%`, `99.9%`).
    InverseQuantile,
    /// A plain ratio (efficiency), shown with two decimals.
    Ratio,
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Runs of consecutive points; a gap (an unmeasured value) starts a new segment.
    pub segments: Vec<Vec<(f64, f64)>>,
}

impl Series {
    /// Builds a series from optional values: `None` breaks the line. Points whose
    /// value is not finite, or not positive on a log axis, are treated as `None`.
    pub fn from_points(
        label: impl Into<String>,
        points: impl IntoIterator<Item = (f64, Option<f64>)>,
        scale: Scale,
    ) -> Self {
        let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut current = Vec::new();
        for (x, y) in points {
            let y = y.filter(|y| y.is_finite() && (scale == Scale::Linear || *y > 0.0));
            match y {
                Some(y) if x.is_finite() => current.push((x, y)),
                _ => {
                    if !current.is_empty() {
                        segments.push(std::mem::take(&mut current));
                    }
                }
            }
        }
        if !current.is_empty() {
            segments.push(current);
        }
        Self {
            label: label.into(),
            segments,
        }
    }

    /// Every point of every segment.
    pub fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.segments.iter().flatten().copied()
    }

    /// Whether the series has no point at all.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

/// A shaded stretch of the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Start, seconds since the start of the load.
    pub start_s: f64,
    /// End, seconds since the start of the load.
    pub end_s: f64,
    /// Text drawn at the top of the band (the fault's kind and target).
    pub label: String,
    /// What the band marks.
    pub kind: BandKind,
}

/// What a shaded band marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandKind {
    /// The warm-up (measured, excluded from the verdict).
    Warmup,
    /// An injected fault's window.
    Fault,
}

/// Every chart of a run, in report order: throughput, latency per op, the latency
/// spectrum, memory, tasks and actors, mailbox depth, errors and drops, restarts.
pub fn charts(result: &RunResult) -> Vec<Plot> {
    let mut plots = vec![timeline::throughput(result)];
    plots.extend(timeline::latency(result));
    plots.push(spectrum::spectrum(result));
    plots.push(timeline::memory(result));
    plots.push(timeline::tasks(result));
    plots.push(timeline::mailbox(result));
    plots.push(timeline::errors(result));
    plots.push(timeline::restarts(result));
    plots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_unplottable_values_split_a_series() {
        let s = Series::from_points(
            "p99",
            [
                (1.0, Some(5.0)),
                (2.0, None),
                (3.0, Some(0.0)),
                (4.0, Some(f64::NAN)),
                (5.0, Some(7.0)),
                (6.0, Some(8.0)),
            ],
            Scale::Log,
        );
        assert_eq!(
            s.segments,
            vec![vec![(1.0, 5.0)], vec![(5.0, 7.0), (6.0, 8.0)]]
        );
        let linear = Series::from_points("x", [(1.0, Some(0.0))], Scale::Linear);
        assert_eq!(linear.points().count(), 1);
        assert!(Series::from_points("none", [], Scale::Linear).is_empty());
    }
}
