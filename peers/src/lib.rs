//! Comparison benchmarks: gauntlet-runtime beside a raw tokio baseline, kameo and ractor.
//!
//! Every actor implementation under test is reduced to one [`Contender`]: a counter actor
//! that adds the numbers it is told and answers asks with its running total. The
//! [`workload`] functions are generic over the contender, so each one runs the *same*
//! code path (same message counts, same completion barrier, same runtime) and only the
//! actor machinery differs. The criterion benches in `benches/` drive them.
//!
//! ```
//! use gauntlet_peers::{contender::TokioMpsc, workload, Contender};
//!
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! rt.block_on(async {
//!     let contender = TokioMpsc;
//!     let counter = contender.spawn(1024).await;
//!     assert_eq!(workload::tell_burst::<TokioMpsc>(&counter, 100).await, 100);
//!     TokioMpsc::stop(counter).await;
//! });
//! ```
//!
//! The crate is not a default workspace member: kameo and ractor (and their dependency
//! trees) are only compiled by `cargo bench -p gauntlet-peers`/`cargo test -p gauntlet-peers`.

pub mod contender;
pub mod workload;

use std::future::Future;

/// One actor implementation, reduced to the operations the benchmarks need.
///
/// The actor is a counter: [`tell`](Contender::tell) adds to its total without a reply,
/// [`ask`](Contender::ask) adds and returns the new total. Because every implementation
/// processes one sender's messages in order, `ask(0)` after a burst of tells is a barrier:
/// when it returns, every earlier tell has been handled.
pub trait Contender: Send + Sync + 'static {
    /// Name shown in the criterion reports (`group/NAME`).
    const NAME: &'static str;

    /// A handle to one running counter actor.
    type Counter: Send + Sync + 'static;

    /// Spawns one counter actor whose mailbox holds `capacity` messages (where the
    /// implementation has bounded mailboxes), and returns once it can receive messages.
    fn spawn(&self, capacity: usize) -> impl Future<Output = Self::Counter> + Send;

    /// Fire-and-forget: adds `n` to the total. Waits only when the mailbox is full.
    fn tell(counter: &Self::Counter, n: u64) -> impl Future<Output = ()> + Send;

    /// Request/reply: adds `n` and returns the new total.
    fn ask(counter: &Self::Counter, n: u64) -> impl Future<Output = u64> + Send;

    /// Stops the actor gracefully and returns once it has terminated.
    fn stop(counter: Self::Counter) -> impl Future<Output = ()> + Send;

    /// Releases whatever the contender holds beyond its actors (an actor system, say).
    /// Called once, after every actor was stopped.
    fn shutdown(self) -> impl Future<Output = ()> + Send
    where
        Self: Sized,
    {
        async {}
    }
}
