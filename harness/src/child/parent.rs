//! The harness's side: a [`Target`] that forwards to a target child process, and the
//! [`ProcessControl`] that process faults use to kill, pause and restart it.
//!
//! The child may be replaced during the run (`kill-process`, `restart-process`): each
//! start is an *incarnation*. Ops go to the current incarnation; while there is none
//! (killed, stopping, restarting) they fail at once with [`OpError::Unavailable`].
//! A restarted child parses the same scenario and builds the target anew from it, on
//! the run's state directory: state survives a restart where the workload reopens
//! what it keeps there.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use gauntlet_reports::schema::{IncarnationEnd, MessageAccounting, TargetSample};
use tokio::sync::{mpsc, oneshot};

use super::wire::{self, FromChild, ToChild};
use crate::durability::{Ledger, Stored};
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
    ReadBack(Vec<Option<Stored>>),
}

/// How long a read-back of the durability checker may take.
const READ_BACK_TIMEOUT: Duration = Duration::from_secs(30);

/// The current incarnation and the requests waiting on it.
#[derive(Default)]
struct Link {
    /// Bumped at every start and every kill: a reader of an older incarnation that
    /// sees its child go does not touch a newer one.
    epoch: u64,
    to_child: Option<mpsc::UnboundedSender<ToChild>>,
    pid: Option<u32>,
    pending: HashMap<u64, oneshot::Sender<Reply>>,
}

impl Link {
    /// The incarnation is gone: nothing is sent to it and every request waiting on it
    /// fails now.
    fn drop_incarnation(&mut self) {
        self.to_child = None;
        self.pid = None;
        self.pending.clear();
    }
}

struct Shared {
    program: PathBuf,
    text: Arc<str>,
    file: String,
    seed: u64,
    /// The run's state directory, handed to every incarnation.
    state_dir: PathBuf,
    /// The runtime the pipes' tasks run on (the target runtime).
    handle: tokio::runtime::Handle,
    link: Mutex<Link>,
    next_id: AtomicU64,
    unavailable: AtomicU64,
    sample: Mutex<TargetSample>,
    events: Mutex<Vec<TargetEvent>>,
    stall_detail: Mutex<String>,
    stopped: Mutex<Option<(ShutdownOutcome, MessageAccounting)>>,
    stopped_signal: tokio::sync::Notify,
    /// Whether the durability checker runs ([`ChildTarget::check_durability`]).
    durability: std::sync::atomic::AtomicBool,
    /// What the target acknowledged and what read-backs found. Locked after `link`
    /// where both are held.
    ledger: Mutex<Ledger>,
    /// The child's own figures, per tick.
    probe: Mutex<super::probe::ChildProbe>,
    /// Numbers the incarnations, from 0.
    next_incarnation: AtomicU64,
    /// Each incarnation's message accounting. Locked after `link` where both are held.
    accounts: Mutex<super::accounts::Accounts>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A target running in a child process, driven over its stdin and stdout.
pub struct ChildTarget {
    shared: Arc<Shared>,
}

impl ChildTarget {
    /// Starts the child (see [`PROGRAM_ENV`]), sends it the scenario and waits until it
    /// has built its target. Must run on a runtime with I/O and time enabled: the
    /// pipes are served there for the whole run.
    /// `state_dir` is the run's state directory ([`crate::workload::BuildContext::state_dir`]):
    /// every incarnation builds its target on it.
    pub async fn start(
        text: Arc<str>,
        file: String,
        seed: u64,
        state_dir: PathBuf,
    ) -> Result<Self, BuildError> {
        let program = match std::env::var_os(PROGRAM_ENV) {
            Some(p) => PathBuf::from(p),
            None => std::env::current_exe()
                .map_err(|e| BuildError(format!("cannot find the gauntlet executable: {e}")))?,
        };
        Self::start_program(program, text, file, seed, state_dir).await
    }

    /// As [`ChildTarget::start`], with `program` as the child (a binary whose `main`
    /// is [`crate::cli::main_with`], so that it knows `__target`).
    pub async fn start_program(
        program: PathBuf,
        text: Arc<str>,
        file: String,
        seed: u64,
        state_dir: PathBuf,
    ) -> Result<Self, BuildError> {
        let shared = Arc::new(Shared {
            program,
            text,
            file,
            seed,
            state_dir,
            handle: tokio::runtime::Handle::current(),
            link: Mutex::new(Link::default()),
            next_id: AtomicU64::new(0),
            unavailable: AtomicU64::new(0),
            sample: Mutex::new(TargetSample::default()),
            events: Mutex::new(Vec::new()),
            stall_detail: Mutex::new(String::new()),
            stopped: Mutex::new(None),
            stopped_signal: tokio::sync::Notify::new(),
            durability: std::sync::atomic::AtomicBool::new(false),
            ledger: Mutex::new(Ledger::new()),
            probe: Mutex::new(super::probe::ChildProbe::new()),
            next_incarnation: AtomicU64::new(0),
            accounts: Mutex::new(super::accounts::Accounts::default()),
        });
        start_incarnation(shared.clone()).await?;
        Ok(Self { shared })
    }

    /// Runs the durability checker ([`crate::durability`]): the acknowledgements that
    /// come back with ops are recorded, read back after every restart (before the new
    /// child takes an op) and at the end, and judged as the invariants
    /// `durability.lost_acknowledged` and `durability.write_behind_bounded`.
    pub fn check_durability(self, on: bool) -> Self {
        self.shared.durability.store(on, Ordering::Relaxed);
        self
    }

    /// The current child's process id, if one is running.
    pub fn pid(&self) -> Option<u32> {
        lock(&self.shared.link).pid
    }

    /// The handle process faults act through.
    pub fn control(&self) -> ProcessControl {
        ProcessControl {
            shared: self.shared.clone(),
        }
    }

    fn request(&self, make: impl FnOnce(u64) -> ToChild) -> Option<oneshot::Receiver<Reply>> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let mut link = lock(&self.shared.link);
        let to_child = link.to_child.as_ref()?;
        if to_child.send(make(id)).is_err() {
            return None;
        }
        link.pending.insert(id, tx);
        Some(rx)
    }
}

async fn start_incarnation(shared: Arc<Shared>) -> Result<(), BuildError> {
    let program = &shared.program;
    let mut child = tokio::process::Command::new(program)
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
        text: shared.text.to_string(),
        file: shared.file.clone(),
        seed: shared.seed,
        state_dir: Some(shared.state_dir.clone()),
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
    // Its samples follow Ready on the same pipe.
    let incarnation = shared.next_incarnation.fetch_add(1, Ordering::Relaxed);
    lock(&shared.accounts).started(incarnation);
    let restarted = lock(&shared.link).epoch > 0;
    if restarted && shared.durability.load(Ordering::Relaxed) {
        read_back_before_ops(&shared, incarnation, &to_child, &mut stdout, &mut buf).await?;
    }
    let epoch = {
        let mut link = lock(&shared.link);
        link.epoch += 1;
        link.to_child = Some(to_child);
        link.pid = pid;
        link.epoch
    };
    *lock(&shared.stopped) = None;
    tokio::spawn(async move {
        loop {
            match wire::read::<_, FromChild>(&mut stdout, &mut buf).await {
                Ok(Some(frame)) => shared.absorb(incarnation, frame),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%e, "reading from the target process");
                    break;
                }
            }
        }
        {
            let mut link = lock(&shared.link);
            if link.epoch == epoch {
                link.drop_incarnation();
            }
        }
        shared.stopped_signal.notify_waiters();
        // Reap it: it closed its stdout, so it is exiting or dead.
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.start_kill();
        }
    });
    Ok(())
}

/// The durability checker's read-back after a restart: the new child has built its
/// target on the reopened state and takes no op until this is done.
async fn read_back_before_ops(
    shared: &Shared,
    incarnation: u64,
    to_child: &mpsc::UnboundedSender<ToChild>,
    stdout: &mut tokio::process::ChildStdout,
    buf: &mut Vec<u8>,
) -> Result<(), BuildError> {
    let keys = lock(&shared.ledger).keys(true);
    if keys.is_empty() {
        lock(&shared.ledger).absorb_nothing(true);
        return Ok(());
    }
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let failed = |why: String| BuildError(format!("reading back acknowledged writes: {why}"));
    to_child
        .send(ToChild::ReadBack {
            id,
            keys: keys.clone(),
        })
        .map_err(|_| failed("the target process is gone".to_owned()))?;
    let wait = async {
        loop {
            match wire::read::<_, FromChild>(stdout, buf).await {
                Ok(Some(FromChild::ReadBack { id: got, stored })) if got == id => {
                    return Ok(stored);
                }
                Ok(Some(other)) => shared.absorb(incarnation, other),
                Ok(None) => return Err(failed("the target process exited".to_owned())),
                Err(e) => return Err(failed(e.to_string())),
            }
        }
    };
    let stored = tokio::time::timeout(READ_BACK_TIMEOUT, wait)
        .await
        .map_err(|_| failed(format!("no answer within {}s", READ_BACK_TIMEOUT.as_secs())))??;
    lock(&shared.ledger).absorb(&keys, stored, true);
    Ok(())
}

impl Shared {
    /// A frame from incarnation `incarnation`.
    fn absorb(&self, incarnation: u64, frame: FromChild) {
        match frame {
            FromChild::Done { id, result, acks } => {
                let mut link = lock(&self.link);
                if let Some(tx) = link.pending.remove(&id) {
                    // Recorded before the op's caller hears of it, and under the link
                    // lock: a kill (which takes it) never comes between the two.
                    if result == 0 && !acks.is_empty() {
                        lock(&self.ledger).record(acks);
                    }
                    let _ = tx.send(Reply::Done(result));
                }
            }
            FromChild::ReadBack { id, stored } => {
                if let Some(tx) = lock(&self.link).pending.remove(&id) {
                    let _ = tx.send(Reply::ReadBack(stored));
                }
            }
            FromChild::Checked { id, checks } => {
                if let Some(tx) = lock(&self.link).pending.remove(&id) {
                    let _ = tx.send(Reply::Checked(checks));
                }
            }
            FromChild::Status {
                sample,
                events,
                stall_detail,
            } => {
                lock(&self.accounts).sampled(incarnation, &sample);
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

    /// The current incarnation ended `how`: its accounting is kept, exact when it
    /// reported its shutdown.
    fn incarnation_ended(&self, how: IncarnationEnd) {
        let exact = match how {
            IncarnationEnd::Killed => None,
            _ => lock(&self.stopped).as_ref().map(|(_, m)| m.clone()),
        };
        lock(&self.accounts).ended(how, exact);
    }

    /// Asks the current incarnation to shut down gracefully and waits for its report.
    async fn stop(&self, timeout: Duration) -> ShutdownOutcome {
        let sent = lock(&self.link).to_child.as_ref().is_some_and(|tx| {
            tx.send(ToChild::Shutdown {
                timeout_ms: timeout.as_millis() as u64,
            })
            .is_ok()
        });
        if !sent {
            return ShutdownOutcome {
                clean: false,
                detail: "the target process was not running".to_owned(),
            };
        }
        let wait = async {
            loop {
                let notified = self.stopped_signal.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some((o, _)) = lock(&self.stopped).as_ref() {
                    return o.clone();
                }
                if lock(&self.link).to_child.is_none() {
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

impl Target for ChildTarget {
    async fn call(&self, op: OpId, seq: u64) -> Result<(), OpError> {
        let rx = self.request(|id| ToChild::Call {
            id,
            op: op.0 as u32,
            seq,
        });
        let result = match rx {
            None => Err(OpError::Unavailable),
            Some(rx) => match rx.await {
                Ok(Reply::Done(code)) => wire::decode_result(code),
                Ok(Reply::Checked(_) | Reply::ReadBack(_)) => Err(OpError::Failed),
                Err(_) => Err(OpError::Unavailable),
            },
        };
        if result == Err(OpError::Unavailable) {
            self.shared.unavailable.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn sample(&self) -> TargetSample {
        let mut sample = *lock(&self.shared.sample);
        let pid = lock(&self.shared.link).pid;
        let figures = lock(&self.shared.probe).sample(pid);
        sample.process_rss_bytes = figures.rss_bytes;
        sample.process_threads = figures.threads;
        sample.process_cpu_percent = figures.cpu_percent;
        sample
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
        // The durability checker's read-back at the end: durable writes only (the live
        // target still holds what it wrote behind).
        let durability = at == Checkpoint::End && self.shared.durability.load(Ordering::Relaxed);
        let keys = if durability {
            lock(&self.shared.ledger).keys(false)
        } else {
            Vec::new()
        };
        let read_back = (!keys.is_empty()).then(|| {
            let keys = keys.clone();
            self.request(|id| ToChild::ReadBack { id, keys })
        });
        let shared = self.shared.clone();
        async move {
            let mut checks: Vec<InvariantCheck> = match rx {
                Some(rx) => match rx.await {
                    Ok(Reply::Checked(checks)) => checks
                        .into_iter()
                        .map(|(name, violation)| InvariantCheck { name, violation })
                        .collect(),
                    _ => Vec::new(),
                },
                None => Vec::new(),
            };
            if durability {
                let stored = match read_back.flatten() {
                    Some(rx) => match rx.await {
                        Ok(Reply::ReadBack(stored)) => stored,
                        // Not read: every key counts as unreadable.
                        _ => Vec::new(),
                    },
                    None => Vec::new(),
                };
                let mut ledger = lock(&shared.ledger);
                ledger.absorb(&keys, stored, false);
                checks.extend(ledger.checks());
            }
            checks
        }
    }

    fn durability(&self) -> Option<gauntlet_reports::schema::Durability> {
        self.shared
            .durability
            .load(Ordering::Relaxed)
            .then(|| lock(&self.shared.ledger).summary())
    }

    fn shutdown(&self, timeout: Duration) -> impl Future<Output = ShutdownOutcome> + Send {
        let shared = self.shared.clone();
        async move {
            let outcome = shared.stop(timeout).await;
            shared.incarnation_ended(IncarnationEnd::End);
            outcome
        }
    }

    /// The sum over the incarnations ([`super::accounts`]), each one's record when
    /// the child was replaced.
    fn messages(&self) -> MessageAccounting {
        lock(&self.shared.accounts).total()
    }

    fn fault_surface(&self) -> crate::faults::FaultSurface {
        crate::faults::FaultSurface {
            process: Some(self.control()),
            ..Default::default()
        }
    }
}

/// Why a process fault could not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessFaultError {
    /// No child is running (killed and not restarted, or stopped).
    #[error("no target process is running")]
    NotRunning,
    /// Sending the signal failed.
    #[error("cannot signal the target process {pid}: {reason}")]
    Signal {
        /// The child's pid.
        pid: u32,
        /// The OS's reason.
        reason: String,
    },
    /// The new incarnation could not be started.
    #[error("cannot restart the target process: {0}")]
    Restart(String),
}

/// Kills, pauses, resumes and restarts the target child: the surface of the
/// `kill-process`, `pause-process` and `restart-process` faults.
#[derive(Clone)]
pub struct ProcessControl {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ProcessControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessControl")
            .field("pid", &lock(&self.shared.link).pid)
            .finish()
    }
}

fn signal(pid: u32, sig: rustix::process::Signal) -> Result<(), ProcessFaultError> {
    let raw = rustix::process::Pid::from_raw(pid as i32).ok_or(ProcessFaultError::NotRunning)?;
    rustix::process::kill_process(raw, sig).map_err(|e| ProcessFaultError::Signal {
        pid,
        reason: e.to_string(),
    })
}

impl ProcessControl {
    /// Ops that failed because no child was there to take them, so far.
    pub fn unavailable_ops(&self) -> u64 {
        self.shared.unavailable.load(Ordering::Relaxed)
    }

    /// SIGKILL: the child dies without any chance to flush; every op waiting on it
    /// fails now, and every op until [`ProcessControl::restart`] fails at once.
    /// Returns the killed pid.
    pub fn kill(&self) -> Result<u32, ProcessFaultError> {
        let mut link = lock(&self.shared.link);
        let pid = link.pid.ok_or(ProcessFaultError::NotRunning)?;
        // Signal first, while the lock keeps the incarnation's stdin open. Dropping the
        // incarnation first closed its stdin: the child could read the end of its
        // input, exit on its own and be reaped before the signal, which then failed
        // with "no such process" (the kill test's one failure in 15 runs).
        signal(pid, rustix::process::Signal::KILL)?;
        link.epoch += 1;
        link.drop_incarnation();
        lock(&self.shared.ledger).went_down();
        self.shared.incarnation_ended(IncarnationEnd::Killed);
        Ok(pid)
    }

    /// SIGSTOP: the child freezes; its ops wait (until it resumes or they time out).
    pub fn pause(&self) -> Result<u32, ProcessFaultError> {
        let pid = lock(&self.shared.link)
            .pid
            .ok_or(ProcessFaultError::NotRunning)?;
        signal(pid, rustix::process::Signal::STOP)?;
        Ok(pid)
    }

    /// SIGCONT after [`ProcessControl::pause`].
    pub fn resume(&self, pid: u32) -> Result<(), ProcessFaultError> {
        signal(pid, rustix::process::Signal::CONT)
    }

    /// A graceful stop: the target shuts down within `timeout` and the child exits.
    pub async fn stop(&self, timeout: Duration) -> ShutdownOutcome {
        let outcome = self.shared.stop(timeout).await;
        let mut link = lock(&self.shared.link);
        link.epoch += 1;
        link.drop_incarnation();
        lock(&self.shared.ledger).went_down();
        self.shared.incarnation_ended(IncarnationEnd::Restarted);
        outcome
    }

    /// Starts a new child on the same scenario and seed (it builds the target anew)
    /// and waits until it is ready; returns how long that took.
    pub async fn restart(&self) -> Result<Duration, ProcessFaultError> {
        let began = Instant::now();
        let shared = self.shared.clone();
        self.shared
            .handle
            .spawn(start_incarnation(shared))
            .await
            .map_err(|e| ProcessFaultError::Restart(e.to_string()))?
            .map_err(|e| ProcessFaultError::Restart(e.to_string()))?;
        Ok(began.elapsed())
    }
}
