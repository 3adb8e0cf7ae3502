//! Drawing a [`Plot`] with plotters: SVG (inlined in `report.html`) and PNG (for
//! places that show pictures, such as pull-request comments).
//!
//! Text uses DejaVu Sans embedded in the binary ([`register_fonts`]), registered under
//! the family name `sans-serif`; plotters' `ab_glyph` font backend knows no other
//! fonts, so every family named here must be that one.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{BandKind, Plot, Scale, Unit};
use crate::units::{format_bytes, format_count, format_ns};

/// The font family every chart uses (registered by [`register_fonts`]).
pub const FONT: &str = "sans-serif";

/// Line colours, in series order (Tableau 10: distinguishable, colour-blind aware).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const FAULT: RGBColor = RGBColor(214, 39, 40);
const WARMUP: RGBColor = RGBColor(120, 120, 120);

/// Pixel size of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Default for Size {
    fn default() -> Self {
        Self {
            width: 960,
            height: 400,
        }
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChartError {
    /// The embedded font could not be registered.
    #[error("cannot register the embedded chart font: {0}")]
    Font(String),
    /// Drawing or writing the chart failed.
    #[error("cannot draw chart `{chart}`: {message}")]
    Draw {
        /// The chart's name.
        chart: String,
        /// What went wrong.
        message: String,
    },
}

/// Registers the embedded DejaVu Sans as `sans-serif`, once per process. Drawing
/// calls it; a program that also draws with plotters itself (e.g. criterion's plots
/// in a benchmark) calls it before its first chart.
pub fn register_fonts() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "DejaVu Sans is not a valid font".to_owned())?;
            plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "DejaVu Sans Bold is not a valid font".to_owned())
        })
        .clone()
        .map_err(ChartError::Font)
}

/// Renders `plot` as an SVG document.
pub fn svg(plot: &Plot, size: Size) -> Result<String, ChartError> {
    register_fonts()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (size.width, size.height)).into_drawing_area();
        render(&root, plot).map_err(|message| draw_error(plot, message))?;
    }
    Ok(out)
}

/// Renders `plot` as a PNG file at `path`.
pub fn png(plot: &Plot, size: Size, path: &Path) -> Result<(), ChartError> {
    register_fonts()?;
    let root = BitMapBackend::new(path, (size.width, size.height)).into_drawing_area();
    render(&root, plot).map_err(|message| draw_error(plot, message))
}

fn draw_error(plot: &Plot, message: String) -> ChartError {
    ChartError::Draw {
        chart: plot.name.clone(),
        message,
    }
}

fn msg(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Width of the legend column right of the chart: the legend never covers data.
const LEGEND_WIDTH: u32 = 200;

fn render<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, plot: &Plot) -> Result<(), String> {
    let plot = &bounded(plot);
    root.fill(&WHITE).map_err(msg)?;
    let (width, _) = root.dim_in_pixel();
    let (chart_area, legend_area) = root.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
    legend(&legend_area, plot)?;
    let (x0, x1) = x_range(plot);
    let (y0, y1) = y_range(plot);
    let plot = &near_the_axes(plot, (x0, x1), (y0, y1));
    let mut builder = ChartBuilder::on(&chart_area);
    builder
        .caption(&plot.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(78);
    match (plot.x.scale, plot.y.scale) {
        (Scale::Linear, Scale::Linear) => {
            let mut c = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(msg)?;
            fill(&mut c, plot, (y0, y1))
        }
        (Scale::Linear, Scale::Log) => {
            let mut c = builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(msg)?;
            fill(&mut c, plot, (y0, y1))
        }
        (Scale::Log, Scale::Linear) => {
            let mut c = builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(msg)?;
            fill(&mut c, plot, (y0, y1))
        }
        (Scale::Log, Scale::Log) => {
            let mut c = builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(msg)?;
            fill(&mut c, plot, (y0, y1))
        }
    }?;
    root.present().map_err(msg)
}

fn fill<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    plot: &Plot,
    (y0, y1): (f64, f64),
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let (x_unit, y_unit) = (plot.x.unit, plot.y.unit);
    let x_fmt = move |v: &f64| tick_label(x_unit, *v);
    let y_fmt = move |v: &f64| tick_label(y_unit, *v);
    chart
        .configure_mesh()
        .x_desc(plot.x.label)
        .y_desc(plot.y.label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(BLACK.mix(0.04))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(msg)?;

    let (x0, x1) = {
        let r = chart.x_range();
        (r.start, r.end)
    };
    for (i, band) in plot.bands.iter().enumerate() {
        let (start, end) = (band.start_s.max(x0), band.end_s.min(x1));
        if start > end {
            continue;
        }
        let (colour, alpha) = match band.kind {
            BandKind::Warmup => (WARMUP, 0.12),
            BandKind::Fault => (FAULT, 0.16),
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(start, y0), (end, y1)],
                colour.mix(alpha).filled(),
            )))
            .map_err(msg)?;
        // Labels of neighbouring bands are staggered so that they do not overprint.
        let row = 4 + 15 * (i % 3) as i32;
        let text_colour = colour.mix(0.9);
        let label = EmptyElement::at((start, y1))
            + Text::new(
                band.label.clone(),
                (4, row),
                TextStyle::from((FONT, 13)).color(&text_colour),
            );
        chart.draw_series(std::iter::once(label)).map_err(msg)?;
    }

    for (i, series) in plot.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let style = colour.stroke_width(2);
        for segment in &series.segments {
            if segment.len() == 1 {
                // A lone point (one tick, or a value between two gaps) has no line.
                chart.draw_series(segment.iter().map(|p| Circle::new(*p, 3, colour.filled())))
            } else {
                chart.draw_series(LineSeries::new(segment.iter().copied(), style))
            }
            .map_err(msg)?;
        }
    }

    let area = chart.plotting_area().strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let grey = BLACK.mix(0.7);
    let centred = TextStyle::from((FONT, 15))
        .color(&grey)
        .pos(Pos::new(HPos::Center, VPos::Center));
    for (i, note) in plot.notes.iter().enumerate() {
        let y = h as i32 / 2 + 20 * i as i32;
        area.draw(&Text::new(note.clone(), (w as i32 / 2, y), centred.clone()))
            .map_err(msg)?;
    }
    Ok(())
}

/// The legend, in its own column: a line of each series' colour and its label.
fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, plot: &Plot) -> Result<(), String> {
    for (i, series) in plot.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let y = 52 + 20 * i as i32;
        area.draw(&PathElement::new(
            vec![(4, y), (26, y)],
            colour.stroke_width(3),
        ))
        .map_err(msg)?;
        let style = TextStyle::from((FONT, 13)).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(series.label.clone(), (32, y), style))
            .map_err(msg)?;
    }
    Ok(())
}

/// The largest magnitude drawn. Plotters computes tick positions by stepping through
/// the axis range; a range near `f64::MAX` overflows to infinity and never ends
/// (a hand-edited results file may hold `1.7e308`). No measured value comes close:
/// 1e30 ns is 3e13 years.
const MAX_MAGNITUDE: f64 = 1e30;
/// The smallest positive value on a log axis.
const MIN_LOG: f64 = 1e-30;

/// A copy of `plot` that plotters can draw in bounded time: every coordinate finite
/// and within [`MAX_MAGNITUDE`].
fn bounded(plot: &Plot) -> Plot {
    let clamp = |v: f64| {
        if v.is_nan() {
            0.0
        } else {
            v.clamp(-MAX_MAGNITUDE, MAX_MAGNITUDE)
        }
    };
    let mut p = plot.clone();
    for s in &mut p.series {
        for seg in &mut s.segments {
            for (x, y) in seg.iter_mut() {
                (*x, *y) = (clamp(*x), clamp(*y));
            }
        }
    }
    p.x_span = p.x_span.map(|(a, b)| (clamp(a), clamp(b)));
    for b in &mut p.bands {
        (b.start_s, b.end_s) = (clamp(b.start_s), clamp(b.end_s));
    }
    p
}

/// A copy of `plot` whose points lie within a few chart widths of the axes' ranges.
/// Plotters maps a value to pixels with `i32` arithmetic that overflows for a point
/// far outside a fixed range (a fault at 1e30 s on a 10 s axis); such a point is drawn
/// outside the plotting area anyway, so moving it closer changes nothing visible.
fn near_the_axes(plot: &Plot, x: (f64, f64), y: (f64, f64)) -> Plot {
    let near = |v: f64, (lo, hi): (f64, f64), scale: Scale| match scale {
        Scale::Linear => {
            let w = hi - lo;
            v.clamp(lo - 2.0 * w, hi + 2.0 * w)
        }
        Scale::Log => {
            let r = hi / lo;
            v.clamp(lo / (r * r), hi * r * r)
        }
    };
    let mut p = plot.clone();
    for s in &mut p.series {
        for seg in &mut s.segments {
            for (px, py) in seg.iter_mut() {
                *px = near(*px, x, plot.x.scale);
                *py = near(*py, y, plot.y.scale);
            }
        }
    }
    p
}

/// The x range: the plot's fixed span, or the data's extent; never empty, and
/// positive on a log axis.
fn x_range(plot: &Plot) -> (f64, f64) {
    let (lo, hi) = plot.x_span.unwrap_or_else(|| {
        extent(plot.series.iter().flat_map(|s| s.points().map(|p| p.0))).unwrap_or((0.0, 1.0))
    });
    widen(lo, hi, plot.x.scale)
}

/// The y range: from 0 (linear) or below the smallest value (log) to above the
/// largest, with room for the band labels and the legend.
fn y_range(plot: &Plot) -> (f64, f64) {
    let values = plot.series.iter().flat_map(|s| s.points().map(|p| p.1));
    match plot.y.scale {
        Scale::Linear => {
            let (lo, hi) = extent(values).unwrap_or((0.0, 1.0));
            widen(lo.min(0.0), hi * 1.15, Scale::Linear)
        }
        Scale::Log => {
            let (lo, hi) = extent(values.filter(|v| *v > 0.0)).unwrap_or((1e3, 1e6));
            widen(lo / 1.5, hi * 3.0, Scale::Log)
        }
    }
}

fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// A range plotters can step through: finite, within [`MAX_MAGNITUDE`] (a little
/// beyond, for the headroom above the data), and wide enough that its ends differ
/// at the precision of an `f64`.
fn widen(lo: f64, hi: f64, scale: Scale) -> (f64, f64) {
    let limit = |v: f64| {
        if v.is_nan() {
            0.0
        } else {
            v.clamp(-MAX_MAGNITUDE * 4.0, MAX_MAGNITUDE * 4.0)
        }
    };
    let (lo, hi) = (limit(lo), limit(hi));
    match scale {
        Scale::Linear => {
            let min_width = (lo.abs().max(hi.abs()) * 1e-9).max(1e-9);
            if hi - lo >= min_width {
                (lo, hi)
            } else {
                (lo, lo + (lo.abs() * 0.1).max(1.0))
            }
        }
        Scale::Log => {
            let lo = if lo >= MIN_LOG { lo } else { 1.0 };
            if hi > lo * (1.0 + 1e-9) {
                (lo, hi)
            } else {
                (lo, lo * 10.0)
            }
        }
    }
}

/// A tick label in the axis's unit.
fn tick_label(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Seconds | Unit::Count => format_count(v),
        Unit::Nanoseconds => format_ns(v),
        Unit::Ratio => format!("{v:.2}"),
        Unit::Bytes => format_bytes(v),
        Unit::InverseQuantile => {
            let pct = 100.0 * (1.0 - 1.0 / v.max(1.0));
            let text = format!("{pct:.4}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            format!("{text}%")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_ticks_read_as_percentiles() {
        assert_eq!(tick_label(Unit::InverseQuantile, 1.0), "0%");
        assert_eq!(tick_label(Unit::InverseQuantile, 10.0), "90%");
        assert_eq!(tick_label(Unit::InverseQuantile, 1000.0), "99.9%");
        assert_eq!(tick_label(Unit::InverseQuantile, 100_000.0), "99.999%");
    }

    #[test]
    fn ranges_are_never_empty_or_non_positive_on_log_axes() {
        assert_eq!(widen(5.0, 5.0, Scale::Linear), (5.0, 6.0));
        assert_eq!(widen(0.0, 0.0, Scale::Log), (1.0, 10.0));
        assert_eq!(widen(-3.0, 100.0, Scale::Log), (1.0, 100.0));
        assert_eq!(extent([f64::NAN, 2.0, -1.0].into_iter()), Some((-1.0, 2.0)));
        assert_eq!(extent(std::iter::empty()), None);
        assert_eq!(widen(1e300, 1e300, Scale::Linear), (4e30, 4.4e30));
        let (lo, hi) = widen(1e20, 1e20 + 1.0, Scale::Linear);
        assert!(hi - lo >= 1e10);
        assert_eq!(widen(f64::MIN, f64::INFINITY, Scale::Linear), (-4e30, 4e30));
        assert_eq!(widen(1e-300, 1e-300, Scale::Log), (1.0, 10.0));
    }

    #[test]
    fn huge_and_non_finite_values_draw_in_bounded_time() {
        use crate::chart::{Axis, Band, BandKind, Series};
        for scale in [Scale::Linear, Scale::Log] {
            let plot = Plot {
                name: "huge".into(),
                title: "huge".into(),
                x: Axis {
                    label: "x",
                    scale,
                    unit: Unit::Seconds,
                },
                y: Axis {
                    label: "y",
                    scale,
                    unit: Unit::Nanoseconds,
                },
                x_span: Some((-f64::MAX, f64::MAX)),
                series: vec![Series {
                    label: "s".into(),
                    segments: vec![vec![(1.0, f64::MAX), (f64::MAX, 1.7e308), (2.0, f64::NAN)]],
                }],
                bands: vec![Band {
                    start_s: f64::NEG_INFINITY,
                    end_s: f64::INFINITY,
                    label: "b".into(),
                    kind: BandKind::Fault,
                }],
                notes: Vec::new(),
            };
            let svg = svg(&plot, Size::default()).unwrap();
            assert!(svg.contains("<svg"));
        }
    }
}
