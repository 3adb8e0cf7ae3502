//! The task that runs one actor: receive, handle, supervise, stop.

use std::future::{Future, poll_fn};
use std::mem::MaybeUninit;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::cell::{Cell, Core, Lane, Node, Signal, finalize};
use super::context::Context;
use super::deadlock::AsActor;
use super::lifecycle::{Actor, HandlerError, StopReason};
use super::props::{Factory, OnStop};
use super::supervision::{Decision, Directive, Failure};

/// Runs a hook or handler, turning an error or a panic into a [`Failure`].
fn guarded<F>(fut: F) -> Guarded<F>
where
    F: Future<Output = Result<(), HandlerError>>,
{
    Guarded(fut)
}

/// [`guarded`]'s future. Hand-written: an `async fn` keeps its argument and the future
/// it moves it into side by side (rust-lang/rust#62958), which stored the handler's
/// future twice in every actor's task, and `futures`' `catch_unwind().map(..)` costs a
/// state check and a state replacement per poll on the message path.
struct Guarded<F>(F);

impl<F: Future<Output = Result<(), HandlerError>>> Future for Guarded<F> {
    type Output = Result<(), Failure>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the field is structurally pinned: never moved out, and `Guarded` has no
        // `Drop` or `Unpin` impl of its own.
        let fut = unsafe { self.map_unchecked_mut(|g| &mut g.0) };
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(()))) => Poll::Ready(Ok(())),
            Ok(Poll::Ready(Err(e))) => Poll::Ready(Err(Failure::Error(Arc::from(e.to_string())))),
            Err(panic) => Poll::Ready(Err(Failure::from_panic(panic))),
        }
    }
}

fn guarded_sync(f: impl FnOnce()) -> Result<(), Failure> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(Failure::from_panic)
}

enum Next<M> {
    Msg(M),
    Signals(Vec<Signal>),
    Stop,
    Killed,
    /// Idle, and asked to hibernate: give up the task (see `hibernate`).
    Hibernate,
}

/// The next thing for the actor to do: signals first, then one message.
fn next<M: Send + 'static>(cell: &Cell<M>) -> impl Future<Output = Next<M>> + '_ {
    // The system lane, checked before every message with one load. A request to
    // hibernate is taken only once the mailbox was found empty with the waker registered.
    fn lane<M>(core: &Core, waiting: bool) -> Option<Next<M>> {
        match core.lane() {
            Lane::Empty => None,
            Lane::Killed => Some(Next::Killed),
            Lane::Signals => Some(Next::Signals(core.take_signals())),
            Lane::Stop => Some(Next::Stop),
            Lane::Drowsy => (waiting && core.take_hibernation_request()).then_some(Next::Hibernate),
        }
    }
    poll_fn(move |cx| {
        if let Some(next) = lane(&cell.core, false) {
            return Poll::Ready(next);
        }
        // Take part in tokio's cooperative budget so a flooded actor yields its worker.
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        // Look, register the waker, look again: a send in between wakes us.
        for attempt in 0..2 {
            // SAFETY: this is the actor's own task, the mailbox's one consumer.
            if let Some(msg) = unsafe { cell.mailbox.pop() } {
                coop.made_progress();
                return Poll::Ready(Next::Msg(msg));
            }
            if attempt == 0 {
                cell.mailbox.register(cx.waker());
                if let Some(next) = lane(&cell.core, true) {
                    return Poll::Ready(next);
                }
            }
        }
        Poll::Pending
    })
}

/// Finalizes the actor if its task ends without the graceful path (kill, abort, panic
/// in a stop hook, or the runtime shutting down).
struct Finalizer<M: Send + 'static>(Arc<Cell<M>>);

impl<M: Send + 'static> Finalizer<M> {
    /// The cell, without finalizing it (the caller does, with the real reason).
    fn into_cell(self) -> Arc<Cell<M>> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: read once from a value that is never dropped.
        unsafe { std::ptr::read(&this.0) }
    }
}

impl<M: Send + 'static> Drop for Finalizer<M> {
    fn drop(&mut self) {
        let node: Arc<dyn Node> = self.0.clone();
        // SAFETY: the finalizer lives in the actor's task future and is dropped by it
        // (the task ending, or its future dropped by an abort): the actor's own task.
        unsafe { finalize(&node, &StopReason::Killed) };
    }
}

/// How a restart ended.
enum Restarted {
    /// Running again (with the failure of the new `started`, if it failed).
    Running(Option<Failure>),
    /// A stop arrived during the backoff.
    Stop(StopReason),
    Killed,
}

/// Everything an actor's task owns: the actor's state, its context, its factory and
/// the finalizer (and through it the cell). A hibernating actor parks it in its
/// mailbox's waker and its next message spawns a new task from it (see `hibernate`).
///
/// The state is made by the task's first poll, in the actor's own task (a factory
/// may be slow, take locks or panic; a panic finalizes the actor like any task
/// ending). Until then it is uninitialised, and the context says so
/// ([`Context::needs_start`]): an `Option` would cost a check on every message and,
/// for most states, eight bytes in every actor's task.
///
/// Fields drop in order after [`Drop::drop`] has dropped the state: the context
/// (cancelling timers), then the finalizer last, so that whoever waits for a killed
/// actor's end finds its state dropped.
pub(crate) struct Live<A: Actor> {
    actor: MaybeUninit<A>,
    ctx: Context<A>,
    factory: Factory<A>,
    finalizer: Finalizer<A::Msg>,
}

impl<A: Actor> Live<A> {
    pub(crate) fn cell(&self) -> &Arc<Cell<A::Msg>> {
        &self.finalizer.0
    }

    /// The actor's graceful end: drops the state, the context and the factory, then
    /// finalizes with `reason`, so that whoever waits for the actor finds its state
    /// dropped (as when it is killed) and the actor's task has as little left to do as
    /// possible once the waiter is woken (on a multi-thread runtime a long tail lets an
    /// idle worker wake up and steal the woken waiter).
    fn finish(self, reason: &StopReason) {
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: each field is read out once and `this` is never dropped, so each is
        // dropped exactly once (the state below, the rest as locals). They are read out
        // before the state is dropped: if that panics, unwinding drops them, and the
        // finalizer's `Drop` finalizes the actor (as a kill), so nobody waits forever.
        // (Bound in this order so that an unwind, which drops them in reverse, drops the
        // context before the finalizer that holds its cell.)
        let (finalizer, factory, ctx) = unsafe {
            (
                std::ptr::read(&this.finalizer),
                std::ptr::read(&this.factory),
                std::ptr::read(&this.ctx),
            )
        };
        if !ctx.needs_start() {
            // SAFETY: written (`needs_start` is clear), and `this` is never dropped.
            unsafe { this.actor.assume_init_drop() };
        }
        drop(ctx);
        drop(factory);
        let node: Arc<dyn Node> = finalizer.into_cell();
        // SAFETY: this is the actor's own task.
        unsafe { finalize(&node, reason) };
    }
}

impl<A: Actor> Drop for Live<A> {
    fn drop(&mut self) {
        if !self.ctx.needs_start() {
            // SAFETY: `needs_start` is cleared only once the state is written, and the
            // state is dropped only here, once.
            unsafe { self.actor.assume_init_drop() };
        }
    }
}

/// A new actor's task. The finalizer is made here, before the first poll, so that a
/// task killed or aborted before it ever ran still finalizes (the future is dropped
/// unpolled and drops the finalizer with it) and `wait_terminated` returns.
pub(crate) fn run<A: Actor>(
    cell: Arc<Cell<A::Msg>>,
    factory: Factory<A>,
) -> impl Future<Output = ()> + Send + 'static {
    // SAFETY: the finalizer holds the cell, and `Live` drops the context first.
    let ctx = unsafe { Context::new(&cell) };
    lives(Live {
        actor: MaybeUninit::uninit(),
        ctx,
        factory,
        finalizer: Finalizer(cell),
    })
}

/// The task of a live actor: `started` if it is new, then messages until it stops or
/// hibernates.
///
/// An `async` block that uses what it captures in place, not an `async fn`, whose
/// arguments would be stored twice (as arguments and as the locals they are moved
/// into, rust-lang/rust#62958): 24 bytes in every actor's task. Fields are named in
/// full at each use rather than borrowed once: references held across awaits are
/// stored in the future too.
#[allow(clippy::manual_async_fn)]
pub(crate) fn lives<A: Actor>(mut live: Live<A>) -> impl Future<Output = ()> + Send + 'static {
    async move {
        // Everything off the message path lives in boxed futures (`on_event`, `stop`), so an
        // idle actor's task holds little more than its state, its context and one handler.
        let mut event = None;
        if live.ctx.needs_start() {
            // A panicking factory leaves the state unwritten and `needs_start` set.
            live.actor.write((live.factory)());
            live.ctx.started();
            // SAFETY: just written (the borrow is split from the context's).
            let actor = unsafe { live.actor.assume_init_mut() };
            event = Box::pin(AsActor::new(
                &live.finalizer.0.core,
                guarded(actor.started(&mut live.ctx)),
            ))
            .await
            .err()
            .map(|f| Box::new(Event::Failed(f)));
        }
        let reason = loop {
            if let Some(e) = event.take() {
                // SAFETY: written before the loop (`needs_start` is clear here).
                let actor = unsafe { live.actor.assume_init_mut() };
                let on = on_event(*e, actor, &mut live.ctx, &live.factory, &live.finalizer.0);
                match Box::pin(on).await {
                    Flow::Continue => {}
                    Flow::Stop(reason) => break reason,
                    Flow::Killed => return,
                }
            }
            if live.ctx.stop_requested() {
                break StopReason::Normal;
            }
            let next = next(&live.finalizer.0).await;
            let cell = &live.finalizer.0;
            event = match next {
                Next::Msg(msg) => {
                    cell.core.system.counters.bump(|s| &s.delivered);
                    cell.core.gauges.handled_one();
                    if cell.core.fault.has_handler_fault()
                        && let Some(f) = Box::pin(super::fault::before_handle(&cell.core)).await
                    {
                        Some(Box::new(Event::Failed(f)))
                    } else {
                        // SAFETY: written before the loop (`needs_start` is clear here).
                        let actor = unsafe { live.actor.assume_init_mut() };
                        AsActor::new(&cell.core, guarded(actor.handle(msg, &mut live.ctx)))
                            .await
                            .err()
                            .map(|f| Box::new(Event::Failed(f)))
                    }
                }
                // A plain stop, by far the most common signal, needs no boxed handling.
                Next::Signals(mut signals) => match signals.as_slice() {
                    [Signal::Stop(_)] => match signals.pop() {
                        Some(Signal::Stop(reason)) => break reason,
                        _ => unreachable!("checked above"),
                    },
                    _ => Some(Box::new(Event::Signals(signals))),
                },
                Next::Stop => break StopReason::Normal,
                Next::Killed => return,
                Next::Hibernate => match super::hibernate::hibernate(live) {
                    // Something arrived while it settled: carry on in this task.
                    Some(back) => {
                        live = back;
                        None
                    }
                    // Parked; the next message or signal spawns its new task.
                    None => return,
                },
            };
        };
        // SAFETY: written before the loop (`needs_start` is clear here).
        let actor = unsafe { live.actor.assume_init_mut() };
        let stop = stop(actor, &mut live.ctx, &live.finalizer.0, &reason);
        Box::pin(stop).await;
        live.finish(&reason);
    }
}

/// Something off the message path for the actor to deal with.
enum Event {
    Failed(Failure),
    Signals(Vec<Signal>),
}

/// What the actor does next.
enum Flow {
    Continue,
    Stop(StopReason),
    Killed,
}

/// Handles failures (asking the supervisor) and system signals, until the actor can go
/// back to its mailbox or must stop.
async fn on_event<A: Actor>(
    event: Event,
    actor: &mut A,
    ctx: &mut Context<A>,
    factory: &Factory<A>,
    cell: &Cell<A::Msg>,
) -> Flow {
    let mut pending: std::collections::VecDeque<Event> = [event].into();
    while let Some(event) = pending.pop_front() {
        let failure = match event {
            Event::Failed(f) => f,
            Event::Signals(signals) => {
                for signal in signals {
                    match signal {
                        Signal::Stop(reason) => return Flow::Stop(reason),
                        Signal::Escalated(f) => pending.push_back(Event::Failed(f)),
                        Signal::Restart(cause) if ctx.system().is_shutting_down() => {
                            return Flow::Stop(StopReason::Failed(cause));
                        }
                        Signal::Restart(cause) => {
                            match restart(actor, ctx, factory, cell, &cause, Duration::ZERO).await {
                                Restarted::Running(None) => {}
                                Restarted::Running(Some(f)) => pending.push_back(Event::Failed(f)),
                                Restarted::Stop(reason) => return Flow::Stop(reason),
                                Restarted::Killed => return Flow::Killed,
                            }
                        }
                    }
                }
                continue;
            }
        };
        let Decision { directive, delay } = decide(&cell.core, &failure);
        // No restarts once the system shuts down: a restarted actor whose `started`
        // spawns children fails again (spawning is refused) and would restart forever,
        // so shutdown would never finish.
        let directive = if directive == Directive::Restart && ctx.system().is_shutting_down() {
            Directive::Stop
        } else {
            directive
        };
        match directive {
            Directive::Resume => {}
            Directive::Restart => match restart(actor, ctx, factory, cell, &failure, delay).await {
                Restarted::Running(None) => {}
                Restarted::Running(Some(f)) => pending.push_back(Event::Failed(f)),
                Restarted::Stop(reason) => return Flow::Stop(reason),
                Restarted::Killed => return Flow::Killed,
            },
            Directive::Stop => return Flow::Stop(StopReason::Failed(failure)),
            Directive::Escalate => {
                if let Some(parent) = &cell.core.parent {
                    parent.signal(Signal::Escalated(Failure::Escalated {
                        from: cell.core.address().clone(),
                        cause: Arc::new(failure.clone()),
                    }));
                }
                return Flow::Stop(StopReason::Escalated(failure));
            }
        }
    }
    Flow::Continue
}

/// Asks the parent's strategy (or the root guardian's) what to do, and applies the
/// decision to the siblings the strategy's scope names.
fn decide(core: &Core, failure: &Failure) -> Decision {
    use super::supervision::RestartScope;
    let system = &core.system;
    system.failures.failed(core, failure, system.clock.now());
    let (strategy, family) = match &core.parent {
        Some(p) => (
            p.core()
                .strategy
                .clone()
                .unwrap_or_else(|| system.default_strategy.clone()),
            &p.core().kin,
        ),
        None => (system.guardian_strategy.clone(), &system.guardian),
    };
    let (decision, siblings) = family.family(|fam| {
        let mut decision = strategy.decide(failure, &mut fam.restarts, Instant::now());
        if decision.directive == Directive::Escalate && core.parent.is_none() {
            decision.directive = Directive::Stop;
        }
        let siblings: Vec<Arc<dyn Node>> = match strategy.scope {
            RestartScope::OneForOne => Vec::new(),
            RestartScope::OneForAll => fam
                .children
                .iter()
                .filter(|(id, _)| *id != core.id)
                .map(|(_, c)| c.clone())
                .collect(),
            RestartScope::RestForOne => fam.children.after(core.id).cloned().collect(),
        };
        (decision, siblings)
    });
    for sibling in siblings {
        match decision.directive {
            Directive::Resume => {}
            Directive::Restart => sibling.signal(Signal::Restart(failure.clone())),
            Directive::Stop | Directive::Escalate => {
                sibling.signal(Signal::Stop(StopReason::SiblingFailed))
            }
        }
    }
    tracing::warn!(
        address = %core.address(),
        kind = core.kind.name,
        %failure,
        directive = ?decision.directive,
        delay_ms = decision.delay.as_millis() as u64,
        "actor failed"
    );
    decision
}

/// Replaces the actor's state with a fresh one from the factory. The mailbox is kept.
async fn restart<A: Actor>(
    actor: &mut A,
    ctx: &mut Context<A>,
    factory: &Factory<A>,
    cell: &Cell<A::Msg>,
    cause: &Failure,
    delay: Duration,
) -> Restarted {
    if let Err(f) = guarded_sync(|| actor.before_restart(ctx, cause)) {
        tracing::warn!(address = %cell.core.address(), failure = %f, "before_restart failed");
    }
    ctx.cancel_timers().await;
    stop_children(&cell.core, StopReason::ParentStopping).await;
    if !delay.is_zero() {
        cell.core.system.failures.backing_off(&cell.core, true);
        let sleep = tokio::time::sleep(delay);
        let mut sleep = std::pin::pin!(sleep);
        // Keep obeying stop and kill while backing off.
        let interrupted = poll_fn(|cx| {
            if sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            cell.mailbox.register(cx.waker());
            if cell.core.is_killed() {
                return Poll::Ready(Some(Restarted::Killed));
            }
            if cell.core.is_stop_requested() {
                return Poll::Ready(Some(Restarted::Stop(StopReason::Normal)));
            }
            if cell.core.has_signals() {
                for s in cell.core.take_signals() {
                    if let Signal::Stop(reason) = s {
                        return Poll::Ready(Some(Restarted::Stop(reason)));
                    }
                }
            }
            Poll::Pending
        })
        .await;
        cell.core.system.failures.backing_off(&cell.core, false);
        if let Some(outcome) = interrupted {
            return outcome;
        }
    }
    *actor = factory();
    cell.core
        .kind
        .restarted
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    cell.core.system.failures.restarted(&cell.core);
    tracing::info!(address = %cell.core.address(), kind = cell.core.kind.name, "actor restarted");
    Restarted::Running(
        AsActor::new(&cell.core, guarded(actor.started(ctx)))
            .await
            .err(),
    )
}

/// The graceful stop: close, drain or discard, `stopping`, children, `stopped`.
async fn stop<A: Actor>(
    actor: &mut A,
    ctx: &mut Context<A>,
    cell: &Cell<A::Msg>,
    reason: &StopReason,
) {
    let core = &cell.core;
    core.gauges.stopping();
    cell.mailbox.close();
    ctx.cancel_timers().await;
    let deadline = tokio::time::Instant::now() + core.stop_timeout();
    // Draining reads the clock before each message: skipped when there is none.
    if core.on_stop == OnStop::Drain && cell.mailbox.len() > 0 {
        while tokio::time::Instant::now() < deadline {
            // SAFETY: the actor's own task, the mailbox's one consumer.
            let Some(msg) = (unsafe { cell.mailbox.pop_closed() }) else {
                break;
            };
            let stripe = core.system.counters.local();
            stripe.bump(&stripe.delivered);
            stripe.bump(&stripe.drained);
            core.gauges.handled_one();
            let handled = AsActor::new(core, guarded(actor.handle(msg, ctx)));
            match within(deadline, handled).await {
                Some(Ok(())) => {}
                Some(Err(f)) => {
                    tracing::warn!(address = %core.address(), failure = %f, "handler failed while draining")
                }
                None => break,
            }
        }
    }
    // Whatever is left (Discard, or the deadline ran out) becomes dead letters.
    let node: &dyn Node = cell;
    // SAFETY: `stop` runs in the actor's own task.
    unsafe { node.close_and_discard() };
    let stopping = AsActor::new(core, guarded(actor.stopping(ctx, reason)));
    match within(deadline, stopping).await {
        Some(Ok(())) => {}
        Some(Err(f)) => {
            tracing::warn!(address = %core.address(), failure = %f, "stopping hook failed")
        }
        None => {
            tracing::warn!(address = %core.address(), "stopping hook ran past the stop deadline")
        }
    }
    // Handlers run while draining, and `stopping`, may have started timers.
    ctx.cancel_timers().await;
    stop_children(core, StopReason::ParentStopping).await;
    if let Err(f) = guarded_sync(|| actor.stopped(reason)) {
        tracing::warn!(address = %core.address(), failure = %f, "stopped hook failed");
    }
}

/// `fut`'s output, or `None` if `deadline` passes first. `fut` is polled once before a
/// timer is armed: most handlers and hooks finish at their first poll, and a tokio timer
/// costs a timer-wheel insert and removal under the wheel's lock (twice per stop, when
/// every stop armed one for draining and one for `stopping`).
async fn within<F: Future>(deadline: tokio::time::Instant, fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    if let Poll::Ready(out) = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
        return Some(out);
    }
    tokio::time::timeout_at(deadline, fut).await.ok()
}

/// Stops every child (each stops its own children first, so the deepest go first) and
/// waits for them up to this actor's stop timeout; children still running then are
/// killed and reported as aborted.
pub(crate) async fn stop_children(core: &Core, reason: StopReason) {
    let children = core.children();
    if children.is_empty() {
        return;
    }
    for child in children.iter().rev() {
        child.signal(Signal::Stop(reason.clone()));
    }
    let all = futures_util::future::join_all(children.iter().map(|c| c.core().wait_terminated()));
    if tokio::time::timeout(core.stop_timeout(), all)
        .await
        .is_err()
    {
        for child in &children {
            if !child.core().is_terminated() {
                core.system.record_aborted(child.core().address());
                child.kill();
            }
        }
        let all =
            futures_util::future::join_all(children.iter().map(|c| c.core().wait_terminated()));
        // A killed task finalizes when tokio drops it; that cannot block, but bound the wait anyway.
        let _ = tokio::time::timeout(core.stop_timeout(), all).await;
    }
}
