//! [`PendingManager`]: tracks the pendings created where it is bound, until deactivated (SPEC
//! T4, T5).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::any_pending::AnyPending;
use crate::error::{InvalidStateError, InvalidStateKind, PendingError};
use crate::pending::{Pending, Wait};
use crate::sync::{Mutex, lock};
use crate::tracker::{
    self, PendingTrackerState, Tracker, TrackerEvents, TrackerKind, TrackerToken,
};

/// A context-bound registry of pendings, for long-lived scopes (a kernel's execution, a
/// session) that are not one async body.
///
/// Activate it, bind it to a context with [`start_tracking`](Self::start_tracking), and every
/// pending created in that context (and by work scheduled from it) is tracked until it completes.
/// [`deactivate`](Self::deactivate) cancels (or forgets) what is still running. A manager ignores
/// its members' failures. Clones are handles to the same manager.
///
/// ```
/// use async_kernel::{Pending, PendingManager};
///
/// let manager = PendingManager::new().activate().unwrap();
/// let token = manager.start_tracking().unwrap();
/// let pen: Pending<()> = Pending::new();
/// manager.stop_tracking(token).unwrap();
/// assert!(manager.contains(&pen.erase()));
///
/// // Deactivating cancels the member; it has no canceller, so it is done at once.
/// assert!(manager.deactivate(true).unwrap().is_none());
/// assert!(pen.cancelled());
/// ```
#[derive(Clone)]
pub struct PendingManager {
    tracker: Arc<Tracker<ManagerEvents>>,
}

pub(crate) struct ManagerEvents {
    /// The countdown handed out by `deactivate`, completed when the last member is done.
    countdown: Mutex<Option<Pending<()>>>,
}

impl TrackerEvents for ManagerEvents {
    const KIND: TrackerKind = TrackerKind::Manager;

    fn drained(tracker: &Arc<Tracker<Self>>) {
        if tracker.state() == PendingTrackerState::Stopped {
            if let Some(c) = lock(&tracker.events.countdown).take() {
                let _ = c.set_result(());
            }
        }
    }
}

impl Default for PendingManager {
    fn default() -> Self {
        PendingManager::new()
    }
}

impl PartialEq for PendingManager {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.tracker, &other.tracker)
    }
}
impl Eq for PendingManager {}

impl PendingManager {
    /// A new manager in the idle state.
    pub fn new() -> Self {
        PendingManager {
            tracker: Tracker::new(ManagerEvents {
                countdown: Mutex::new(None),
            }),
        }
    }

    /// Starts tracking (from idle or stopped); does not bind any context (SPEC T4).
    ///
    /// # Errors
    /// [`InvalidStateKind::TrackerState`] when active or exiting.
    pub fn activate(&self) -> Result<Self, InvalidStateError> {
        self.tracker
            .transition(
                &[PendingTrackerState::Idle, PendingTrackerState::Stopped],
                PendingTrackerState::Active,
            )
            .map_err(|state| state_error("activate", state))?;
        Ok(self.clone())
    }

    /// Leaves the active state (SPEC T5). Each tracked pending is cancelled with
    /// `"the PendingManager has been deactivated"` (`cancel_pending`) or forgotten. Returns a
    /// [`Countdown`] while cancelled members are still finishing (the same one again if called
    /// again); `None` once stopped.
    ///
    /// # Errors
    /// [`InvalidStateKind::TrackerState`] when the manager was never activated.
    pub fn deactivate(&self, cancel_pending: bool) -> Result<Option<Countdown>, InvalidStateError> {
        match self.tracker.state() {
            PendingTrackerState::Stopped => return Ok(None),
            PendingTrackerState::Idle => {
                return Err(state_error("deactivate", PendingTrackerState::Idle));
            }
            PendingTrackerState::Exiting => return Ok(self.countdown()),
            PendingTrackerState::Active => {}
        }
        // Create the countdown before members can drain, so no completion is missed.
        let countdown = Pending::builder().allow_tracking(false).build()?;
        *lock(&self.tracker.events.countdown) = Some(countdown);
        if self.tracker.begin_exit(true) {
            ManagerEvents::drained(&self.tracker);
            return Ok(None);
        }
        let message = "the PendingManager has been deactivated"; // no address: it reaches Display
        for pen in self.tracker.pending() {
            if cancel_pending {
                pen.cancel(Some(message));
            } else {
                self.tracker.discard(&pen);
            }
        }
        if self.tracker.state() == PendingTrackerState::Stopped {
            return Ok(None);
        }
        Ok(self.countdown())
    }

    fn countdown(&self) -> Option<Countdown> {
        let pending = lock(&self.tracker.events.countdown).clone()?;
        Some(Countdown {
            pending,
            tracker: self.tracker.clone(),
        })
    }

    /// Binds this manager to the current context (SPEC T4): pendings created here are tracked
    /// until [`stop_tracking`](Self::stop_tracking).
    ///
    /// # Errors
    /// [`InvalidStateKind::TrackerState`] unless active.
    pub fn start_tracking(&self) -> Result<TrackerToken, InvalidStateError> {
        match self.tracker.state() {
            PendingTrackerState::Active => Ok(tracker::bind(&self.tracker)),
            state => Err(state_error("start_tracking", state)),
        }
    }

    /// Unbinds what [`start_tracking`](Self::start_tracking) bound.
    ///
    /// # Errors
    /// [`InvalidStateKind::WrongToken`] for a token of another manager or tracker kind.
    pub fn stop_tracking(&self, token: TrackerToken) -> Result<(), InvalidStateError> {
        tracker::unbind(&self.tracker, token)
    }

    /// Tracks `pen` (SPEC T3); done or already tracked pendings are ignored.
    ///
    /// # Errors
    /// [`InvalidStateKind::TrackerState`] unless active.
    pub fn track(&self, pen: impl Into<AnyPending>) -> Result<(), InvalidStateError> {
        self.tracker.track(&pen.into())
    }

    /// Stops tracking `pen` if tracked; returns whether it was.
    pub fn discard(&self, pen: impl Into<AnyPending>) -> bool {
        self.tracker.discard(&pen.into())
    }

    /// The tracked pendings that are not done yet.
    pub fn pending(&self) -> Vec<AnyPending> {
        self.tracker.pending()
    }

    /// True when `pen` is tracked.
    pub fn contains(&self, pen: &AnyPending) -> bool {
        self.tracker.contains(pen)
    }

    /// The state (SPEC T3).
    pub fn state(&self) -> PendingTrackerState {
        self.tracker.state()
    }

    /// The manager bound in the current context, if any.
    pub fn current() -> Option<PendingManager> {
        tracker::current::<ManagerEvents>().map(|tracker| PendingManager { tracker })
    }
}

impl fmt::Debug for PendingManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<PendingManager {:?} at {:#x} pending={}>",
            self.tracker.state(),
            Arc::as_ptr(&self.tracker) as usize,
            self.tracker.len()
        )
    }
}

fn state_error(op: &str, state: PendingTrackerState) -> InvalidStateError {
    InvalidStateError::new(
        InvalidStateKind::TrackerState,
        format!("PendingManager::{op} is not allowed while the manager is {state:?}"),
    )
}

/// Counts a deactivating manager's members down to zero (the reference's `CountdownEvent`).
/// Await [`wait`](Self::wait) or block with [`wait_sync`](Self::wait_sync).
#[derive(Clone)]
pub struct Countdown {
    pending: Pending<()>,
    tracker: Arc<Tracker<ManagerEvents>>,
}

impl Countdown {
    /// How many members are still finishing.
    pub fn value(&self) -> usize {
        self.tracker.len()
    }

    /// Resolves when the count reaches zero (the manager is then stopped). Dropping the future
    /// cancels nothing.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future cancels nothing; wait again with a new one.
    pub fn wait(&self) -> Wait<()> {
        self.pending.wait().protect(true)
    }

    /// Blocks until the count reaches zero, at most `timeout`.
    ///
    /// # Errors
    /// [`PendingError::TimedOut`].
    pub fn wait_sync(&self, timeout: Option<Duration>) -> Result<(), PendingError> {
        self.pending.wait_sync(timeout)
    }
}

impl fmt::Debug for Countdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Countdown value={}>", self.value())
    }
}
