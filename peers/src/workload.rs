//! The measured operations, generic over the [`Contender`] so every implementation runs
//! exactly the same driver code.

use crate::Contender;
use futures_util::future::join_all;

/// Tells `n` messages of `1` to one actor, then waits until all of them were processed
/// (an `ask(0)` behind them acts as a barrier). Returns the actor's total.
pub async fn tell_burst<C: Contender>(counter: &C::Counter, n: u64) -> u64 {
    for _ in 0..n {
        C::tell(counter, 1).await;
    }
    C::ask(counter, 0).await
}

/// Tells `n` messages round-robin across `counters`, then waits until every actor has
/// processed its share (one `ask(0)` barrier per actor, issued concurrently so the
/// barrier costs one round trip, not `counters.len()`). Returns the sum of the totals.
pub async fn tell_round_robin<C: Contender>(counters: &[C::Counter], n: u64) -> u64 {
    let mut next = counters.iter().cycle();
    for _ in 0..n {
        if let Some(counter) = next.next() {
            C::tell(counter, 1).await;
        }
    }
    join_all(counters.iter().map(|counter| C::ask(counter, 0)))
        .await
        .into_iter()
        .sum()
}

/// One request/reply round trip.
pub async fn ask_round_trip<C: Contender>(counter: &C::Counter) -> u64 {
    C::ask(counter, 1).await
}

/// Spawns one actor and stops it again, waiting until it has terminated.
pub async fn spawn_stop<C: Contender>(contender: &C, capacity: usize) {
    let counter = contender.spawn(capacity).await;
    C::stop(counter).await;
}

/// An actor's whole short life: spawn, one ask, stop, wait until it has terminated.
pub async fn spawn_ask_stop<C: Contender>(contender: &C, capacity: usize) -> u64 {
    let counter = contender.spawn(capacity).await;
    let total = C::ask(&counter, 1).await;
    C::stop(counter).await;
    total
}

/// Spawns `n` actors, then stops them all at once and waits until every one has
/// terminated: the amortized cost of an actor's whole life when many come and go
/// together (as when a harness builds and tears down a fleet of devices).
pub async fn spawn_stop_batch<C: Contender>(contender: &C, n: usize, capacity: usize) {
    let mut counters = Vec::with_capacity(n);
    for _ in 0..n {
        counters.push(contender.spawn(capacity).await);
    }
    join_all(counters.into_iter().map(C::stop)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contender::{Gauntlet, Kameo, Ractor, TokioMpsc, TokioMpscTimeout};

    async fn all_workloads_count_correctly<C: Contender>(contender: C) {
        let one = contender.spawn(64).await;
        assert_eq!(tell_burst::<C>(&one, 1000).await, 1000, "{}", C::NAME);
        assert_eq!(ask_round_trip::<C>(&one).await, 1001, "{}", C::NAME);
        C::stop(one).await;

        let mut many = Vec::new();
        for _ in 0..10 {
            many.push(contender.spawn(64).await);
        }
        assert_eq!(
            tell_round_robin::<C>(&many, 1005).await,
            1005,
            "{}",
            C::NAME
        );
        for counter in many {
            C::stop(counter).await;
        }
        spawn_stop(&contender, 64).await;
        assert_eq!(spawn_ask_stop(&contender, 64).await, 1, "{}", C::NAME);
        spawn_stop_batch(&contender, 10, 64).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_contender_does_the_same_work() {
        all_workloads_count_correctly(TokioMpsc).await;
        all_workloads_count_correctly(TokioMpscTimeout).await;
        all_workloads_count_correctly(Gauntlet::new()).await;
        all_workloads_count_correctly(Kameo).await;
        all_workloads_count_correctly(Ractor).await;
    }
}
