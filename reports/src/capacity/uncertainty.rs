//! How far to trust a fitted USL: bootstrap intervals of λ, σ, κ, `N*` and the peak.
//!
//! The data are resampled [`RESAMPLES`] times from a generator seeded with [`SEED`]
//! (so the intervals are the same on every reading of the same levels), the model is
//! refitted to each resample, and each parameter's interval is the central 95% of its
//! refitted values (a percentile interval).
//!
//! - **With repeats** (every level measured at least twice) the resampling is by case,
//!   within each level: each level's repeats are drawn with replacement. This keeps
//!   the design (which concurrencies were measured) and lets each level's own spread
//!   speak.
//! - **Without** (some level measured once) it is by residual: the fitted curve plus
//!   residuals drawn with replacement from the fit's own.
//!
//! A resample whose model has no peak (κ = 0) counts as an infinite `N*`, and its
//! highest throughput is Amdahl's ceiling `λ/σ` (infinite when σ = 0 as well); when
//! more than 2.5% of the resamples are unbounded so is the interval's upper end, and
//! the interval is `None`.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::capacity::fit::{Point, UslFit, fit};
use crate::capacity::model::UslModel;
use crate::capacity::stats::percentile_interval;
use crate::capacity_schema::FitUncertainty;

/// Resamples drawn.
pub const RESAMPLES: u32 = 400;
/// Seed of the resampling generator.
pub const SEED: u64 = 17;
/// Relative width (`(high − low) / estimate`) above which an interval is wide.
pub const WIDE: f64 = 0.5;

/// The highest throughput `m` reaches: `X(N*)`, or Amdahl's ceiling `λ/σ` when κ = 0,
/// or infinity when it grows linearly.
pub fn highest_throughput(m: &UslModel) -> f64 {
    m.peak_throughput()
        .or_else(|| m.amdahl_ceiling())
        .unwrap_or(f64::INFINITY)
}

/// Bootstrap intervals for `fitted`, fitted to `levels` (each level's points, the
/// levels in increasing concurrency). Returns the intervals and the peak
/// throughput's interval (`None` when unbounded); `None` when fewer than half the
/// resamples could be fitted.
pub fn bootstrap(
    levels: &[Vec<Point>],
    fitted: &UslFit,
) -> Option<(FitUncertainty, Option<[f64; 2]>)> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let by_case = levels.iter().all(|l| l.len() >= 2);
    let all: Vec<Point> = levels.iter().flatten().copied().collect();
    let residuals: Vec<f64> = all
        .iter()
        .map(|p| p.throughput - fitted.model.throughput(p.concurrency))
        .collect();
    let (mut lambda, mut sigma, mut kappa, mut peak_n, mut peak_x) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut failed = 0;
    for _ in 0..RESAMPLES {
        let mut sample: Vec<Point> = if by_case {
            levels
                .iter()
                .flat_map(|l| {
                    (0..l.len())
                        .map(|_| l[rng.random_range(0..l.len())])
                        .collect::<Vec<_>>()
                })
                .collect()
        } else {
            all.iter()
                .map(|p| Point {
                    concurrency: p.concurrency,
                    throughput: fitted.model.throughput(p.concurrency)
                        + residuals[rng.random_range(0..residuals.len())],
                })
                .collect()
        };
        sample.sort_by(|a, b| a.concurrency.total_cmp(&b.concurrency));
        match fit(&sample) {
            Ok(f) => {
                let m = f.model;
                lambda.push(m.lambda);
                sigma.push(m.sigma);
                kappa.push(m.kappa);
                peak_n.push(m.peak_concurrency().map_or(f64::INFINITY, |n| n as f64));
                peak_x.push(highest_throughput(&m));
            }
            Err(_) => failed += 1,
        }
    }
    let fitted_ok = lambda.len();
    if fitted_ok < (RESAMPLES / 2) as usize {
        return None;
    }
    let no_peak_share = peak_n.iter().filter(|n| n.is_infinite()).count() as f64 / fitted_ok as f64;
    let finite = |i: Option<[f64; 2]>| i.filter(|[lo, hi]| lo.is_finite() && hi.is_finite());
    let estimate = highest_throughput(&fitted.model);
    let peak_ci = finite(percentile_interval(&mut peak_x));
    let peak_n_ci = finite(percentile_interval(&mut peak_n));
    // Wide: the peak's interval spans more than half its estimate, or is unbounded,
    // or (for a model with a peak) N*'s is.
    let wide = peak_ci.is_none_or(|[lo, hi]| !estimate.is_finite() || (hi - lo) / estimate > WIDE)
        || (fitted.model.peak_concurrency().is_some() && peak_n_ci.is_none());
    Some((
        FitUncertainty {
            method: if by_case {
                format!(
                    "bootstrap: {RESAMPLES} resamples of each level's repeats (by case, within level), percentile intervals"
                )
            } else {
                format!(
                    "bootstrap: {RESAMPLES} resamples of the fit's residuals, percentile intervals"
                )
            },
            resamples: RESAMPLES,
            failed,
            seed: SEED,
            lambda_ci_95: percentile_interval(&mut lambda)?,
            sigma_ci_95: percentile_interval(&mut sigma)?,
            kappa_ci_95: percentile_interval(&mut kappa)?,
            peak_concurrency_ci_95: peak_n_ci,
            no_peak_share,
            wide,
        },
        peak_ci,
    ))
}
