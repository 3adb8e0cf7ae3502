//! Schedules: when each op of an open-loop load is meant to start, and how many
//! workers a closed-loop load runs at a given moment.
//!
//! An arrival-rate schedule is a piecewise-linear rate `r(t)`; its integral `N(t)` is
//! the number of ops due by `t`, and op `i` is intended to start at the `t` where
//! `N(t) = i`. Both directions are closed-form (a quadratic per stage), so an op's
//! intended time costs a few floating-point operations and no state.
//!
//! **Shards.** A schedule can be *strided* ([`RateSchedule::strided`],
//! [`ConcurrencySchedule::strided`]): shard `offset` of `stride` takes op `k` of the
//! whole schedule (or worker `k` of the concurrency) exactly when `k % stride ==
//! offset`, so the shards' schedules interleave into the unsharded one: the same
//! intended times, the same total, at every moment the same number of workers.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::scenario::{Executor, Stage};

#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    t0: f64,
    dur: f64,
    r0: f64,
    r1: f64,
    c0: f64,
    c1: f64,
}

impl Segment {
    fn count_at(&self, t: f64) -> f64 {
        let tau = (t - self.t0).clamp(0.0, self.dur);
        self.c0 + self.r0 * tau + (self.r1 - self.r0) * tau * tau / (2.0 * self.dur)
    }

    fn time_of(&self, x: f64) -> f64 {
        let rem = (x - self.c0).max(0.0);
        if self.r0 == self.r1 && self.r0 > 0.0 {
            // Constant rate: no square root on the hot path.
            return self.t0 + (rem / self.r0).min(self.dur);
        }
        let a = (self.r1 - self.r0) / (2.0 * self.dur);
        let disc = (self.r0 * self.r0 + 4.0 * a * rem).max(0.0);
        let denom = self.r0 + disc.sqrt();
        // Stable form of the quadratic's root for rising and falling rates alike.
        let tau = if denom > 0.0 { 2.0 * rem / denom } else { 0.0 };
        self.t0 + tau.min(self.dur)
    }
}

/// The intended start times of an open-loop load.
#[derive(Debug)]
pub struct RateSchedule {
    segments: Vec<Segment>,
    total: u64,
    /// This schedule issues op `k * stride + offset` of the whole schedule as its op `k`.
    stride: u64,
    offset: u64,
}

/// How many of `0..total` are `offset` modulo `stride`: shard `offset`'s share of
/// `total` units.
pub fn share(total: u64, offset: u64, stride: u64) -> u64 {
    let stride = stride.max(1);
    if total > offset {
        (total - offset - 1) / stride + 1
    } else {
        0
    }
}

/// One op claimed from a schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Claim {
    /// The op's sequence number within its load.
    pub seq: u64,
    /// Its intended start, seconds from the load's start.
    pub at_s: f64,
    /// Ops skipped (dropped) to make this claim.
    pub dropped: u64,
}

impl RateSchedule {
    /// A schedule for an arrival-rate executor, cut off at `length_s` seconds.
    /// Returns `None` for closed-loop executors.
    pub fn for_executor(e: &Executor, length_s: f64) -> Option<Self> {
        let stages: Vec<(f64, f64, f64)> = match e {
            Executor::ConstantArrivalRate { rate, duration } => {
                vec![(duration.as_secs_f64(), *rate, *rate)]
            }
            Executor::RampingArrivalRate { start_rate, stages } => ramp(*start_rate, stages),
            _ => return None,
        };
        let mut segments = Vec::new();
        let (mut t, mut c) = (0.0, 0.0);
        for (dur, r0, r1) in stages {
            if t >= length_s {
                break;
            }
            let seg_full = Segment {
                t0: t,
                dur,
                r0,
                r1,
                c0: c,
                c1: 0.0,
            };
            let dur_cut = dur.min(length_s - t);
            let r1_cut = r0 + (r1 - r0) * dur_cut / dur;
            let c_end = seg_full.count_at(t + dur_cut);
            segments.push(Segment {
                t0: t,
                dur: dur_cut,
                r0,
                r1: r1_cut,
                c0: c,
                c1: c_end,
            });
            t += dur_cut;
            c = c_end;
        }
        // Ops with intended time strictly before the end.
        let total = if c > 0.0 {
            (c - 1e-9).ceil().max(0.0) as u64
        } else {
            0
        };
        Some(Self {
            segments,
            total,
            stride: 1,
            offset: 0,
        })
    }

    /// This schedule's share as shard `offset` of `stride`: op `k` of the result is op
    /// `k * stride + offset` of `self`. Call before any claim.
    pub fn strided(self, offset: u64, stride: u64) -> Self {
        let stride = stride.max(1);
        Self {
            total: share(self.total, offset, stride),
            stride: self.stride * stride,
            offset: self.offset + offset * self.stride,
            ..self
        }
    }

    /// Number of ops the schedule calls for.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Ops due by `t_s` seconds (fractional).
    pub fn count_at(&self, t_s: f64) -> f64 {
        let whole = match self.segments.iter().rev().find(|s| s.t0 <= t_s) {
            Some(s) => s.count_at(t_s),
            None => 0.0,
        };
        if self.stride == 1 {
            return whole;
        }
        ((whole - self.offset as f64) / self.stride as f64).max(0.0)
    }

    /// Intended start of op `i`, in seconds from the load's start.
    pub fn time_of(&self, i: u64) -> f64 {
        let x = (i * self.stride + self.offset) as f64;
        if let [only] = self.segments.as_slice()
            && x < only.c1
        {
            return only.time_of(x);
        }
        let idx = self.segments.partition_point(|s| s.c1 <= x);
        match self.segments.get(idx) {
            Some(s) => s.time_of(x),
            None => self.segments.last().map_or(0.0, |s| s.t0 + s.dur),
        }
    }

    /// Claims the next op of `lane` for a free slot at `now_s`. Ops whose intended
    /// time is more than `drop_after_s` in the past were not issued in time (every
    /// slot busy, or the load thread behind): they are skipped and reported in the
    /// claim's `dropped`. Returns `None` when the lane is exhausted; the skipped tail,
    /// if any, is reported through `on_drop` then.
    ///
    /// The lane's cursor is written only by its own load thread, so a claim is a
    /// plain load and store on a cache line no other thread touches.
    pub fn claim(
        &self,
        lane: &Lane,
        now_s: f64,
        drop_after_s: f64,
        on_drop: impl FnOnce(u64),
    ) -> Option<Claim> {
        let k = lane.next.load(Ordering::Relaxed);
        let end = lane.end;
        if k >= end {
            return None;
        }
        let mut kk = k;
        let mut at = self.time_of(lane.seq(k));
        let late = now_s - drop_after_s;
        if at < late {
            let first_ok = (self.count_at(late) - 1e-9).ceil().max(0.0) as u64;
            kk = lane.first_at_or_after(first_ok).max(k + 1);
            if kk >= end {
                lane.next.store(end, Ordering::Relaxed);
                on_drop(end - k);
                return None;
            }
            at = self.time_of(lane.seq(kk));
        }
        lane.next.store(kk + 1, Ordering::Relaxed);
        Some(Claim {
            seq: lane.seq(kk),
            at_s: at,
            dropped: kk - k,
        })
    }
}

/// One load thread's share of an open-loop schedule: ops `index`, `index + count`,
/// `index + 2 count`, ... The schedule is divided between the load threads that hold
/// slots of the load, as its slots are, so no two threads ever share a cursor (a
/// shared one was a compare-and-swap per op on one cache line, which did not scale).
#[derive(Debug, Default)]
pub struct Lane {
    index: u64,
    count: u64,
    /// How many of the schedule's ops fall in this lane (computed once: a division).
    end: u64,
    next: AtomicU64,
}

impl Lane {
    /// Lane `index` of `count` (`count >= 1`) of a schedule of `total` ops.
    pub fn new(index: u64, count: u64, total: u64) -> Self {
        let mut lane = Self {
            index,
            count: count.max(1),
            end: 0,
            next: AtomicU64::new(0),
        };
        lane.end = lane.len(total);
        lane
    }

    /// The schedule-wide sequence number of the lane's `k`-th op.
    #[inline]
    fn seq(&self, k: u64) -> u64 {
        self.index + k * self.count
    }

    /// How many of a schedule's `total` ops fall in this lane.
    fn len(&self, total: u64) -> u64 {
        share(total, self.index, self.count)
    }

    /// The lane index of the first of its ops with sequence number `>= seq`.
    fn first_at_or_after(&self, seq: u64) -> u64 {
        seq.saturating_sub(self.index).div_ceil(self.count)
    }
}

fn ramp(start: f64, stages: &[Stage]) -> Vec<(f64, f64, f64)> {
    let mut from = start;
    stages
        .iter()
        .map(|s| {
            let seg = (s.duration.as_secs_f64(), from, s.target);
            from = s.target;
            seg
        })
        .collect()
}

/// The number of active workers of a closed-loop load over time.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcurrencySchedule {
    segments: Vec<(f64, f64, f64, f64)>, // (t0, dur, level0, level1)
    length_s: f64,
    /// This schedule runs worker `k * stride + offset` of the whole as its worker `k`.
    stride: u64,
    offset: u64,
}

impl ConcurrencySchedule {
    /// The schedule of a concurrency executor, cut off at `length_s` seconds.
    pub fn for_executor(e: &Executor, length_s: f64) -> Option<Self> {
        let stages = match e {
            Executor::ConstantConcurrency {
                concurrency,
                duration,
            } => vec![(
                duration.as_secs_f64(),
                *concurrency as f64,
                *concurrency as f64,
            )],
            Executor::RampingConcurrency {
                start_concurrency,
                stages,
            } => ramp(*start_concurrency as f64, stages),
            _ => return None,
        };
        let mut segments = Vec::new();
        let mut t = 0.0;
        for (dur, l0, l1) in stages {
            segments.push((t, dur, l0, l1));
            t += dur;
        }
        Some(Self {
            segments,
            length_s: t.min(length_s),
            stride: 1,
            offset: 0,
        })
    }

    /// This schedule's share as shard `offset` of `stride`: its worker `k` is worker
    /// `k * stride + offset` of `self`.
    pub fn strided(self, offset: u64, stride: u64) -> Self {
        let stride = stride.max(1);
        Self {
            stride: self.stride * stride,
            offset: self.offset + offset * self.stride,
            ..self
        }
    }

    /// The most workers the schedule ever has active (its in-flight bound).
    pub fn peak(&self) -> u64 {
        let whole = self
            .segments
            .iter()
            .flat_map(|s| [s.2, s.3])
            .fold(0.0, f64::max);
        share((whole + 1e-9).floor() as u64, self.offset, self.stride)
    }

    /// How long the load runs, in seconds.
    pub fn length_s(&self) -> f64 {
        self.length_s
    }

    /// Workers that should be active at `t_s`.
    pub fn level_at(&self, t_s: f64) -> u64 {
        share(self.whole_level_at(t_s), self.offset, self.stride)
    }

    fn whole_level_at(&self, t_s: f64) -> u64 {
        if t_s >= self.length_s {
            return 0;
        }
        let Some(&(t0, dur, l0, l1)) = self.segments.iter().rev().find(|s| s.0 <= t_s) else {
            return 0;
        };
        let f = ((t_s - t0) / dur).clamp(0.0, 1.0);
        (l0 + (l1 - l0) * f + 1e-9).floor().max(0.0) as u64
    }

    /// The first time at or after `t_s` when at least `need` workers are active, or
    /// `None` if that never happens before the end.
    pub fn next_at_least(&self, need: u64, t_s: f64) -> Option<f64> {
        // This schedule's `need`-th worker is worker `(need - 1) * stride + offset` of
        // the whole, active once the whole has one more than that.
        let need = match need {
            0 => 0,
            n => (n - 1) * self.stride + self.offset + 1,
        };
        let need = need as f64;
        for &(t0, dur, l0, l1) in &self.segments {
            let end = t0 + dur;
            if end <= t_s || t0 >= self.length_s {
                continue;
            }
            let from = t_s.max(t0);
            let level_from = l0 + (l1 - l0) * ((from - t0) / dur);
            if level_from + 1e-9 >= need {
                return Some(from).filter(|&t| t < self.length_s);
            }
            if l1 + 1e-9 >= need && l1 > l0 {
                let t = t0 + (need - l0) / (l1 - l0) * dur;
                return Some(t.max(from)).filter(|&t| t < self.length_s);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn constant(rate: f64, secs: u64) -> RateSchedule {
        RateSchedule::for_executor(
            &Executor::ConstantArrivalRate {
                rate,
                duration: Duration::from_secs(secs),
            },
            secs as f64,
        )
        .unwrap()
    }

    #[test]
    fn constant_rate_spaces_ops_evenly() {
        let s = constant(100.0, 2);
        assert_eq!(s.total(), 200);
        assert!((s.time_of(0) - 0.0).abs() < 1e-12);
        assert!((s.time_of(1) - 0.01).abs() < 1e-12);
        assert!((s.time_of(150) - 1.5).abs() < 1e-9);
    }

    #[test]
    fn ramp_from_zero_follows_the_integral() {
        // 0 -> 100 ops/s over 10 s: N(t) = 5 t^2, 500 ops in total.
        let s = RateSchedule::for_executor(
            &Executor::RampingArrivalRate {
                start_rate: 0.0,
                stages: vec![Stage {
                    target: 100.0,
                    duration: Duration::from_secs(10),
                }],
            },
            10.0,
        )
        .unwrap();
        assert_eq!(s.total(), 500);
        assert!((s.time_of(5) - 1.0).abs() < 1e-9);
        assert!((s.time_of(125) - 5.0).abs() < 1e-9);
        assert!((s.count_at(5.0) - 125.0).abs() < 1e-9);
        // Monotonic.
        let mut last = -1.0;
        for i in 0..s.total() {
            let t = s.time_of(i);
            assert!(t >= last && t < 10.0, "op {i} at {t}");
            last = t;
        }
    }

    #[test]
    fn ramp_down_and_plateau() {
        let stages = vec![
            Stage {
                target: 100.0,
                duration: Duration::from_secs(1),
            },
            Stage {
                target: 0.0,
                duration: Duration::from_secs(1),
            },
            Stage {
                target: 0.0,
                duration: Duration::from_secs(5),
            },
        ];
        let s = RateSchedule::for_executor(
            &Executor::RampingArrivalRate {
                start_rate: 100.0,
                stages,
            },
            7.0,
        )
        .unwrap();
        assert_eq!(s.total(), 150);
        let last = s.time_of(149);
        assert!(last > 1.0 && last < 2.0, "{last}");
    }

    #[test]
    fn schedules_are_cut_at_the_run_end() {
        let s = RateSchedule::for_executor(
            &Executor::ConstantArrivalRate {
                rate: 10.0,
                duration: Duration::from_secs(100),
            },
            3.0,
        )
        .unwrap();
        assert_eq!(s.total(), 30);
    }

    #[test]
    fn claims_are_in_order_and_late_ones_are_dropped() {
        let s = constant(1000.0, 1);
        let lane = Lane::new(0, 1, s.total());
        let c = s
            .claim(&lane, 0.0, 0.010, |_| panic!("nothing is late"))
            .unwrap();
        assert_eq!((c.seq, c.dropped), (0, 0));
        let c = s.claim(&lane, 0.0, 0.010, |_| ()).unwrap();
        assert_eq!(c.seq, 1);
        // A slot frees up at 0.5 s: everything due before 0.49 s was never issued.
        let c = s.claim(&lane, 0.5, 0.010, |_| ()).unwrap();
        assert_eq!(c.seq, 490);
        assert_eq!(c.dropped, 488);
        // At the end the rest is dropped and the schedule is exhausted.
        let mut tail = 0;
        assert!(s.claim(&lane, 5.0, 0.010, |n| tail = n).is_none());
        assert_eq!(tail, 1000 - 491);
        assert!(
            s.claim(&lane, 5.0, 0.010, |_| panic!("already counted"))
                .is_none()
        );
    }

    #[test]
    fn lanes_divide_the_schedule_without_overlap_or_gap() {
        let s = constant(1000.0, 1);
        let lanes: Vec<Lane> = (0..3).map(|i| Lane::new(i, 3, s.total())).collect();
        let mut seen = vec![0_u32; 1000];
        for lane in &lanes {
            while let Some(c) = s.claim(lane, 0.0, 10.0, |_| panic!("none late")) {
                seen[c.seq as usize] += 1;
            }
        }
        assert!(seen.iter().all(|n| *n == 1));
        // Drops within a lane count the lane's own ops only.
        let lane = Lane::new(1, 4, s.total());
        let c = s.claim(&lane, 0.5, 0.010, |_| ()).unwrap();
        assert_eq!(c.seq % 4, 1);
        assert!(s.time_of(c.seq) >= 0.49 && s.time_of(c.seq - 4) < 0.49);
        assert_eq!(c.dropped, (c.seq - 1) / 4);
        let mut tail = 0;
        assert!(s.claim(&lane, 5.0, 0.010, |n| tail = n).is_none());
        assert_eq!(tail + c.dropped + 1, 250);
    }

    #[test]
    fn strided_rate_schedules_interleave_into_the_whole() {
        for n in [1_u64, 2, 3, 7] {
            let ramp = || {
                RateSchedule::for_executor(
                    &Executor::RampingArrivalRate {
                        start_rate: 10.0,
                        stages: vec![Stage {
                            target: 333.0,
                            duration: Duration::from_secs(3),
                        }],
                    },
                    3.0,
                )
                .unwrap()
            };
            let whole = ramp();
            let shards: Vec<RateSchedule> = (0..n).map(|i| ramp().strided(i, n)).collect();
            assert_eq!(shards.iter().map(|s| s.total()).sum::<u64>(), whole.total());
            let mut times: Vec<f64> = shards
                .iter()
                .flat_map(|s| (0..s.total()).map(|k| s.time_of(k)))
                .collect();
            times.sort_by(f64::total_cmp);
            let want: Vec<f64> = (0..whole.total()).map(|k| whole.time_of(k)).collect();
            assert_eq!(times, want, "{n} shards");
            // Counts due add up to the whole's, within one op per shard.
            for t in [0.5, 1.7, 2.9] {
                let sum: f64 = shards.iter().map(|s| s.count_at(t)).sum();
                assert!((sum - whole.count_at(t)).abs() <= n as f64, "{t}: {sum}");
            }
        }
    }

    #[test]
    fn strided_claims_drop_late_ops_of_their_own_share_only() {
        let s = constant(1000.0, 1).strided(1, 4); // ops 1, 5, 9, ...
        assert_eq!(s.total(), 250);
        let lane = Lane::new(0, 1, s.total());
        let c = s
            .claim(&lane, 0.0, 0.010, |_| panic!("nothing is late"))
            .unwrap();
        assert_eq!(c.seq, 0);
        assert!((c.at_s - 0.001).abs() < 1e-12);
        let c = s.claim(&lane, 0.5, 0.010, |_| ()).unwrap();
        // First own op at or after 0.49 s is op 493 of the whole = own op 123.
        assert_eq!(c.seq, 123);
        assert_eq!(c.dropped, 122);
        assert!((c.at_s - 0.493).abs() < 1e-9);
    }

    #[test]
    fn strided_concurrency_adds_up_at_every_moment() {
        let whole = || {
            ConcurrencySchedule::for_executor(
                &Executor::RampingConcurrency {
                    start_concurrency: 1,
                    stages: vec![Stage {
                        target: 11.0,
                        duration: Duration::from_secs(10),
                    }],
                },
                10.0,
            )
            .unwrap()
        };
        let shards: Vec<_> = (0..3).map(|i| whole().strided(i, 3)).collect();
        for step in 0..100 {
            let t = f64::from(step) * 0.1;
            let sum: u64 = shards.iter().map(|s| s.level_at(t)).sum();
            assert_eq!(sum, whole().level_at(t), "at {t}");
        }
        assert_eq!(
            shards.iter().map(|s| s.peak()).collect::<Vec<_>>(),
            [4, 4, 3]
        );
        // Shard 2's first worker is worker 2 of the whole: active once 3 are.
        let at = shards[2].next_at_least(1, 0.0).unwrap();
        assert!((at - 2.0).abs() < 1e-9, "{at}");
        assert_eq!(share(10, 0, 3), 4);
        assert_eq!(share(10, 2, 3), 3);
        assert_eq!(share(2, 2, 3), 0);
    }

    #[test]
    fn concurrency_ramps() {
        let s = ConcurrencySchedule::for_executor(
            &Executor::RampingConcurrency {
                start_concurrency: 0,
                stages: vec![
                    Stage {
                        target: 10.0,
                        duration: Duration::from_secs(10),
                    },
                    Stage {
                        target: 0.0,
                        duration: Duration::from_secs(10),
                    },
                ],
            },
            20.0,
        )
        .unwrap();
        assert_eq!(s.level_at(0.0), 0);
        assert_eq!(s.level_at(5.0), 5);
        assert_eq!(s.level_at(10.0), 10);
        assert_eq!(s.level_at(15.0), 5);
        assert_eq!(s.level_at(20.0), 0);
        assert!((s.next_at_least(3, 0.0).unwrap() - 3.0).abs() < 1e-9);
        assert!((s.next_at_least(3, 4.0).unwrap() - 4.0).abs() < 1e-9);
        assert_eq!(s.next_at_least(11, 0.0), None);
        assert_eq!(s.next_at_least(6, 15.0), None);
    }
}
