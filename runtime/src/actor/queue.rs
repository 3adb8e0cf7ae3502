//! A compact lock-free multi-producer, single-consumer FIFO queue.
//!
//! Why not an off-the-shelf queue: every well-kept lock-free queue we measured pads its
//! head and tail to separate cache lines (crossbeam's `SegQueue`: 256 bytes, aligned to
//! 128) and keeps a block of 31 to 32 slots allocated once it has seen a message. With
//! one queue per actor that padding and that block *are* the idle actor: an idle actor
//! with `SegQueue` cost 2.3 KiB, with this queue about 0.6 KiB (`cargo run --release -p
//! gauntlet-runtime --example idle_memory`). Mailboxes are contended by few senders at a
//! time, so padding buys little there.
//!
//! Algorithm: a linked list of small blocks, [`CAP`] slots each. Producers claim a
//! position with a compare-and-swap on the tail index; the producer that claims a block's
//! last slot allocates and links the next block *before* writing its value, and marks
//! the position after the last slot as a sentinel in between, so other producers wait
//! for the link instead of racing to allocate. Each slot has a ready flag set after its
//! value is written. The single consumer reads slots in order, and frees a block once it
//! has read every slot in it; every producer that claimed a slot there has already
//! finished with it (setting its ready bit is its last access). The first block is allocated
//! by the first push, so an actor that never got a message holds no block.
//!
//! Positions are a global, monotonically increasing index (block number * `LAP` +
//! offset), so a stale producer's compare-and-swap can never succeed by accident (no ABA).

use std::mem::MaybeUninit;
use std::ptr;

use super::sync::{AtomicPtr, AtomicU8, AtomicUsize, Ordering, UnsafeCell, spin};

/// Positions per block, including the sentinel.
const LAP: usize = 8;
/// Slots per block.
const CAP: usize = LAP - 1;

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    /// Bit `i` is set once slot `i` holds a value.
    ready: AtomicU8,
    slots: [UnsafeCell<MaybeUninit<T>>; CAP],
}

impl<T> Block<T> {
    fn alloc() -> *mut Block<T> {
        Box::into_raw(Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            ready: AtomicU8::new(0),
            slots: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        }))
    }
}

/// The queue. `push` from any thread; `pop` from one consumer at a time (the caller
/// guarantees it: the actor's task, or whoever holds the mailbox's consumer token).
pub(crate) struct Queue<T> {
    tail: AtomicUsize,
    tail_block: AtomicPtr<Block<T>>,
    /// Consumer side: the next position to read and its block. Atomics only so the type
    /// is `Sync`; one consumer at a time touches them, so relaxed order suffices between
    /// its own accesses (hand-over between consumers is ordered by the caller's token).
    head: AtomicUsize,
    head_block: AtomicPtr<Block<T>>,
}

// SAFETY: the queue owns the values it holds (moved in by `push`, out by `pop`) and its
// blocks; sending it to another thread sends those, which `T: Send` allows.
unsafe impl<T: Send> Send for Queue<T> {}
// SAFETY: shared access is `push` (any thread: a producer writes only the slot its
// compare-and-swap claimed, and publishes it with a release on the ready bit) and the
// unsafe `pop` (one consumer at a time, by its contract, reading only published slots);
// values cross threads, never get shared, so `T: Send` suffices.
unsafe impl<T: Send> Sync for Queue<T> {}

impl<T> Queue<T> {
    pub(crate) fn new() -> Self {
        Self {
            tail: AtomicUsize::new(0),
            tail_block: AtomicPtr::new(ptr::null_mut()),
            head: AtomicUsize::new(0),
            head_block: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Appends `value`. Lock-free; allocates one block per `CAP` pushes.
    pub(crate) fn push(&self, value: T) {
        let mut tail = self.tail.load(Ordering::Acquire);
        let mut block = self.tail_block.load(Ordering::Acquire);
        let mut next: *mut Block<T> = ptr::null_mut();
        loop {
            let offset = tail % LAP;
            if offset == CAP {
                // Another producer is linking the next block.
                spin();
                tail = self.tail.load(Ordering::Acquire);
                block = self.tail_block.load(Ordering::Acquire);
                continue;
            }
            if block.is_null() {
                // The first push (the very first, or the first after `release`) installs
                // the first block, for both ends.
                let first = Block::alloc();
                match self.tail_block.compare_exchange(
                    ptr::null_mut(),
                    first,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => self.head_block.store(first, Ordering::Release),
                    Err(_) => {
                        // SAFETY: `first` was never shared.
                        drop(unsafe { Box::from_raw(first) });
                    }
                }
                // Both reloaded, tail first: a block is only used after a successful
                // compare-and-swap from a tail read before it (see `release`).
                tail = self.tail.load(Ordering::Acquire);
                block = self.tail_block.load(Ordering::Acquire);
                continue;
            }
            if offset + 1 == CAP && next.is_null() {
                next = Block::alloc();
            }
            match self.tail.compare_exchange_weak(
                tail,
                tail + 1,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                // SAFETY: we own slot `offset` of `block`; the block cannot be freed before
                // its slot is marked ready (the consumer reads every slot first); `next`, if
                // still ours at the end, was never published.
                Ok(_) => unsafe {
                    if offset + 1 == CAP {
                        self.tail_block.store(next, Ordering::Release);
                        self.tail.fetch_add(1, Ordering::Release);
                        (*block).next.store(next, Ordering::Release);
                        next = ptr::null_mut();
                    }
                    (*block).slots[offset].with_mut(|v| (*v).write(value));
                    (*block).ready.fetch_or(1 << offset, Ordering::Release);
                    if !next.is_null() {
                        drop(Box::from_raw(next));
                    }
                    return;
                },
                Err(current) => {
                    tail = current;
                    block = self.tail_block.load(Ordering::Acquire);
                }
            }
        }
    }

    /// Takes the oldest value, or `None` if the queue is empty or the oldest claimed slot
    /// is still being written (its producer wakes the consumer when done).
    ///
    /// # Safety
    /// One consumer at a time.
    pub(crate) unsafe fn pop(&self) -> Option<T> {
        let head = self.head.load(Ordering::Relaxed);
        if head == self.tail.load(Ordering::Acquire) {
            return None;
        }
        let block = self.head_block.load(Ordering::Acquire);
        if block.is_null() {
            // The first push has claimed a position but not yet published its block.
            return None;
        }
        let offset = head % LAP;
        // SAFETY: `block` holds position `head`, which a producer has claimed; the block
        // lives until we free it below.
        unsafe {
            if (*block).ready.load(Ordering::Acquire) & (1 << offset) == 0 {
                return None;
            }
            let value = (*block).slots[offset].with(|v| (*v).assume_init_read());
            if offset + 1 == CAP {
                // Last slot: its producer linked the next block before writing it.
                let next = (*block).next.load(Ordering::Acquire);
                self.head_block.store(next, Ordering::Release);
                self.head.store(head + 2, Ordering::Relaxed);
                drop(Box::from_raw(block));
            } else {
                self.head.store(head + 1, Ordering::Relaxed);
            }
            Some(value)
        }
    }

    /// Frees the block of an empty queue, so that an idle queue holds no memory (a
    /// hibernating actor's mailbox); the next push installs a first block again, as the
    /// very first push does. Returns whether it freed one (`false`: a value is claimed
    /// or waiting, or there is no block).
    ///
    /// The consumer claims every free position of the block at once, by moving `tail`
    /// from its own `head` to the block's sentinel, where producers wait as they do for
    /// a block being linked; a producer's claim that got in first makes this fail.
    /// Then nobody can reach the block: it unlinks it (`head_block` first, so that a
    /// producer installing the next block, which can only start once `tail_block` is
    /// null, publishes its `head_block` after this null), frees it, and opens the next
    /// lap. A producer uses a block only after a successful compare-and-swap from a tail
    /// it read *before* reading the block, and tail positions never repeat, so no
    /// producer writes to the freed block. Model-checked by
    /// `loom_release_races_a_producer`.
    ///
    /// # Safety
    /// One consumer at a time, as for [`pop`](Self::pop).
    pub(crate) unsafe fn release(&self) -> bool {
        self.release_ordered(true)
    }

    /// [`release`](Self::release), or with `head_first: false` the two unlinking stores
    /// the other way round: the loom models' negative control.
    fn release_ordered(&self, head_first: bool) -> bool {
        let head = self.head.load(Ordering::Relaxed);
        let block = self.head_block.load(Ordering::Acquire);
        if block.is_null() {
            return false;
        }
        let sentinel = head - head % LAP + CAP;
        if self
            .tail
            .compare_exchange(head, sentinel, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        if head_first {
            self.head_block.store(ptr::null_mut(), Ordering::Relaxed);
            self.tail_block.store(ptr::null_mut(), Ordering::Release);
        } else {
            self.tail_block.store(ptr::null_mut(), Ordering::Release);
            self.head_block.store(ptr::null_mut(), Ordering::Relaxed);
        }
        // SAFETY: every position of `block` up to `head` was read and every later one
        // is claimed by us: no producer holds a slot in it, and none can get one (see
        // above). It came from `Block::alloc`.
        drop(unsafe { Box::from_raw(block) });
        let next = sentinel + 1;
        self.head.store(next, Ordering::Relaxed);
        self.tail.store(next, Ordering::Release);
        true
    }

    /// Whether a value might be waiting (claimed positions not yet read).
    #[allow(dead_code)]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Ordering::Relaxed) == self.tail.load(Ordering::Acquire)
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        // Exclusive access: every claimed slot has been written.
        // SAFETY: `&mut self` makes us the only consumer.
        while unsafe { self.pop() }.is_some() {}
        let block = self.head_block.load(Ordering::Acquire);
        if !block.is_null() {
            // SAFETY: the last block, fully read; nobody else can reach it.
            drop(unsafe { Box::from_raw(block) });
        }
    }
}

#[cfg(all(test, not(gauntlet_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Each test has one consumer: its own thread.
    fn pop<T>(q: &Queue<T>) -> Option<T> {
        // SAFETY: the calling test thread is the queue's only consumer.
        unsafe { q.pop() }
    }

    fn release<T>(q: &Queue<T>) -> bool {
        // SAFETY: the calling test thread is the queue's only consumer.
        unsafe { q.release() }
    }

    #[test]
    fn fifo_across_many_blocks() {
        let q = Queue::new();
        for round in 0..3 {
            for i in 0..100 {
                q.push(round * 1000 + i);
            }
            for i in 0..100 {
                assert_eq!(pop(&q), Some(round * 1000 + i));
            }
            assert_eq!(pop(&q), None);
        }
    }

    #[test]
    fn an_untouched_queue_allocates_nothing_and_drops_leftovers() {
        let q: Queue<String> = Queue::new();
        assert!(q.tail_block.load(Ordering::Relaxed).is_null());
        drop(q);
        // Leftover values are dropped with the queue, each once (counted). That the
        // blocks are freed too is checked by Miri (`runtime/miri.sh`) where a nightly
        // toolchain with Miri is installed; CI's machines have only stable.
        let dropped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        struct Counted(Arc<std::sync::atomic::AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let q = Queue::new();
        for _ in 0..20 {
            q.push(Counted(dropped.clone()));
        }
        drop(pop(&q));
        drop(q);
        assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 20);
    }

    #[test]
    fn a_released_queue_holds_no_block_and_takes_values_again() {
        let q = Queue::new();
        assert!(!release(&q), "no block yet");
        for round in 0..20u32 {
            // Every offset in a block, and across block boundaries; none at all in some.
            let n = round % 11;
            for i in 0..n {
                q.push(round * 100 + i);
            }
            assert!(n == 0 || !release(&q), "released a non-empty queue");
            for i in 0..n {
                assert_eq!(pop(&q), Some(round * 100 + i));
            }
            assert_eq!(release(&q), n > 0, "round {round}");
            assert!(q.tail_block.load(Ordering::Relaxed).is_null());
            assert!(q.head_block.load(Ordering::Relaxed).is_null());
            assert_eq!(pop(&q), None);
        }
        q.push(7);
        assert_eq!(pop(&q), Some(7));
    }

    /// As below, with the consumer freeing the block whenever it finds the queue empty
    /// (a hibernating actor's mailbox, many times over): nothing lost or reordered.
    #[test]
    fn concurrent_producers_racing_releases_keep_every_value_in_order() {
        concurrent_producers(true);
    }

    #[test]
    fn concurrent_producers_keep_per_producer_order() {
        concurrent_producers(false);
    }

    fn concurrent_producers(releasing: bool) {
        let q = Arc::new(Queue::new());
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        q.push(p << 32 | i);
                    }
                })
            })
            .collect();
        let mut next = [0u64; 4];
        let mut got = 0;
        while got < 80_000 {
            if let Some(v) = pop(&q) {
                let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
                assert_eq!(i, next[p], "producer {p} out of order");
                next[p] += 1;
                got += 1;
            } else if releasing {
                release(&q);
            } else {
                std::hint::spin_loop();
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        assert_eq!(pop(&q), None);
    }
}

#[cfg(all(test, gauntlet_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// A producer races the consumer freeing the block of its empty queue (as a
    /// hibernating actor does): the value arrives, once, whichever way it goes. (One
    /// producer: the race is between a push and the release, and with two, the spins
    /// while the release holds the sentinel put the exploration past 15 minutes.)
    fn release_races_a_producer(head_first: bool) {
        crate::actor::mailbox::loom_tests::model(move || {
            let q = Arc::new(Queue::new());
            q.push(0u32);
            // SAFETY: this thread is the queue's one consumer.
            assert_eq!(unsafe { q.pop() }, Some(0));
            let producer = {
                let q = q.clone();
                thread::spawn(move || q.push(1))
            };
            q.release_ordered(head_first);
            producer.join().unwrap();
            let mut seen = Vec::new();
            // SAFETY: as above.
            while let Some(v) = unsafe { q.pop() } {
                seen.push(v);
            }
            seen.sort();
            assert_eq!(seen, [1], "a pushed value is not reachable");
        });
    }

    #[test]
    fn loom_release_races_a_producer() {
        release_races_a_producer(true);
    }

    /// Negative control: unlinking `tail_block` before `head_block` lets a producer
    /// install the next block and publish it as `head_block` before the consumer's
    /// null lands on top, and the consumer never finds the value.
    #[test]
    #[should_panic(expected = "a pushed value is not reachable")]
    fn loom_release_unlinking_the_tail_first_strands_a_value() {
        release_races_a_producer(false);
    }

    /// Two producers race across a block boundary while the consumer reads: every value
    /// arrives once, in per-producer order.
    #[test]
    fn loom_queue_across_a_block_boundary() {
        crate::actor::mailbox::loom_tests::model(|| {
            let q = Arc::new(Queue::new());
            // Fill up to just before the boundary so the race happens on the last slot.
            for i in 0..(CAP - 1) as u32 {
                q.push(i);
            }
            let producers: Vec<_> = (0..2u32)
                .map(|p| {
                    let q = q.clone();
                    thread::spawn(move || q.push(100 + p))
                })
                .collect();
            let mut seen = Vec::new();
            if let Some(v) = unsafe { q.pop() } {
                seen.push(v);
            }
            for p in producers {
                p.join().unwrap();
            }
            while let Some(v) = unsafe { q.pop() } {
                seen.push(v);
            }
            let mut expect: Vec<u32> = (0..(CAP - 1) as u32).collect();
            expect.extend([100, 101]);
            let mut sorted = seen.clone();
            sorted.sort();
            assert_eq!(sorted, expect);
            let firsts: Vec<u32> = seen.iter().copied().filter(|v| *v < 100).collect();
            assert_eq!(firsts, (0..(CAP - 1) as u32).collect::<Vec<_>>());
        });
    }
}
