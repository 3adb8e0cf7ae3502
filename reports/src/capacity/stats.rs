//! Repeated measurements of one level: mean, spread and a 95% confidence interval.
//!
//! A level measured `K` times gives `K` throughputs (and `K` p99s). Their mean is the
//! level's figure; the interval `mean ± t(0.975, K−1) · s/√K` (Student's t, `s` the
//! sample standard deviation) is where the true mean lies with 95% confidence if the
//! repeats are independent draws of one steady state. The coefficient of variation
//! `s / mean` above [`UNSTABLE_CV`] marks a level as unstable: its repeats disagree
//! by more than a tenth, so one number does not describe it.

/// Coefficient of variation above which a level is flagged as unstable.
pub const UNSTABLE_CV: f64 = 0.10;

/// Student's t quantile `t(0.975, df)` for df = 1..=30 (two-sided 95%).
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// `t(0.975, df)`: exact to three decimals for df ≤ 30 (the table), then
/// `1.96 + 2.4/df`, within 0.01 of the true value beyond (2.021 at 40, 2.000 at 60).
/// `None` for df = 0 (one value has no spread).
pub fn t_975(df: usize) -> Option<f64> {
    match df {
        0 => None,
        1..=30 => Some(T_975[df - 1]),
        _ => Some(1.96 + 2.4 / df as f64),
    }
}

/// Summary of repeated values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// How many values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (`n − 1` in the denominator); 0 for one value.
    pub sd: f64,
    /// `sd / mean` (`None` for one value or a zero mean).
    pub cv: Option<f64>,
    /// 95% confidence interval of the mean (`None` for one value).
    pub ci_95: Option<[f64; 2]>,
}

impl Summary {
    /// Whether the values disagree by more than [`UNSTABLE_CV`].
    pub fn unstable(&self) -> bool {
        self.cv.is_some_and(|cv| cv > UNSTABLE_CV)
    }
}

/// Summarises `values`; `None` when there are none or one is not finite.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let cv = (n > 1 && mean != 0.0).then(|| sd / mean.abs());
    let ci_95 = t_975(n - 1).map(|t| {
        let half = t * sd / (n as f64).sqrt();
        [mean - half, mean + half]
    });
    Some(Summary {
        n,
        mean,
        sd,
        cv,
        ci_95,
    })
}

/// The `q` quantile (0..=1) of `sorted` (ascending) by linear interpolation between
/// order statistics (R's type 7, numpy's default). `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// The central 95% of `values` (2.5% and 97.5% quantiles): a percentile interval.
/// Sorts `values`. `None` when empty.
pub fn percentile_interval(values: &mut [f64]) -> Option<[f64; 2]> {
    values.sort_by(f64::total_cmp);
    Some([quantile(values, 0.025)?, quantile(values, 0.975)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_interval_of_five_values() {
        // mean 10, s = sqrt(2.5) = 1.5811, t(0.975, 4) = 2.776:
        // half-width 2.776 · 1.5811 / sqrt(5) = 1.9629.
        let s = summarize(&[8.0, 9.0, 10.0, 11.0, 12.0]).unwrap();
        assert_eq!(s.mean, 10.0);
        assert!((s.sd - 1.581_138_8).abs() < 1e-6);
        let [lo, hi] = s.ci_95.unwrap();
        assert!((lo - 8.0371).abs() < 1e-3, "{lo}");
        assert!((hi - 11.9629).abs() < 1e-3, "{hi}");
        assert!((s.cv.unwrap() - 0.158_113_9).abs() < 1e-6);
        assert!(s.unstable());
    }

    #[test]
    fn steady_repeats_are_stable_and_one_value_has_no_interval() {
        let s = summarize(&[100.0, 101.0, 99.0]).unwrap();
        assert!(!s.unstable());
        let [lo, hi] = s.ci_95.unwrap();
        // s = 1, t(0.975, 2) = 4.303: 100 ± 2.484.
        assert!((lo - 97.516).abs() < 1e-3 && (hi - 102.484).abs() < 1e-3);
        let one = summarize(&[5.0]).unwrap();
        assert_eq!((one.ci_95, one.cv, one.unstable()), (None, None, false));
        assert!(summarize(&[]).is_none());
        assert!(summarize(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn t_quantiles() {
        assert_eq!(t_975(0), None);
        assert_eq!(t_975(1), Some(12.706));
        assert_eq!(t_975(30), Some(2.042));
        assert!((t_975(60).unwrap() - 2.000).abs() < 0.01);
        assert!((t_975(120).unwrap() - 1.980).abs() < 0.01);
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.25), Some(2.0));
        assert_eq!(quantile(&v, 0.1), Some(1.4));
        let mut w: Vec<f64> = (0..=1000).map(f64::from).rev().collect();
        assert_eq!(percentile_interval(&mut w), Some([25.0, 975.0]));
    }
}
