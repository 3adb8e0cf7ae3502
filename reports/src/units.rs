//! Numbers for people: latencies, byte counts and threshold values in the units the
//! results file names (`ns`, `bytes`, `bytes_per_min`, `per_s`, `fraction`, `count`).
//!
//! The console summary, the HTML report, `summary.md` and the chart axes all format
//! through these functions, so one value reads the same everywhere.
//!
//! Any `f64` is formatted compactly: from [`HUGE`] on (and for values no measurement
//! gives, such as `1.7e308` in a hand-edited file) in scientific notation, never as a
//! 300-digit number.

/// Magnitude from which numbers are written in scientific notation (`1.00e15`).
pub const HUGE: f64 = 1e15;

/// Magnitude below which (non-zero) numbers are written in scientific notation.
pub const TINY: f64 = 1e-6;

/// `v` as written by a person: shortest form (`0.5`, `12`, `-3.25`) from [`TINY`] to
/// [`HUGE`], scientific (`1e300`, `2e-268`) outside. For numbers quoted back in
/// messages.
pub fn format_number(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return v.to_string();
    }
    if v.abs() >= HUGE || v.abs() < TINY {
        return format!("{v:e}");
    }
    if v.fract() == 0.0 {
        return format!("{v:.0}");
    }
    // At most 6 significant decimals: a float's full expansion (0.0000015061000000000001)
    // is noise in a message.
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "0" || s == "-0" {
        format!("{v:.3e}")
    } else {
        s.to_owned()
    }
}

/// `v` with `decimals` decimals, or in scientific notation from [`HUGE`] on; `inf`
/// and `NaN` as such.
pub fn format_plain(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        v.to_string()
    } else if v.abs() >= HUGE {
        format!("{v:.2e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// Formats nanoseconds: `812ns`, `12.3µs`, `4.56ms`, `1.20s`.
pub fn format_ns(ns: f64) -> String {
    if !ns.is_finite() || ns.abs() >= HUGE {
        format!("{}s", format_plain(ns / 1e9, 2))
    } else if ns < 1e3 {
        format!("{ns:.0}ns")
    } else if ns < 1e6 {
        format!("{:.1}µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2}ms", ns / 1e6)
    } else {
        format!("{}s", format_plain(ns / 1e9, 2))
    }
}

/// Formats a byte count (decimal units): `512 B`, `12.3 MB`.
pub fn format_bytes(bytes: f64) -> String {
    let abs = bytes.abs();
    if abs < 1e3 {
        format!("{bytes:.0} B")
    } else if abs < 1e6 {
        format!("{:.1} kB", bytes / 1e3)
    } else if abs < 1e9 {
        format!("{:.1} MB", bytes / 1e6)
    } else if abs < 1e12 {
        format!("{:.2} GB", bytes / 1e9)
    } else if abs < HUGE {
        format!("{:.2} TB", bytes / 1e12)
    } else {
        format!("{} B", format_plain(bytes, 2))
    }
}

/// Formats a count or rate compactly: `950`, `12.3k`, `4.56M`.
pub fn format_count(v: f64) -> String {
    let abs = v.abs();
    if abs < 1e3 {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    } else if abs < 1e6 {
        format!("{:.1}k", v / 1e3)
    } else if abs < 1e9 {
        format!("{:.2}M", v / 1e6)
    } else if abs < HUGE {
        format!("{:.2}G", v / 1e9)
    } else {
        format_plain(v, 0)
    }
}

/// Formats a value in one of the results file's base units; `None` is "not measured".
pub fn format_value(value: Option<f64>, unit: &str) -> String {
    match (value, unit) {
        (None, _) => "not measured".to_owned(),
        (Some(v), "ns") => format_ns(v),
        (Some(v), "bytes") => format_bytes(v),
        (Some(v), "bytes_per_min") => format!("{}/min", format_bytes(v)),
        (Some(v), "per_s") => format!("{}/s", format_plain(v, 1)),
        (Some(v), "fraction") => format!("{}%", format_plain(v * 100.0, 3)),
        (Some(v), _) => format_number(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(format_ns(812.0), "812ns");
        assert_eq!(format_ns(12_300.0), "12.3µs");
        assert_eq!(format_ns(4_560_000.0), "4.56ms");
        assert_eq!(format_bytes(12_300_000.0), "12.3 MB");
        assert_eq!(format_bytes(-2_000.0), "-2.0 kB");
        assert_eq!(format_count(950.0), "950");
        assert_eq!(format_count(12_345.0), "12.3k");
        assert_eq!(format_value(None, "ns"), "not measured");
        assert_eq!(format_value(Some(0.0125), "fraction"), "1.250%");
        assert_eq!(format_value(Some(2e6), "bytes_per_min"), "2.0 MB/min");
        assert_eq!(format_value(Some(3.0), "count"), "3");
    }

    #[test]
    fn any_number_is_compact() {
        for v in [f64::MAX, -f64::MAX, 1.7e308, 1e20, f64::INFINITY, f64::NAN] {
            for text in [
                format_ns(v),
                format_bytes(v),
                format_count(v),
                format_value(Some(v), "per_s"),
                format_value(Some(v), "fraction"),
                format_value(Some(v), "count"),
                format_value(Some(v), "bytes_per_min"),
            ] {
                assert!(text.len() <= 24, "{v}: {text}");
            }
        }
        assert_eq!(format_ns(1.7e308), "1.70e299s");
        assert_eq!(format_number(1e300), "1e300");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(-5e6), "-5000000");
        assert_eq!(format_count(1e20), "1.00e20");
        assert_eq!(format_bytes(1e20), "1.00e20 B");
    }
}
