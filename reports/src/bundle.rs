//! The report files of one run, written next to its `results.json`:
//!
//! ```text
//! DIR/report.html        self-contained page (inline SVG charts)
//! DIR/summary.md         for CI job summaries and pull-request comments
//! DIR/junit.xml          thresholds, invariants and baseline metrics as test cases
//! DIR/charts/NAME.svg    every chart, as SVG
//! DIR/charts/NAME.png    and as PNG
//! ```
//!
//! A capacity sweep's report ([`write_capacity`]) is `DIR/capacity.html` and
//! `DIR/charts/capacity-*.svg|png` beside its `capacity.json`.
//!
//! Each file is written to a temporary name and renamed, so a reader never sees half
//! a report.

use std::path::{Path, PathBuf};

use crate::capacity_schema::CapacityResult;
use crate::chart::{self, ChartError, Size};
use crate::html::{self, RenderedChart};
use crate::junit::{self, JunitError};
use crate::markdown;
use crate::outcome::Outcome;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// `junit.xml` could not be serialized.
    #[error(transparent)]
    Junit(#[from] JunitError),
}

/// What [`write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// `report.html`.
    pub html: PathBuf,
    /// `summary.md`.
    pub summary: PathBuf,
    /// `junit.xml`.
    pub junit: PathBuf,
    /// Every chart file (SVG and PNG).
    pub charts: Vec<PathBuf>,
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes each chart as `DIR/charts/NAME.svg` and `.png`; returns the files.
fn write_charts(dir: &Path, charts: &[RenderedChart]) -> Result<Vec<PathBuf>, ReportError> {
    let charts_dir = dir.join("charts");
    std::fs::create_dir_all(&charts_dir).map_err(|source| ReportError::Io {
        path: charts_dir.clone(),
        source,
    })?;
    let mut files = Vec::new();
    for c in charts {
        let svg = charts_dir.join(format!("{}.svg", c.plot.name));
        write_file(&svg, c.svg.as_bytes())?;
        let png = charts_dir.join(format!("{}.png", c.plot.name));
        chart::draw::png(&c.plot, Size::default(), &png)?;
        files.extend([svg, png]);
    }
    Ok(files)
}

/// What [`write_capacity`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityWritten {
    /// `capacity.html`.
    pub html: PathBuf,
    /// `charts/capacity-*.svg` and `.png`.
    pub charts: Vec<PathBuf>,
    /// `junit.xml`: a test case per level (failed when it missed the SLO) and one for
    /// the model.
    pub junit: PathBuf,
}

/// Renders the report of a capacity sweep into `dir` (which must exist):
/// `capacity.html` and its charts as `charts/capacity-*.svg|png`, and `junit.xml`.
pub fn write_capacity(dir: &Path, r: &CapacityResult) -> Result<CapacityWritten, ReportError> {
    let charts = html::capacity::render_charts(r)?;
    let written = CapacityWritten {
        html: dir.join("capacity.html"),
        charts: write_charts(dir, &charts)?,
        junit: dir.join("junit.xml"),
    };
    write_file(&written.html, html::capacity::render(r, &charts).as_bytes())?;
    write_file(&written.junit, junit::capacity(r)?.as_bytes())?;
    Ok(written)
}

/// Renders every report file of `outcome` into `dir` (which must exist).
pub fn write(dir: &Path, outcome: &Outcome<'_>) -> Result<Written, ReportError> {
    let charts = html::render_charts(outcome)?;
    let chart_files = write_charts(dir, &charts)?;
    let written = Written {
        html: dir.join("report.html"),
        summary: dir.join("summary.md"),
        junit: dir.join("junit.xml"),
        charts: chart_files,
    };
    write_file(&written.html, html::render(outcome, &charts).as_bytes())?;
    write_file(&written.summary, markdown::render(outcome, 2).as_bytes())?;
    write_file(&written.junit, junit::render(outcome)?.as_bytes())?;
    Ok(written)
}
