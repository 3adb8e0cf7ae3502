//! Quantities with units as written in scenario files: durations (`"250ms"`,
//! `"1m30s"`, `"1.5s"`) and byte sizes (`"64MB"`, `"1.5GiB"`).
//!
//! Durations follow k6's notation: one or more `<number><unit>` parts with units
//! `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`. Byte sizes take SI (`kB`, `MB`, `GB`,
//! powers of 1000) and IEC (`KiB`, `MiB`, `GiB`, powers of 1024) units, or `B`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The longest duration accepted anywhere: 10^9 s (about 31.7 years). Fields with a
/// tighter bound (fault windows, handler sleeps) check theirs where they are
/// validated.
pub const MAX_DURATION_S: f64 = 1e9;

/// The largest byte size accepted: 10^18 bytes (1 EB).
pub const MAX_BYTES: f64 = 1e18;

/// Why a quantity could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(String);

/// Parses a duration such as `"10s"`, `"250ms"`, `"1m30s"` or `"1.5s"`.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let s = text.trim();
    if s.starts_with('-') {
        return Err(UnitError(format!("duration `{text}` must not be negative")));
    }
    if s.is_empty() {
        return Err(UnitError("empty duration; expected e.g. \"10s\"".into()));
    }
    let mut total = 0.0_f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(UnitError(format!(
                "invalid duration `{text}`: expected a number before `{rest}`"
            )));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| UnitError(format!("invalid number in duration `{text}`")))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = rest[unit_len..].trim_start();
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => {
                return Err(UnitError(format!(
                    "duration `{text}` needs a unit (ns, us, ms, s, m, h), e.g. \"{}s\"",
                    format_number(value)
                )));
            }
            other => {
                return Err(UnitError(format!(
                    "unknown duration unit `{other}` in `{text}` (expected ns, us, ms, s, m or h)"
                )));
            }
        };
        total += value * scale;
    }
    if !total.is_finite() || total > MAX_DURATION_S {
        return Err(UnitError(format!(
            "duration `{text}` is too large: at most 1000000000s (about 31 years)"
        )));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parses a byte size such as `"512B"`, `"64MB"`, `"1.5GiB"`.
pub fn parse_bytes(text: &str) -> Result<f64, UnitError> {
    let s = text.trim();
    let num_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(s.len());
    let value: f64 = s[..num_len].parse().map_err(|_| {
        UnitError(format!(
            "invalid byte size `{text}`; expected e.g. \"64MB\""
        ))
    })?;
    let scale = match s[num_len..].trim() {
        "" | "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(UnitError(format!(
                "unknown byte unit `{other}` in `{text}` (expected B, kB, MB, GB, KiB, MiB or GiB)"
            )));
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes.abs() > MAX_BYTES {
        return Err(UnitError(format!(
            "byte size `{text}` is too large: at most 1000000000000000000 B (1 EB) either way"
        )));
    }
    Ok(bytes)
}

// Formatting lives with the reports, which format the same values for people.
pub use gauntlet_reports::units::{format_bytes, format_ns, format_number};

/// A [`Duration`] that deserializes from a string such as `"10s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct DurationSpec(pub Duration);

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"10s\" or \"250ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationSpec, E> {
                parse_duration(v).map(DurationSpec).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl Serialize for DurationSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", self.0.as_secs_f64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_k6_notation() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2us").unwrap(), Duration::from_micros(2));
        assert_eq!(parse_duration("2µs").unwrap(), Duration::from_micros(2));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
    }

    #[test]
    fn bad_durations_explain_themselves() {
        assert!(parse_duration("10").unwrap_err().0.contains("needs a unit"));
        assert!(
            parse_duration("10 parsecs")
                .unwrap_err()
                .0
                .contains("unknown")
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        let e = parse_duration("99999999999h").unwrap_err().0;
        assert!(e.contains("at most 1000000000s"), "{e}");
        let e = parse_duration(&format!("{}s", "9".repeat(400)))
            .unwrap_err()
            .0;
        assert!(e.len() < 600, "{e}");
        let e = parse_duration("1e300").unwrap_err().0;
        assert!(!e.contains("000000000000000000000"), "{e}");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("512").unwrap(), 512.0);
        assert_eq!(parse_bytes("64MB").unwrap(), 64e6);
        assert_eq!(parse_bytes("1KiB").unwrap(), 1024.0);
        assert_eq!(
            parse_bytes("1.5 GiB").unwrap(),
            1.5 * 1024.0 * 1024.0 * 1024.0
        );
        assert!(parse_bytes("12 parsecs").is_err());
        assert!(parse_bytes("MB").is_err());
        assert!(parse_bytes("1e400MB").unwrap_err().0.contains("at most"));
        assert!(parse_bytes("2000000PB").is_err());
        assert_eq!(parse_bytes("-5MB").unwrap(), -5e6);
    }
}
