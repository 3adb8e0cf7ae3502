//! The live progress line (indicatif), drawn on stderr when it is a terminal.

use std::time::Duration;

use gauntlet_reports::schema::Tick;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::units::{format_bytes, format_ns};

/// A progress line: elapsed/total, achieved vs offered ops/s, p99 of the last tick,
/// RSS, tasks and active faults.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A progress line for a run of `total`; hidden when `visible` is false or stderr
    /// is not a terminal.
    pub fn new(total: Duration, visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total.as_millis() as u64), target);
        let style =
            ProgressStyle::with_template("{spinner} {elapsed_precise}/{prefix} [{bar:20}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        let secs = total.as_secs();
        bar.set_prefix(format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        ));
        if visible {
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        Self { bar }
    }

    /// Updates the line from the latest tick.
    pub fn update(&self, tick: &Tick, faults_active: usize) {
        self.bar.set_position((tick.t_s * 1000.0) as u64);
        let achieved: f64 = tick.ops.iter().map(|o| o.rate_per_s).sum();
        let p99 = tick
            .ops
            .iter()
            .filter_map(|o| o.p99_ns)
            .max()
            .map_or_else(|| "-".to_owned(), |v| format_ns(v as f64));
        let rss = tick
            .process
            .rss_bytes
            .map_or_else(|| "-".to_owned(), |v| format_bytes(v as f64));
        let warm = if tick.warmup { " (warm-up)" } else { "" };
        self.bar.set_message(format!(
            "{achieved:.0}/{:.0} ops/s  p99 {p99}  dropped {}  rss {rss}  tasks {}  faults {faults_active}{warm}",
            tick.offered_per_s, tick.dropped, tick.runtime.alive_tasks,
        ));
    }

    /// Shows a phase message (shutdown, leak check).
    pub fn phase(&self, msg: &str) {
        self.bar.set_message(msg.to_owned());
    }

    /// Removes the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
