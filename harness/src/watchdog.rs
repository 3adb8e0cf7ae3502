//! The stall watchdog: ops in flight but none completing for `stall_after`.
//!
//! The collector feeds it the completed-op total and the in-flight count every tick.
//! A stall opens when no op has completed for `stall_after` while some are in flight,
//! and closes when completions resume (or when the run ends). The hard deadline of a
//! run is enforced by the collector itself; see [`crate::run`].

use std::time::Duration;

use gauntlet_reports::schema::StallRecord;

/// Detects stalls from per-tick progress.
#[derive(Debug)]
pub struct StallWatch {
    stall_after: f64,
    last_completed: u64,
    last_progress_s: f64,
    open: Option<StallRecord>,
    records: Vec<StallRecord>,
}

impl StallWatch {
    /// A watchdog that reports a stall after `stall_after` without completions.
    pub fn new(stall_after: Duration) -> Self {
        Self {
            stall_after: stall_after.as_secs_f64(),
            last_completed: 0,
            last_progress_s: 0.0,
            open: None,
            records: Vec::new(),
        }
    }

    /// Feeds one observation at `t_s`; `detail` is asked for only when a stall opens.
    /// Returns `true` when a stall was detected by this observation.
    pub fn observe(
        &mut self,
        t_s: f64,
        completed: u64,
        in_flight: u64,
        detail: impl FnOnce() -> String,
    ) -> bool {
        if completed != self.last_completed || in_flight == 0 {
            // Completions resumed (recovered), or nothing is in flight any more.
            let resumed = completed != self.last_completed;
            self.last_completed = completed;
            self.last_progress_s = t_s;
            if let Some(mut s) = self.open.take() {
                s.duration_s = t_s - s.start_s;
                s.recovered = resumed;
                self.records.push(s);
            }
            return false;
        }
        let quiet = t_s - self.last_progress_s;
        if let Some(s) = self.open.as_mut() {
            s.duration_s = quiet;
            return false;
        }
        if quiet >= self.stall_after {
            self.open = Some(StallRecord {
                start_s: self.last_progress_s,
                duration_s: quiet,
                in_flight,
                recovered: false,
                detail: detail(),
                actors: Vec::new(),
            });
            return true;
        }
        false
    }

    /// Attaches the actors' snapshot rows to the stall that is open now (call right
    /// after [`observe`](Self::observe) reported one).
    pub fn annotate_open(&mut self, actors: Vec<gauntlet_reports::schema::ActorSnapshotRow>) {
        if let Some(open) = self.open.as_mut() {
            open.actors = actors;
        }
    }

    /// Whether a stall is open now.
    pub fn stalled(&self) -> bool {
        self.open.is_some()
    }

    /// The stalls so far, including an open one (as not recovered).
    pub fn records(&self) -> Vec<StallRecord> {
        let mut r = self.records.clone();
        r.extend(self.open.clone());
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_period_with_ops_in_flight_is_a_stall() {
        let mut w = StallWatch::new(Duration::from_secs(2));
        assert!(!w.observe(1.0, 100, 5, String::new));
        assert!(!w.observe(2.0, 100, 5, String::new));
        assert!(w.observe(3.0, 100, 5, || "actor://x busy".into()));
        assert!(w.stalled());
        assert!(!w.observe(4.0, 100, 5, || unreachable!()));
        let open = w.records();
        assert_eq!(open.len(), 1);
        assert!(!open[0].recovered);
        assert_eq!(open[0].detail, "actor://x busy");
        assert!(!w.observe(5.0, 150, 5, String::new));
        let r = w.records();
        assert_eq!(r.len(), 1);
        assert!(r[0].recovered);
        assert_eq!(r[0].start_s, 1.0);
        assert_eq!(r[0].duration_s, 4.0);
    }

    #[test]
    fn idle_is_not_a_stall() {
        let mut w = StallWatch::new(Duration::from_secs(1));
        for t in 1..10 {
            assert!(!w.observe(f64::from(t), 7, 0, String::new));
        }
        assert!(w.records().is_empty());
    }
}
