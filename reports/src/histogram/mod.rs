//! The portable encoding of a latency histogram inside `results.json`.
//!
//! Histograms are serialized with HdrHistogram's V2 format compressed with DEFLATE and
//! then base64-encoded (standard alphabet, with padding). That is the format every
//! HdrHistogram implementation (Java, C, Go, Python's `hdrhistogram`) reads with its
//! `decode` function, so a results file can be re-analysed with any of them.
//!
//! Reading is bounded and checked ([`checked`]): a histogram from a file of unknown
//! origin cannot make the reader allocate more than its limits allow, however large
//! its header says it is, and a corrupt one is an error that says what is wrong.

pub mod checked;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// The only encoding this crate writes: HdrHistogram V2, DEFLATE, base64.
pub const ENCODING: &str = "hdr-v2-deflate-base64";

/// A histogram as stored in a results file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodedHistogram {
    /// How `data` is encoded; always [`ENCODING`] in this schema version.
    pub encoding: String,
    /// The unit of every recorded value (`"ns"` for latencies).
    pub unit: String,
    /// The encoded histogram.
    pub data: String,
}

/// Why a histogram could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum HistogramCodecError {
    /// The histogram could not be serialized.
    #[error("cannot serialize histogram: {0}")]
    Serialize(String),
    /// The `encoding` field names an encoding this crate does not read.
    #[error("unsupported histogram encoding `{0}` (expected `{ENCODING}`)")]
    UnsupportedEncoding(String),
    /// The `data` field is not valid base64.
    #[error("histogram data is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The decoded bytes are not a valid V2 histogram, or exceed the reader's limits
    /// (the message says which).
    #[error("histogram data is not a valid HdrHistogram V2 payload: {0}")]
    Deserialize(String),
}

impl EncodedHistogram {
    /// Encodes `histogram`, whose values are in `unit`.
    pub fn encode(histogram: &Histogram<u64>, unit: &str) -> Result<Self, HistogramCodecError> {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(histogram, &mut bytes)
            .map_err(|e| HistogramCodecError::Serialize(e.to_string()))?;
        Ok(Self {
            encoding: ENCODING.to_owned(),
            unit: unit.to_owned(),
            data: STANDARD.encode(bytes),
        })
    }

    /// Decodes the histogram.
    pub fn decode(&self) -> Result<Histogram<u64>, HistogramCodecError> {
        if self.encoding != ENCODING {
            return Err(HistogramCodecError::UnsupportedEncoding(
                self.encoding.clone(),
            ));
        }
        let bytes = STANDARD.decode(self.data.as_bytes())?;
        checked::decode(&bytes).map_err(HistogramCodecError::Deserialize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_count() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for v in [1_u64, 10, 1_000, 250_000, 5_000_000, 59_000_000_000] {
            h.record(v).unwrap();
        }
        let enc = EncodedHistogram::encode(&h, "ns").unwrap();
        assert_eq!(enc.encoding, ENCODING);
        let back = enc.decode().unwrap();
        assert_eq!(back.len(), h.len());
        assert_eq!(back.value_at_quantile(0.99), h.value_at_quantile(0.99));
        assert_eq!(back.max(), h.max());
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        let mut enc = EncodedHistogram {
            encoding: ENCODING.into(),
            unit: "ns".into(),
            data: "not base64!".into(),
        };
        assert!(matches!(enc.decode(), Err(HistogramCodecError::Base64(_))));
        enc.data = STANDARD.encode(b"garbage bytes");
        assert!(matches!(
            enc.decode(),
            Err(HistogramCodecError::Deserialize(_))
        ));
        enc.encoding = "json".into();
        assert!(matches!(
            enc.decode(),
            Err(HistogramCodecError::UnsupportedEncoding(_))
        ));
    }
}
