//! [`Event`]: a thread-safe, one-shot flag that can be awaited from any executor or blocked on
//! (the reference's `stopped` event).

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{InvalidStateError, InvalidStateKind, PendingError};
use crate::pending::{Pending, Wait};

/// A flag that is set once and stays set. Clones share the flag.
///
/// ```
/// use async_kernel::Event;
///
/// let event = Event::new();
/// let setter = event.clone();
/// std::thread::spawn(move || setter.set());
/// event.wait_sync(None).unwrap();
/// assert!(event.is_set());
/// ```
#[derive(Clone)]
pub struct Event {
    // An untracked pending: it already is a thread-safe, awaitable, blockable one-shot. Its
    // runner id names the caller whose thread sets the event (0: anyone), so blocking on the
    // event from that thread is refused like blocking on a call's pending (SPEC P11).
    pending: Pending<()>,
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl Event {
    /// A new, unset event.
    pub fn new() -> Self {
        // Only tracking can fail, and it is off.
        let pending = Pending::builder()
            .allow_tracking(false)
            .build()
            .unwrap_or_default();
        Event { pending }
    }

    /// An event that only the thread of caller `id` sets (a caller's `stopped`): blocking on it
    /// from that thread is an error, not a deadlock.
    pub(crate) fn set_by_caller(id: u32) -> Self {
        let event = Event::new();
        event.pending.inner.runner.store(id, Ordering::Relaxed);
        event
    }

    /// From now on any thread may set the event (a caller that never ran is stopped by its
    /// children's threads, not its own).
    pub(crate) fn release_setter(&self) {
        self.pending.inner.runner.store(0, Ordering::Relaxed);
    }

    /// True while a particular caller's thread must set the event.
    pub(crate) fn has_setter(&self) -> bool {
        self.pending.inner.runner.load(Ordering::Relaxed) != 0
    }

    /// True while blocking on the event from this thread would wait for this very thread.
    pub(crate) fn would_deadlock_here(&self) -> bool {
        !self.is_set() && self.pending.check_not_runner().is_err()
    }

    /// Sets the event and releases every waiter; setting again does nothing.
    pub fn set(&self) {
        let _ = self.pending.set_result(());
    }

    /// Runs `f` once the event is set (at once, here, if it already is).
    pub(crate) fn on_set(&self, f: impl FnOnce() + Send + 'static) {
        self.pending.add_done_callback(move |_| f());
    }

    /// True once set.
    pub fn is_set(&self) -> bool {
        self.pending.done()
    }

    /// Resolves once the event is set. Dropping the future has no effect on the event.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the wait leaves the event as it was.
    pub fn wait(&self) -> Wait<()> {
        self.pending.wait().protect(true)
    }

    /// Blocks this thread until the event is set, at most `timeout`. A timeout too long to
    /// be represented as a deadline (`Duration::MAX`) waits without limit.
    ///
    /// ```
    /// use async_kernel::caller::{Caller, CallerOptions, Modifier};
    /// use std::time::Duration;
    ///
    /// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-event")).unwrap();
    /// caller.stop(true);
    /// caller.stopped().wait_sync(Some(Duration::MAX)).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`PendingError::TimedOut`]; [`PendingError::InvalidState`] (kind
    /// [`InvalidStateKind::WouldDeadlock`]) at once, when the event can only be set by this
    /// very thread (a caller's [`stopped`](crate::Caller::stopped) waited for on its own thread).
    pub fn wait_sync(&self, timeout: Option<Duration>) -> Result<(), PendingError> {
        if self.would_deadlock_here() {
            return Err(InvalidStateError::new(
                InvalidStateKind::WouldDeadlock,
                "waiting for this event on the thread that must set it would deadlock",
            )
            .into());
        }
        // Saturate: a deadline past what `Instant` can hold is no deadline.
        let timeout = timeout.filter(|t| Instant::now().checked_add(*t).is_some());
        self.pending.wait_sync_done(timeout)
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event({})", if self.is_set() { "set" } else { "unset" })
    }
}
