//! [`Store`]: the async front of a [`Repository`]: a dedicated writer thread with a
//! bounded queue, group commit, the circuit breaker and the fault seam.
//!
//! **Threading.** Repository calls block (SQLite does file I/O and fsync), so they
//! never run on the async workers. The store owns one OS thread, `gauntlet-store`,
//! that takes calls from a bounded queue ([`StoreConfig::queue_capacity`]; callers wait
//! for room, within their timeout) and runs them in order. We chose a dedicated thread
//! over `spawn_blocking` because SQLite has one writer anyway, and one thread lets us
//! *group-commit*: everything queued when the thread wakes (up to
//! [`StoreConfig::max_batch`] calls) runs in one transaction, so a burst of durable
//! commands costs one fsync, not one each.
//!
//! **Replies after commit.** A call's reply is sent only after its transaction
//! committed. If the commit fails, every call in the batch gets the error, so an `Ok`
//! always means durable (for a file database with `synchronous = FULL`).
//!
//! **Breaker.** Every call first asks the [`CircuitBreaker`]; while it is open the
//! caller gets [`StoreError::Unavailable`] at once and nothing is queued. Database
//! errors, injected faults and timeouts count as failures; answers such as "no such
//! device" ([`RepositoryError::NotFound`]) count as successes, since the repository
//! worked.
//!
//! **Timeouts.** A caller waits at most [`StoreConfig::call_timeout`] for room in the
//! queue and the reply together. A call that timed out may still be carried out later:
//! it was not acknowledged, and re-trying it is safe for every call the runtime makes
//! (they are idempotent, and twin writes never go back in version).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::breaker::{BreakerConfig, BreakerError, CircuitBreaker};
use super::faults::{Faults, InjectedFault};
use super::repository::{Repository, RepositoryError};

/// The store's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// Calls queued for the writer thread at most.
    pub queue_capacity: usize,
    /// Calls run in one transaction at most.
    pub max_batch: usize,
    /// How long a caller waits for room and for the reply.
    pub call_timeout: Duration,
    /// The circuit breaker around every call.
    pub breaker: BreakerConfig,
}

impl Default for StoreConfig {
    /// 4096 queued, 1024 per transaction, 5 s timeout, default breaker.
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            max_batch: 1024,
            call_timeout: Duration::from_secs(5),
            breaker: BreakerConfig::default(),
        }
    }
}

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The circuit breaker is open: the call was not made.
    #[error("repository unavailable (circuit {0})")]
    Unavailable(&'static str),
    /// The repository failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    /// A fault was injected (see [`Faults`]).
    #[error(transparent)]
    Injected(#[from] InjectedFault),
    /// No reply within the call timeout.
    #[error("no reply from the repository within {0:?}")]
    Timeout(Duration),
    /// The store has been closed.
    #[error("store closed")]
    Closed,
}

impl From<BreakerError> for StoreError {
    fn from(e: BreakerError) -> Self {
        match e {
            BreakerError::Open(state) => StoreError::Unavailable(state),
        }
    }
}

impl StoreError {
    /// Whether this error says the repository is unhealthy (counts against the breaker).
    fn is_failure(&self) -> bool {
        match self {
            StoreError::Repository(RepositoryError::NotFound(_)) => false,
            StoreError::Unavailable(_) | StoreError::Closed => false,
            StoreError::Repository(_) | StoreError::Injected(_) | StoreError::Timeout(_) => true,
        }
    }
}

/// One queued call: run inside the transaction, answered after it.
trait Work: Send {
    fn run(&mut self, repo: &dyn Repository, faults: &Faults);
    fn finish(self: Box<Self>, committed: &Result<(), RepositoryError>);
}

struct Call<R, F> {
    f: Option<F>,
    result: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<R, F> Work for Call<R, F>
where
    R: Send,
    F: FnOnce(&dyn Repository) -> Result<R, RepositoryError> + Send,
{
    fn run(&mut self, repo: &dyn Repository, faults: &Faults) {
        let Some(f) = self.f.take() else { return };
        self.result = Some(match faults.before_call() {
            Ok(()) => f(repo).map_err(StoreError::Repository),
            Err(fault) => Err(StoreError::Injected(fault)),
        });
    }

    fn finish(self: Box<Self>, committed: &Result<(), RepositoryError>) {
        let result = match (self.result, committed) {
            (Some(Ok(_)), Err(e)) => Err(StoreError::Repository(e.clone())),
            (Some(r), _) => r,
            (None, _) => Err(StoreError::Closed),
        };
        let _ = self.reply.send(result);
    }
}

enum Job {
    Work(Box<dyn Work>),
    Close(oneshot::Sender<()>),
}

/// Counters of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStats {
    /// Calls answered `Ok`.
    pub ok: u64,
    /// Calls answered with an error (breaker refusals included).
    pub failed: u64,
    /// Transactions committed by the writer thread.
    pub batches: u64,
    /// Transactions that failed to commit.
    pub failed_batches: u64,
}

struct Shared {
    tx: mpsc::Sender<Job>,
    breaker: CircuitBreaker,
    faults: Arc<Faults>,
    config: StoreConfig,
    closed: AtomicBool,
    ok: AtomicU64,
    failed: AtomicU64,
    batches: Arc<AtomicU64>,
    failed_batches: Arc<AtomicU64>,
}

/// The async front of a repository. Cheap to clone; every clone is the same store.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("breaker", &self.shared.breaker.state())
            .finish()
    }
}

impl Store {
    /// Starts the writer thread for `repo`.
    pub fn start(repo: Arc<dyn Repository>, config: StoreConfig) -> std::io::Result<Store> {
        Self::with_faults(repo, config, Arc::new(Faults::default()))
    }

    /// Starts the writer thread for `repo`, with the fault seam `faults`.
    pub fn with_faults(
        repo: Arc<dyn Repository>,
        config: StoreConfig,
        faults: Arc<Faults>,
    ) -> std::io::Result<Store> {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let batches = Arc::new(AtomicU64::new(0));
        let failed_batches = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            repo,
            rx,
            faults: faults.clone(),
            max_batch: config.max_batch.max(1),
            batches: batches.clone(),
            failed_batches: failed_batches.clone(),
        };
        std::thread::Builder::new()
            .name("gauntlet-store".into())
            .spawn(move || writer.run())?;
        Ok(Store {
            shared: Arc::new(Shared {
                tx,
                breaker: CircuitBreaker::new(config.breaker),
                faults,
                config,
                closed: AtomicBool::new(false),
                ok: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                batches,
                failed_batches,
            }),
        })
    }

    /// Runs `f` on the writer thread, inside a transaction, and returns its result once
    /// the transaction committed. See the [module docs](self).
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Repository) -> Result<R, RepositoryError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let result = self.call_inner(f).await;
        let counter = if result.is_ok() {
            &self.shared.ok
        } else {
            &self.shared.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    async fn call_inner<R: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Repository) -> Result<R, RepositoryError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let shared = &self.shared;
        if shared.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let permit = shared.breaker.acquire()?;
        let (reply, rx) = oneshot::channel();
        let job = Job::Work(Box::new(Call {
            f: Some(f),
            result: None,
            reply,
        }));
        let timeout = shared.config.call_timeout;
        let exchange = async {
            shared.tx.send(job).await.map_err(|_| StoreError::Closed)?;
            rx.await.map_err(|_| StoreError::Closed)?
        };
        let result = tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(StoreError::Timeout(timeout)));
        match &result {
            Err(e) if e.is_failure() => permit.failed(),
            Err(StoreError::Closed) => drop(permit),
            _ => permit.succeeded(),
        }
        result
    }

    /// The circuit breaker.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.shared.breaker
    }

    /// The fault seam.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.shared.faults
    }

    /// The settings.
    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }

    /// Counters so far.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            ok: self.shared.ok.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
            batches: self.shared.batches.load(Ordering::Relaxed),
            failed_batches: self.shared.failed_batches.load(Ordering::Relaxed),
        }
    }

    /// Finishes the calls already queued, then stops the writer thread. Later calls get
    /// [`StoreError::Closed`]. Waits at most `deadline`; `false` if the thread had not
    /// finished by then.
    pub async fn close(&self, deadline: Duration) -> bool {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return true;
        }
        let (tx, rx) = oneshot::channel();
        let done = async {
            if self.shared.tx.send(Job::Close(tx)).await.is_err() {
                return;
            }
            let _ = rx.await;
        };
        tokio::time::timeout(deadline, done).await.is_ok()
    }
}

struct Writer {
    repo: Arc<dyn Repository>,
    rx: mpsc::Receiver<Job>,
    faults: Arc<Faults>,
    max_batch: usize,
    batches: Arc<AtomicU64>,
    failed_batches: Arc<AtomicU64>,
}

impl Writer {
    fn run(mut self) {
        let mut batch: Vec<Box<dyn Work>> = Vec::with_capacity(self.max_batch);
        while let Some(first) = self.rx.blocking_recv() {
            let mut close = None;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Work(w) => batch.push(w),
                    Job::Close(done) => {
                        close = Some(done);
                        break;
                    }
                }
                if batch.len() < self.max_batch {
                    next = self.rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.commit(&mut batch);
            }
            if let Some(done) = close {
                self.rx.close();
                // Anything queued behind the close is dropped: its callers see Closed.
                while self.rx.try_recv().is_ok() {}
                let _ = done.send(());
                return;
            }
        }
    }

    fn commit(&self, batch: &mut Vec<Box<dyn Work>>) {
        let repo = &*self.repo;
        let faults = &*self.faults;
        let committed = repo.batch(&mut || {
            for w in batch.iter_mut() {
                w.run(repo, faults);
            }
        });
        match &committed {
            Ok(()) => self.batches.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                tracing::warn!(error = %e, calls = batch.len(), "repository batch failed to commit");
                self.failed_batches.fetch_add(1, Ordering::Relaxed)
            }
        };
        for w in batch.drain(..) {
            w.finish(&committed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::domain::{Device, DeviceId};
    use crate::device::sqlite::SqliteRepository;

    fn store(config: StoreConfig) -> Store {
        Store::start(Arc::new(SqliteRepository::in_memory().unwrap()), config).unwrap()
    }

    #[tokio::test]
    async fn calls_run_on_the_writer_thread_and_reply_after_commit() {
        let s = store(StoreConfig::default());
        let name = s
            .call(|repo| {
                repo.put_device(&Device::new(DeviceId(1), "a", "t"))?;
                Ok(std::thread::current().name().map(str::to_string))
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("gauntlet-store"));
        let count = s.call(|repo| repo.device_count()).await.unwrap();
        assert_eq!(count, 1);
        assert!(s.close(Duration::from_secs(5)).await);
        assert_eq!(s.call(|r| r.device_count()).await, Err(StoreError::Closed));
    }

    #[tokio::test]
    async fn an_outage_opens_the_breaker_and_then_calls_are_refused_at_once() {
        let s = store(StoreConfig {
            breaker: BreakerConfig {
                failure_threshold: 3,
                reset_timeout: Duration::from_secs(3600),
                half_open_probes: 1,
            },
            ..StoreConfig::default()
        });
        s.faults().set_outage(true);
        for _ in 0..3 {
            let e = s.call(|r| r.device_count()).await.unwrap_err();
            assert_eq!(e, StoreError::Injected(InjectedFault::Outage));
        }
        let e = s.call(|r| r.device_count()).await.unwrap_err();
        assert_eq!(e, StoreError::Unavailable("open"));
        let b = s.breaker().stats();
        assert_eq!((b.opened, b.rejections, b.failures), (1, 1, 3));
        assert_eq!(s.faults().stats().outages, 3);
    }

    #[tokio::test]
    async fn not_found_is_an_answer_not_a_failure() {
        let s = store(StoreConfig {
            breaker: BreakerConfig {
                failure_threshold: 1,
                ..BreakerConfig::default()
            },
            ..StoreConfig::default()
        });
        for _ in 0..3 {
            let e = s
                .call(|r| r.add_member(crate::device::RoomId(1), DeviceId(1)))
                .await
                .unwrap_err();
            assert!(matches!(
                e,
                StoreError::Repository(RepositoryError::NotFound(_))
            ));
        }
        assert_eq!(s.breaker().stats().opened, 0);
    }
}
