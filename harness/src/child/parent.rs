//! The harness's side: a [`Target`] that forwards to a target child process.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gauntlet_reports::schema::{MessageAccounting, TargetSample};
use tokio::sync::{mpsc, oneshot};

use super::wire::{self, FromChild, ToChild};
use crate::target::{BuildError, OpError, OpId, ShutdownOutcome, Target, TargetEvent};
use crate::workload::{Checkpoint, InvariantCheck};

/// The environment variable naming the program to start as the target child, instead
/// of the running executable (for tests and for binaries that are not `gauntlet`).
pub const PROGRAM_ENV: &str = "GAUNTLET_TARGET_PROGRAM";

/// Events kept between two reads at most; beyond, they are counted as missed.
const MAX_EVENTS: usize = 10_000;

enum Reply {
    Done(u8),
    Checked(Vec<(String, Option<String>)>),
}

#[derive(Default)]
struct Shared {
    alive: AtomicBool,
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    sample: Mutex<TargetSample>,
    events: Mutex<Vec<TargetEvent>>,
    stall_detail: Mutex<String>,
    stopped: Mutex<Option<(ShutdownOutcome, MessageAccounting)>>,
    stopped_signal: tokio::sync::Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The child is gone: every op waiting on it fails now.
    fn gone(&self) {
        self.alive.store(false, Ordering::Release);
        lock(&self.pending).clear();
        self.stopped_signal.notify_waiters();
    }
}

/// A target running in a child process, driven over its stdin and stdout.
pub struct ChildTarget {
    shared: Arc<Shared>,
    to_child: mpsc::UnboundedSender<ToChild>,
    pid: Option<u32>,
}

impl ChildTarget {
    /// Starts the child (see [`PROGRAM_ENV`]), sends it the scenario and waits until it
    /// has built its target. Must run on a runtime with I/O and time enabled.
    pub async fn start(text: Arc<str>, file: String, seed: u64) -> Result<Self, BuildError> {
        let program = match std::env::var_os(PROGRAM_ENV) {
            Some(p) => PathBuf::from(p),
            None => std::env::current_exe()
                .map_err(|e| BuildError(format!("cannot find the gauntlet executable: {e}")))?,
        };
        let mut child = tokio::process::Command::new(&program)
            .arg("__target")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                BuildError(format!(
                    "cannot start the target process {}: {e}",
                    program.display()
                ))
            })?;
        let pid = child.id();
        let (Some(stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(BuildError("the target process has no pipes".to_owned()));
        };
        let (to_child, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let _ = wire::write_all(stdin, rx, |m| matches!(m, ToChild::Shutdown { .. })).await;
        });
        let _ = to_child.send(ToChild::Init {
            text: text.to_string(),
            file,
            seed,
        });
        let mut buf = Vec::new();
        match wire::read::<_, FromChild>(&mut stdout, &mut buf).await {
            Ok(Some(FromChild::Ready)) => {}
            Ok(Some(FromChild::BuildFailed { message })) => {
                return Err(BuildError(format!("in the target process: {message}")));
            }
            Ok(Some(other)) => {
                return Err(BuildError(format!(
                    "the target process answered {other:?} before Ready"
                )));
            }
            Ok(None) => {
                return Err(BuildError(
                    "the target process exited before it was ready".to_owned(),
                ));
            }
            Err(e) => return Err(BuildError(e.to_string())),
        }
        let shared = Arc::new(Shared::default());
        shared.alive.store(true, Ordering::Release);
        let reader = shared.clone();
        tokio::spawn(async move {
            loop {
                match wire::read::<_, FromChild>(&mut stdout, &mut buf).await {
                    Ok(Some(frame)) => reader.absorb(frame),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(%e, "reading from the target process");
                        break;
                    }
                }
            }
            reader.gone();
            // Reap it: the child has closed its stdout, so it is exiting or dead.
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            if lock(&reader.stopped).is_none() {
                let _ = child.start_kill();
            }
        });
        Ok(Self {
            shared,
            to_child,
            pid,
        })
    }

    /// The child's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether the child is alive and connected.
    pub fn alive(&self) -> bool {
        self.shared.alive.load(Ordering::Acquire)
    }

    fn request(&self, make: impl FnOnce(u64) -> ToChild) -> Option<oneshot::Receiver<Reply>> {
        if !self.alive() {
            return None;
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(id, tx);
        // The reader may have cleared `pending` between the check and the insert.
        if !self.alive() || self.to_child.send(make(id)).is_err() {
            lock(&self.shared.pending).remove(&id);
            return None;
        }
        Some(rx)
    }
}

impl Shared {
    fn absorb(&self, frame: FromChild) {
        match frame {
            FromChild::Done { id, result } => {
                if let Some(tx) = lock(&self.pending).remove(&id) {
                    let _ = tx.send(Reply::Done(result));
                }
            }
            FromChild::Checked { id, checks } => {
                if let Some(tx) = lock(&self.pending).remove(&id) {
                    let _ = tx.send(Reply::Checked(checks));
                }
            }
            FromChild::Status {
                sample,
                events,
                stall_detail,
            } => {
                *lock(&self.sample) = sample;
                *lock(&self.stall_detail) = stall_detail;
                let mut kept = lock(&self.events);
                let room = MAX_EVENTS.saturating_sub(kept.len());
                let missed = events.len().saturating_sub(room) as u64;
                kept.extend(events.into_iter().take(room).map(Into::into));
                if missed > 0 {
                    kept.push(TargetEvent::Missed { count: missed });
                }
            }
            FromChild::Stopped {
                clean,
                detail,
                messages,
            } => {
                *lock(&self.stopped) = Some((ShutdownOutcome { clean, detail }, messages));
                self.stopped_signal.notify_waiters();
            }
            FromChild::Ready | FromChild::BuildFailed { .. } => {}
        }
    }
}

impl Target for ChildTarget {
    async fn call(&self, op: OpId, seq: u64) -> Result<(), OpError> {
        let rx = self
            .request(|id| ToChild::Call {
                id,
                op: op.0 as u32,
                seq,
            })
            .ok_or(OpError::Unavailable)?;
        match rx.await {
            Ok(Reply::Done(code)) => wire::decode_result(code),
            Ok(Reply::Checked(_)) => Err(OpError::Failed),
            Err(_) => Err(OpError::Unavailable),
        }
    }

    fn sample(&self) -> TargetSample {
        *lock(&self.shared.sample)
    }

    fn stall_detail(&self) -> String {
        lock(&self.shared.stall_detail).clone()
    }

    fn events(&self) -> Vec<TargetEvent> {
        std::mem::take(&mut *lock(&self.shared.events))
    }

    fn check_invariants(&self, at: Checkpoint) -> impl Future<Output = Vec<InvariantCheck>> + Send {
        let rx = self.request(|id| ToChild::Check {
            id,
            end: at == Checkpoint::End,
        });
        async move {
            let Some(rx) = rx else { return Vec::new() };
            match rx.await {
                Ok(Reply::Checked(checks)) => checks
                    .into_iter()
                    .map(|(name, violation)| InvariantCheck { name, violation })
                    .collect(),
                _ => Vec::new(),
            }
        }
    }

    fn shutdown(&self, timeout: Duration) -> impl Future<Output = ShutdownOutcome> + Send {
        let shared = self.shared.clone();
        let sent = self.alive()
            && self
                .to_child
                .send(ToChild::Shutdown {
                    timeout_ms: timeout.as_millis() as u64,
                })
                .is_ok();
        async move {
            if !sent {
                return ShutdownOutcome {
                    clean: false,
                    detail: "the target process was not running".to_owned(),
                };
            }
            let wait = async {
                loop {
                    let notified = shared.stopped_signal.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    if let Some((o, _)) = lock(&shared.stopped).as_ref() {
                        return o.clone();
                    }
                    if !shared.alive.load(Ordering::Acquire) {
                        return ShutdownOutcome {
                            clean: false,
                            detail: "the target process exited without reporting its shutdown"
                                .to_owned(),
                        };
                    }
                    notified.await;
                }
            };
            match tokio::time::timeout(timeout + Duration::from_millis(500), wait).await {
                Ok(o) => o,
                Err(_) => ShutdownOutcome {
                    clean: false,
                    detail: "the target process did not report its shutdown in time".to_owned(),
                },
            }
        }
    }

    fn messages(&self) -> MessageAccounting {
        lock(&self.shared.stopped)
            .as_ref()
            .map(|(_, m)| *m)
            .unwrap_or_default()
    }
}
