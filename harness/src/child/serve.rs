//! The child's side: build the target, then serve the harness's frames on stdin and
//! answer on stdout until told to shut down or until stdin closes (the harness died).
//!
//! The same split of runtimes as in-process: the target lives on a multi-thread
//! runtime of `[runtime] worker_threads` workers; ops are issued from a current-thread
//! runtime (a `LocalSet`, as on a load thread), so [`Target::call`] needs no `Send`.

use std::future::Future;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::unix::pipe;
use tokio::sync::mpsc;

use super::wire::{self, FromChild, ToChild, WireEvent};
use crate::run::observed::Observed;
use crate::scenario::{Overrides, Scenario};
use crate::target::{BuildError, OpId, Target};
use crate::workload::{Checkpoint, Registry};

/// How long building may take (as in-process).
const BUILD_TIMEOUT: Duration = Duration::from_secs(30);

/// The hidden `gauntlet __target` subcommand: reads the scenario from the first frame
/// on stdin, parses it against `registry` and serves its target.
pub fn main(registry: &Registry) -> ExitCode {
    let init = match read_init() {
        Ok(init) => init,
        Err(e) => {
            eprintln!("gauntlet __target: {e}");
            return ExitCode::from(2);
        }
    };
    let ToChild::Init {
        text,
        file,
        seed,
        state_dir,
    } = init
    else {
        eprintln!("gauntlet __target: the first frame must be Init");
        return ExitCode::from(2);
    };
    // A harness that names no state directory gets one of the child's own (gone with
    // the child: nothing survives a restart then).
    let own = match state_dir {
        Some(_) => None,
        None => match tempfile::Builder::new().prefix("gauntlet-state-").tempdir() {
            Ok(d) => Some(d),
            Err(e) => {
                report_failure(format!("cannot create a state directory: {e}"));
                return ExitCode::from(1);
            }
        },
    };
    let state_dir = match (&state_dir, &own) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => d.path().to_owned(),
        (None, None) => std::env::temp_dir(),
    };
    let overrides = Overrides {
        duration: None,
        seed: Some(seed),
    };
    match crate::scenario::parse_in(registry, &text, &file, &overrides) {
        Ok(scenario) => scenario.target.serve(&scenario, &state_dir),
        Err(e) => {
            report_failure(format!("{e}"));
            ExitCode::from(2)
        }
    }
}

/// The child's stdin and stdout pipes as owned descriptors. The frames are read and
/// written on them directly, as non-blocking pipes on the runtime's reactor, rather
/// than through `tokio::io::{stdin, stdout}`, which hand every read and write to a
/// blocking thread.
fn pipes() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok((
        std::io::stdin().as_fd().try_clone_to_owned()?,
        std::io::stdout().as_fd().try_clone_to_owned()?,
    ))
}

/// Reads the Init frame with blocking, unbuffered I/O before any runtime exists (the
/// harness sends nothing else until the child answers, so nothing is read ahead).
fn read_init() -> Result<ToChild, wire::FrameError> {
    let (stdin, _) = pipes()?;
    let mut stdin = std::fs::File::from(stdin);
    let mut len = [0u8; 4];
    stdin.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > wire::MAX_FRAME {
        return Err(wire::FrameError::TooLong(len));
    }
    let mut buf = vec![0u8; len as usize];
    stdin.read_exact(&mut buf)?;
    Ok(serde_json::from_slice(&buf)?)
}

fn open_pipes() -> std::io::Result<(pipe::Receiver, pipe::Sender)> {
    let (stdin, stdout) = pipes()?;
    Ok((
        pipe::Receiver::from_owned_fd(stdin)?,
        pipe::Sender::from_owned_fd(stdout)?,
    ))
}

fn report_failure(message: String) {
    use std::io::Write;
    let mut out = Vec::new();
    if wire::encode(&FromChild::BuildFailed { message }, &mut out).is_ok() {
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(&out);
        let _ = stdout.flush();
    }
}

/// Builds the target with `build` and serves it (called by the registry with the
/// workload's concrete types).
pub(crate) fn serve<T, F, Fut>(scenario: &Scenario, build: F) -> ExitCode
where
    T: Target,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, BuildError>> + Send + 'static,
{
    let runtimes = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(scenario.runtime.worker_threads)
        .thread_name("gauntlet-target")
        .enable_all()
        .build()
        .and_then(|t| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|io| (t, io))
        });
    let (target_rt, io) = match runtimes {
        Ok(r) => r,
        Err(e) => {
            report_failure(format!("cannot start the target's runtimes: {e}"));
            return ExitCode::from(1);
        }
    };
    let status_every =
        (scenario.tick / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let local = tokio::task::LocalSet::new();
    let track = crate::durability::checked(scenario);
    let code = local.block_on(&io, session(&target_rt, build, status_every, track));
    target_rt.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn session<T, F, Fut>(
    target_rt: &tokio::runtime::Runtime,
    build: F,
    status_every: Duration,
    track: bool,
) -> ExitCode
where
    T: Target,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, BuildError>> + Send + 'static,
{
    let (stdin, stdout) = match open_pipes() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gauntlet __target: stdin and stdout must be pipes from the harness: {e}");
            return ExitCode::from(2);
        }
    };
    let (out, out_rx) = mpsc::unbounded_channel::<FromChild>();
    let writer = tokio::task::spawn_local(wire::write_all(stdout, out_rx, |m| {
        matches!(m, FromChild::Stopped { .. } | FromChild::BuildFailed { .. })
    }));
    let built = tokio::time::timeout(BUILD_TIMEOUT, target_rt.spawn(build())).await;
    let target = match built {
        Ok(Ok(Ok(t))) => Arc::new(Observed::new(t)),
        other => {
            let message = match other {
                Ok(Ok(Err(e))) => e.to_string(),
                Ok(Err(join)) => format!("building panicked: {join}"),
                _ => format!(
                    "building did not finish within {}s",
                    BUILD_TIMEOUT.as_secs()
                ),
            };
            let _ = out.send(FromChild::BuildFailed { message });
            drop(out);
            let _ = writer.await;
            return ExitCode::from(1);
        }
    };
    let _ = out.send(FromChild::Ready);

    let status = {
        let (target, out) = (target.clone(), out.clone());
        tokio::task::spawn_local(async move {
            let mut every = tokio::time::interval(status_every);
            loop {
                every.tick().await;
                let events: Vec<WireEvent> = target.events().into_iter().map(Into::into).collect();
                let sent = out.send(FromChild::Status {
                    sample: target.sample(),
                    events,
                    stall_detail: target.stall_detail(),
                });
                if sent.is_err() {
                    return;
                }
            }
        })
    };

    let mut stdin = stdin;
    let mut buf = Vec::new();
    let local_target = Rc::new(target.clone());
    let mut code = ExitCode::SUCCESS;
    loop {
        let frame = match wire::read::<_, ToChild>(&mut stdin, &mut buf).await {
            Ok(Some(f)) => f,
            // The harness is gone: nobody will read a shutdown report.
            Ok(None) => break,
            Err(e) => {
                eprintln!("gauntlet __target: {e}");
                code = ExitCode::from(1);
                break;
            }
        };
        match frame {
            ToChild::Call { id, op, seq } => {
                let (target, out) = (local_target.clone(), out.clone());
                tokio::task::spawn_local(async move {
                    let call = target.call(OpId(op as usize), seq);
                    let (r, acks) = if track {
                        crate::durability::collect(call).await
                    } else {
                        (call.await, Vec::new())
                    };
                    let _ = out.send(FromChild::Done {
                        id,
                        result: wire::encode_result(r),
                        acks,
                    });
                });
            }
            ToChild::Check { id, end } => {
                let (target, out) = (target.clone(), out.clone());
                let at = if end {
                    Checkpoint::End
                } else {
                    Checkpoint::Tick
                };
                let task = target_rt.spawn(async move { target.check_invariants(at).await });
                tokio::task::spawn_local(async move {
                    let checks = task
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .map(|c| (c.name, c.violation))
                        .collect();
                    let _ = out.send(FromChild::Checked { id, checks });
                });
            }
            ToChild::ReadBack { id, keys } => {
                let (target, out) = (target.clone(), out.clone());
                let task = target_rt.spawn(async move { target.read_back(keys).await });
                tokio::task::spawn_local(async move {
                    let stored = task.await.unwrap_or_default();
                    let _ = out.send(FromChild::ReadBack { id, stored });
                });
            }
            ToChild::Shutdown { timeout_ms } => {
                status.abort();
                let budget = Duration::from_millis(timeout_ms);
                let t = target.clone();
                let outcome = target_rt
                    .spawn(async move { t.shutdown(budget).await })
                    .await;
                let (clean, detail) = match outcome {
                    Ok(o) => (o.clean, o.detail),
                    Err(join) => (false, format!("shutdown panicked: {join}")),
                };
                let _ = out.send(FromChild::Stopped {
                    clean,
                    detail,
                    messages: target.messages(),
                });
                break;
            }
            ToChild::Init { .. } => {
                eprintln!("gauntlet __target: a second Init frame");
                code = ExitCode::from(1);
                break;
            }
        }
    }
    status.abort();
    drop(out);
    drop(local_target);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    code
}
