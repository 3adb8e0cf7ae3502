//! The collector: once per tick it gathers the workers' histograms and counters and
//! the probes' samples into one timeline entry, and feeds the watchdog.

use std::time::Instant;

use std::collections::VecDeque;

use gauntlet_reports::schema::{DeadlockRecord, Tick, TickOp};

use crate::load::{Flush, LoadState, LoadTotals, OpHistograms};
use crate::metrics::actors;
use crate::probe::{ProcessProbe, RuntimeProbe};
use crate::scenario::Scenario;
use crate::target::{Target, TargetEvent};
use crate::watchdog::StallWatch;

/// How many of the runtime's latest stall reports a stall record quotes.
const RECENT_RUNTIME_STALLS: usize = 5;

/// Everything measured so far.
#[derive(Debug)]
pub(crate) struct Collector {
    pub ops: Vec<String>,
    pub run_start: Instant,
    warmup_s: f64,
    pub whole: Vec<OpHistograms>,
    pub timeline: Vec<Tick>,
    /// The last tick's interval histograms, one per op slot (for live metrics).
    pub interval: Vec<OpHistograms>,
    prev: Vec<LoadTotals>,
    prev_offered: Vec<f64>,
    /// Load totals at the end of the warm-up (all zero without warm-up).
    pub warm_totals: Vec<LoadTotals>,
    last_tick: Instant,
    pub stalls: StallWatch,
    /// Deadlocks the target's runtime reported, stamped with the tick they arrived in.
    pub deadlocks: Vec<DeadlockRecord>,
    /// The runtime's most recent stall reports, for the watchdog's stall records.
    runtime_stalls: VecDeque<String>,
    pub process: ProcessProbe,
    pub runtime: RuntimeProbe,
}

impl Collector {
    pub fn new(
        scenario: &Scenario,
        run_start: Instant,
        process: ProcessProbe,
        runtime: RuntimeProbe,
    ) -> Self {
        let ops: Vec<String> = scenario.ops().into_iter().map(str::to_owned).collect();
        let n = scenario.loads.len();
        Self {
            whole: ops.iter().map(|_| OpHistograms::new()).collect(),
            ops,
            run_start,
            warmup_s: scenario.warmup.as_secs_f64(),
            timeline: Vec::new(),
            interval: Vec::new(),
            prev: vec![LoadTotals::default(); n],
            prev_offered: vec![0.0; n],
            warm_totals: vec![LoadTotals::default(); n],
            last_tick: run_start,
            stalls: StallWatch::new(scenario.watchdog.stall_after),
            deadlocks: Vec::new(),
            runtime_stalls: VecDeque::new(),
            process,
            runtime,
        }
    }

    /// Seconds since the start of the load.
    pub fn t_s(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.run_start).as_secs_f64()
    }

    /// Whether the histograms of a tick ending at `t_s` belong to the warm-up.
    fn in_warmup(&self, t_s: f64) -> bool {
        t_s <= self.warmup_s + 1e-6 && self.warmup_s > 0.0
    }

    /// Merges late flushes (after the last tick) into the whole-run histograms.
    pub fn absorb(&mut self, flushes: &[Flush]) {
        let warm = self.in_warmup(self.t_s(self.last_tick));
        for f in flushes {
            for (slot, h) in f.ops.iter().enumerate() {
                if !warm && let Some(w) = self.whole.get_mut(slot) {
                    w.add(h);
                }
            }
        }
    }

    /// Builds the timeline entry for the tick scheduled to end at `nominal`; `now` is
    /// when the figures were read (rates are computed over real time).
    pub fn tick<T: Target>(
        &mut self,
        nominal: Instant,
        now: Instant,
        loads: &[LoadState],
        flushes: &[Flush],
        target: &T,
    ) -> &Tick {
        let t_s = self.t_s(nominal);
        let dt = now
            .saturating_duration_since(self.last_tick)
            .as_secs_f64()
            .max(1e-9);
        self.last_tick = now;
        let warmup = self.in_warmup(t_s);

        let mut interval: Vec<OpHistograms> =
            self.ops.iter().map(|_| OpHistograms::new()).collect();
        for f in flushes {
            for (slot, h) in f.ops.iter().enumerate() {
                if let Some(i) = interval.get_mut(slot) {
                    i.add(h);
                }
                if !warmup && let Some(w) = self.whole.get_mut(slot) {
                    w.add(h);
                }
            }
        }

        let totals: Vec<LoadTotals> = loads.iter().map(LoadState::totals).collect();
        let mut ops = Vec::with_capacity(self.ops.len());
        for (slot, name) in self.ops.iter().enumerate() {
            let (mut completed, mut errors) = (0, 0);
            for (i, l) in loads.iter().enumerate() {
                if l.op_slot == slot {
                    completed += totals[i].completed - self.prev[i].completed;
                    errors += totals[i].errors - self.prev[i].errors;
                }
            }
            let h = &interval[slot].latency;
            let some = !h.is_empty();
            ops.push(TickOp {
                op: name.clone(),
                completed,
                errors,
                rate_per_s: completed as f64 / dt,
                p50_ns: some.then(|| h.value_at_quantile(0.5)),
                p90_ns: some.then(|| h.value_at_quantile(0.90)),
                p99_ns: some.then(|| h.value_at_quantile(0.99)),
                p999_ns: some.then(|| h.value_at_quantile(0.999)),
                max_ns: some.then(|| h.max()),
            });
        }
        let mut offered = 0.0;
        for (i, l) in loads.iter().enumerate() {
            if let Some(o) = l.offered_by(now) {
                offered += o - self.prev_offered[i];
                self.prev_offered[i] = o;
            }
        }
        let dropped: u64 = totals
            .iter()
            .zip(&self.prev)
            .map(|(t, p)| t.dropped - p.dropped)
            .sum();
        let in_flight: u64 = totals
            .iter()
            .map(|t| t.started.saturating_sub(t.completed))
            .sum();
        let completed_total: u64 = totals.iter().map(|t| t.completed).sum();
        if warmup {
            self.warm_totals.clone_from(&totals);
        }
        self.prev = totals;
        for event in target.events() {
            match event {
                TargetEvent::Deadlock { cycle } => {
                    let actors = target
                        .system()
                        .map_or_else(Vec::new, |s| actors::cycle_rows(s, &cycle));
                    self.deadlocks.push(DeadlockRecord {
                        at_s: t_s,
                        cycle,
                        actors,
                    });
                }
                TargetEvent::Stall {
                    actor,
                    busy_for,
                    waiting_on,
                } => {
                    if self.runtime_stalls.len() == RECENT_RUNTIME_STALLS {
                        self.runtime_stalls.pop_front();
                    }
                    let waiting =
                        waiting_on.map_or_else(String::new, |w| format!(", waiting on {w}"));
                    self.runtime_stalls.push_back(format!(
                        "{actor} busy for {busy_for:.1?}{waiting} (at {t_s:.1}s)"
                    ));
                }
                TargetEvent::Missed { count } => {
                    tracing::warn!(count, "runtime events missed (read too slowly)");
                }
            }
        }
        let runtime_stalls = &self.runtime_stalls;
        let opened = self.stalls.observe(t_s, completed_total, in_flight, || {
            let mut detail = target.stall_detail();
            if !runtime_stalls.is_empty() {
                let reports: Vec<&str> = runtime_stalls.iter().map(String::as_str).collect();
                detail.push_str(&format!("; runtime stall reports: {}", reports.join("; ")));
            }
            detail
        });
        if opened && let Some(s) = target.system() {
            self.stalls.annotate_open(actors::stall_rows(s));
        }

        self.timeline.push(Tick {
            t_s,
            warmup,
            ops,
            offered_per_s: offered / dt,
            dropped,
            in_flight,
            process: self.process.sample(),
            runtime: self.runtime.sample(),
            target: target.sample(),
            active_faults: Vec::new(),
        });
        self.interval = interval;
        #[allow(clippy::expect_used, reason = "a tick was pushed just above")]
        self.timeline.last().expect("just pushed")
    }
}
