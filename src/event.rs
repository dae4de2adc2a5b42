//! [`Event`]: a thread-safe, one-shot flag that can be awaited from any executor or blocked on
//! (the reference's `stopped` event).

use std::fmt;
use std::time::Duration;

use crate::error::PendingError;
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
    // An untracked pending: it already is a thread-safe, awaitable, blockable one-shot.
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
    /// Cancel-safe: dropping the future has no effect on the event; wait again with a new one.
    pub fn wait(&self) -> Wait<()> {
        self.pending.wait().protect(true)
    }

    /// Blocks this thread until the event is set, at most `timeout`.
    ///
    /// # Errors
    /// [`PendingError::TimedOut`].
    pub fn wait_sync(&self, timeout: Option<Duration>) -> Result<(), PendingError> {
        self.pending.wait_sync_done(timeout)
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event({})", if self.is_set() { "set" } else { "unset" })
    }
}
