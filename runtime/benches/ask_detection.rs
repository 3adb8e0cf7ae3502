//! What ask-cycle detection costs: `cargo bench -p gauntlet-runtime --bench ask_detection`.
//!
//! One group, `ask_detection`, [`ASKS`] request/reply round trips to one server actor
//! per iteration, on a 2-worker multi-thread runtime:
//! - `outside`: asked from a plain task. Not inside any actor, so nothing is recorded
//!   (one thread-local read): the plain ask.
//! - `from_actor`: asked from inside a client actor's handler, so every ask records its
//!   wait-for edge, walks the chain (one hop: the server waits on nobody) and removes
//!   the edge: the ask with detection.
//!
//! The throughput ratio of the two lines is the price of detection per ask.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gauntlet_runtime::actor::{Actor, ActorRef, Context, HandlerError, Props, ReplyTo, System};

const ASKS: u64 = 1_000;
const TIMEOUT: Duration = Duration::from_secs(10);

struct Server;

impl Actor for Server {
    type Msg = ReplyTo<u64>;
    async fn handle(&mut self, r: ReplyTo<u64>, _: &mut Context<Self>) -> Result<(), HandlerError> {
        r.send(1);
        Ok(())
    }
}

/// Asks the server `n` times from inside its handler, then answers.
struct Client(ActorRef<ReplyTo<u64>>);

impl Actor for Client {
    type Msg = (u64, ReplyTo<u64>);
    async fn handle(
        &mut self,
        (n, done): (u64, ReplyTo<u64>),
        _: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        let mut sum = 0;
        for _ in 0..n {
            sum += self.0.ask(|r| r, TIMEOUT).await?;
        }
        done.send(sum);
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (server, client) = rt.block_on(async {
        let system = System::new("bench").expect("system");
        let server = system
            .spawn("server", Props::new(|| Server))
            .expect("server");
        let s = server.clone();
        let client = system
            .spawn("client", Props::new(move || Client(s.clone())))
            .expect("client");
        (server, client)
    });
    let mut group = c.benchmark_group("ask_detection");
    group.throughput(Throughput::Elements(ASKS));
    // Both drivers run as tasks on the runtime, so neither pays for waking the
    // benchmark's own thread on every reply.
    group.bench_function("outside", |b| {
        b.to_async(&rt).iter(|| {
            let server = server.clone();
            async move {
                let sum = tokio::spawn(async move {
                    let mut sum = 0;
                    for _ in 0..ASKS {
                        sum += server.ask(|r| r, TIMEOUT).await.expect("reply");
                    }
                    sum
                })
                .await
                .expect("task");
                assert_eq!(sum, ASKS);
            }
        })
    });
    group.bench_function("from_actor", |b| {
        b.to_async(&rt).iter(|| {
            let client = client.clone();
            async move {
                let sum = tokio::spawn(async move {
                    client.ask(|r| (ASKS, r), TIMEOUT).await.expect("reply")
                })
                .await
                .expect("task");
                assert_eq!(sum, ASKS);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
