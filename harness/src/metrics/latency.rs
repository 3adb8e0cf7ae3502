//! Latency histograms for Prometheus, fed from the collector's per-tick HDR histograms.
//!
//! The load generators record every op into their own HDR histograms; once per tick
//! the collector merges them into one interval histogram per op. This collector adds
//! each interval histogram into cumulative Prometheus buckets by summing the HDR's
//! counts between the bucket bounds, not by replaying its ops, so a tick costs about
//! the same at 100 or 1,000,000 ops per second and nothing is done on the per-op path.
//!
//! Bucket bounds ([`BUCKETS_SECONDS`]) run from 1 µs to 10 s on a 1-2.5-5 grid, so
//! `histogram_quantile` has resolution at every scale the targets reach. A value is
//! counted under the first bound its HDR bucket reaches (3 significant figures: a value
//! up to 0.1% above a bound may be counted under it).

use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Bucket, LabelPair, Metric, MetricFamily, MetricType};

/// Upper bounds of the latency buckets, in seconds (`+Inf` is implied).
pub const BUCKETS_SECONDS: [f64; 22] = [
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
];

/// The same bounds in nanoseconds, the unit the HDR histograms record.
const BUCKETS_NS: [u64; 22] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Cumulative figures of one op's histogram.
#[derive(Debug, Clone)]
struct OpBuckets {
    /// Counts per bucket (not cumulative); the last entry is `+Inf`.
    counts: [u64; BUCKETS_NS.len() + 1],
    count: u64,
    sum_seconds: f64,
}

impl OpBuckets {
    fn new() -> Self {
        Self {
            counts: [0; BUCKETS_NS.len() + 1],
            count: 0,
            sum_seconds: 0.0,
        }
    }

    fn add(&mut self, h: &Histogram<u64>) {
        if h.is_empty() {
            return;
        }
        // Disjoint HDR index ranges, one per bucket: (previous bound's highest
        // equivalent value, this bound's]. `count_between` sums plain counters over
        // an index range, so a tick costs one pass over the histogram's counts.
        let max = h.max();
        let mut low = 0;
        let mut counted = 0;
        for (i, &bound) in BUCKETS_NS.iter().enumerate() {
            if low > max {
                break;
            }
            let high = h.highest_equivalent(bound);
            let c = h.count_between(low, high);
            self.counts[i] += c;
            counted += c;
            low = high.saturating_add(1);
        }
        self.counts[BUCKETS_NS.len()] += h.len() - counted;
        self.count += h.len();
        // The HDR mean uses each bucket's median equivalent value.
        self.sum_seconds += h.mean() * h.len() as f64 / 1e9;
    }
}

/// One Prometheus histogram family with an `op` label, fed by HDR histograms. Clones
/// share their figures (one is registered, one is fed).
#[derive(Debug, Clone)]
pub struct LatencyHistograms {
    desc: Desc,
    ops: Vec<String>,
    state: Arc<Mutex<Vec<OpBuckets>>>,
}

impl LatencyHistograms {
    /// A family `name` with one histogram per op in `ops` (in the collector's slot order).
    pub fn new(name: &str, help: &str, ops: &[String]) -> prometheus::Result<Self> {
        let desc = Desc::new(
            name.to_owned(),
            help.to_owned(),
            vec!["op".to_owned()],
            Default::default(),
        )?;
        Ok(Self {
            desc,
            ops: ops.to_vec(),
            state: Arc::new(Mutex::new(vec![OpBuckets::new(); ops.len()])),
        })
    }

    /// Adds one tick's histogram of the op in `slot` (values in nanoseconds).
    pub fn add(&self, slot: usize, h: &Histogram<u64>) {
        // A poisoned lock only means a panic elsewhere mid-update; the counts are
        // still the best figures there are.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = state.get_mut(slot) {
            b.add(h);
        }
    }
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut l = LabelPair::default();
    l.set_name(name.to_owned());
    l.set_value(value.to_owned());
    l
}

impl Collector for LatencyHistograms {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut metrics = Vec::with_capacity(self.ops.len());
        for (op, b) in self.ops.iter().zip(state.iter()) {
            let mut cumulative = 0;
            let buckets = BUCKETS_SECONDS
                .iter()
                .zip(b.counts.iter())
                .map(|(&le, &c)| {
                    cumulative += c;
                    let mut bucket = Bucket::default();
                    bucket.set_upper_bound(le);
                    bucket.set_cumulative_count(cumulative);
                    bucket
                })
                .collect();
            let mut h = prometheus::proto::Histogram::default();
            h.set_bucket(buckets);
            h.set_sample_count(b.count);
            h.set_sample_sum(b.sum_seconds);
            let mut m = Metric::default();
            m.set_label(vec![label("op", op)]);
            m.set_histogram(h);
            metrics.push(m);
        }
        let mut family = MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(MetricType::HISTOGRAM);
        family.set_metric(metrics);
        vec![family]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new(3).unwrap();
        h.auto(true);
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn bounds_agree_in_both_units() {
        for (s, ns) in BUCKETS_SECONDS.iter().zip(BUCKETS_NS) {
            assert_eq!((s * 1e9).round() as u64, ns);
        }
        assert!(BUCKETS_NS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn values_land_in_the_first_bucket_at_or_above_them() {
        let l = LatencyHistograms::new("x_seconds", "x", &["a".into()]).unwrap();
        // 800 ns -> le 1us; 1 us exactly -> le 1us; 3 ms -> le 5ms; 20 s -> +Inf.
        l.add(0, &hist(&[800, 1_000, 3_000_000, 20_000_000_000]));
        l.add(0, &hist(&[3_000_000]));
        let f = l.collect().remove(0);
        let h = f.get_metric()[0].get_histogram();
        let at = |le: f64| {
            h.get_bucket()
                .iter()
                .find(|b| b.upper_bound() == le)
                .unwrap()
                .cumulative_count()
        };
        assert_eq!(at(0.000_001), 2);
        assert_eq!(at(0.002_5), 2);
        assert_eq!(at(0.005), 4);
        assert_eq!(at(10.0), 4);
        assert_eq!(h.get_sample_count(), 5);
        let sum = h.get_sample_sum();
        assert!((sum - 20.006).abs() < 0.05, "sum {sum}");
    }

    #[test]
    fn bucket_counts_match_classifying_every_value() {
        let mut values = Vec::new();
        let mut x: u64 = 12345;
        for _ in 0..20_000 {
            // xorshift: values from 1 ns to ~60 s on a log-ish spread.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x % 1_000_000) * (1 << (x % 16)) + 1);
        }
        let h = hist(&values);
        let mut b = OpBuckets::new();
        b.add(&h);
        let mut expected = [0u64; BUCKETS_NS.len() + 1];
        for &v in &values {
            let v = h.highest_equivalent(v);
            expected[BUCKETS_NS.partition_point(|&bound| h.highest_equivalent(bound) < v)] += 1;
        }
        assert_eq!(b.counts, expected);
        assert_eq!(b.count, values.len() as u64);
    }

    #[test]
    fn an_op_without_values_is_exported_as_zero() {
        let l = LatencyHistograms::new("x_seconds", "x", &["a".into(), "b".into()]).unwrap();
        l.add(1, &hist(&[5_000]));
        l.add(7, &hist(&[5_000])); // unknown slot: ignored
        let f = l.collect().remove(0);
        assert_eq!(f.get_metric().len(), 2);
        assert_eq!(f.get_metric()[0].get_histogram().get_sample_count(), 0);
        assert_eq!(f.get_metric()[1].get_histogram().get_sample_count(), 1);
    }
}
