//! A ring of actors asking each other round (the `ask-cycle` fault's instrument):
//! spawned in the target's actor system next to the workload's own, each member asks
//! the next from inside its handler; the last asks the first, which closes a cycle of
//! actors waiting on each other. The runtime must refuse that ask as a deadlock
//! (`AskError::Deadlock`); the refusal travels back round the ring as the answer. A
//! cycle whose answer is not a refusal (a timeout: the cycle hung) is *undetected*,
//! and fails the run.

use std::time::Duration;

use gauntlet_runtime::actor::{
    Actor, ActorRef, AskError, Context, HandlerError, Props, ReplyTo, System,
};

use super::error::InjectError;

/// How long one cycle may take before it counts as undetected.
const CYCLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages of a ring member.
pub enum CycleMsg {
    /// Who to ask next.
    Link(ActorRef<CycleMsg>),
    /// Ask round the ring; the answer is whether a deadlock was refused.
    Go(ReplyTo<bool>),
}

/// A ring member.
struct Member {
    next: Option<ActorRef<CycleMsg>>,
}

impl Actor for Member {
    type Msg = CycleMsg;

    async fn handle(
        &mut self,
        msg: CycleMsg,
        _ctx: &mut Context<Self>,
    ) -> Result<(), HandlerError> {
        match msg {
            CycleMsg::Link(next) => self.next = Some(next),
            CycleMsg::Go(reply) => {
                let detected = match &self.next {
                    Some(next) => match next.ask(CycleMsg::Go, CYCLE_TIMEOUT).await {
                        Ok(d) => d,
                        Err(AskError::Deadlock(_)) => true,
                        Err(_) => false,
                    },
                    None => false,
                };
                reply.send(detected);
            }
        }
        Ok(())
    }
}

/// A ring of members.
#[derive(Debug)]
pub struct Ring {
    members: Vec<ActorRef<CycleMsg>>,
}

impl Ring {
    /// Spawns a ring of `length` members named `<prefix>-<i>` and links it.
    pub async fn spawn(system: &System, prefix: &str, length: usize) -> Result<Self, InjectError> {
        let mut members = Vec::with_capacity(length);
        for i in 0..length {
            let m = system
                .spawn(
                    &format!("{prefix}-{i}"),
                    Props::new(|| Member { next: None }),
                )
                .map_err(InjectError::RingSpawn)?;
            members.push(m);
        }
        for (i, m) in members.iter().enumerate() {
            let next = members[(i + 1) % length].clone();
            m.tell(CycleMsg::Link(next))
                .await
                .map_err(|e| InjectError::RingLink(e.to_string()))?;
        }
        Ok(Self { members })
    }

    /// Closes one cycle; `true` when the runtime refused it as a deadlock.
    pub async fn close(&self) -> bool {
        match self.members.first() {
            Some(head) => matches!(head.ask(CycleMsg::Go, CYCLE_TIMEOUT * 2).await, Ok(true)),
            None => false,
        }
    }

    /// The members' addresses.
    pub fn addresses(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| m.address().to_string())
            .collect()
    }

    /// Stops the ring and waits for it.
    pub async fn stop(self) {
        for m in &self.members {
            m.stop();
        }
        for m in &self.members {
            let _ = tokio::time::timeout(CYCLE_TIMEOUT, m.wait_terminated()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_ring_length_is_detected() {
        let system = System::new("cycle").unwrap();
        for length in [1, 2, 5] {
            let ring = Ring::spawn(&system, &format!("r{length}"), length)
                .await
                .unwrap();
            assert!(ring.close().await, "length {length}");
            assert!(ring.close().await, "again, length {length}");
            ring.stop().await;
        }
        assert_eq!(system.stats().deadlocks, 6);
        system.shutdown(Duration::from_secs(2)).await;
    }
}
