//! Hibernation: an idle actor gives up its task and keeps only its state.
//!
//! An actor with [`Props::hibernate_after`](super::Props::hibernate_after) (or the
//! system's [`SystemConfig::hibernate_after`](super::SystemConfig::hibernate_after))
//! that has handled nothing for that long is asked by the watchdog to hibernate. At its
//! next wait (mailbox empty, waker registered) its task moves everything it owns (the
//! actor's state, its context, its factory and the finalizer; see `run::Live`) into a
//! [`Sleeper`], registers the sleeper as the mailbox's waker, and ends. The tokio task
//! (384 bytes for a small actor) and the mailbox queue's block (if it is empty) are
//! freed; the sleeper is an `Arc` around the parked state. The next message or signal wakes the sleeper, which spawns a new task from
//! the parked state; that task skips `started` (the actor never stopped) and goes
//! straight back to its mailbox.
//!
//! **The handshake.** A send that lands between the task's last look at the mailbox
//! and the sleeper's registration woke the old task, which is ending: that wake-up is
//! lost. So after registering the sleeper the task looks again ([`settle`]): if a
//! message or a signal is there, it takes its state back from the sleeper and carries
//! on. Taking the state is a lock on the sleeper's [`Handoff`]: if the sleeper was woken
//! in between and took it first, the sleeper's new task handles the message, and the
//! old task just ends. Either way exactly one task holds the state, and no message waits
//! beside a sleeping actor: `loom_a_hibernating_actor_is_woken_by_a_send` checks both
//! over every interleaving, and its negative control, a sleeper that does not look
//! again, shows the message left waiting.
//!
//! **What it costs.** A hibernating actor holds no task and is not polled; waking it
//! spawns one task (once per wake-up, not per message; not measured on its own). A
//! hibernating actor is kept alive by its own mailbox (the sleeper holds the cell):
//! stopping it (`stop`, `kill`, a parent stopping, [`System::shutdown`]) wakes it to
//! stop, but dropping the tokio runtime without shutting the system down leaves it in
//! memory, where a running actor's task would have been dropped with the runtime.
//!
//! [`System::shutdown`]: super::System::shutdown

use std::task::Waker;

use super::mailbox::Mailbox;
use super::sync::Mutex;

/// Parked state that exactly one side takes: the sleeper when woken, or the hibernating
/// task when it finds work while settling.
pub(crate) struct Handoff<T>(Mutex<Option<T>>);

impl<T> Handoff<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(Mutex::new(Some(value)))
    }

    /// The parked value, if nobody took it yet.
    pub(crate) fn take(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Registers `waker` as the mailbox's consumer waker, then looks again: whether a
/// message (or, per `lane_pending`, a signal) arrived before the registration, whose
/// wake-up went to the old waker. `true`: something waits, do not sleep.
pub(crate) fn settle<M>(
    mailbox: &Mailbox<M>,
    waker: &Waker,
    lane_pending: impl FnOnce() -> bool,
) -> bool {
    mailbox.register(waker);
    mailbox.len() != 0 || lane_pending()
}

#[cfg(not(gauntlet_loom))]
pub(crate) use parked::hibernate;

#[cfg(not(gauntlet_loom))]
mod parked {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::task::{Wake, Waker};

    use super::{Handoff, settle};
    use crate::actor::lifecycle::Actor;
    use crate::actor::run::{Live, lives};

    /// A hibernating actor's parked state, registered as its mailbox's waker.
    pub(crate) struct Sleeper<A: Actor> {
        live: Handoff<Live<A>>,
    }

    impl<A: Actor> Wake for Sleeper<A> {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            let Some(live) = self.live.take() else {
                return;
            };
            let cell = live.cell().clone();
            let core = &cell.core;
            core.set_asleep(false);
            core.kind.wakeups.fetch_add(1, Ordering::Relaxed);
            // Spawned outside the slot's lock: on a runtime that has shut down, spawning
            // drops the future at once, which finalizes the actor (and takes its
            // parent's lock), and a waker may be called with locks held.
            let task = core.system.runtime().spawn(lives(live));
            // `kill` raises its flag before it wakes us, so a task it cannot abort
            // (stored after its look at the slot) stops at its first look at the lane.
            *core.task_slot() = Some(task);
        }
    }

    /// Parks `live` in a sleeper registered as the mailbox's waker, after the actor's
    /// task found the mailbox empty and was asked to hibernate. Returns the state if a
    /// message or signal arrived meanwhile (the task carries on); `None`: parked, the
    /// task ends.
    pub(crate) fn hibernate<A: Actor>(live: Live<A>) -> Option<Live<A>> {
        let cell = live.cell().clone();
        let core = &cell.core;
        // While this task is still the mailbox's one consumer: free the queue's block
        // (184 bytes for a small message type) if it is empty; the next push allocates
        // one again.
        // SAFETY: this is the actor's own task, the mailbox's one consumer, and nobody
        // else can take over until the sleeper below is registered.
        unsafe { cell.mailbox.release_memory() };
        // The ending task's own handle; a waking sleeper stores its new task's. None:
        // the store of this task's handle (by `spawn` or the sleeper that spawned it) is
        // still on its way and would land on top of a later task's; stay awake.
        let Some(own) = core.take_task() else {
            return Some(live);
        };
        core.set_asleep(true);
        core.kind.hibernations.fetch_add(1, Ordering::Relaxed);
        let sleeper = Arc::new(Sleeper {
            live: Handoff::new(live),
        });
        let waker = Waker::from(sleeper.clone());
        if settle(&cell.mailbox, &waker, || core.lane_pending())
            && let Some(live) = sleeper.live.take()
        {
            core.set_asleep(false);
            core.kind.hibernations.fetch_sub(1, Ordering::Relaxed);
            *core.task_slot() = Some(own);
            return Some(live);
        }
        None
    }
}

#[cfg(all(test, gauntlet_loom))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use loom::thread;
    use std::task::{Wake, Waker};

    use super::{Handoff, settle};
    use crate::actor::mailbox::{Mailbox, MailboxConfig, Policy};

    /// The actor as the model sees it: its mailbox and a stand-in for its state.
    struct Actor {
        mailbox: Mailbox<u32>,
        /// Messages handled, by whichever task held the state.
        handled: AtomicUsize,
        /// Tasks that held the state (the old one carrying on counts too).
        tasks: AtomicUsize,
    }

    /// A task's waker: records that it was woken.
    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    impl Actor {
        /// A task holding the state, as `run::next` waits: take every message, register
        /// the task's waker, look again. Returns the task's wake-up flag.
        fn run_task(&self) -> std::sync::Arc<Flag> {
            self.tasks.fetch_add(1, Ordering::SeqCst);
            let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
            self.take_all();
            self.mailbox.register(&Waker::from(flag.clone()));
            self.take_all();
            flag
        }

        fn take_all(&self) {
            // SAFETY: the task holding the state is the mailbox's one consumer (the
            // handoff lets only one task hold it).
            while unsafe { self.mailbox.pop() }.is_some() {
                self.handled.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Holds only the parked state, as the real one does (the state holds the cell, but
    /// only while parked: a sleeper that holds the mailbox for good would be a cycle).
    struct Sleeper {
        state: Handoff<()>,
        woken: AtomicBool,
    }

    impl Wake for Sleeper {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            if self.state.take().is_some() {
                self.woken.store(true, Ordering::SeqCst);
            }
        }
    }

    /// A sender races an actor that hibernates: the actor's task looked at its mailbox
    /// (empty), registered its waker, and parks its state in a sleeper. Afterwards the
    /// message has been handled or the sleeper was woken to handle it, and at most one
    /// task took the state.
    fn hibernating_actor_meets_a_send(look_again: bool) {
        crate::actor::mailbox::loom_tests::model(move || {
            let actor = Arc::new(Actor {
                mailbox: Mailbox::new(MailboxConfig::new(4, Policy::Fail)),
                handled: AtomicUsize::new(0),
                tasks: AtomicUsize::new(0),
            });
            let sender = {
                let actor = actor.clone();
                // `try_push` wakes the registered waker once the message is in.
                thread::spawn(move || {
                    assert!(matches!(
                        actor.mailbox.try_push(7),
                        crate::actor::mailbox::Push::Queued
                    ))
                })
            };
            // The actor's task: look, register its own waker, look again (`run::next`),
            // then, asked to hibernate, park its state in a sleeper.
            // SAFETY (both pops): this thread is the mailbox's one consumer here.
            let found = unsafe { actor.mailbox.pop() }.is_some() || {
                actor.mailbox.register(Waker::noop());
                unsafe { actor.mailbox.pop() }.is_some()
            };
            let sleeper = std::sync::Arc::new(Sleeper {
                state: Handoff::new(()),
                woken: AtomicBool::new(false),
            });
            let mut task = None;
            if found {
                actor.handled.fetch_add(1, Ordering::SeqCst);
            } else {
                let waker = Waker::from(sleeper.clone());
                let busy = if look_again {
                    settle(&actor.mailbox, &waker, || false)
                } else {
                    actor.mailbox.register(&waker);
                    false
                };
                if busy && sleeper.state.take().is_some() {
                    // Taken back: the old task carries on.
                    task = Some(actor.run_task());
                }
            }
            sender.join().unwrap();
            if sleeper.woken.load(Ordering::SeqCst) {
                // The sleeper's new task.
                task = Some(actor.run_task());
            }
            if task.is_some_and(|t| t.0.load(Ordering::SeqCst)) {
                // The task holding the state was woken: it looks again.
                actor.take_all();
            }
            assert!(
                actor.tasks.load(Ordering::SeqCst) <= 1,
                "two tasks held the state"
            );
            assert_eq!(
                actor.handled.load(Ordering::SeqCst) + actor.mailbox.len(),
                1,
                "a message was lost"
            );
            assert_eq!(
                actor.mailbox.len(),
                0,
                "a message waits for a sleeping actor"
            );
        });
    }

    #[test]
    fn loom_a_hibernating_actor_is_woken_by_a_send() {
        hibernating_actor_meets_a_send(true);
    }

    /// Negative control: registering the sleeper without looking again loses the
    /// wake-up of a send that landed just before the registration.
    #[test]
    #[should_panic(expected = "a message waits for a sleeping actor")]
    fn loom_a_sleeper_that_does_not_look_again_can_sleep_beside_a_message() {
        hibernating_actor_meets_a_send(false);
    }
}
