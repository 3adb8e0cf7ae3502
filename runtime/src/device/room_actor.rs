//! The room actor: one virtual actor (entity) per room. It keeps the membership,
//! changes it durably, and broadcasts commands to the members.
//!
//! **Broadcast.** The room sends the command to every member at once and waits until
//! all have answered or the deadline has passed, whichever comes first. The report lists
//! every member's answer (success or error) and, separately, the members that did not
//! answer in time; `complete` is `false` when any did not. Late answers are dropped.
//! The fan-out runs in its own task, so the room keeps handling membership changes
//! while a broadcast is in flight.

use std::sync::Arc;
use std::time::Duration;

use super::command::{Command, CommandError, Response};
use super::device_actor::{DeviceActor, DeviceMsg};
use super::domain::{DeviceId, Room, RoomId};
use super::stats::{Count, Counters};
use super::store::{Store, StoreError};
use crate::actor::{Actor, AskError, Context, Entities, HandlerError, ReplyTo};

/// Why a room request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RoomError {
    /// No room has this id.
    #[error("room {0} does not exist")]
    UnknownRoom(RoomId),
    /// The device is not registered.
    #[error("device {0} is not registered")]
    UnknownDevice(DeviceId),
    /// The repository failed: nothing was changed or acknowledged.
    #[error("repository: {0}")]
    Store(#[from] StoreError),
    /// The room did not answer.
    #[error("room did not answer: {0}")]
    NoAnswer(#[from] AskError),
}

/// What a room actor handles.
#[derive(Debug)]
pub enum RoomMsg {
    /// Add a member (durable before the answer); `true` if it was not one yet.
    Join(DeviceId, ReplyTo<Result<bool, RoomError>>),
    /// Remove a member (durable before the answer); `true` if it was one.
    Leave(DeviceId, ReplyTo<Result<bool, RoomError>>),
    /// The room with its members.
    Get(ReplyTo<Result<Room, RoomError>>),
    /// Send a command to every member and gather the answers within the deadline.
    Broadcast(
        Box<Command>,
        Duration,
        ReplyTo<Result<BroadcastReport, RoomError>>,
    ),
    /// Load the room's record again (sent after it was created or replaced).
    Reload,
}

/// One member's answer to a broadcast.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberReply {
    /// The member.
    pub device: DeviceId,
    /// Its answer.
    pub outcome: Result<Response, CommandError>,
}

/// The outcome of a broadcast. Partial results are reported as such: `complete` is
/// `false` and `timed_out` names the members that did not answer in time.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastReport {
    /// Answers that arrived in time, in membership order.
    pub replies: Vec<MemberReply>,
    /// Members that did not answer before the deadline.
    pub timed_out: Vec<DeviceId>,
    /// Whether every member answered in time.
    pub complete: bool,
}

impl BroadcastReport {
    /// Members that answered with success.
    pub fn succeeded(&self) -> usize {
        self.replies.iter().filter(|r| r.outcome.is_ok()).count()
    }
}

pub(crate) struct RoomShared {
    pub(crate) store: Store,
    pub(crate) devices: Entities<DeviceActor, DeviceId>,
    pub(crate) counters: Arc<Counters>,
}

/// One room's actor. Made by the runtime; you talk to it through a
/// [`RoomHandle`](super::RoomHandle).
pub struct RoomActor {
    id: RoomId,
    shared: Arc<RoomShared>,
    room: Option<Room>,
    loaded: bool,
}

impl RoomActor {
    pub(crate) fn new(id: RoomId, shared: Arc<RoomShared>) -> Self {
        Self {
            id,
            shared,
            room: None,
            loaded: false,
        }
    }

    async fn ready(&mut self) -> Result<&mut Room, RoomError> {
        if !self.loaded {
            let id = self.id;
            self.room = self.shared.store.call(move |repo| repo.room(id)).await?;
            self.loaded = true;
        }
        self.room.as_mut().ok_or(RoomError::UnknownRoom(self.id))
    }

    async fn change(&mut self, device: DeviceId, join: bool) -> Result<bool, RoomError> {
        let id = self.id;
        let room = self.ready().await?;
        if room.contains(device) == join {
            return Ok(false);
        }
        let store = self.shared.store.clone();
        let result = store
            .call(move |repo| {
                if join {
                    repo.add_member(id, device)
                } else {
                    repo.remove_member(id, device)
                }
            })
            .await;
        match result {
            Ok(_) => {
                let room = self.ready().await?;
                if join {
                    room.add(device);
                } else {
                    room.remove(device);
                }
                self.shared.counters.bump(Count::MembershipChanges);
                Ok(true)
            }
            Err(StoreError::Repository(super::RepositoryError::NotFound(_))) => {
                Err(RoomError::UnknownDevice(device))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn broadcast(
        &mut self,
        cmd: Box<Command>,
        deadline: Duration,
        reply: ReplyTo<Result<BroadcastReport, RoomError>>,
    ) {
        let members: Vec<DeviceId> = match self.ready().await {
            Ok(room) => room.devices.iter().copied().collect(),
            Err(e) => return reply.send(Err(e)),
        };
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let asks = members.iter().map(|&id| {
                let (devices, cmd) = (&shared.devices, &cmd);
                async move {
                    let outcome = match devices.get(id) {
                        Ok(device) => device
                            .ask(|r| DeviceMsg::Command(cmd.clone(), r), deadline)
                            .await
                            .map_err(CommandError::NoAnswer)
                            .and_then(|r| r),
                        Err(_) => Err(CommandError::UnknownDevice(id)),
                    };
                    MemberReply {
                        device: id,
                        outcome,
                    }
                }
            });
            let all = futures_util::future::join_all(asks).await;
            let (mut replies, mut timed_out) = (Vec::with_capacity(all.len()), Vec::new());
            for r in all {
                match r.outcome {
                    Err(CommandError::NoAnswer(AskError::Timeout(_))) => timed_out.push(r.device),
                    _ => replies.push(r),
                }
            }
            let complete = timed_out.is_empty();
            shared.counters.bump(Count::Broadcasts);
            if !complete {
                shared.counters.bump(Count::PartialBroadcasts);
            }
            reply.send(Ok(BroadcastReport {
                replies,
                timed_out,
                complete,
            }));
        });
    }
}

impl Actor for RoomActor {
    type Msg = RoomMsg;

    fn kind() -> &'static str {
        "Room"
    }

    async fn handle(&mut self, msg: RoomMsg, _ctx: &mut Context<Self>) -> Result<(), HandlerError> {
        match msg {
            RoomMsg::Join(d, reply) => reply.send(self.change(d, true).await),
            RoomMsg::Leave(d, reply) => reply.send(self.change(d, false).await),
            RoomMsg::Get(reply) => reply.send(self.ready().await.map(|r| r.clone())),
            RoomMsg::Broadcast(cmd, deadline, reply) => self.broadcast(cmd, deadline, reply).await,
            RoomMsg::Reload => {
                self.loaded = false;
                self.room = None;
            }
        }
        Ok(())
    }
}
