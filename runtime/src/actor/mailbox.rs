//! Mailboxes: a lock-free multi-producer queue with a bound and a backpressure policy.
//!
//! A mailbox counts its *reserved slots* in one atomic word whose top bit marks it
//! closed. A sender reserves a slot (compare-and-swap below the capacity), then pushes;
//! the actor pops, then releases the slot. Because reservation and the closed flag live
//! in the same word, a message is either accepted before the mailbox closed (and will be
//! drained or discarded, so it is accounted for) or refused as a dead letter: there is
//! no window in which it could slip into a closed mailbox and vanish.
//!
//! What each [`Policy`] does when the mailbox is full:
//!
//! | policy        | `tell` (async)                 | `try_tell` (never waits)     |
//! |---------------|--------------------------------|------------------------------|
//! | `Block`       | waits for a free slot          | `SendError::Full`            |
//! | `Fail`        | `SendError::Full`              | `SendError::Full`            |
//! | `DropNewest`  | drops the new message, `Ok`    | same                         |
//! | `DropOldest`  | evicts the oldest queued, `Ok` | same                         |
//! | `Unbounded`   | never full                     | never full                   |
//!
//! Dropped messages are counted per policy; they are never silent. Under `DropOldest`
//! a sender that finds the queue full but nothing yet poppable (other senders have
//! reserved but not pushed) retries briefly and then pushes over the bound rather than
//! lose the message, so the bound can be exceeded by at most the number of concurrent
//! senders for an instant.
//!
//! Memory: an empty mailbox holds no buffer; the queue allocates segments as messages
//! arrive and frees them as they drain.

use std::fmt;
use std::task::Waker;

use super::queue::Queue;
use super::sync::{AtomicBool, AtomicUsize, AtomicWaker, Ordering, spin};

/// What a full mailbox does with a new message. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Policy {
    /// The sender waits until there is room (`tell`), or gets `Full` (`try_tell`).
    #[default]
    Block,
    /// The sender gets `SendError::Full` back, with its message.
    Fail,
    /// The new message is dropped and counted.
    DropNewest,
    /// The oldest queued message is dropped and counted, and the new one is queued.
    DropOldest,
    /// No bound. Explicit opt-in only: memory grows with the backlog.
    Unbounded,
}

impl Policy {
    /// Every policy, in declaration order.
    pub const ALL: [Policy; 5] = [
        Policy::Block,
        Policy::Fail,
        Policy::DropNewest,
        Policy::DropOldest,
        Policy::Unbounded,
    ];

    /// The policy's name as used in scenario files and metric labels (`drop-newest`).
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Block => "block",
            Policy::Fail => "fail",
            Policy::DropNewest => "drop-newest",
            Policy::DropOldest => "drop-oldest",
            Policy::Unbounded => "unbounded",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown mailbox policy `{s}` (expected one of: block, fail, drop-newest, drop-oldest, unbounded)"
                )
            })
    }
}

/// Capacity and policy of one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxConfig {
    /// Most messages queued at once (ignored by `Unbounded`). Must be at least 1.
    pub capacity: usize,
    /// What happens when the mailbox is full.
    pub policy: Policy,
}

impl Default for MailboxConfig {
    /// 1024 messages, `Block`.
    fn default() -> Self {
        Self {
            capacity: 1024,
            policy: Policy::Block,
        }
    }
}

impl MailboxConfig {
    /// A bounded mailbox of `capacity` with `policy`.
    pub fn new(capacity: usize, policy: Policy) -> Self {
        Self { capacity, policy }
    }

    /// An unbounded mailbox.
    pub fn unbounded() -> Self {
        Self {
            capacity: usize::MAX,
            policy: Policy::Unbounded,
        }
    }
}

const CLOSED: usize = 1 << (usize::BITS - 1);
const COUNT: usize = !CLOSED;
/// How often a `DropOldest` sender retries before pushing over the bound. (Under loom,
/// two attempts cover both paths without multiplying the interleavings to explore.)
#[cfg(not(gauntlet_loom))]
const EVICT_ATTEMPTS: usize = 64;
#[cfg(gauntlet_loom)]
const EVICT_ATTEMPTS: usize = 2;

/// What happened to a message offered to a mailbox.
#[derive(Debug)]
pub(crate) enum Push<M> {
    /// Queued; the mailbox holds `depth` messages counting this one.
    Queued,
    /// The mailbox was full and the policy dropped this message.
    DroppedNewest,
    /// The mailbox was full; the oldest message was evicted and this one queued.
    DroppedOldest,
    /// The mailbox was full and the policy refuses (`Fail`, or `Block` without waiting).
    Full(M),
    /// The mailbox is closed: the actor is stopping or gone.
    Closed(M),
}

enum Reserve {
    Ok(usize),
    Full,
    Closed,
}

/// A bounded MPSC mailbox. The consumer side (`pop*`) must be used by one task at a
/// time: the actor's own. Under `DropOldest`, senders evict through the same consumer
/// side, serialized with the actor by a try-lock token that only that policy uses.
pub(crate) struct Mailbox<M> {
    queue: Queue<M>,
    /// Held by whoever pops under `DropOldest` (the actor, or an evicting sender).
    token: AtomicBool,
    state: AtomicUsize,
    peak: AtomicUsize,
    blocked: AtomicUsize,
    rx: AtomicWaker,
    capacity: usize,
    policy: Policy,
    /// Wakes `Block` senders waiting for room; created by the first sender that waits.
    #[cfg(not(gauntlet_loom))]
    space: std::sync::OnceLock<Box<tokio::sync::Notify>>,
    #[cfg(gauntlet_loom)]
    space: loom::sync::Notify,
}

impl<M> Mailbox<M> {
    pub(crate) fn new(config: MailboxConfig) -> Self {
        let capacity = match config.policy {
            Policy::Unbounded => COUNT,
            _ => config.capacity.clamp(1, COUNT - 1),
        };
        Self {
            queue: Queue::new(),
            token: AtomicBool::new(false),
            state: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            blocked: AtomicUsize::new(0),
            rx: AtomicWaker::new(),
            capacity,
            policy: config.policy,
            #[cfg(not(gauntlet_loom))]
            space: std::sync::OnceLock::new(),
            #[cfg(gauntlet_loom)]
            space: loom::sync::Notify::new(),
        }
    }

    pub(crate) fn policy(&self) -> Policy {
        self.policy
    }

    /// Messages queued (including ones reserved and about to be pushed).
    pub(crate) fn len(&self) -> usize {
        self.state.load(Ordering::Acquire) & COUNT
    }

    /// The deepest the queue has been.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    fn reserve(&self) -> Reserve {
        self.reserve_from(self.state.load(Ordering::Relaxed))
    }

    /// Reserves a slot, starting from `cur`, a value `state` had (the compare-and-swap
    /// below corrects a stale one).
    fn reserve_from(&self, mut cur: usize) -> Reserve {
        if self.policy == Policy::Unbounded {
            let prev = self.state.fetch_add(1, Ordering::SeqCst);
            if prev & CLOSED != 0 {
                self.state.fetch_sub(1, Ordering::SeqCst);
                return Reserve::Closed;
            }
            return Reserve::Ok((prev & COUNT) + 1);
        }
        loop {
            if cur & CLOSED != 0 {
                return Reserve::Closed;
            }
            if cur >= self.capacity {
                return Reserve::Full;
            }
            match self.state.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Reserve::Ok(cur + 1),
                Err(actual) => cur = actual,
            }
        }
    }

    #[inline]
    fn commit(&self, msg: M, depth: usize) {
        self.queue.push(msg);
        if depth > self.peak.load(Ordering::Relaxed) {
            self.peak.fetch_max(depth, Ordering::Relaxed);
        }
        self.rx.wake();
    }

    /// Offers a message without waiting.
    pub(crate) fn try_push(&self, msg: M) -> Push<M> {
        match self.reserve() {
            Reserve::Ok(depth) => {
                self.commit(msg, depth);
                Push::Queued
            }
            Reserve::Closed => Push::Closed(msg),
            Reserve::Full => match self.policy {
                Policy::Block | Policy::Fail => Push::Full(msg),
                Policy::DropNewest => {
                    drop(msg);
                    Push::DroppedNewest
                }
                Policy::DropOldest => self.evict_and_push(msg),
                Policy::Unbounded => unreachable!("an unbounded mailbox is never full"),
            },
        }
    }

    /// Offers a message from a `Block` sender that has announced itself as waiting
    /// ([`Blocked`]), without waiting.
    ///
    /// This is one half of a handshake with [`pop`](Self::pop), which frees a slot and
    /// then looks for announced senders: either this look sees the freed slot, or that
    /// pop sees the announcement and wakes the sender. A plain (relaxed) load here could
    /// read a stale "full" while the pop reads a stale "nobody waits" (a store-buffering
    /// reordering that x86 forbids but weakly ordered CPUs allow), and the sender would
    /// sleep with room in the mailbox. So the state is read with a read-modify-write:
    /// it reads the latest value, and as a release it makes the announcement visible to
    /// every later decrement (an acquire that reads from its release sequence: every
    /// change to `state` is a read-modify-write). This costs the waiting sender one
    /// atomic add and costs `pop`, the per-message path, nothing; a fence on both sides
    /// (as in `handshake`) would put a full fence on every pop. Model-checked by
    /// `loom_blocked_sender_is_woken`.
    fn try_push_announced(&self, msg: M) -> Push<M> {
        match self.reserve_from(self.state.fetch_add(0, Ordering::SeqCst)) {
            Reserve::Ok(depth) => {
                self.commit(msg, depth);
                Push::Queued
            }
            Reserve::Closed => Push::Closed(msg),
            Reserve::Full => Push::Full(msg),
        }
    }

    fn evict_and_push(&self, msg: M) -> Push<M> {
        for _ in 0..EVICT_ATTEMPTS {
            if let Some(oldest) = self.try_pop_as_sender() {
                // The evicted message's slot passes to the new one: the count is unchanged.
                self.queue.push(msg);
                self.rx.wake();
                drop(oldest);
                return Push::DroppedOldest;
            }
            match self.reserve() {
                Reserve::Ok(depth) => {
                    self.commit(msg, depth);
                    return Push::Queued;
                }
                Reserve::Closed => return Push::Closed(msg),
                Reserve::Full => spin(),
            }
        }
        // Every slot is reserved by a sender that has not pushed yet. Exceed the bound for
        // an instant rather than lose a message.
        let prev = self.state.fetch_add(1, Ordering::SeqCst);
        if prev & CLOSED != 0 {
            self.state.fetch_sub(1, Ordering::SeqCst);
            return Push::Closed(msg);
        }
        self.commit(msg, (prev & COUNT) + 1);
        Push::Queued
    }

    /// Offers a message; under `Block` waits for room. Cancel-safe: dropping the future
    /// drops the message and leaves the mailbox consistent.
    #[cfg(not(gauntlet_loom))]
    pub(crate) async fn push(&self, msg: M) -> Push<M> {
        self.push_until(msg, None).await
    }

    /// Like [`push`](Self::push); a `Block` wait that reaches `deadline` gives the message
    /// back as `Full`.
    #[cfg(not(gauntlet_loom))]
    pub(crate) async fn push_until(
        &self,
        msg: M,
        deadline: Option<tokio::time::Instant>,
    ) -> Push<M> {
        if self.policy != Policy::Block {
            return self.try_push(msg);
        }
        let mut msg = match self.try_push(msg) {
            Push::Full(msg) => msg,
            done => return done,
        };
        loop {
            let notified = self
                .space
                .get_or_init(|| Box::new(tokio::sync::Notify::new()))
                .notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            let _announce = Blocked::new(&self.blocked);
            // Re-check after announcing ourselves: a pop in between saw no waiter.
            msg = match self.try_push_announced(msg) {
                Push::Full(msg) => msg,
                done => return done,
            };
            match deadline {
                None => notified.await,
                Some(at) => {
                    if tokio::time::timeout_at(at, notified).await.is_err() {
                        return self.try_push(msg);
                    }
                }
            }
            msg = match self.try_push(msg) {
                Push::Full(msg) => msg,
                done => return done,
            };
        }
    }

    /// The `Block` wait of [`push_until`](Self::push_until) for loom, which cannot run
    /// tokio's `Notify`: the same announce, re-check and wake protocol, with a thread
    /// that blocks on loom's `Notify` instead of a task awaiting tokio's. A lost wake-up
    /// leaves this thread blocked forever, which loom reports as a deadlock. `recheck`
    /// is [`try_push_announced`](Self::try_push_announced); a model may pass the
    /// unfenced re-check this code once had, to see loom catch it.
    #[cfg(gauntlet_loom)]
    pub(crate) fn push_blocking(&self, msg: M, recheck: fn(&Self, M) -> Push<M>) -> Push<M> {
        let mut msg = match self.try_push(msg) {
            Push::Full(msg) => msg,
            done => return done,
        };
        loop {
            let _announce = Blocked::new(&self.blocked);
            msg = match recheck(self, msg) {
                Push::Full(msg) => msg,
                done => return done,
            };
            self.space.wait();
            msg = match self.try_push(msg) {
                Push::Full(msg) => msg,
                done => return done,
            };
        }
    }

    /// Wakes one `Block` sender waiting for room, if any announced itself.
    #[inline]
    fn wake_blocked_sender(&self) {
        if self.blocked.load(Ordering::SeqCst) > 0 {
            #[cfg(not(gauntlet_loom))]
            if let Some(space) = self.space.get() {
                space.notify_one();
            }
            #[cfg(gauntlet_loom)]
            self.space.notify();
        }
    }

    /// Runs `f` as the queue's one consumer if the `DropOldest` consumer token is free
    /// (`None`: someone else holds it).
    fn with_free_token<R>(&self, f: impl FnOnce(&Queue<M>) -> R) -> Option<R> {
        if self
            .token
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        let out = f(&self.queue);
        self.token.store(false, Ordering::Release);
        Some(out)
    }

    /// A sender's eviction under `DropOldest`: pops the oldest message if the consumer
    /// token is free, without freeing its slot (the caller passes the slot on).
    fn try_pop_as_sender(&self) -> Option<M> {
        // SAFETY: the token makes us the only consumer.
        self.with_free_token(|q| unsafe { q.pop() }).flatten()
    }

    /// Takes the next message, if any, and frees its slot.
    ///
    /// # Safety
    /// Only the mailbox's consumer (the actor's task) may call this, one call at a time.
    #[inline]
    pub(crate) unsafe fn pop(&self) -> Option<M> {
        let msg = if self.policy == Policy::DropOldest {
            while self
                .token
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                spin();
            }
            // SAFETY: the token makes us the only consumer.
            let msg = unsafe { self.queue.pop() };
            self.token.store(false, Ordering::Release);
            msg
        } else {
            // SAFETY: the caller is the only consumer, and no sender pops under this policy.
            unsafe { self.queue.pop() }
        }?;
        // Free the slot, then look for waiting senders (see `try_push_announced`).
        self.state.fetch_sub(1, Ordering::SeqCst);
        self.wake_blocked_sender();
        Some(msg)
    }

    /// Frees the queue's block if the mailbox is empty (see [`Queue::release`]): a
    /// hibernating actor's mailbox holds no memory but its own fields.
    ///
    /// # Safety
    /// As for [`pop`](Self::pop).
    pub(crate) unsafe fn release_memory(&self) -> bool {
        if self.policy == Policy::DropOldest {
            // An evicting sender that holds the token found the mailbox full, not empty.
            // SAFETY: the token makes us the only consumer.
            self.with_free_token(|q| unsafe { q.release() })
                .unwrap_or(false)
        } else {
            // SAFETY: the caller is the only consumer, and no sender pops under this policy.
            unsafe { self.queue.release() }
        }
    }

    /// Registers the consumer's waker; senders wake it after every push.
    #[inline]
    pub(crate) fn register(&self, waker: &Waker) {
        super::sync::register(&self.rx, waker);
    }

    /// Wakes the consumer (also used by the system lane, which shares the waker).
    #[inline]
    pub(crate) fn wake(&self) {
        self.rx.wake();
    }

    /// Polls for the next message, registering the waker when empty.
    ///
    /// # Safety
    /// As for [`pop`](Self::pop).
    #[cfg(test)]
    pub(crate) unsafe fn poll_pop(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<M> {
        use std::task::Poll;
        // SAFETY: the caller is the one consumer (this method's contract).
        if let Some(msg) = unsafe { self.pop() } {
            return Poll::Ready(msg);
        }
        self.register(cx.waker());
        // SAFETY: as above.
        match unsafe { self.pop() } {
            Some(msg) => Poll::Ready(msg),
            None => Poll::Pending,
        }
    }

    /// Closes the mailbox: every later send is refused as a dead letter, and blocked
    /// senders wake to see it. Returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        // Closed for good already (an actor's stop closes it, then its end again): its
        // blocked senders were woken by the close that closed it.
        if self.state.load(Ordering::Acquire) & CLOSED != 0 {
            return false;
        }
        let prev = self.state.fetch_or(CLOSED, Ordering::SeqCst);
        #[cfg(not(gauntlet_loom))]
        if let Some(space) = self.space.get() {
            space.notify_waiters();
        }
        // (loom's `Notify` has one waiter, and keeps a permit like `notify_one`.)
        #[cfg(gauntlet_loom)]
        self.space.notify();
        prev & CLOSED == 0
    }

    /// After [`close`](Self::close): the next message still owed to the consumer, waiting
    /// out senders that reserved a slot before the close but have not pushed yet.
    ///
    /// # Safety
    /// As for [`pop`](Self::pop).
    pub(crate) unsafe fn pop_closed(&self) -> Option<M> {
        loop {
            // SAFETY: the caller is the one consumer (this method's contract).
            if let Some(msg) = unsafe { self.pop() } {
                return Some(msg);
            }
            if self.len() == 0 {
                return None;
            }
            spin();
        }
    }
}

/// Counts a sender as blocked for as long as it is alive (so cancellation undoes it).
struct Blocked<'a>(&'a AtomicUsize);

impl<'a> Blocked<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(all(test, not(gauntlet_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    /// Each test has one consumer: itself.
    fn pop<M>(mb: &Mailbox<M>) -> Option<M> {
        // SAFETY: each test (or its one consumer thread) is the mailbox's only consumer.
        unsafe { mb.pop() }
    }

    fn pop_closed<M>(mb: &Mailbox<M>) -> Option<M> {
        // SAFETY: as for `pop`.
        unsafe { mb.pop_closed() }
    }

    fn drain<M>(mb: &Mailbox<M>) -> Vec<M> {
        std::iter::from_fn(|| pop(mb)).collect()
    }

    #[test]
    fn policy_names_round_trip() {
        for p in Policy::ALL {
            assert_eq!(p.as_str().parse::<Policy>().unwrap(), p);
        }
        let err = "dropnewest".parse::<Policy>().unwrap_err();
        assert!(err.contains("drop-newest"), "{err}");
    }

    #[test]
    fn fifo_order_per_sender() {
        let mb = Mailbox::new(MailboxConfig::new(8, Policy::Fail));
        for i in 0..8 {
            assert!(matches!(mb.try_push(i), Push::Queued));
        }
        assert_eq!(drain(&mb), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn fail_policy_returns_the_message_when_full() {
        let mb = Mailbox::new(MailboxConfig::new(2, Policy::Fail));
        mb.try_push(1);
        mb.try_push(2);
        assert!(matches!(mb.try_push(3), Push::Full(3)));
        assert_eq!(mb.len(), 2);
    }

    #[test]
    fn drop_newest_keeps_the_queue_and_drops_the_new_message() {
        let mb = Mailbox::new(MailboxConfig::new(2, Policy::DropNewest));
        mb.try_push(1);
        mb.try_push(2);
        assert!(matches!(mb.try_push(3), Push::DroppedNewest));
        assert_eq!(drain(&mb), vec![1, 2]);
    }

    #[test]
    fn drop_oldest_evicts_the_head() {
        let mb = Mailbox::new(MailboxConfig::new(2, Policy::DropOldest));
        mb.try_push(1);
        mb.try_push(2);
        assert!(matches!(mb.try_push(3), Push::DroppedOldest));
        assert_eq!(mb.len(), 2);
        assert_eq!(drain(&mb), vec![2, 3]);
    }

    #[test]
    fn unbounded_never_refuses() {
        let mb = Mailbox::new(MailboxConfig::unbounded());
        for i in 0..10_000 {
            assert!(matches!(mb.try_push(i), Push::Queued));
        }
        assert_eq!(mb.len(), 10_000);
        assert_eq!(mb.peak(), 10_000);
    }

    #[test]
    fn closed_mailbox_refuses_and_drains_what_was_accepted() {
        let mb = Mailbox::new(MailboxConfig::new(4, Policy::Block));
        mb.try_push(1);
        mb.try_push(2);
        assert!(mb.close());
        assert!(!mb.close());
        assert!(matches!(mb.try_push(3), Push::Closed(3)));
        assert_eq!(pop_closed(&mb), Some(1));
        assert_eq!(pop_closed(&mb), Some(2));
        assert_eq!(pop_closed(&mb), None);
    }

    #[test]
    fn try_push_under_block_policy_reports_full() {
        let mb = Mailbox::new(MailboxConfig::new(1, Policy::Block));
        mb.try_push(1);
        assert!(matches!(mb.try_push(2), Push::Full(2)));
    }

    #[tokio::test]
    async fn block_policy_waits_for_room() {
        let mb = Arc::new(Mailbox::new(MailboxConfig::new(1, Policy::Block)));
        mb.try_push(0);
        let sender = {
            let mb = mb.clone();
            tokio::spawn(async move { matches!(mb.push(1).await, Push::Queued) })
        };
        // The sender cannot finish while the mailbox is full.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!sender.is_finished());
        assert_eq!(pop(&mb), Some(0));
        assert!(sender.await.unwrap());
        assert_eq!(pop(&mb), Some(1));
    }

    #[tokio::test]
    async fn blocked_sender_sees_close() {
        let mb = Arc::new(Mailbox::new(MailboxConfig::new(1, Policy::Block)));
        mb.try_push(0);
        let sender = {
            let mb = mb.clone();
            tokio::spawn(async move { matches!(mb.push(1).await, Push::Closed(1)) })
        };
        tokio::task::yield_now().await;
        mb.close();
        assert!(sender.await.unwrap());
    }

    #[tokio::test]
    async fn cancelled_blocked_sender_does_not_leak_its_announcement() {
        let mb = Mailbox::new(MailboxConfig::new(1, Policy::Block));
        mb.try_push(0);
        let res = tokio::time::timeout(std::time::Duration::from_millis(1), mb.push(1)).await;
        assert!(res.is_err());
        assert_eq!(mb.blocked.load(Ordering::SeqCst), 0);
        assert_eq!(mb.len(), 1);
    }

    #[test]
    fn poll_pop_wakes_after_push() {
        use std::sync::atomic::AtomicBool;
        use std::task::Wake;
        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mb = Mailbox::new(MailboxConfig::default());
        // SAFETY: this test is the mailbox's only consumer.
        assert!(unsafe { mb.poll_pop(&mut cx) }.is_pending());
        mb.try_push(7);
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        // SAFETY: as above.
        assert_eq!(unsafe { mb.poll_pop(&mut cx) }, Poll::Ready(7));
    }

    #[test]
    fn concurrent_senders_account_for_every_message() {
        use std::sync::atomic::AtomicBool;
        for policy in Policy::ALL {
            let mb = Arc::new(Mailbox::new(MailboxConfig::new(16, policy)));
            let done = Arc::new(AtomicBool::new(false));
            let consumer = {
                let (mb, done) = (mb.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut popped = 0usize;
                    loop {
                        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                        match pop(&mb) {
                            Some(_) => popped += 1,
                            None if finished => break,
                            None => std::thread::yield_now(),
                        }
                    }
                    mb.close();
                    while pop_closed(&mb).is_some() {
                        popped += 1;
                    }
                    popped
                })
            };
            let senders: Vec<_> = (0..4)
                .map(|t| {
                    let mb = mb.clone();
                    std::thread::spawn(move || {
                        let (mut queued, mut dropped, mut full) = (0usize, 0usize, 0usize);
                        for i in 0..2_000 {
                            match mb.try_push(t * 10_000 + i) {
                                Push::Queued => queued += 1,
                                Push::DroppedNewest | Push::DroppedOldest => dropped += 1,
                                Push::Full(_) => full += 1,
                                Push::Closed(_) => unreachable!(),
                            }
                        }
                        (queued, dropped, full)
                    })
                })
                .collect();
            let (mut queued, mut dropped, mut full) = (0, 0, 0);
            for h in senders {
                let (q, d, f) = h.join().unwrap();
                queued += q;
                dropped += d;
                full += f;
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            let popped = consumer.join().unwrap();
            assert_eq!(queued + dropped + full, 8_000, "{policy}");
            // A DropOldest eviction queues the new message and removes an old one, so
            // under every policy exactly the `Queued` count reaches the consumer.
            assert_eq!(popped, queued, "{policy}");
            assert_eq!(mb.len(), 0);
        }
    }
}

#[cfg(all(test, gauntlet_loom))]
pub(crate) mod loom_tests {
    //! Model checks of reservation, close, eviction and draining:
    //! `RUSTFLAGS="--cfg gauntlet_loom" cargo test -p gauntlet-runtime --lib loom --release`.
    use super::*;
    use loom::sync::Arc;
    use loom::thread;
    use std::task::Context;

    /// Bounded preemptions keep the exploration to minutes on two cores; the bugs this
    /// code could have (a lost wake-up, a stranded or doubly counted message) need at most
    /// two preemptions to show.
    pub(crate) fn model(f: impl Fn() + Send + Sync + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    fn outcome(p: Push<u32>) -> (usize, usize, usize) {
        match p {
            Push::Queued => (1, 0, 0),
            Push::DroppedNewest | Push::DroppedOldest => (0, 1, 0),
            Push::Full(_) | Push::Closed(_) => (0, 0, 1),
        }
    }

    /// Two senders race a close and a consumer: every message ends up popped, dropped by
    /// policy, or refused. Nothing is stranded in a closed mailbox.
    fn no_message_stranded(policy: Policy) {
        model(move || {
            let mb = Arc::new(Mailbox::new(MailboxConfig::new(1, policy)));
            let senders: Vec<_> = (0..2)
                .map(|i| {
                    let mb = mb.clone();
                    thread::spawn(move || outcome(mb.try_push(i)))
                })
                .collect();
            let mut popped = usize::from(unsafe { mb.pop() }.is_some());
            mb.close();
            while unsafe { mb.pop_closed() }.is_some() {
                popped += 1;
            }
            let (mut queued, mut dropped, mut refused) = (0, 0, 0);
            for s in senders {
                let (q, d, r) = s.join().unwrap();
                queued += q;
                dropped += d;
                refused += r;
            }
            assert_eq!(queued + dropped + refused, 2);
            assert_eq!(popped, queued);
            assert_eq!(mb.len(), 0);
            assert!(unsafe { mb.pop() }.is_none());
        });
    }

    #[test]
    fn loom_fail_policy() {
        no_message_stranded(Policy::Fail);
    }

    #[test]
    fn loom_drop_newest_policy() {
        no_message_stranded(Policy::DropNewest);
    }

    #[test]
    fn loom_drop_oldest_policy() {
        no_message_stranded(Policy::DropOldest);
    }

    #[test]
    fn loom_unbounded_policy() {
        no_message_stranded(Policy::Unbounded);
    }

    /// A push is never missed by a consumer that registered its waker and found nothing.
    #[test]
    fn loom_no_lost_wakeup() {
        use loom::sync::atomic::AtomicBool;
        model(|| {
            let mb = Arc::new(Mailbox::new(MailboxConfig::new(4, Policy::Fail)));
            let woke = Arc::new(AtomicBool::new(false));
            let sender = {
                let mb = mb.clone();
                thread::spawn(move || {
                    mb.try_push(1);
                })
            };
            let waker = loom_waker(woke.clone());
            let mut cx = Context::from_waker(&waker);
            let got = match unsafe { mb.pop() } {
                Some(m) => Some(m),
                None => {
                    mb.register(cx.waker());
                    unsafe { mb.pop() }
                }
            };
            let _ = &mut cx;
            sender.join().unwrap();
            // Either we got it, or we were woken and can get it now.
            if got.is_none() {
                assert!(woke.load(Ordering::SeqCst));
                assert_eq!(unsafe { mb.pop() }, Some(1));
            }
        });
    }

    /// A `Block` sender that finds the mailbox full and goes to sleep is woken when the
    /// actor frees a slot. Would catch: a re-check after announcing that can read a
    /// stale "full" while the pop reads a stale "nobody waits" (the sender then sleeps
    /// forever beside a free slot; loom reports the blocked thread as a deadlock).
    #[test]
    fn loom_blocked_sender_is_woken() {
        blocked_sender_is_woken(Mailbox::try_push_announced);
    }

    /// The negative control: the re-check the code had before (a relaxed load of the
    /// state, no fence or read-modify-write) loses the wake-up, and loom finds it:
    /// `RUSTFLAGS="--cfg gauntlet_loom" cargo test -p gauntlet-runtime --lib --release
    /// loom_blocked_sender_with -- --ignored` reports `deadlock; threads = [(Id(0),
    /// Blocked ..), (Id(1), Blocked ..)]` (the asker joining, the sender asleep). Ignored
    /// because loom's deadlock panic then aborts the test process while it unwinds its
    /// model threads, so `should_panic` cannot catch it.
    #[test]
    #[ignore = "a negative control: fails by design, and aborts the process"]
    fn loom_blocked_sender_with_a_relaxed_recheck_can_sleep_forever() {
        blocked_sender_is_woken(Mailbox::try_push);
    }

    fn blocked_sender_is_woken(recheck: fn(&Mailbox<u32>, u32) -> Push<u32>) {
        model(move || {
            let mb = Arc::new(Mailbox::new(MailboxConfig::new(1, Policy::Block)));
            assert!(matches!(mb.try_push(0), Push::Queued));
            let sender = {
                let mb = mb.clone();
                thread::spawn(move || matches!(mb.push_blocking(1, recheck), Push::Queued))
            };
            assert_eq!(unsafe { mb.pop() }, Some(0));
            assert!(
                sender.join().unwrap(),
                "the blocked sender's message was not queued"
            );
            assert_eq!(unsafe { mb.pop() }, Some(1));
        });
    }

    fn loom_waker(flag: Arc<loom::sync::atomic::AtomicBool>) -> Waker {
        struct Flag(Arc<loom::sync::atomic::AtomicBool>);
        impl std::task::Wake for Flag {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        Waker::from(std::sync::Arc::new(Flag(flag)))
    }
}
