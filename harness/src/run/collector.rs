//! The collector: once per tick it gathers the workers' histograms and counters and
//! the probes' samples into one timeline entry, and feeds the watchdog.

use std::time::Instant;

use std::collections::VecDeque;

use gauntlet_reports::schema::{DeadlockRecord, GeneratorLoadTick, GeneratorTick, Tick, TickOp};
use hdrhistogram::Histogram;

use crate::load::recorder::lateness_histogram;
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
    /// Each load thread's busy time at its latest flush.
    prev_busy: Vec<Option<std::time::Duration>>,
    /// Per load: ticks after the warm-up in which it was starved by the generator.
    pub starved_ticks: Vec<u64>,
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
            prev_busy: Vec::new(),
            starved_ticks: vec![0; n],
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
        let totals_now: Vec<(LoadTotals, LoadTotals)> = totals
            .iter()
            .zip(&self.prev)
            .map(|(t, p)| (*t, *p))
            .collect();
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

        let generator = self.generator(loads, &totals_now, flushes, dt, warmup);
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
            generator: Some(generator),
        });
        self.interval = interval;
        #[allow(clippy::expect_used, reason = "a tick was pushed just above")]
        self.timeline.last().expect("just pushed")
    }

    /// The generator's own figures for this tick: the busiest load thread's busy
    /// ratio, start lateness (all loads and per load), drops and starved loads.
    /// `totals` holds each load's totals now and at the previous tick.
    fn generator(
        &mut self,
        loads: &[LoadState],
        totals: &[(LoadTotals, LoadTotals)],
        flushes: &[Flush],
        dt: f64,
        warmup: bool,
    ) -> GeneratorTick {
        let mut busy_ratio: Option<f64> = None;
        for f in flushes {
            let Some(busy) = f.busy else { continue };
            if self.prev_busy.len() <= f.worker {
                self.prev_busy.resize(f.worker + 1, None);
            }
            if let Some(prev) = self.prev_busy[f.worker] {
                // A late flush can span more than one tick: clamp to fully busy.
                let r = (busy.saturating_sub(prev).as_secs_f64() / dt).min(1.0);
                busy_ratio = Some(busy_ratio.map_or(r, |b| b.max(r)));
            }
            self.prev_busy[f.worker] = Some(busy);
        }
        let s = |ns: u64| ns as f64 * 1e-9;
        // p99 from the sampled histogram, the maximum exact (see `Recorder`).
        let figures = |h: &Histogram<u64>, max: u64| {
            (!h.is_empty()).then(|| (s(h.value_at_quantile(0.99).min(max)), s(max)))
        };
        let mut all = lateness_histogram();
        let mut all_max = 0;
        let (mut all_sum, mut all_count) = (0_u64, 0_u64);
        let mean = |sum: u64, count: u64| (count > 0).then(|| s(sum) / count as f64);
        let mut per_load = Vec::with_capacity(loads.len());
        for (i, l) in loads.iter().enumerate() {
            let mut h = lateness_histogram();
            let mut max = 0;
            let (mut sum, mut count) = (0_u64, 0_u64);
            for f in flushes {
                if let Some(x) = f.lateness.get(i) {
                    let _ = h.add(x);
                }
                max = max.max(f.max_lateness.get(i).copied().unwrap_or(0));
                sum = sum.saturating_add(f.lateness_sum.get(i).copied().unwrap_or(0));
                count += f.lateness_count.get(i).copied().unwrap_or(0);
            }
            all_sum = all_sum.saturating_add(sum);
            all_count += count;
            let _ = all.add(&h);
            all_max = all_max.max(max);
            let (now, prev) = totals.get(i).copied().unwrap_or_default();
            let dropped = now.dropped.saturating_sub(prev.dropped);
            let in_flight = now.started.saturating_sub(now.completed);
            let starved = l.rate.is_some() && dropped > 0 && in_flight * 2 < l.load.max_in_flight;
            if starved && !warmup {
                self.starved_ticks[i] += 1;
            }
            let fig = figures(&h, max);
            per_load.push(GeneratorLoadTick {
                load: l.load.name.clone(),
                completed: now.completed.saturating_sub(prev.completed),
                dropped,
                lateness_p99_s: fig.map(|f| f.0),
                max_lateness_s: fig.map(|f| f.1),
                lateness_mean_s: mean(sum, count),
                starved,
            });
        }
        let fig = figures(&all, all_max);
        GeneratorTick {
            busy_ratio,
            lateness_p99_s: fig.map(|f| f.0),
            max_lateness_s: fig.map(|f| f.1),
            lateness_mean_s: mean(all_sum, all_count),
            dropped: per_load.iter().map(|l| l.dropped).sum(),
            loads: per_load,
        }
    }
}
