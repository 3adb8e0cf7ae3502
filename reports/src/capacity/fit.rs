//! Fitting the USL to measured (concurrency, throughput) points.
//!
//! **Method.** Ordinary nonlinear least squares on the throughput itself (the same
//! objective as R's `usl` package with `method = "nls"`/`"nlxb"` and usl4j), minimised
//! by a bounded Levenberg-Marquardt: analytic Jacobian, Marquardt's column scaling,
//! and the box `λ > 0, σ ∈ [0, 1], κ ∈ [0, 1]` kept by projecting each step onto it and
//! freezing a parameter that sits on a bound while the gradient pushes it outwards
//! (an active-set step, so the other two keep converging).
//!
//! **Starting values.** For a fixed λ the USL is linear in (σ, κ):
//! `λN/X − 1 = σ(N−1) + κN(N−1)`, Gunther's transform. A small grid of λ values
//! (from the best per-client throughput seen, `max X/N`, upwards) gives candidate
//! (σ, κ) by linear least squares; for each candidate λ is then re-solved in closed
//! form (`λ = ΣXg/Σg²` with `g = N/(1+σ(N−1)+κN(N−1))`: the model is linear in λ).
//! Each of the three best candidates, plus the pure-Amdahl (κ = 0) and pure-coherency
//! (σ = 0) starts, is refined by the LM and the lowest residual wins: the USL's
//! residual surface has long flat valleys along which a single start can stop early.
//!
//! **Refusals.** Fewer than [`MIN_POINTS`] points (with three, any data fits exactly
//! and R² says nothing), a non-finite, zero or negative value, concurrency that does
//! not strictly increase, a flat curve (the sweep never left saturation) and a curve
//! that falls from its first point on (it started past the peak) are typed
//! [`FitError`]s, not a model.
//!
//! Why not a crate: `levenberg-marquardt` (a MINPACK port) and `argmin`'s Gauss-Newton
//! take no bounds, and the bounded solvers found (`scirs2-optimize`) bring an
//! ndarray-based scientific stack for a three-parameter problem.

use serde::{Deserialize, Serialize};

use super::model::UslModel;

/// Fewest points a fit accepts.
pub const MIN_POINTS: usize = 4;

/// Throughput spread (`(max − min) / max`) below which a curve counts as flat.
pub const FLAT_SPREAD: f64 = 0.02;

/// One measurement: throughput at a concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Concurrency `N` (clients, workers, or mean ops in flight by Little's law).
    pub concurrency: f64,
    /// Throughput `X(N)`, ops per second.
    pub throughput: f64,
}

/// A fitted model and how well it fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UslFit {
    /// The fitted parameters.
    pub model: UslModel,
    /// Coefficient of determination, `1 − SSE/SST`.
    pub r_squared: f64,
    /// Sum of squared residuals, (ops/s)².
    pub sse: f64,
    /// Points fitted.
    pub points: usize,
    /// Levenberg-Marquardt iterations of the winning start.
    pub iterations: u32,
}

/// Why points could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Too few distinct concurrencies to say anything (repeats of one level count once).
    #[error(
        "{got} level(s) of distinct concurrency; a USL fit needs at least {need} (with 3 any curve fits exactly)"
    )]
    TooFewPoints {
        /// Distinct concurrencies given.
        got: usize,
        /// Points needed.
        need: usize,
    },
    /// A value is not a positive finite number.
    #[error(
        "point {index} (concurrency {concurrency}, throughput {throughput}): both must be finite and greater than 0"
    )]
    InvalidPoint {
        /// Index of the point.
        index: usize,
        /// Its concurrency.
        concurrency: f64,
        /// Its throughput.
        throughput: f64,
    },
    /// Concurrency decreases (repeated measurements of one concurrency are fine).
    #[error(
        "point {index}: concurrency {concurrency} is below the previous point's {previous} (sort the points by concurrency)"
    )]
    NotIncreasing {
        /// Index of the point.
        index: usize,
        /// The previous point's concurrency.
        previous: f64,
        /// This point's concurrency.
        concurrency: f64,
    },
    /// Throughput hardly changes over the points.
    #[error(
        "throughput is flat (spread {:.1}% < {:.0}%): the load never scaled, so contention and coherency cannot be told apart; start the sweep at a lower level",
        spread * 100.0,
        FLAT_SPREAD * 100.0
    )]
    Flat {
        /// `(max − min) / max` of the throughput.
        spread: f64,
    },
    /// Throughput is highest at the first point.
    #[error(
        "throughput falls from the first point on: the system was past its peak before the lowest level; start the sweep at a lower level"
    )]
    Decreasing,
    /// The solver produced no finite model.
    #[error("the fit did not converge to finite parameters")]
    NoConvergence,
}

/// Fits the USL to `points` (concurrency strictly increasing).
pub fn fit(points: &[Point]) -> Result<UslFit, FitError> {
    check(points)?;
    let n: Vec<f64> = points.iter().map(|p| p.concurrency).collect();
    let x: Vec<f64> = points.iter().map(|p| p.throughput).collect();

    let mut starts = candidate_starts(&n, &x);
    starts.sort_by(|a, b| a.1.total_cmp(&b.1));
    starts.truncate(3);
    // Boundary starts: the valleys along κ = 0 and σ = 0.
    for (sigma, kappa) in [(amdahl_sigma(&n, &x), 0.0), (0.0, coherency_kappa(&n, &x))] {
        let lambda = best_lambda(&n, &x, sigma, kappa);
        let p = [lambda, sigma, kappa];
        starts.push((p, sse(&n, &x, &p)));
    }

    let mut best: Option<([f64; 3], f64, u32)> = None;
    for (p0, _) in starts {
        let (p, s, it) = levenberg_marquardt(&n, &x, p0);
        if s.is_finite() && p.iter().all(|v| v.is_finite()) && best.is_none_or(|b| s < b.1) {
            best = Some((p, s, it));
        }
    }
    let (p, s, iterations) = best.ok_or(FitError::NoConvergence)?;
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let sst: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    Ok(UslFit {
        model: UslModel {
            lambda: p[0],
            sigma: p[1],
            kappa: p[2],
        },
        r_squared: 1.0 - s / sst,
        sse: s,
        points: points.len(),
        iterations,
    })
}

fn check(points: &[Point]) -> Result<(), FitError> {
    for (index, p) in points.iter().enumerate() {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !ok(p.concurrency) || !ok(p.throughput) {
            return Err(FitError::InvalidPoint {
                index,
                concurrency: p.concurrency,
                throughput: p.throughput,
            });
        }
        if index > 0 && p.concurrency < points[index - 1].concurrency {
            return Err(FitError::NotIncreasing {
                index,
                previous: points[index - 1].concurrency,
                concurrency: p.concurrency,
            });
        }
    }
    // Repeats of one concurrency are one level: the shape checks see their means.
    let levels = level_means(points);
    if levels.len() < MIN_POINTS {
        return Err(FitError::TooFewPoints {
            got: levels.len(),
            need: MIN_POINTS,
        });
    }
    let max = levels.iter().copied().fold(f64::MIN, f64::max);
    let min = levels.iter().copied().fold(f64::MAX, f64::min);
    let spread = (max - min) / max;
    if spread < FLAT_SPREAD {
        return Err(FitError::Flat { spread });
    }
    if levels[1..].iter().all(|x| *x < levels[0]) {
        return Err(FitError::Decreasing);
    }
    Ok(())
}

/// The mean throughput of each run of equal concurrency in `points` (sorted).
fn level_means(points: &[Point]) -> Vec<f64> {
    let mut means: Vec<f64> = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let n = points[i].concurrency;
        let same: Vec<f64> = points[i..]
            .iter()
            .take_while(|p| p.concurrency == n)
            .map(|p| p.throughput)
            .collect();
        i += same.len();
        means.push(same.iter().sum::<f64>() / same.len() as f64);
    }
    means
}

/// `N / (1 + σ(N−1) + κN(N−1))`: the model's throughput per unit of λ.
fn shape(n: f64, sigma: f64, kappa: f64) -> f64 {
    n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))
}

/// The least-squares λ for fixed (σ, κ): the model is linear in λ.
fn best_lambda(n: &[f64], x: &[f64], sigma: f64, kappa: f64) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (&ni, &xi) in n.iter().zip(x) {
        let g = shape(ni, sigma, kappa);
        num += xi * g;
        den += g * g;
    }
    if den > 0.0 && num > 0.0 {
        num / den
    } else {
        x[0] / n[0]
    }
}

fn sse(n: &[f64], x: &[f64], p: &[f64; 3]) -> f64 {
    n.iter()
        .zip(x)
        .map(|(&ni, &xi)| (xi - p[0] * shape(ni, p[1], p[2])).powi(2))
        .sum()
}

/// Starts from Gunther's linearisation over a grid of λ values.
fn candidate_starts(n: &[f64], x: &[f64]) -> Vec<([f64; 3], f64)> {
    let per_client = n
        .iter()
        .zip(x)
        .map(|(ni, xi)| xi / ni)
        .fold(f64::MIN, f64::max);
    [1.0, 1.02, 1.05, 1.1, 1.2, 1.35, 1.5, 2.0, 3.0, 5.0]
        .iter()
        .map(|f| {
            let (sigma, kappa) = linearised(n, x, per_client * f);
            let lambda = best_lambda(n, x, sigma, kappa);
            let p = [lambda, sigma, kappa];
            (p, sse(n, x, &p))
        })
        .collect()
}

/// Least squares of `λN/X − 1 = σ(N−1) + κN(N−1)` for (σ, κ), clamped to `[0, 1]`.
fn linearised(n: &[f64], x: &[f64], lambda: f64) -> (f64, f64) {
    let (mut aa, mut ab, mut bb, mut az, mut bz) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&ni, &xi) in n.iter().zip(x) {
        let z = lambda * ni / xi - 1.0;
        let a = ni - 1.0;
        let b = ni * (ni - 1.0);
        aa += a * a;
        ab += a * b;
        bb += b * b;
        az += a * z;
        bz += b * z;
    }
    let det = aa * bb - ab * ab;
    if det.abs() <= f64::EPSILON * aa * bb {
        return (amdahl_sigma(n, x), 0.0);
    }
    let sigma = (az * bb - bz * ab) / det;
    let kappa = (aa * bz - ab * az) / det;
    (sigma.clamp(0.0, 1.0), kappa.clamp(0.0, 1.0))
}

/// σ of the best κ = 0 (Amdahl) linearisation with λ = the best per-client rate.
fn amdahl_sigma(n: &[f64], x: &[f64]) -> f64 {
    let lambda = n.iter().zip(x).map(|(a, b)| b / a).fold(f64::MIN, f64::max);
    let (mut aa, mut az) = (0.0, 0.0);
    for (&ni, &xi) in n.iter().zip(x) {
        let a = ni - 1.0;
        aa += a * a;
        az += a * (lambda * ni / xi - 1.0);
    }
    if aa > 0.0 {
        (az / aa).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// κ of the best σ = 0 linearisation with λ = the best per-client rate.
fn coherency_kappa(n: &[f64], x: &[f64]) -> f64 {
    let lambda = n.iter().zip(x).map(|(a, b)| b / a).fold(f64::MIN, f64::max);
    let (mut bb, mut bz) = (0.0, 0.0);
    for (&ni, &xi) in n.iter().zip(x) {
        let b = ni * (ni - 1.0);
        bb += b * b;
        bz += b * (lambda * ni / xi - 1.0);
    }
    if bb > 0.0 {
        (bz / bb).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

const LOWER: [f64; 3] = [f64::MIN_POSITIVE, 0.0, 0.0];
const UPPER: [f64; 3] = [f64::INFINITY, 1.0, 1.0];
const MAX_ITERATIONS: u32 = 500;

/// Bounded Levenberg-Marquardt from `p`; returns the parameters, their SSE and the
/// iterations taken.
fn levenberg_marquardt(n: &[f64], x: &[f64], mut p: [f64; 3]) -> ([f64; 3], f64, u32) {
    for j in 0..3 {
        p[j] = p[j].clamp(LOWER[j], UPPER[j]);
    }
    let mut cost = sse(n, x, &p);
    let mut mu = 1e-3;
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        // Normal equations JᵀJ δ = Jᵀr for r = X_measured − X_model.
        let mut jtj = [[0.0; 3]; 3];
        let mut jtr = [0.0; 3];
        for (&ni, &xi) in n.iter().zip(x) {
            let d = 1.0 + p[1] * (ni - 1.0) + p[2] * ni * (ni - 1.0);
            let model = p[0] * ni / d;
            let j = [
                ni / d,
                -p[0] * ni * (ni - 1.0) / (d * d),
                -p[0] * ni * ni * (ni - 1.0) / (d * d),
            ];
            let r = xi - model;
            for a in 0..3 {
                jtr[a] += j[a] * r;
                for b in 0..3 {
                    jtj[a][b] += j[a] * j[b];
                }
            }
        }
        // A parameter on a bound whose descent direction points outwards stays put.
        let free: [bool; 3] = std::array::from_fn(|j| {
            let pinned_low = p[j] <= LOWER[j] && jtr[j] < 0.0;
            let pinned_high = p[j] >= UPPER[j] && jtr[j] > 0.0;
            !(pinned_low || pinned_high) && jtj[j][j] > 0.0
        });
        if !free.iter().any(|f| *f) {
            break;
        }
        let Some(step) = damped_step(&jtj, &jtr, &free, mu) else {
            mu *= 10.0;
            if mu > 1e20 {
                break;
            }
            continue;
        };
        let mut trial = p;
        for j in 0..3 {
            trial[j] = (p[j] + step[j]).clamp(LOWER[j], UPPER[j]);
        }
        let trial_cost = sse(n, x, &trial);
        if trial_cost.is_finite() && trial_cost < cost {
            let gain = (cost - trial_cost) / cost.max(f64::MIN_POSITIVE);
            let moved = (0..3)
                .map(|j| (trial[j] - p[j]).abs() / p[j].abs().max(1e-12))
                .fold(0.0, f64::max);
            p = trial;
            cost = trial_cost;
            mu = (mu / 3.0).max(1e-15);
            if gain < 1e-15 || moved < 1e-13 {
                break;
            }
        } else {
            mu *= 4.0;
            if mu > 1e20 {
                break;
            }
        }
    }
    (p, cost, iterations)
}

/// Solves `(Â + μI) δ̂ = ĝ` over the free parameters, in Marquardt's scaling
/// (`Â = D⁻¹JᵀJD⁻¹`, `D = sqrt(diag JᵀJ)`), so that λ (thousands) and κ (1e-4) take
/// comparable steps. `None` when the system is not positive definite.
fn damped_step(jtj: &[[f64; 3]; 3], jtr: &[f64; 3], free: &[bool; 3], mu: f64) -> Option<[f64; 3]> {
    let idx: Vec<usize> = (0..3).filter(|&j| free[j]).collect();
    let k = idx.len();
    let scale: Vec<f64> = idx.iter().map(|&j| jtj[j][j].sqrt()).collect();
    let mut a = [[0.0; 3]; 3];
    let mut g = [0.0; 3];
    for (r, &i) in idx.iter().enumerate() {
        g[r] = jtr[i] / scale[r];
        for (c, &j) in idx.iter().enumerate() {
            a[r][c] = jtj[i][j] / (scale[r] * scale[c]);
        }
        a[r][r] += mu;
    }
    // Cholesky of the k×k system.
    let mut l = [[0.0; 3]; 3];
    for r in 0..k {
        for c in 0..=r {
            let s: f64 = (0..c).map(|m| l[r][m] * l[c][m]).sum();
            if r == c {
                let v = a[r][r] - s;
                if v <= 0.0 || !v.is_finite() {
                    return None;
                }
                l[r][r] = v.sqrt();
            } else {
                l[r][c] = (a[r][c] - s) / l[c][c];
            }
        }
    }
    let mut y = [0.0; 3];
    for r in 0..k {
        let s: f64 = (0..r).map(|m| l[r][m] * y[m]).sum();
        y[r] = (g[r] - s) / l[r][r];
    }
    let mut z = [0.0; 3];
    for r in (0..k).rev() {
        let s: f64 = (r + 1..k).map(|m| l[m][r] * z[m]).sum();
        z[r] = (y[r] - s) / l[r][r];
    }
    let mut step = [0.0; 3];
    for (r, &j) in idx.iter().enumerate() {
        step[j] = z[r] / scale[r];
    }
    step.iter().all(|v| v.is_finite()).then_some(step)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    fn points(model: &UslModel, ns: &[f64]) -> Vec<Point> {
        ns.iter()
            .map(|&n| Point {
                concurrency: n,
                throughput: model.throughput(n),
            })
            .collect()
    }

    const LEVELS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0];

    #[test]
    fn recovers_exact_parameters_without_noise() {
        for truth in [
            UslModel {
                lambda: 1000.0,
                sigma: 0.05,
                kappa: 0.001,
            },
            UslModel {
                lambda: 42.0,
                sigma: 0.3,
                kappa: 0.0,
            },
            UslModel {
                lambda: 5.0e5,
                sigma: 0.0,
                kappa: 0.0004,
            },
            UslModel {
                lambda: 250.0,
                sigma: 0.0,
                kappa: 0.0,
            },
            UslModel {
                lambda: 3000.0,
                sigma: 0.9,
                kappa: 0.02,
            },
        ] {
            let f = fit(&points(&truth, &LEVELS)).unwrap();
            let m = f.model;
            assert!(
                (m.lambda - truth.lambda).abs() <= 1e-6 * truth.lambda,
                "{truth:?} -> {m:?}"
            );
            assert!((m.sigma - truth.sigma).abs() < 1e-7, "{truth:?} -> {m:?}");
            assert!((m.kappa - truth.kappa).abs() < 1e-9, "{truth:?} -> {m:?}");
            assert!(f.r_squared > 1.0 - 1e-9);
        }
    }

    #[test]
    fn recovers_parameters_from_noisy_data() {
        let truth = UslModel {
            lambda: 2000.0,
            sigma: 0.04,
            kappa: 0.0008,
        };
        let ns: Vec<f64> = (1..=40).map(f64::from).collect();
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let noisy: Vec<Point> = points(&truth, &ns)
                .into_iter()
                .map(|p| Point {
                    throughput: p.throughput * (1.0 + rng.random_range(-0.03..0.03)),
                    ..p
                })
                .collect();
            let f = fit(&noisy).unwrap();
            let m = f.model;
            assert!(
                (m.lambda / truth.lambda - 1.0).abs() < 0.05,
                "seed {seed}: {m:?}"
            );
            assert!((m.sigma - truth.sigma).abs() < 0.015, "seed {seed}: {m:?}");
            assert!(
                (m.kappa / truth.kappa - 1.0).abs() < 0.2,
                "seed {seed}: {m:?}"
            );
            assert!(f.r_squared > 0.95, "seed {seed}: R² {}", f.r_squared);
            let peak = m.peak_concurrency().unwrap();
            assert!((30..=38).contains(&peak), "seed {seed}: N* {peak}");
        }
    }

    #[test]
    fn stays_within_bounds_when_the_data_pull_outside() {
        // Superlinear data: unconstrained least squares wants σ < 0.
        let pts: Vec<Point> = [1.0, 2.0, 4.0, 8.0, 16.0]
            .iter()
            .map(|&n: &f64| Point {
                concurrency: n,
                throughput: 100.0 * n.powf(1.1),
            })
            .collect();
        let m = fit(&pts).unwrap().model;
        assert!(m.lambda > 0.0);
        assert_eq!(m.sigma, 0.0);
        assert!((0.0..=1.0).contains(&m.kappa));
    }

    #[test]
    fn too_few_points_are_refused() {
        let truth = UslModel {
            lambda: 1.0,
            sigma: 0.1,
            kappa: 0.01,
        };
        for n in 0..MIN_POINTS {
            assert_eq!(
                fit(&points(&truth, &LEVELS[..n])),
                Err(FitError::TooFewPoints {
                    got: n,
                    need: MIN_POINTS
                })
            );
        }
        assert!(fit(&points(&truth, &LEVELS[..MIN_POINTS])).is_ok());
    }

    #[test]
    fn bad_values_are_refused_with_their_index() {
        let truth = UslModel {
            lambda: 100.0,
            sigma: 0.1,
            kappa: 0.01,
        };
        for bad in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            let mut pts = points(&truth, &LEVELS);
            pts[3].throughput = bad;
            assert!(matches!(
                fit(&pts),
                Err(FitError::InvalidPoint { index: 3, .. })
            ));
            let mut pts = points(&truth, &LEVELS);
            pts[0].concurrency = bad;
            assert!(matches!(
                fit(&pts),
                Err(FitError::InvalidPoint { index: 0, .. })
            ));
        }
    }

    #[test]
    fn concurrency_must_increase() {
        let truth = UslModel {
            lambda: 100.0,
            sigma: 0.1,
            kappa: 0.01,
        };
        let mut pts = points(&truth, &LEVELS);
        pts.swap(2, 3);
        assert_eq!(
            fit(&pts),
            Err(FitError::NotIncreasing {
                index: 3,
                previous: 8.0,
                concurrency: 4.0
            })
        );
        // Repeats of one concurrency are fine, and count once towards the minimum.
        let mut repeated = points(&truth, &LEVELS[..3]);
        repeated.extend(points(&truth, &LEVELS[..3]));
        repeated.sort_by(|a, b| a.concurrency.total_cmp(&b.concurrency));
        assert_eq!(
            fit(&repeated),
            Err(FitError::TooFewPoints {
                got: 3,
                need: MIN_POINTS
            })
        );
        let mut repeated = points(&truth, &LEVELS);
        repeated.extend(points(&truth, &LEVELS));
        repeated.sort_by(|a, b| a.concurrency.total_cmp(&b.concurrency));
        let fitted = fit(&repeated).unwrap();
        assert!((fitted.model.sigma - 0.1).abs() < 1e-6);
        assert_eq!(fitted.points, 2 * LEVELS.len());
    }

    #[test]
    fn flat_and_falling_curves_are_refused() {
        let flat: Vec<Point> = LEVELS
            .iter()
            .enumerate()
            .map(|(i, &n)| Point {
                concurrency: n,
                throughput: 1000.0 + (i % 2) as f64,
            })
            .collect();
        let err = fit(&flat).unwrap_err();
        assert!(matches!(err, FitError::Flat { .. }));
        assert!(err.to_string().contains("start the sweep at a lower level"));

        let falling: Vec<Point> = LEVELS
            .iter()
            .map(|&n| Point {
                concurrency: n,
                throughput: 1000.0 / n.sqrt(),
            })
            .collect();
        assert_eq!(fit(&falling), Err(FitError::Decreasing));
    }

    #[test]
    fn fractional_concurrency_from_littles_law_fits() {
        // Open-loop levels: N = X·R is well below 1 at light load.
        let truth = UslModel {
            lambda: 40_000.0,
            sigma: 0.2,
            kappa: 0.01,
        };
        let ns = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0];
        let m = fit(&points(&truth, &ns)).unwrap().model;
        assert!((m.sigma - 0.2).abs() < 1e-6, "{m:?}");
        assert!((m.kappa - 0.01).abs() < 1e-7, "{m:?}");
    }
}
