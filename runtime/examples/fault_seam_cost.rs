//! A fixed amount of actor work for counting instructions, so the cost of the fault
//! seams (`actor::fault`) when no fault is installed can be measured exactly:
//!
//! ```sh
//! cargo build --release -p gauntlet-runtime --example fault_seam_cost
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/seam.out \
//!     target/release/examples/fault_seam_cost 200000
//! ```
//!
//! Run the same on a commit without the seams and divide the difference in total
//! instructions by the number of messages (tells + asks, each handled once).

use std::time::Duration;

use gauntlet_runtime::actor::{Actor, Context, HandlerError, Props, ReplyTo, System};

enum Msg {
    Add(u64),
    Get(ReplyTo<u64>),
}

struct Counter(u64);

impl Actor for Counter {
    type Msg = Msg;
    async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            Msg::Add(n) => self.0 += n,
            Msg::Get(r) => r.send(self.0),
        }
        Ok(())
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let system = System::new("seam").expect("system");
        let a = system.spawn("a", Props::new(|| Counter(0))).expect("spawn");
        for i in 0..n {
            a.tell(Msg::Add(1)).await.expect("tell");
            if i % 100 == 99 {
                a.ask(Msg::Get, Duration::from_secs(5)).await.expect("ask");
            }
        }
        let total = a.ask(Msg::Get, Duration::from_secs(5)).await.expect("ask");
        assert_eq!(total, n);
        system.shutdown(Duration::from_secs(5)).await;
    });
}
