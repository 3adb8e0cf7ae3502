//! The metric families a run exports, and how one tick updates them.
//!
//! Every family is named by Prometheus's rules: the `gauntlet_` prefix, base units in
//! the name (`_seconds`, `_bytes`), `_total` on counters. Figures the target does not
//! report (a `null` in the tick) are not exported at all rather than exported as a
//! made-up zero: their series appear with the first tick that has them.
//!
//! Counters mirror cumulative figures of the tick (messages, restarts, ...) or add up
//! per-tick deltas (ops, dropped iterations, CPU time); gauges carry the tick's
//! reading. Every series also carries the registry's `scenario` label.

use prometheus::core::Collector;
use prometheus::{CounterVec, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use gauntlet_reports::schema::{BreakerState, Tick};

use super::latency::LatencyHistograms;
use crate::load::OpHistograms;
use crate::target::SampleDetail;

/// The label values of a family without labels.
const NO_LABELS: &[&str] = &[];

/// What one tick hands to the exporter: the timeline entry plus figures the timeline
/// does not keep.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The tick's timeline entry.
    pub tick: &'a Tick,
    /// The tick's interval histograms, one per op slot (the collector's order).
    pub interval: &'a [OpHistograms],
    /// The target's breakdowns by actor kind and mailbox policy.
    pub detail: &'a SampleDetail,
    /// Stalls the harness's watchdog has recorded so far.
    pub watchdog_stalls: u64,
    /// Whether the watchdog sees a stall right now.
    pub stalled: bool,
}

/// Labels of the run-info series.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The seed of the run.
    pub seed: u64,
    /// The `gauntlet` version.
    pub version: String,
    /// The target workload.
    pub workload: String,
}

/// Every family of a run, registered in one registry.
#[derive(Debug)]
pub struct Families {
    prev_t_s: f64,
    /// Fault kinds seen so far, in order of first appearance.
    fault_kinds: Vec<String>,
    // Run.
    run_info: IntGaugeVec,
    elapsed: GaugeVec,
    warmup: IntGaugeVec,
    // Load.
    ops: IntCounterVec,
    latency: LatencyHistograms,
    service: LatencyHistograms,
    achieved: GaugeVec,
    offered: GaugeVec,
    dropped_iterations: IntCounterVec,
    in_flight: IntGaugeVec,
    // Process.
    rss: IntGaugeVec,
    cpu: CounterVec,
    threads: IntGaugeVec,
    // Target tokio runtime.
    tasks: IntGaugeVec,
    global_queue: IntGaugeVec,
    busy: GaugeVec,
    lag_max: GaugeVec,
    lag_mean: GaugeVec,
    // Target's own statistics.
    actors: IntGaugeVec,
    mailbox: IntGaugeVec,
    sent: IntCounterVec,
    messages: IntCounterVec,
    restarts: IntCounterVec,
    activations: IntCounterVec,
    passivations: IntCounterVec,
    hibernations: IntCounterVec,
    hibernating: IntGaugeVec,
    deadlocks: IntCounterVec,
    stalls: IntCounterVec,
    watchdog_stalls: IntCounterVec,
    stalled: IntGaugeVec,
    breaker_state: IntGaugeVec,
    breaker_transitions: IntCounterVec,
    breaker_rejections: IntCounterVec,
    // Faults.
    faults_active: IntGaugeVec,
    fault_active: IntGaugeVec,
}

fn reg<C: Collector + Clone + 'static>(registry: &Registry, c: C) -> prometheus::Result<C> {
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn counter(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    reg(r, IntCounterVec::new(Opts::new(name, help), labels)?)
}

fn int_gauge(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntGaugeVec> {
    reg(r, IntGaugeVec::new(Opts::new(name, help), labels)?)
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<GaugeVec> {
    reg(r, GaugeVec::new(Opts::new(name, help), labels)?)
}

/// Raises a counter that mirrors a cumulative figure to `value` (never lowers it:
/// Prometheus counters only go up).
fn mirror(c: &IntCounterVec, labels: &[&str], value: Option<u64>) {
    if let Some(v) = value {
        let c = c.with_label_values(labels);
        let cur = c.get();
        if v > cur {
            c.inc_by(v - cur);
        }
    }
}

fn set_int(g: &IntGaugeVec, labels: &[&str], value: Option<u64>) {
    if let Some(v) = value {
        g.with_label_values(labels)
            .set(i64::try_from(v).unwrap_or(i64::MAX));
    }
}

fn set(g: &GaugeVec, labels: &[&str], value: Option<f64>) {
    if let Some(v) = value {
        g.with_label_values(labels).set(v);
    }
}

fn seconds(ns: Option<u64>) -> Option<f64> {
    ns.map(|n| n as f64 / 1e9)
}

impl Families {
    /// Creates and registers every family; `ops` are the scenario's ops in the
    /// collector's slot order.
    pub fn register(
        registry: &Registry,
        ops: &[String],
        info: &RunInfo,
    ) -> prometheus::Result<Self> {
        let r = registry;
        let latency = reg(
            r,
            LatencyHistograms::new(
                "gauntlet_op_latency_seconds",
                "Op latency from its intended start (coordinated-omission corrected).",
                ops,
            )?,
        )?;
        let service = reg(
            r,
            LatencyHistograms::new(
                "gauntlet_op_service_time_seconds",
                "Op service time from its actual start.",
                ops,
            )?,
        )?;
        let families = Self {
            prev_t_s: 0.0,
            fault_kinds: Vec::new(),
            run_info: int_gauge(
                r,
                "gauntlet_run_info",
                "The run: seed, gauntlet version and workload (always 1).",
                &["seed", "version", "workload"],
            )?,
            elapsed: gauge(
                r,
                "gauntlet_run_elapsed_seconds",
                "Seconds since the start of the load, at the last tick.",
                &[],
            )?,
            warmup: int_gauge(
                r,
                "gauntlet_run_warmup",
                "1 while the run is in its warm-up, else 0.",
                &[],
            )?,
            ops: counter(
                r,
                "gauntlet_ops_total",
                "Completed ops by op and outcome (ok, error; errors include timeouts).",
                &["op", "outcome"],
            )?,
            latency,
            service,
            achieved: gauge(
                r,
                "gauntlet_achieved_ops_per_second",
                "Completed ops per second during the last tick, by op.",
                &["op"],
            )?,
            offered: gauge(
                r,
                "gauntlet_offered_ops_per_second",
                "Ops per second the arrival-rate schedules called for during the last tick.",
                &[],
            )?,
            dropped_iterations: counter(
                r,
                "gauntlet_dropped_iterations_total",
                "Scheduled op starts dropped because every in-flight slot was busy.",
                &[],
            )?,
            in_flight: int_gauge(
                r,
                "gauntlet_ops_in_flight",
                "Ops in flight at the last tick.",
                &[],
            )?,
            rss: int_gauge(
                r,
                "gauntlet_process_resident_memory_bytes",
                "Resident set size of the gauntlet process (harness and target).",
                &[],
            )?,
            cpu: reg(
                r,
                CounterVec::new(
                    Opts::new(
                        "gauntlet_process_cpu_seconds_total",
                        "CPU time the gauntlet process used since the start of the load.",
                    ),
                    &[],
                )?,
            )?,
            threads: int_gauge(
                r,
                "gauntlet_process_threads",
                "OS threads of the gauntlet process.",
                &[],
            )?,
            tasks: int_gauge(
                r,
                "gauntlet_tasks_alive",
                "Tasks alive on the target's tokio runtime.",
                &[],
            )?,
            global_queue: int_gauge(
                r,
                "gauntlet_runtime_global_queue_depth",
                "Tasks waiting in the target runtime's global queue.",
                &[],
            )?,
            busy: gauge(
                r,
                "gauntlet_runtime_busy_ratio",
                "Fraction of the last tick the target runtime's workers were busy (0..1).",
                &[],
            )?,
            lag_max: gauge(
                r,
                "gauntlet_scheduling_lag_max_seconds",
                "Largest scheduling lag of a probe task on the target runtime during the last tick.",
                &[],
            )?,
            lag_mean: gauge(
                r,
                "gauntlet_scheduling_lag_mean_seconds",
                "Mean scheduling lag of a probe task on the target runtime during the last tick.",
                &[],
            )?,
            actors: int_gauge(
                r,
                "gauntlet_actors_alive",
                "Actors alive, by kind (kind=\"all\": every actor).",
                &["kind"],
            )?,
            mailbox: int_gauge(
                r,
                "gauntlet_mailbox_depth_messages",
                "Messages waiting in all mailboxes.",
                &[],
            )?,
            sent: counter(
                r,
                "gauntlet_messages_sent_total",
                "Messages accepted for delivery.",
                &[],
            )?,
            messages: counter(
                r,
                "gauntlet_messages_total",
                "Messages by outcome (delivered, dropped, rejected, dead_lettered) and the mailbox policy that dropped them.",
                &["outcome", "policy"],
            )?,
            restarts: counter(
                r,
                "gauntlet_actor_restarts_total",
                "Actor restarts by supervisors.",
                &[],
            )?,
            activations: counter(
                r,
                "gauntlet_actor_activations_total",
                "Actors activated on demand (virtual actors, devices).",
                &[],
            )?,
            passivations: counter(
                r,
                "gauntlet_actor_passivations_total",
                "Actors passivated after idling.",
                &[],
            )?,
            hibernations: counter(
                r,
                "gauntlet_actor_hibernations_total",
                "Times actors hibernated (gave up their task after idling; `[runtime] hibernate_after`).",
                &[],
            )?,
            hibernating: int_gauge(
                r,
                "gauntlet_actors_hibernating",
                "Actors hibernating now (no task until their next message).",
                &[],
            )?,
            deadlocks: counter(
                r,
                "gauntlet_deadlocks_total",
                "Asks the runtime refused because they would have closed a cycle.",
                &[],
            )?,
            stalls: counter(
                r,
                "gauntlet_runtime_stalls_total",
                "Stalls the target runtime itself detected (a handler busy too long).",
                &[],
            )?,
            watchdog_stalls: counter(
                r,
                "gauntlet_watchdog_stalls_total",
                "Stalls the harness's watchdog recorded (ops in flight, none completing).",
                &[],
            )?,
            stalled: int_gauge(
                r,
                "gauntlet_watchdog_stalled",
                "1 while the watchdog sees a stall, else 0.",
                &[],
            )?,
            breaker_state: int_gauge(
                r,
                "gauntlet_circuit_breaker_state",
                "1 for the circuit breaker's current state (closed, open, half-open), 0 for the others.",
                &["state"],
            )?,
            breaker_transitions: counter(
                r,
                "gauntlet_circuit_breaker_transitions_total",
                "Circuit breaker state transitions.",
                &[],
            )?,
            breaker_rejections: counter(
                r,
                "gauntlet_circuit_breaker_rejections_total",
                "Calls the open circuit breaker rejected.",
                &[],
            )?,
            faults_active: int_gauge(
                r,
                "gauntlet_faults_active",
                "Injected faults whose window overlaps the last tick.",
                &[],
            )?,
            fault_active: int_gauge(
                r,
                "gauntlet_fault_active",
                "1 while a fault of this kind is injected, else 0 (series appear with a kind's first window).",
                &["kind"],
            )?,
        };
        let seed = info.seed.to_string();
        families
            .run_info
            .with_label_values(&[seed.as_str(), info.version.as_str(), info.workload.as_str()])
            .set(1);
        for op in ops {
            for outcome in ["ok", "error"] {
                families.ops.with_label_values(&[op.as_str(), outcome]);
            }
        }
        families.dropped_iterations.with_label_values(NO_LABELS);
        families.watchdog_stalls.with_label_values(NO_LABELS);
        families.faults_active.with_label_values(NO_LABELS).set(0);
        Ok(families)
    }

    /// Updates every family from one tick.
    pub fn observe(&mut self, o: &Observation<'_>) {
        let t = o.tick;
        let dt = (t.t_s - self.prev_t_s).max(0.0);
        self.prev_t_s = t.t_s;
        self.elapsed.with_label_values(NO_LABELS).set(t.t_s);
        self.warmup
            .with_label_values(NO_LABELS)
            .set(i64::from(t.warmup));

        for (slot, op) in t.ops.iter().enumerate() {
            let name = op.op.as_str();
            let ok = op.completed.saturating_sub(op.errors);
            self.ops.with_label_values(&[name, "ok"]).inc_by(ok);
            self.ops
                .with_label_values(&[name, "error"])
                .inc_by(op.errors);
            self.achieved.with_label_values(&[name]).set(op.rate_per_s);
            if let Some(h) = o.interval.get(slot) {
                self.latency.add(slot, &h.latency);
                self.service.add(slot, &h.service);
            }
        }
        self.offered
            .with_label_values(NO_LABELS)
            .set(t.offered_per_s);
        self.dropped_iterations
            .with_label_values(NO_LABELS)
            .inc_by(t.dropped);
        set_int(&self.in_flight, &[], Some(t.in_flight));

        let p = &t.process;
        set_int(&self.rss, &[], p.rss_bytes);
        if let Some(cpu) = p.cpu_percent {
            self.cpu
                .with_label_values(NO_LABELS)
                .inc_by(cpu / 100.0 * dt);
        }
        set_int(&self.threads, &[], p.threads);

        let rt = &t.runtime;
        set_int(&self.tasks, &[], Some(rt.alive_tasks));
        set_int(&self.global_queue, &[], Some(rt.global_queue_depth));
        set(&self.busy, &[], rt.busy_ratio);
        set(&self.lag_max, &[], seconds(rt.sched_lag_max_ns));
        set(&self.lag_mean, &[], seconds(rt.sched_lag_mean_ns));

        let s = &t.target;
        set_int(&self.actors, &["all"], s.actors_alive);
        for (kind, alive) in &o.detail.actors_by_kind {
            if kind != "all" {
                set_int(&self.actors, &[kind.as_str()], Some(*alive));
            }
        }
        set_int(&self.mailbox, &[], s.mailbox_depth);
        mirror(&self.sent, &[], s.messages_sent);
        mirror(&self.messages, &["delivered", ""], s.messages_delivered);
        mirror(&self.messages, &["rejected", ""], s.messages_rejected);
        mirror(
            &self.messages,
            &["dead_lettered", ""],
            s.messages_dead_lettered,
        );
        if o.detail.dropped_by_policy.is_empty() {
            mirror(&self.messages, &["dropped", ""], s.messages_dropped);
        }
        for (policy, dropped) in &o.detail.dropped_by_policy {
            mirror(&self.messages, &["dropped", policy], Some(*dropped));
        }
        mirror(&self.restarts, &[], s.restarts);
        mirror(&self.activations, &[], s.activations);
        mirror(&self.passivations, &[], s.passivations);
        mirror(&self.hibernations, &[], s.hibernations);
        set_int(&self.hibernating, &[], s.actors_hibernating);
        mirror(&self.deadlocks, &[], s.deadlocks);
        mirror(&self.stalls, &[], s.stalls);
        mirror(&self.watchdog_stalls, &[], Some(o.watchdog_stalls));
        self.stalled
            .with_label_values(NO_LABELS)
            .set(i64::from(o.stalled));
        if let Some(state) = s.breaker_state {
            for candidate in [
                BreakerState::Closed,
                BreakerState::Open,
                BreakerState::HalfOpen,
            ] {
                self.breaker_state
                    .with_label_values(&[candidate.as_str()])
                    .set(i64::from(candidate == state));
            }
        }
        mirror(&self.breaker_transitions, &[], s.breaker_transitions);
        mirror(&self.breaker_rejections, &[], s.breaker_rejections);

        // A kind seen before keeps its series (at 0) so that windows show as 0 -> 1 -> 0.
        for kind in &t.active_faults {
            if !self.fault_kinds.contains(kind) {
                self.fault_kinds.push(kind.clone());
            }
        }
        for kind in &self.fault_kinds {
            let active = t.active_faults.contains(kind);
            self.fault_active
                .with_label_values(&[kind.as_str()])
                .set(i64::from(active));
        }
        self.faults_active
            .with_label_values(NO_LABELS)
            .set(i64::try_from(t.active_faults.len()).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use gauntlet_reports::schema::{ProcessSample, RuntimeSample, TargetSample, TickOp};

    use super::*;
    use crate::metrics::Exporter;

    fn tick(t_s: f64, active_faults: &[&str], breaker: Option<BreakerState>) -> Tick {
        Tick {
            t_s,
            warmup: false,
            ops: vec![TickOp {
                op: "call".into(),
                completed: 10,
                errors: 2,
                rate_per_s: 10.0,
                p50_ns: Some(1_000),
                p90_ns: Some(1_000),
                p99_ns: Some(1_000),
                p999_ns: Some(1_000),
                max_ns: Some(1_000),
            }],
            offered_per_s: 12.0,
            dropped: 1,
            in_flight: 3,
            process: ProcessSample {
                rss_bytes: Some(1 << 20),
                cpu_percent: Some(50.0),
                threads: Some(7),
                ..Default::default()
            },
            runtime: RuntimeSample {
                alive_tasks: 5,
                global_queue_depth: 0,
                busy_ratio: Some(0.5),
                sched_lag_max_ns: Some(2_000_000),
                sched_lag_mean_ns: None,
            },
            target: TargetSample {
                restarts: Some(4),
                breaker_state: breaker,
                breaker_transitions: breaker.map(|_| 2),
                ..TargetSample::default()
            },
            active_faults: active_faults.iter().map(|k| (*k).to_owned()).collect(),
            generator: None,
        }
    }

    fn exporter() -> Exporter {
        let info = RunInfo {
            seed: 7,
            version: "9.9.9".into(),
            workload: "synthetic".into(),
        };
        Exporter::new("unit", &["call".to_owned()], &info).unwrap()
    }

    fn observe(e: &Exporter, t: &Tick) {
        e.observe(&Observation {
            tick: t,
            interval: &[],
            detail: &SampleDetail::default(),
            watchdog_stalls: 0,
            stalled: false,
        });
    }

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn fault_windows_show_per_kind_and_stay_at_zero_after() {
        let e = exporter();
        observe(&e, &tick(1.0, &["crash", "crash", "partition"], None));
        let t = e.render().unwrap();
        let kind = |k: &str| format!("gauntlet_fault_active{{kind=\"{k}\",scenario=\"unit\"}}");
        assert_eq!(value(&t, &kind("crash")), Some(1.0));
        assert_eq!(value(&t, &kind("partition")), Some(1.0));
        assert_eq!(
            value(&t, "gauntlet_faults_active{scenario=\"unit\"}"),
            Some(3.0)
        );

        observe(&e, &tick(2.0, &["partition"], None));
        let t = e.render().unwrap();
        assert_eq!(value(&t, &kind("crash")), Some(0.0));
        assert_eq!(value(&t, &kind("partition")), Some(1.0));
        observe(&e, &tick(3.0, &[], None));
        let t = e.render().unwrap();
        assert_eq!(value(&t, &kind("partition")), Some(0.0));
        assert_eq!(
            value(&t, "gauntlet_faults_active{scenario=\"unit\"}"),
            Some(0.0)
        );
    }

    #[test]
    fn counters_add_up_ticks_and_mirror_cumulative_figures() {
        let e = exporter();
        observe(&e, &tick(1.0, &[], None));
        let mut second = tick(2.0, &[], None);
        second.target.hibernations = Some(9);
        second.target.actors_hibernating = Some(3);
        observe(&e, &second);
        let t = e.render().unwrap();
        let ops = |o: &str| {
            format!("gauntlet_ops_total{{op=\"call\",outcome=\"{o}\",scenario=\"unit\"}}")
        };
        assert_eq!(value(&t, &ops("ok")), Some(16.0));
        assert_eq!(value(&t, &ops("error")), Some(4.0));
        assert_eq!(
            value(&t, "gauntlet_dropped_iterations_total{scenario=\"unit\"}"),
            Some(2.0)
        );
        // Restarts are cumulative in the tick: 4 and 4 is 4, not 8.
        assert_eq!(
            value(&t, "gauntlet_actor_restarts_total{scenario=\"unit\"}"),
            Some(4.0)
        );
        // Hibernations too (cumulative); the hibernating actors are a gauge.
        assert_eq!(
            value(&t, "gauntlet_actor_hibernations_total{scenario=\"unit\"}"),
            Some(9.0)
        );
        assert_eq!(
            value(&t, "gauntlet_actors_hibernating{scenario=\"unit\"}"),
            Some(3.0)
        );
        // 50% of a core over 2 s of ticks.
        assert_eq!(
            value(&t, "gauntlet_process_cpu_seconds_total{scenario=\"unit\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&t, "gauntlet_scheduling_lag_max_seconds{scenario=\"unit\"}"),
            Some(0.002)
        );
        assert!(
            t.contains("gauntlet_run_info{seed=\"7\",version=\"9.9.9\",workload=\"synthetic\",scenario=\"unit\"} 1"),
            "{t}"
        );
    }

    #[test]
    fn unreported_figures_are_absent_not_zero() {
        let e = exporter();
        observe(&e, &tick(1.0, &[], None));
        let t = e.render().unwrap();
        for absent in [
            "gauntlet_scheduling_lag_mean_seconds{",
            "gauntlet_actors_alive{",
            "gauntlet_actors_hibernating{",
            "gauntlet_actor_hibernations_total{",
            "gauntlet_messages_sent_total{",
            "gauntlet_circuit_breaker_state{",
        ] {
            assert!(!t.contains(absent), "{absent} exported:\n{t}");
        }
    }

    #[test]
    fn the_breaker_state_is_one_of_three_series() {
        let e = exporter();
        observe(&e, &tick(1.0, &[], Some(BreakerState::Open)));
        let t = e.render().unwrap();
        let state =
            |s: &str| format!("gauntlet_circuit_breaker_state{{state=\"{s}\",scenario=\"unit\"}}");
        assert_eq!(value(&t, &state("open")), Some(1.0));
        assert_eq!(value(&t, &state("closed")), Some(0.0));
        assert_eq!(value(&t, &state("half-open")), Some(0.0));
        assert_eq!(
            value(
                &t,
                "gauntlet_circuit_breaker_transitions_total{scenario=\"unit\"}"
            ),
            Some(2.0)
        );
    }
}
