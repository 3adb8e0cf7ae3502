//! A bounded, checked reader of HdrHistogram V2 DEFLATE payloads.
//!
//! A results file may come from anywhere (a CI artifact of a fork), so nothing its
//! histogram claims is trusted before it is checked against the bytes that are really
//! there and against fixed limits:
//!
//! - the compressed length in the outer header must not exceed the bytes that follow;
//! - the histogram's parameters (lowest and highest value, significant digits) must be
//!   possible, and the counts array they call for must hold at most
//!   [`MAX_COUNTERS`] counters, *before* any counter is allocated;
//! - the claimed payload length must fit that many counters, and is read as the
//!   DEFLATE stream delivers it (never pre-allocated);
//! - every count and zero-run must land inside the counts array and the total count
//!   must not overflow.
//!
//! Only a payload that passed every check is handed to `hdrhistogram`'s own
//! deserializer, which then cannot allocate more than the checks allowed. Work and
//! memory are linear in the size of the data, bounded by the limits above.

use std::io::Read;

use flate2::read::ZlibDecoder;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;

/// The most counters a histogram read from a file may have: 2^20 (8 MiB of `u64`),
/// some 40 times what `gauntlet run` writes (1 ns .. 60 s at 3 digits: 27,648).
pub const MAX_COUNTERS: u64 = 1 << 20;

/// Cookie of a DEFLATE-compressed V2 histogram (the outer header), without the
/// word-size nibble (`0xf0`) that writers set differently (Rust: `0x10`).
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9304;
/// Cookie of an uncompressed V2 histogram (inside the DEFLATE stream), likewise.
const V2_COOKIE: u32 = 0x1c84_9303;
/// The word-size nibble of a cookie, ignored as HdrHistogram's Java reader does.
const WORD_SIZE_BITS: u32 = 0xf0;
/// The uncompressed cookie `hdrhistogram`'s deserializer expects.
const V2_COOKIE_RUST: u32 = V2_COOKIE | 0x10;
/// Bytes of the uncompressed V2 header: cookie, payload length, normalizing offset,
/// significant digits, lowest, highest, integer-to-double ratio.
const V2_HEADER_LEN: usize = 40;
/// The longest LEB128 varint of the format.
const MAX_VARINT_LEN: u64 = 9;

/// Decodes the bytes of a base64-decoded `data` field, or says what is wrong with them
/// in words a person can act on.
pub(super) fn decode(bytes: &[u8]) -> Result<Histogram<u64>, String> {
    let (cookie, rest) = split_u32(bytes).ok_or_else(|| too_short(bytes.len()))?;
    if cookie & !WORD_SIZE_BITS != V2_COMPRESSED_COOKIE {
        return Err(format!(
            "starts with cookie {cookie:#010x}, not {V2_COMPRESSED_COOKIE:#010x} (HdrHistogram V2 with DEFLATE)"
        ));
    }
    let (claimed, compressed) = split_u32(rest).ok_or_else(|| too_short(bytes.len()))?;
    let claimed = claimed as usize;
    if claimed > compressed.len() {
        return Err(format!(
            "its header claims {claimed} compressed bytes but only {} follow",
            compressed.len()
        ));
    }
    let mut stream = ZlibDecoder::new(&compressed[..claimed]);
    let mut header = [0_u8; V2_HEADER_LEN];
    stream
        .read_exact(&mut header)
        .map_err(|e| inflate_error(&e, "the histogram header"))?;
    let header = Header::parse(&header)?;
    let counters = header.counters()?;
    let payload_limit = counters.saturating_mul(MAX_VARINT_LEN);
    if u64::from(header.payload_len) > payload_limit {
        return Err(format!(
            "its header claims {} bytes of counts, more than its {counters} counters can take ({payload_limit})",
            header.payload_len
        ));
    }
    let mut payload = Vec::new();
    stream
        .by_ref()
        .take(u64::from(header.payload_len))
        .read_to_end(&mut payload)
        .map_err(|e| inflate_error(&e, "the counts"))?;
    if payload.len() != header.payload_len as usize {
        return Err(format!(
            "its header claims {} bytes of counts but the stream holds {}",
            header.payload_len,
            payload.len()
        ));
    }
    check_counts(&payload, counters)?;
    let mut v2 = Vec::with_capacity(V2_HEADER_LEN + payload.len());
    v2.extend_from_slice(&V2_COOKIE_RUST.to_be_bytes());
    v2.extend_from_slice(&header.raw[4..]);
    v2.extend_from_slice(&payload);
    Deserializer::new()
        .deserialize(&mut v2.as_slice())
        .map_err(|e| format!("{e}"))
}

fn too_short(len: usize) -> String {
    format!("{len} bytes are too few for the 8-byte HdrHistogram header")
}

fn inflate_error(e: &std::io::Error, what: &str) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        format!("the DEFLATE stream ends inside {what}")
    } else {
        format!("the DEFLATE stream is corrupt ({e})")
    }
}

fn split_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*head), rest))
}

/// The uncompressed V2 header.
struct Header {
    raw: [u8; V2_HEADER_LEN],
    payload_len: u32,
    digits: u32,
    low: u64,
    high: u64,
}

impl Header {
    fn parse(raw: &[u8; V2_HEADER_LEN]) -> Result<Self, String> {
        let u32_at = |i: usize| u32::from_be_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0_u8; 8];
            b.copy_from_slice(&raw[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let cookie = u32_at(0);
        if cookie & !WORD_SIZE_BITS != V2_COOKIE {
            return Err(format!(
                "the inflated histogram starts with cookie {cookie:#010x}, not {V2_COOKIE:#010x}"
            ));
        }
        if u32_at(8) != 0 {
            return Err("uses a normalizing index offset, which is not supported".to_owned());
        }
        if f64::from_bits(u64_at(32)) != 1.0 {
            return Err(
                "is a floating-point histogram (integer-to-double ratio is not 1), which is not supported"
                    .to_owned(),
            );
        }
        Ok(Self {
            raw: *raw,
            payload_len: u32_at(4),
            digits: u32_at(12),
            low: u64_at(16),
            high: u64_at(24),
        })
    }

    /// The length of the counts array these parameters call for (the formula of
    /// `hdrhistogram`'s `new_with_bounds`), refused when impossible or over
    /// [`MAX_COUNTERS`].
    fn counters(&self) -> Result<u64, String> {
        let (low, high, digits) = (self.low, self.high, self.digits);
        let impossible = |why: &str| {
            format!(
                "has impossible parameters (lowest {low}, highest {high}, {digits} significant digits): {why}"
            )
        };
        if low < 1 {
            return Err(impossible("the lowest value must be at least 1"));
        }
        if low > u64::MAX / 2 || high < 2 * low {
            return Err(impossible(
                "the highest value must be at least twice the lowest",
            ));
        }
        if digits > 5 {
            return Err(impossible("at most 5 significant digits"));
        }
        let largest = 2 * 10_u64.pow(digits);
        let unit_magnitude = 63 - low.leading_zeros();
        // ceil(log2(largest)), largest >= 2
        let sub_bucket_magnitude = 64 - (largest - 1).leading_zeros();
        if unit_magnitude + sub_bucket_magnitude > 63 {
            return Err(impossible(
                "that many digits cannot be represented above that lowest value",
            ));
        }
        let sub_bucket_count = 1_u64 << sub_bucket_magnitude;
        let mut smallest_untrackable = sub_bucket_count << unit_magnitude;
        let mut buckets: u64 = 1;
        while smallest_untrackable <= high {
            if smallest_untrackable > u64::MAX / 2 {
                buckets += 1;
                break;
            }
            smallest_untrackable <<= 1;
            buckets += 1;
        }
        let counters = (buckets + 1) * (sub_bucket_count / 2);
        if counters > MAX_COUNTERS {
            return Err(format!(
                "needs {counters} counters (lowest {low}, highest {high}, {digits} significant digits); at most {MAX_COUNTERS} are read"
            ));
        }
        Ok(counters)
    }
}

/// Walks the zig-zag LEB128 counts exactly as the V2 format defines them: every
/// varint complete, every count and zero-run inside `counters`, no total overflow.
fn check_counts(payload: &[u8], counters: u64) -> Result<(), String> {
    let mut at = 0_usize;
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    while at < payload.len() {
        let (raw, used) = varint(&payload[at..]).ok_or_else(|| {
            format!(
                "the counts end inside a number (byte {at} of {})",
                payload.len()
            )
        })?;
        at += used;
        let value = ((raw >> 1) as i64) ^ -((raw & 1) as i64);
        if value < 0 {
            index = index
                .checked_add(value.unsigned_abs())
                .filter(|i| *i <= counters)
                .ok_or_else(|| {
                    format!("a run of zero counts goes past the histogram's {counters} counters")
                })?;
        } else {
            if value > 0 {
                if index >= counters {
                    return Err(format!(
                        "a count lies past the histogram's {counters} counters"
                    ));
                }
                total = total
                    .checked_add(value.unsigned_abs())
                    .ok_or_else(|| "the total count overflows a 64-bit integer".to_owned())?;
            }
            index += 1;
        }
    }
    Ok(())
}

/// One LEB128 varint of the V2 format (at most 9 bytes; the 9th carries 8 bits).
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0_u64;
    for (i, b) in bytes.iter().take(MAX_VARINT_LEN as usize).enumerate() {
        if i == 8 {
            return Some((value | (u64::from(*b) << 56), 9));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_read_as_the_format_writes_them() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x80, 0x01]), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x80, 0x80]), None);
        assert_eq!(varint(&[]), None);
    }

    #[test]
    fn counts_outside_the_array_are_refused() {
        // zig-zag: 2 -> +1, 1 -> -1, 3 -> -2
        assert!(check_counts(&[2, 2, 2], 3).is_ok());
        assert!(check_counts(&[2, 2, 2, 2], 3).is_err());
        assert!(check_counts(&[3, 3], 3).is_err());
        // i64::MIN as a zero run
        assert!(check_counts(&[0xff; 9], 3).is_err());
    }

    #[test]
    fn the_counter_formula_matches_hdrhistogram() {
        for (low, high, digits) in [
            (1, 60_000_000_000, 3),
            (1, 2, 0),
            (1000, u64::MAX, 2),
            (1, 1 << 30, 4),
            (3, 1_000_000, 1),
        ] {
            let h = Histogram::<u64>::new_with_bounds(low, high, digits as u8).unwrap();
            let header = Header {
                raw: [0; V2_HEADER_LEN],
                payload_len: 0,
                digits,
                low,
                high,
            };
            assert_eq!(
                header.counters().unwrap(),
                h.distinct_values() as u64,
                "{low} {high} {digits}"
            );
        }
    }
}
