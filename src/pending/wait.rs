//! Waiting for a pending: the async [`Wait`] future and the blocking `wait_sync`.

use std::future::{Future, IntoFuture};

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::any_pending::WaiterKey;
use crate::error::PendingError;
use crate::sync::{Condvar, Mutex, Ordering, Timer, lock};

use super::core::{DROPPED_WAIT_MESSAGE, Pending};
use super::state::DONE;

impl<T: Send + 'static> Pending<T> {
    /// Waits for the outcome (SPEC P10). Configure with [`Wait::timeout`], [`Wait::protect`] and
    /// [`Wait::without_result`]; awaiting the pending itself (`pen.await`) waits the same way.
    ///
    /// The wait ends when the pending is done *and* its done-callbacks have run.
    ///
    /// # Cancel safety
    /// The wait is owned: dropping the unfinished future after it was first polled, or
    /// reaching its timeout, cancels the pending with a message saying so, unless the wait was
    /// made with `protect(true)`. A wait that was never polled cancels nothing. For a wait that
    /// never cancels, await `&pen` (see the drop rule on [`Pending`]).
    pub fn wait(&self) -> Wait<T> {
        self.clone().into_wait()
    }

    /// [`wait`](Pending::wait) consuming this handle (no reference count traffic).
    fn into_wait(self) -> Wait<T> {
        Wait {
            pending: self,
            key: None,
            timeout: None,
            timer: None,
            protect: false,
            polled: false,
            finished: false,
        }
    }

    /// Blocks this thread until done (SPEC P11), at most `timeout`, then returns the outcome.
    /// A timeout does not cancel the pending; `Some(Duration::MAX)` is the same as `None`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use async_kernel::{Pending, PendingError};
    ///
    /// let pen: Pending<u32> = Pending::new();
    /// let late = pen.wait_sync(Some(Duration::from_millis(5)));
    /// assert!(matches!(late, Err(PendingError::TimedOut(_))));
    /// assert!(!pen.cancelled()); // a blocking timeout gives nothing up
    /// let setter = pen.clone();
    /// std::thread::spawn(move || setter.set_result(7).unwrap());
    /// assert_eq!(pen.wait_sync(None).unwrap(), 7);
    /// ```
    ///
    /// # Errors
    /// The pending's error; [`PendingError::TimedOut`]; [`PendingError::InvalidState`] at once
    /// when this thread is the one that must run the pending (it would deadlock).
    pub fn wait_sync(&self, timeout: Option<Duration>) -> Result<T, PendingError>
    where
        T: Clone,
    {
        self.wait_sync_done(timeout)?;
        self.result()
    }

    /// Like [`wait_sync`](Pending::wait_sync), then moves the value out with
    /// [`take`](Pending::take): for values that are not `Clone`.
    ///
    /// # Errors
    /// As [`wait_sync`](Pending::wait_sync), and [`InvalidStateKind::AlreadyTaken`] when another
    /// consumer took the value first.
    ///
    /// [`InvalidStateKind::AlreadyTaken`]: crate::InvalidStateKind::AlreadyTaken
    pub fn wait_sync_take(&self, timeout: Option<Duration>) -> Result<T, PendingError> {
        self.wait_sync_done(timeout)?;
        self.take()
    }

    /// Like [`wait_sync`](Pending::wait_sync) with the reference's `result=False`: only waits,
    /// never returns the pending's own error.
    ///
    /// # Errors
    /// [`PendingError::TimedOut`]; [`PendingError::InvalidState`] when it would deadlock.
    pub fn wait_sync_done(&self, timeout: Option<Duration>) -> Result<(), PendingError> {
        if self.is_released() {
            return Ok(());
        }
        self.check_not_runner()?;
        // A short wait before parking, by the crate's one policy (src/spin.rs).
        if crate::spin::spin_until(|| self.is_released()) {
            return Ok(());
        }
        // A timeout too large for the clock (`Duration::MAX`) means no deadline.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let parker = Arc::new(Parker::default());
        let waker = Waker::from(parker.clone());
        let mut cx = Context::from_waker(&waker);
        let mut key: WaiterKey = None;
        let outcome = loop {
            if self.poll_done(&mut cx, &mut key).is_ready() {
                break Ok(());
            }
            if !parker.park(deadline) {
                break Err(PendingError::TimedOut(timeout.unwrap_or_default()));
            }
        };
        self.inner.forget_waiter(&mut key);
        outcome
    }

    /// True when every done-callback has run and waiters may read the outcome.
    fn is_released(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) & DONE != 0
    }
}

/// Wakes a blocked thread.
#[derive(Default)]
struct Parker {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl Parker {
    /// Sleeps until woken (true) or `deadline` passes (false).
    fn park(&self, deadline: Option<Instant>) -> bool {
        let mut notified = lock(&self.notified);
        while !*notified {
            match deadline {
                None => {
                    notified = self
                        .condvar
                        .wait(notified)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    notified = self
                        .condvar
                        .wait_timeout(notified, d - now)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        }
        *notified = false;
        true
    }
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *lock(&self.notified) = true;
        self.condvar.notify_one();
    }
}

/// The future of [`Pending::wait`]; resolves to the pending's outcome.
///
/// # Cancel safety
/// Dropping it before the pending is done cancels the pending, unless made with
/// [`protect(true)`](Wait::protect) (SPEC P10).
#[must_use = "futures do nothing unless polled"]
pub struct Wait<T: Send + 'static> {
    pending: Pending<T>,
    key: WaiterKey,
    timeout: Option<Duration>,
    timer: Option<Timer>,
    protect: bool,
    /// Polled at least once: only a wait that started can be abandoned.
    polled: bool,
    finished: bool,
}

impl<T: Send + 'static> Wait<T> {
    /// Gives up after `timeout` with [`PendingError::TimedOut`] (and cancels the pending unless
    /// protected).
    ///
    /// # Cancel safety
    /// Reaching the timeout gives the wait up: it cancels the pending unless protected.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// With `true`, neither a timeout nor dropping this future cancels the pending.
    ///
    /// # Cancel safety
    /// A protected wait is cancel-safe: drop it and wait again with a new one.
    pub fn protect(mut self, protect: bool) -> Self {
        self.protect = protect;
        self
    }

    /// Waits, then moves the value out ([`Pending::take`]): how a value that is not `Clone`
    /// leaves a pending asynchronously. Only one consumer gets the value; a later one gets
    /// [`InvalidStateKind::AlreadyTaken`](crate::InvalidStateKind::AlreadyTaken).
    ///
    /// ```
    /// use async_kernel::Pending;
    ///
    /// let pen: Pending<Vec<u8>> = Pending::new();
    /// pen.set_result(vec![1, 2, 3]).unwrap();
    /// let bytes = futures::executor::block_on(pen.wait().take()).unwrap();
    /// assert_eq!(bytes, [1, 2, 3]);
    /// ```
    ///
    /// # Cancel safety
    /// As this wait: dropping the future unfinished cancels the pending unless protected; the
    /// value stays in the pending until the future returns it.
    pub fn take(self) -> WaitTake<T> {
        WaitTake { wait: self }
    }

    /// Only waits: the output is `Ok(())` once done, whatever the outcome (the reference's
    /// `result=False`). Timeouts are still reported.
    ///
    /// # Cancel safety
    /// As this wait: dropping the future unfinished cancels the pending unless protected.
    pub fn without_result(self) -> WaitDone<T> {
        WaitDone { wait: self }
    }

    /// The pending being waited for.
    pub fn pending(&self) -> &Pending<T> {
        &self.pending
    }

    fn poll_completion(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), PendingError>> {
        self.polled = true;
        if self.pending.poll_done(cx, &mut self.key).is_ready() {
            self.finished = true;
            return Poll::Ready(Ok(()));
        }
        if let Some(limit) = self.timeout {
            let timer = self.timer.get_or_insert_with(|| Timer::after(limit));
            if Pin::new(timer).poll(cx).is_ready() {
                self.finished = true;
                self.pending.inner.forget_waiter(&mut self.key);
                if !self.protect {
                    let msg = format!("Cancelled because a wait timed out after {limit:?}.");
                    self.pending.cancel(Some(&msg));
                }
                return Poll::Ready(Err(PendingError::TimedOut(limit)));
            }
        }
        Poll::Pending
    }
}

impl<T: Send + 'static> Drop for Wait<T> {
    fn drop(&mut self) {
        self.pending.inner.forget_waiter(&mut self.key);
        // A wait that was never polled never started waiting: dropping it cancels nothing.
        if self.polled && !self.finished && !self.protect && !self.pending.done() {
            self.pending.cancel(Some(DROPPED_WAIT_MESSAGE));
        }
    }
}

impl<T: Clone + Send + 'static> Future for Wait<T> {
    type Output = Result<T, PendingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.poll_completion(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(this.pending.result()),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The future of [`Wait::without_result`]; resolves once the pending is done.
///
/// # Cancel safety
/// As [`Wait`]: dropping it unfinished cancels the pending unless the wait was protected.
#[must_use = "futures do nothing unless polled"]
pub struct WaitDone<T: Send + 'static> {
    wait: Wait<T>,
}

impl<T: Send + 'static> Future for WaitDone<T> {
    type Output = Result<(), PendingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().wait.poll_completion(cx)
    }
}

/// The future of [`Wait::take`]; resolves to the value, moved out of the pending.
///
/// # Cancel safety
/// As [`Wait`]: dropping it unfinished cancels the pending unless the wait was protected.
#[must_use = "futures do nothing unless polled"]
pub struct WaitTake<T: Send + 'static> {
    wait: Wait<T>,
}

impl<T: Send + 'static> Future for WaitTake<T> {
    type Output = Result<T, PendingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.wait.poll_completion(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(this.wait.pending.take()),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// `(&pen).await`, or `select! { r = &pen => .. }`: a *borrowed* wait, which never cancels the
/// pending when dropped (borrowing never cancels; see [`Pending`]'s drop rule).
impl<T: Clone + Send + 'static> IntoFuture for &Pending<T> {
    type Output = Result<T, PendingError>;
    type IntoFuture = Wait<T>;

    fn into_future(self) -> Wait<T> {
        self.wait().protect(true)
    }
}
