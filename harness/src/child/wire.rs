//! The frames exchanged with a target child process over its stdin and stdout.
//!
//! Each frame is a little-endian `u32` length followed by that many bytes of JSON.
//! A frame longer than [`MAX_FRAME`] is refused (a corrupt or hostile stream cannot
//! make either side allocate without bound).

use std::time::Duration;

use gauntlet_reports::schema::{MessageAccounting, TargetSample};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::durability::{Ack, Stored};
use crate::target::{OpError, TargetEvent};

/// The largest frame accepted: the scenario text (at most 64 MiB) plus room.
pub const MAX_FRAME: u32 = 80 << 20;

/// Harness -> child.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToChild {
    /// The first frame: the scenario to build the target from.
    Init {
        /// The scenario file's text.
        text: String,
        /// Its name, for messages.
        file: String,
        /// The run's seed.
        seed: u64,
        /// The run's state directory ([`crate::workload::BuildContext::state_dir`]),
        /// the same for every incarnation.
        #[serde(default)]
        state_dir: Option<std::path::PathBuf>,
    },
    /// Run one op.
    Call {
        /// Matches the [`FromChild::Done`] reply.
        id: u64,
        /// Index into the workload's ops.
        op: u32,
        /// The op's sequence number in its load.
        seq: u64,
    },
    /// Check invariants (`end`: at the end, otherwise at a tick).
    Check {
        /// Matches the [`FromChild::Checked`] reply.
        id: u64,
        /// `Checkpoint::End` when true.
        end: bool,
    },
    /// Read keys back through the target (the durability checker).
    ReadBack {
        /// Matches the [`FromChild::ReadBack`] reply.
        id: u64,
        /// The keys, as the target's acknowledgements named them.
        keys: Vec<String>,
    },
    /// Shut the target down gracefully, reply [`FromChild::Stopped`], exit.
    Shutdown {
        /// The budget, in milliseconds.
        timeout_ms: u64,
    },
}

/// Child -> harness.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FromChild {
    /// The target is built and takes ops.
    Ready,
    /// The target could not be built (or the scenario not parsed); the child exits.
    BuildFailed {
        /// Why.
        message: String,
    },
    /// An op finished.
    Done {
        /// The [`ToChild::Call`] id.
        id: u64,
        /// Its outcome, [`encode_result`]'s code.
        result: u8,
        /// The writes it acknowledged (the durability checker; empty unless the
        /// scenario restarts the target's process).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        acks: Vec<Ack>,
    },
    /// The keys of a [`ToChild::ReadBack`], as found.
    ReadBack {
        /// The [`ToChild::ReadBack`] id.
        id: u64,
        /// One entry per key, `None` where it could not be read.
        stored: Vec<Option<Stored>>,
    },
    /// Pushed periodically: the target's statistics and events since the last one.
    Status {
        /// `Target::sample`.
        sample: TargetSample,
        /// `Target::events` (the actor system's deadlocks and stalls included).
        events: Vec<WireEvent>,
        /// `Target::stall_detail`.
        stall_detail: String,
    },
    /// Invariant checks done.
    Checked {
        /// The [`ToChild::Check`] id.
        id: u64,
        /// (name, violation) per check.
        checks: Vec<(String, Option<String>)>,
    },
    /// The target shut down; the child exits next.
    Stopped {
        /// Whether it stopped cleanly.
        clean: bool,
        /// The shutdown's description.
        detail: String,
        /// Message accounting after shutdown.
        messages: MessageAccounting,
    },
}

/// A [`TargetEvent`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireEvent {
    /// See [`TargetEvent::Deadlock`].
    Deadlock {
        /// The cycle.
        cycle: Vec<String>,
    },
    /// See [`TargetEvent::Stall`].
    Stall {
        /// The busy actor.
        actor: String,
        /// Busy for, in microseconds.
        busy_for_us: u64,
        /// Waiting on.
        waiting_on: Option<String>,
    },
    /// See [`TargetEvent::Missed`].
    Missed {
        /// How many.
        count: u64,
    },
}

impl From<TargetEvent> for WireEvent {
    fn from(e: TargetEvent) -> Self {
        match e {
            TargetEvent::Deadlock { cycle } => WireEvent::Deadlock { cycle },
            TargetEvent::Stall {
                actor,
                busy_for,
                waiting_on,
            } => WireEvent::Stall {
                actor,
                busy_for_us: busy_for.as_micros() as u64,
                waiting_on,
            },
            TargetEvent::Missed { count } => WireEvent::Missed { count },
        }
    }
}

impl From<WireEvent> for TargetEvent {
    fn from(e: WireEvent) -> Self {
        match e {
            WireEvent::Deadlock { cycle } => TargetEvent::Deadlock { cycle },
            WireEvent::Stall {
                actor,
                busy_for_us,
                waiting_on,
            } => TargetEvent::Stall {
                actor,
                busy_for: Duration::from_micros(busy_for_us),
                waiting_on,
            },
            WireEvent::Missed { count } => TargetEvent::Missed { count },
        }
    }
}

/// An op's outcome as one byte.
pub fn encode_result(r: Result<(), OpError>) -> u8 {
    match r {
        Ok(()) => 0,
        Err(OpError::Rejected) => 1,
        Err(OpError::Timeout) => 2,
        Err(OpError::Failed) => 3,
        Err(OpError::Unavailable) => 4,
    }
}

/// The inverse of [`encode_result`]; an unknown code is a failure.
pub fn decode_result(code: u8) -> Result<(), OpError> {
    match code {
        0 => Ok(()),
        1 => Err(OpError::Rejected),
        2 => Err(OpError::Timeout),
        4 => Err(OpError::Unavailable),
        _ => Err(OpError::Failed),
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream failed or ended.
    #[error("channel to the target process: {0}")]
    Io(#[from] std::io::Error),
    /// A frame over [`MAX_FRAME`].
    #[error("a frame of {0} bytes is over the limit of {MAX_FRAME}")]
    TooLong(u32),
    /// A frame that is not a valid message.
    #[error("a malformed frame: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// Reads one frame; `Ok(None)` at a clean end of stream (between frames).
pub async fn read<R: AsyncRead + Unpin, M: DeserializeOwned>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> Result<Option<M>, FrameError> {
    let len = match r.read_u32_le().await {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if len > MAX_FRAME {
        return Err(FrameError::TooLong(len));
    }
    buf.resize(len as usize, 0);
    r.read_exact(buf).await?;
    Ok(Some(serde_json::from_slice(buf)?))
}

/// Appends one frame to `out` (written and flushed by the caller).
pub fn encode<M: Serialize>(m: &M, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut *out, m)?;
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Writes every message `rx` yields, batching what is queued into one write and
/// flush, until `rx` closes or the stream fails.
pub async fn write_all<W: AsyncWrite + Unpin, M: Serialize>(
    mut w: W,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<M>,
    stop_after: impl Fn(&M) -> bool,
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(4096);
    while let Some(m) = rx.recv().await {
        out.clear();
        let mut last = stop_after(&m);
        encode(&m, &mut out).map_err(std::io::Error::other)?;
        while !last {
            let Ok(m) = rx.try_recv() else { break };
            last = stop_after(&m);
            encode(&m, &mut out).map_err(std::io::Error::other)?;
        }
        w.write_all(&out).await?;
        w.flush().await?;
        if last {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_oversized_ones_are_refused() {
        let mut out = Vec::new();
        encode(
            &ToChild::Call {
                id: 7,
                op: 1,
                seq: 9,
            },
            &mut out,
        )
        .unwrap();
        encode(&ToChild::Shutdown { timeout_ms: 5 }, &mut out).unwrap();
        let mut r = &out[..];
        let mut buf = Vec::new();
        let a: ToChild = read(&mut r, &mut buf).await.unwrap().unwrap();
        assert!(matches!(
            a,
            ToChild::Call {
                id: 7,
                op: 1,
                seq: 9
            }
        ));
        let b: ToChild = read(&mut r, &mut buf).await.unwrap().unwrap();
        assert!(matches!(b, ToChild::Shutdown { timeout_ms: 5 }));
        assert!(
            read::<_, ToChild>(&mut r, &mut buf)
                .await
                .unwrap()
                .is_none()
        );

        let huge = (MAX_FRAME + 1).to_le_bytes();
        let err = read::<_, ToChild>(&mut &huge[..], &mut buf)
            .await
            .unwrap_err();
        assert!(matches!(err, FrameError::TooLong(_)), "{err}");
        let garbage = [3u8, 0, 0, 0, b'{', b'x', b'}'];
        let err = read::<_, ToChild>(&mut &garbage[..], &mut buf)
            .await
            .unwrap_err();
        assert!(matches!(err, FrameError::Malformed(_)), "{err}");
    }

    #[test]
    fn every_result_survives_the_wire() {
        for r in [
            Ok(()),
            Err(OpError::Rejected),
            Err(OpError::Timeout),
            Err(OpError::Failed),
            Err(OpError::Unavailable),
        ] {
            assert_eq!(decode_result(encode_result(r)), r);
        }
    }
}
