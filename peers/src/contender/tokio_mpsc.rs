//! The baseline: a task that owns a bounded `tokio::sync::mpsc` receiver; asks carry a
//! `tokio::sync::oneshot` sender. This is the least an actor can cost on tokio: no
//! supervision, no addresses, no statistics, no timeouts.

use crate::Contender;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Never reached in the benches; the same value gauntlet's contender passes to `ask`.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);

/// Raw tokio: bounded mpsc for tells, mpsc + oneshot for asks, `tokio::spawn` for spawn
/// and dropping the sender (then joining the task) for stop.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioMpsc;

/// Raw tokio with every ask wrapped in `tokio::time::timeout`, exactly as gauntlet's
/// `ask` (which always carries a timeout) does. The fair floor for a timed ask: the gap
/// between `tokio` and `tokio+timeout` is what the tokio timer alone costs.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioMpscTimeout;

impl Contender for TokioMpscTimeout {
    const NAME: &'static str = "tokio+timeout";
    type Counter = Counter;

    async fn spawn(&self, capacity: usize) -> Counter {
        TokioMpsc.spawn(capacity).await
    }

    async fn tell(counter: &Counter, n: u64) {
        TokioMpsc::tell(counter, n).await
    }

    async fn ask(counter: &Counter, n: u64) -> u64 {
        tokio::time::timeout(ASK_TIMEOUT, TokioMpsc::ask(counter, n))
            .await
            .expect("baseline ask timed out")
    }

    async fn stop(counter: Counter) {
        TokioMpsc::stop(counter).await
    }
}

enum Msg {
    Add(u64),
    AddAndGet(u64, oneshot::Sender<u64>),
}

/// Handle to one baseline counter task.
#[derive(Debug)]
pub struct Counter {
    tx: mpsc::Sender<Msg>,
    task: JoinHandle<()>,
}

impl Contender for TokioMpsc {
    const NAME: &'static str = "tokio";
    type Counter = Counter;

    async fn spawn(&self, capacity: usize) -> Counter {
        let (tx, mut rx) = mpsc::channel::<Msg>(capacity);
        let task = tokio::spawn(async move {
            let mut total = 0_u64;
            while let Some(msg) = rx.recv().await {
                match msg {
                    Msg::Add(n) => total += n,
                    Msg::AddAndGet(n, reply) => {
                        total += n;
                        let _ = reply.send(total);
                    }
                }
            }
        });
        Counter { tx, task }
    }

    async fn tell(counter: &Counter, n: u64) {
        if counter.tx.send(Msg::Add(n)).await.is_err() {
            panic!("baseline counter task ended early");
        }
    }

    async fn ask(counter: &Counter, n: u64) -> u64 {
        let (reply, rx) = oneshot::channel();
        if counter.tx.send(Msg::AddAndGet(n, reply)).await.is_err() {
            panic!("baseline counter task ended early");
        }
        rx.await.expect("baseline counter dropped the reply")
    }

    async fn stop(counter: Counter) {
        let Counter { tx, task } = counter;
        drop(tx);
        task.await.expect("baseline counter task panicked");
    }
}
