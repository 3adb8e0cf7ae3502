//! The USL fit against published fits of public datasets.

use gauntlet_reports::capacity::fit::{Point, fit};

fn points(data: &[(f64, f64)]) -> Vec<Point> {
    data.iter()
        .map(|&(concurrency, throughput)| Point {
            concurrency,
            throughput,
        })
        .collect()
}

fn assert_close(what: &str, expected: f64, actual: f64, rel: f64) {
    assert!(
        (actual - expected).abs() <= rel * expected.abs(),
        "{what}: expected {expected}, got {actual} (tolerance {}%)",
        rel * 100.0
    );
}

/// Baron Schwartz, "Practical Scalability Analysis with the Universal Scalability
/// Law" (VividCortex, 2015): a Cisco server benchmark, throughput at 1..32 clients,
/// with the book's fitted σ = 0.02671591, κ = 7.690945e-4, λ = 995.6486, N* = 35 and
/// X(N*) = 12341. Data and values as in usl4j's `ModelTest` (github.com/codahale/usl4j,
/// Apache-2.0), which checks them to 0.02%.
#[test]
fn cisco_benchmark_matches_the_book() {
    let cisco = [
        (1.0, 955.16),
        (2.0, 1878.91),
        (3.0, 2688.01),
        (4.0, 3548.68),
        (5.0, 4315.54),
        (6.0, 5130.43),
        (7.0, 5931.37),
        (8.0, 6531.08),
        (9.0, 7219.8),
        (10.0, 7867.61),
        (11.0, 8278.71),
        (12.0, 8646.7),
        (13.0, 9047.84),
        (14.0, 9426.55),
        (15.0, 9645.37),
        (16.0, 9897.24),
        (17.0, 10097.6),
        (18.0, 10240.5),
        (19.0, 10532.39),
        (20.0, 10798.52),
        (21.0, 11151.43),
        (22.0, 11518.63),
        (23.0, 11806.0),
        (24.0, 12089.37),
        (25.0, 12075.41),
        (26.0, 12177.29),
        (27.0, 12211.41),
        (28.0, 12158.93),
        (29.0, 12155.27),
        (30.0, 12118.04),
        (31.0, 12140.4),
        (32.0, 12074.39),
    ];
    let f = fit(&points(&cisco)).unwrap();
    let m = f.model;
    assert_close("sigma", 0.02671591, m.sigma, 2e-4);
    assert_close("kappa", 7.690945e-4, m.kappa, 2e-4);
    assert_close("lambda", 995.6486, m.lambda, 2e-4);
    assert_eq!(m.peak_concurrency(), Some(35));
    assert_close("X(N*)", 12341.0, m.peak_throughput().unwrap(), 2e-4);
    assert!(f.r_squared > 0.99, "R² {}", f.r_squared);
}

/// SPEC SDM91 on a 16-CPU Sun SPARCcenter 2000 (October 1994), from Neil J. Gunther,
/// "Guerrilla Capacity Planning" (Springer, 2007), shipped as `specsdm91` in R's `usl`
/// package (github.com/smoeding/usl). The package's README publishes the nonlinear
/// fit: σ (its `alpha`) = 0.0277285, κ (`beta`) = 0.0001044, λ (`gamma`) = 89.9952330,
/// residual standard error 82.8 on 4 degrees of freedom, and fitted values 90, 1078,
/// 1541, 1850, 1879, 1822, 1646 (`tests/fitted.Rout.save`).
#[test]
fn spec_sdm91_matches_r_usl() {
    let specsdm91 = [
        (1.0, 64.9),
        (18.0, 995.9),
        (36.0, 1652.4),
        (72.0, 1853.2),
        (108.0, 1828.9),
        (144.0, 1775.0),
        (216.0, 1702.2),
    ];
    let f = fit(&points(&specsdm91)).unwrap();
    let m = f.model;
    assert_close("sigma", 0.0277285, m.sigma, 1e-3);
    assert_close("kappa", 0.0001044, m.kappa, 1e-3);
    assert_close("lambda", 89.9952330, m.lambda, 1e-4);
    let residual_se = (f.sse / (specsdm91.len() - 3) as f64).sqrt();
    assert_close("residual standard error", 82.8, residual_se, 1e-3);
    let fitted: Vec<f64> = specsdm91
        .iter()
        .map(|&(n, _)| m.throughput(n).round())
        .collect();
    assert_eq!(
        fitted,
        [90.0, 1078.0, 1541.0, 1850.0, 1879.0, 1822.0, 1646.0]
    );
    // Peak at floor(sqrt((1 − σ)/κ)).
    assert_eq!(m.peak_concurrency(), Some(96));
}
