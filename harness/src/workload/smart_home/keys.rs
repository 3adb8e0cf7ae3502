//! Which device (or room) an op goes to: uniform, or Zipf-distributed hot keys.
//!
//! Choices are a pure function of the seed and the op's sequence number (a SplitMix64
//! hash, no shared RNG state), so load threads never contend and a run replays exactly
//! with the same `--seed`.
//!
//! Zipf: key of rank *k* (1-based) is chosen with probability proportional to
//! `1 / k^s`. We sample by inverting a precomputed CDF (one `f64` per key, at most
//! 8 MB for the 1,000,000-key limit, binary search per op: ~20 comparisons). Ranks are
//! spread over the id space by a multiplicative permutation, so the hot devices are
//! not all in the first home.

use serde::Deserialize;

/// How keys are chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    /// Every key equally likely.
    #[default]
    Uniform,
    /// A few hot keys get most ops; the cold tail passivates and re-activates.
    Zipf,
}

/// SplitMix64: a full-period, well-mixed hash of one word.
#[inline]
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Picks keys in `0..n`.
#[derive(Debug, Clone)]
pub struct KeyPicker {
    n: u64,
    seed: u64,
    /// Cumulative probabilities of ranks 1..=n (Zipf only).
    cdf: Option<Vec<f64>>,
    /// Odd multiplier coprime to `n`, mapping rank to key.
    stride: u64,
}

impl KeyPicker {
    /// A picker over `n` keys (at least 1).
    pub fn new(n: u64, distribution: Distribution, exponent: f64, seed: u64) -> Self {
        let n = n.max(1);
        let cdf = (distribution == Distribution::Zipf).then(|| {
            let mut acc = 0.0;
            let mut cdf: Vec<f64> = (1..=n)
                .map(|k| {
                    acc += 1.0 / (k as f64).powf(exponent);
                    acc
                })
                .collect();
            for c in &mut cdf {
                *c /= acc;
            }
            cdf
        });
        // A stride coprime to n makes rank -> (rank * stride) mod n a permutation.
        let mut stride = (0x9e37_79b9_7f4a_7c15 % n.max(2)) | 1;
        while gcd(stride, n) != 1 {
            stride += 2;
        }
        Self {
            n,
            seed,
            cdf,
            stride,
        }
    }

    /// The key for op `seq` (of stream `stream`, so two streams do not pick alike).
    #[inline]
    pub fn pick(&self, stream: u64, seq: u64) -> u64 {
        let h = mix(self.seed ^ mix(stream.wrapping_add(seq.wrapping_mul(0x2545_f491_4f6c_dd1d))));
        match &self.cdf {
            None => h % self.n,
            Some(cdf) => {
                let u = (h >> 11) as f64 / (1u64 << 53) as f64;
                let rank = cdf.partition_point(|&c| c < u) as u64;
                (rank.min(self.n - 1).wrapping_mul(self.stride)) % self.n
            }
        }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_covers_every_key_and_replays() {
        let p = KeyPicker::new(10, Distribution::Uniform, 0.0, 7);
        let mut seen = [0u32; 10];
        for i in 0..10_000 {
            seen[p.pick(0, i) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
        let again = KeyPicker::new(10, Distribution::Uniform, 0.0, 7);
        assert!((0..100).all(|i| p.pick(1, i) == again.pick(1, i)));
    }

    #[test]
    fn zipf_has_hot_keys_and_a_long_tail() {
        let n = 1000;
        let p = KeyPicker::new(n, Distribution::Zipf, 1.1, 3);
        let mut counts = vec![0u32; n as usize];
        for i in 0..100_000 {
            counts[p.pick(0, i) as usize] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top10: u32 = counts[..10].iter().sum();
        assert!(top10 > 40_000, "top 10 keys got {top10} of 100000");
        assert!(
            counts.iter().filter(|&&c| c > 0).count() > 300,
            "a long tail"
        );
    }
}
