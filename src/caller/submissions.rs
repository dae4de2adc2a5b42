//! The submission queue between any thread and a caller's loop.
//!
//! Producers push under a short lock; the loop takes everything queued in one swap (a batch)
//! and runs it. The loop is woken only when it sleeps: it raises `sleeping` before its last
//! look at the queue, and a producer that sees the flag after pushing takes it down and wakes
//! the loop. Either the loop sees the job or the producer sees the flag (both sides order
//! their write before their read with `SeqCst`), so no job waits for a wake that never comes.
//!
//! Closing the queue (on stop) happens under the same lock as pushing: once closed, nothing
//! more gets in, and whatever was in is handed back to be cancelled, so no pending is lost.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use super::scheduler::Job;

/// Jobs waiting for a caller's loop.
pub(crate) struct Submissions {
    jobs: Mutex<Jobs>,
    /// Queue length, readable without the lock (observability, and the loop's spin check).
    len: AtomicUsize,
    sleeping: AtomicBool,
    waker: AtomicWaker,
}

struct Jobs {
    queue: Batch,
    closed: bool,
}

/// Jobs per chunk of a [`Batch`] (4 KiB of job pointers). Chunks are allocated by producers
/// and freed by the loop's thread; measured pinned with 100k calls per batch, 32 jobs per
/// chunk cost about 60 ns more per call than 256, and beyond 256 nothing changes.
const CHUNK: usize = 256;

/// Jobs in arrival order, kept in fixed-size chunks: growing never copies jobs, and never holds
/// more than one partly used chunk (a doubling `VecDeque` can hold twice the slots it needs,
/// which counts against every queued call).
#[derive(Default)]
pub(crate) struct Batch {
    chunks: VecDeque<VecDeque<Job>>,
    len: usize,
}

impl Batch {
    /// Adds `job` at the end.
    pub(crate) fn push_back(&mut self, job: Job) {
        match self.chunks.back_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push_back(job),
            _ => {
                let mut chunk = VecDeque::with_capacity(CHUNK);
                chunk.push_back(job);
                self.chunks.push_back(chunk);
            }
        }
        self.len += 1;
    }

    /// Moves every job of `other` to the end of this batch, in order.
    fn append(&mut self, mut other: Batch) {
        self.len += other.len;
        other.len = 0;
        self.chunks.append(&mut other.chunks);
    }

    /// The oldest job.
    pub(crate) fn pop_front(&mut self) -> Option<Job> {
        let chunk = self.chunks.front_mut()?;
        let job = chunk.pop_front();
        // The last chunk is kept when it empties: batches travel between the loop and the
        // queue (`take_into` swaps them), so a call at a time reuses one chunk instead of
        // allocating and freeing one per call.
        if chunk.is_empty() && self.chunks.len() > 1 {
            self.chunks.pop_front();
        }
        if job.is_some() {
            self.len -= 1;
        }
        job
    }

    /// The oldest job, left in place.
    pub(crate) fn front(&self) -> Option<&Job> {
        self.chunks.front().and_then(VecDeque::front)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Message of a call whose batch was dropped before the loop got to it (only when the loop
/// itself unwinds).
const BATCH_DROPPED: &str = "Cancelled because its caller's loop ended before the call started.";

impl Drop for Batch {
    /// No pending is lost even if a batch is dropped with jobs in it (the loop unwinding): each
    /// is cancelled, and cancelling never panics.
    fn drop(&mut self) {
        while let Some(job) = self.pop_front() {
            job.cancel(BATCH_DROPPED, "");
        }
    }
}

impl Iterator for Batch {
    type Item = Job;

    fn next(&mut self) -> Option<Job> {
        self.pop_front()
    }
}

impl Submissions {
    pub(crate) fn new() -> Self {
        Submissions {
            jobs: Mutex::new(Jobs {
                queue: Batch::default(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
            sleeping: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `job`; gives it back when the queue is closed.
    pub(crate) fn push(&self, job: Job) -> Result<(), Job> {
        {
            let mut jobs = self.lock();
            if jobs.closed {
                return Err(job);
            }
            jobs.queue.push_back(job);
            // A store under the lock, not a read-modify-write: cheaper, and exact.
            self.len.store(jobs.queue.len(), Ordering::Relaxed);
        }
        if self.sleeping.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::SeqCst) {
            self.waker.wake();
        }
        Ok(())
    }

    /// Moves every queued job to the end of `batch`.
    pub(crate) fn take_into(&self, batch: &mut Batch) {
        if self.len.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut jobs = self.lock();
        if batch.is_empty() {
            // Swapped whole: the emptied chunk goes back to the producers for reuse.
            std::mem::swap(&mut jobs.queue, batch);
        } else {
            let taken = std::mem::take(&mut jobs.queue);
            batch.append(taken);
        }
        self.len.store(0, Ordering::Relaxed);
    }

    /// Wakes the loop if it sleeps (after a job was added to its own batch, on its thread).
    pub(crate) fn wake_if_sleeping(&self) {
        if self.sleeping.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::SeqCst) {
            self.waker.wake();
        }
    }

    /// Closes the queue and hands back what was in it.
    pub(crate) fn close(&self) -> Batch {
        let taken = {
            let mut jobs = self.lock();
            jobs.closed = true;
            self.len.store(0, Ordering::Relaxed);
            std::mem::take(&mut jobs.queue)
        };
        self.wake();
        taken
    }

    /// Wakes the loop whether or not it sleeps (used by stop).
    pub(crate) fn wake(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
        self.waker.wake();
    }

    /// Jobs waiting to be taken.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Resolves when there may be work (or the loop was woken for another reason): in this
    /// queue, or in `own`, the loop's batch, where calls scheduled from the loop's own thread
    /// go.
    pub(crate) fn sleep<'a>(&'a self, own: &'a RefCell<Batch>) -> Sleep<'a> {
        Sleep {
            queue: self,
            own,
            yielded: false,
        }
    }
}

/// Future of [`Submissions::sleep`].
pub(crate) struct Sleep<'a> {
    queue: &'a Submissions,
    own: &'a RefCell<Batch>,
    /// Gave the executor one turn before spinning.
    yielded: bool,
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let q = self.queue;
        q.waker.register(cx.waker());
        // A task of this thread scheduled a call (same thread: no race with this check).
        if q.len() > 0 || !self.own.borrow().is_empty() {
            q.sleeping.store(false, Ordering::SeqCst);
            return Poll::Ready(());
        }
        if !q.sleeping.load(Ordering::SeqCst) {
            // About to sleep. First let this thread's own tasks run once: work they schedule
            // needs no spinning (spinning here would only delay them).
            if !self.yielded {
                self.get_mut().yielded = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Then wait a moment (src/spin.rs): work from another thread often arrives within
            // it, and then no wake-up (a syscall) is needed.
            if crate::spin::spin_until(|| q.len() > 0) {
                return Poll::Ready(());
            }
        }
        if !q.sleeping.swap(true, Ordering::SeqCst) {
            // First poll: raised the flag; look once more, under the producers' lock, before
            // really sleeping.
            let jobs = q.lock();
            if !jobs.queue.is_empty() || jobs.closed {
                q.sleeping.store(false, Ordering::SeqCst);
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        // Still flagged: a spurious poll. Woken polls find the flag lowered by the producer.
        if q.lock().closed {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}
