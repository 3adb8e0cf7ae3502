//! Step events and observers: what a run did, as it did it.
//!
//! Events are published only while someone observes: a graph that was never observed
//! builds no events and holds no event buffer. Each level has its own broadcast buffer
//! of [`GraphConfig::event_buffer`](super::GraphConfig::event_buffer) events, allocated
//! on the first [`Graph::observe`](super::Graph::observe) of that level; an observer that
//! falls further behind misses the oldest events and is told how many
//! ([`ObserveError::Lagged`]). Runs never wait for observers.

use std::fmt;
use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

/// Identifies one run of a graph (unique per graph, in start order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run-{}", self.0)
    }
}

/// How much an observer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Run started, node entered, run finished or failed.
    Status,
    /// Everything: also each update applied, each edge taken and each node failure.
    Debug,
}

/// One thing a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEvent {
    /// The run.
    pub run: RunId,
    /// Steps the run had taken when this happened (see the [module docs](super) for
    /// what a step is).
    pub step: u64,
    /// What happened.
    pub kind: EventKind,
}

/// What happened in a [`StepEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The run began at the entry node. (Status)
    RunStarted,
    /// The run visited a node; for a task node, its work is queued at the node's actor.
    /// (Status)
    NodeEntered {
        /// The node.
        node: Arc<str>,
    },
    /// An update was merged into the state: a task's result, or a join's merge of its
    /// branches. (Debug)
    UpdateApplied {
        /// The task or join.
        node: Arc<str>,
    },
    /// The run moved along an edge (for a fork, one event per branch). (Debug)
    EdgeTaken {
        /// Where from.
        from: Arc<str>,
        /// Where to.
        to: Arc<str>,
    },
    /// A task node failed; a `RunFailed` follows. (Debug)
    NodeFailed {
        /// The node.
        node: Arc<str>,
        /// The cause, as text.
        cause: Arc<str>,
    },
    /// The run reached an end node. (Status)
    RunFinished {
        /// The end node.
        end: Arc<str>,
    },
    /// The run ended with an error (including cancellation and limits). (Status)
    RunFailed {
        /// The error, as text.
        error: Arc<str>,
    },
}

impl EventKind {
    fn is_status(&self) -> bool {
        matches!(
            self,
            EventKind::RunStarted
                | EventKind::NodeEntered { .. }
                | EventKind::RunFinished { .. }
                | EventKind::RunFailed { .. }
        )
    }
}

/// Why [`Observer::recv`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ObserveError {
    /// The observer fell behind and missed this many events; the next `recv` continues
    /// with the oldest still buffered.
    #[error("observer lagged: {0} events missed")]
    Lagged(u64),
    /// The graph is gone.
    #[error("graph dropped")]
    Closed,
}

/// A subscription to a graph's step events, from [`Graph::observe`](super::Graph::observe).
#[derive(Debug)]
pub struct Observer {
    rx: broadcast::Receiver<StepEvent>,
}

impl Observer {
    /// The next event, in the order the graph's runs produced them (events of one run
    /// are in order; runs interleave).
    pub async fn recv(&mut self) -> Result<StepEvent, ObserveError> {
        self.rx.recv().await.map_err(|e| match e {
            broadcast::error::RecvError::Lagged(n) => ObserveError::Lagged(n),
            broadcast::error::RecvError::Closed => ObserveError::Closed,
        })
    }

    /// The next event if one is buffered, without waiting.
    pub fn try_recv(&mut self) -> Option<Result<StepEvent, ObserveError>> {
        match self.rx.try_recv() {
            Ok(e) => Some(Ok(e)),
            Err(broadcast::error::TryRecvError::Empty) => None,
            Err(broadcast::error::TryRecvError::Lagged(n)) => Some(Err(ObserveError::Lagged(n))),
            Err(broadcast::error::TryRecvError::Closed) => Some(Err(ObserveError::Closed)),
        }
    }
}

/// The two lazily created broadcast buffers of a graph.
pub(crate) struct Channels {
    status: OnceLock<broadcast::Sender<StepEvent>>,
    debug: OnceLock<broadcast::Sender<StepEvent>>,
    buffer: usize,
}

impl Channels {
    pub(crate) fn new(buffer: usize) -> Self {
        Self {
            status: OnceLock::new(),
            debug: OnceLock::new(),
            buffer: buffer.max(1),
        }
    }

    pub(crate) fn subscribe(&self, level: Level) -> Observer {
        let cell = match level {
            Level::Status => &self.status,
            Level::Debug => &self.debug,
        };
        let tx = cell.get_or_init(|| broadcast::channel(self.buffer).0);
        Observer { rx: tx.subscribe() }
    }

    /// Whether any channel was ever created: the per-step fast path is one atomic load
    /// per level when nobody ever observed.
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.status.get().is_some() || self.debug.get().is_some()
    }

    /// Publishes `make()` to the observers that want it. Builds the event only if some
    /// channel exists.
    #[inline]
    pub(crate) fn emit(&self, run: RunId, step: u64, make: impl FnOnce() -> EventKind) {
        if !self.active() {
            return;
        }
        self.publish(StepEvent {
            run,
            step,
            kind: make(),
        });
    }

    #[cold]
    fn publish(&self, event: StepEvent) {
        if event.kind.is_status()
            && let Some(tx) = self.status.get()
        {
            // No receivers is not an error: nobody is watching right now.
            let _ = tx.send(event.clone());
        }
        if let Some(tx) = self.debug.get() {
            let _ = tx.send(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unobserved_graph_allocates_no_event_buffer() {
        let channels = Channels::new(256);
        assert!(!channels.active());
        channels.emit(RunId(1), 1, || {
            unreachable!("no event is built when unobserved")
        });
        assert!(channels.status.get().is_none() && channels.debug.get().is_none());
    }

    #[test]
    fn status_observers_see_only_status_events() {
        let channels = Channels::new(8);
        let mut status = channels.subscribe(Level::Status);
        let mut debug = channels.subscribe(Level::Debug);
        channels.emit(RunId(1), 0, || EventKind::RunStarted);
        channels.emit(RunId(1), 1, || EventKind::UpdateApplied {
            node: "a".into(),
        });
        assert_eq!(
            status.try_recv().map(|e| e.map(|e| e.kind)),
            Some(Ok(EventKind::RunStarted))
        );
        assert!(status.try_recv().is_none());
        assert_eq!(debug.try_recv().map(|e| e.map(|e| e.step)), Some(Ok(0)));
        assert_eq!(debug.try_recv().map(|e| e.map(|e| e.step)), Some(Ok(1)));
    }

    #[test]
    fn a_slow_observer_is_told_how_many_it_missed() {
        let channels = Channels::new(2);
        let mut debug = channels.subscribe(Level::Debug);
        for step in 0..5 {
            channels.emit(RunId(1), step, || EventKind::RunStarted);
        }
        assert_eq!(debug.try_recv(), Some(Err(ObserveError::Lagged(3))));
        assert_eq!(debug.try_recv().map(|e| e.map(|e| e.step)), Some(Ok(3)));
    }
}
