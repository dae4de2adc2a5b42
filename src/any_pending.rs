//! [`AnyPending`]: a pending with its value type erased, so that trackers, groups and
//! `as_completed` can hold pendings of different types side by side.

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::PendingError;
use crate::metadata::Metadata;

/// A hook run once when an erased pending completes (used by trackers).
pub(crate) type Hook = Box<dyn FnOnce(&AnyPending) + Send + 'static>;

/// Identifies a registered done-callback, so it can be removed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackId(pub(crate) u64);

/// The slot a waiting future holds in a pending's waiter list.
pub(crate) type WaiterKey = Option<usize>;

/// What every `Pending<T>` offers without naming `T`.
pub(crate) trait ErasedPending: std::any::Any + Send + Sync + 'static {
    fn is_done(&self) -> bool;
    fn is_cancelled(&self) -> bool;
    /// The error outcome, if done with one.
    fn error(&self) -> Option<PendingError>;
    fn cancel(self: Arc<Self>, msg: Option<&str>) -> bool;
    /// Registers `hook`; runs it at once (and returns `None`) when already done.
    fn add_hook(self: Arc<Self>, hook: Hook) -> Option<CallbackId>;
    fn remove_callback(&self, id: CallbackId) -> usize;
    fn metadata(&self) -> Metadata;
    fn poll_done(&self, cx: &mut Context<'_>, key: &mut WaiterKey) -> Poll<()>;
    fn forget_waiter(&self, key: &mut WaiterKey);
    fn wait_done_sync(self: Arc<Self>, timeout: Option<Duration>) -> Result<(), PendingError>;
    fn fmt_debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// A type-erased, cheap-to-clone handle to a [`Pending`](crate::Pending) of any value type.
///
/// Equality and hashing are identity: two handles are equal when they refer to the same pending.
#[derive(Clone)]
pub struct AnyPending {
    pub(crate) inner: Arc<dyn ErasedPending>,
}

impl AnyPending {
    /// The allocation behind this handle, as the type it was made with (`None`, and the handle
    /// dropped, when it is not an `S`).
    pub(crate) fn downcast<S: Send + Sync + 'static>(self) -> Option<Arc<S>> {
        let any: Arc<dyn std::any::Any + Send + Sync> = self.inner;
        any.downcast::<S>().ok()
    }

    /// An identifier unique among live pendings.
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as *const () as usize
    }

    /// True once the outcome is set (SPEC P1).
    pub fn done(&self) -> bool {
        self.inner.is_done()
    }

    /// True once cancellation was requested (SPEC P5).
    pub fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }

    /// Cancels the pending (SPEC P5); see [`Pending::cancel`](crate::Pending::cancel).
    pub fn cancel(&self, msg: Option<&str>) -> bool {
        self.inner.clone().cancel(msg)
    }

    /// The error it ended with: `None` while running or when it produced a value.
    pub fn error(&self) -> Option<PendingError> {
        self.inner.error()
    }

    /// The metadata given at creation (SPEC P2).
    pub fn metadata(&self) -> Metadata {
        self.inner.metadata()
    }

    /// Waits until the pending is done and its callbacks have run, without reading the outcome.
    /// Dropping this future does not cancel the pending.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future cancels nothing (it is a borrowed wait).
    pub fn wait_done(&self) -> WaitDoneAny {
        WaitDoneAny {
            pending: self.clone(),
            key: None,
        }
    }

    /// Blocks this thread until done (SPEC P11), at most `timeout`.
    ///
    /// # Errors
    /// [`PendingError::TimedOut`]; [`PendingError::InvalidState`] when this thread is the one that
    /// must complete the pending.
    pub fn wait_sync_done(&self, timeout: Option<Duration>) -> Result<(), PendingError> {
        self.inner.clone().wait_done_sync(timeout)
    }
}

impl PartialEq for AnyPending {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}
impl Eq for AnyPending {}
impl Hash for AnyPending {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state)
    }
}

impl fmt::Debug for AnyPending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt_debug(f)
    }
}

/// Future returned by [`AnyPending::wait_done`].
///
/// # Cancel safety
/// Cancel-safe: dropping it cancels nothing.
#[must_use = "futures do nothing unless polled"]
pub struct WaitDoneAny {
    pending: AnyPending,
    key: WaiterKey,
}

impl Future for WaitDoneAny {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.pending.inner.poll_done(cx, &mut this.key)
    }
}

impl Drop for WaitDoneAny {
    fn drop(&mut self) {
        self.pending.inner.forget_waiter(&mut self.key);
    }
}
