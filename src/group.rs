//! [`PendingGroup`]: a structured scope over pendings (SPEC G1–G6).

use std::any::Any;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::thread::ThreadId;

use futures_util::FutureExt as _;

use crate::any_pending::AnyPending;
use crate::context::Context;
use crate::error::{
    CancelledError, GroupError, InvalidStateError, InvalidStateKind, PendingError,
    accumulate_message, error_chain,
};
use crate::scope::{ScopeNode, Scoped, ShieldGuard};
use crate::sync::{Mutex, lock};
use crate::tracker::{self, PendingTrackerState, Tracker, TrackerEvents, TrackerKind};

/// An async scope that tracks every pending created in its context and cancels them all when
/// one fails.
///
/// [`run`](Self::run) enters the group for the length of an async body. While it runs, every
/// pending created in the body's context is a member, including pendings created later by
/// tracked work (the context travels with scheduled work, SPEC T2).
///
/// # Guarantees
/// * `run` returns only after every member is done (G1), including members that tracked work
///   created after the body ended.
/// * When a member fails or is cancelled, every other member is cancelled with a message naming
///   it, the body is stopped at its next await point, and `run` returns
///   [`PendingError::Cancelled`] with that message (G2). [`cancel`](Self::cancel) does the same
///   from any thread (G3).
/// * A panic in the body is re-raised by `run` after the members have been cancelled and
///   waited for.
/// * With [`shield(true)`](Self::shield), cancellation of the enclosing group or task is held
///   back until the group is done (G6). A shield cannot stop code that drops the future from
///   outside (a `select!` or a timeout around `run`).
///
/// # Drop
/// Dropping the `run` future before it finishes cancels the members and does not wait for them.
///
/// # Example
/// ```
/// use async_kernel::{Pending, PendingGroup};
///
/// # futures::executor::block_on(async {
/// let out = PendingGroup::new()
///     .run(|pg| async move {
///         let pen: Pending<u32> = Pending::new();
///         assert!(pg.contains(&pen.erase()));
///         let setter = pen.clone();
///         std::thread::spawn(move || setter.set_result(5).unwrap());
///         pen.await
///     })
///     .await;
/// assert_eq!(out.unwrap().unwrap(), 5);
/// # });
/// ```
#[derive(Clone)]
pub struct PendingGroup {
    tracker: Arc<Tracker<GroupEvents>>,
}

pub(crate) struct GroupEvents {
    shield: AtomicBool,
    signals: Mutex<Signals>,
    /// What the group is bound to (its caller, for `create_pending_group`; SPEC W5), fixed at
    /// creation. Type-erased: groups sit below callers.
    owner: Option<Arc<dyn Any + Send + Sync>>,
    /// The thread that made the group.
    created_on: ThreadId,
}

#[derive(Default)]
struct Signals {
    /// The accumulated cancel message; `Some` once cancelled.
    cancelled: Option<String>,
    /// Every member failure seen while active, the first one first (SPEC G2).
    failures: Vec<PendingError>,
    /// The scope of the current run, to stop its body and wake its driver.
    scope: Option<Arc<ScopeNode>>,
}

impl TrackerEvents for GroupEvents {
    const KIND: TrackerKind = TrackerKind::Group;

    fn member_done(tracker: &Arc<Tracker<Self>>, pen: &AnyPending, was_active: bool) {
        if !was_active {
            return;
        }
        let failure = match pen.error() {
            Some(PendingError::Cancelled(c)) => Err(c),
            Some(e) => Ok(e),
            None => return,
        };
        let msg = member_message(pen, &failure);
        let scope = {
            let mut signals = lock(&tracker.events.signals);
            if let Ok(e) = &failure {
                signals.failures.push(e.clone());
            }
            if signals.cancelled.is_some() {
                // Only the first failure speaks; the cancellations it causes stay quiet.
                return;
            }
            signals.cancelled = Some(msg.clone());
            signals.scope.clone()
        };
        tracker.cancel_all(&msg);
        if let Some(scope) = scope {
            scope.cancel();
        }
    }

    fn drained(tracker: &Arc<Tracker<Self>>) {
        if let Some(scope) = &lock(&tracker.events.signals).scope {
            scope.wake();
        }
    }
}

/// The cancel message naming a member that failed or was cancelled (SPEC G2): its metadata
/// (no address) and what happened to it.
fn member_message(pen: &AnyPending, failure: &Result<PendingError, CancelledError>) -> String {
    let metadata = pen.metadata();
    let who = if metadata.is_empty() {
        "a member of its PendingGroup".to_owned()
    } else {
        format!("a member of its PendingGroup {metadata:?}")
    };
    match failure {
        Ok(PendingError::Failed(e)) => format!("{who} failed: {}", error_chain(&**e)),
        Ok(e) => format!("{who} failed: {}", error_chain(e)),
        Err(c) if c.message().is_empty() => format!("{who} was cancelled"),
        Err(c) => format!("{who} was cancelled: {}", c.message()),
    }
}

impl Default for PendingGroup {
    fn default() -> Self {
        PendingGroup::new()
    }
}

impl PartialEq for PendingGroup {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.tracker, &other.tracker)
    }
}
impl Eq for PendingGroup {}

/// Default message when members are still running as the group exits.
const EXIT_MESSAGE: &str = "Cancelled because its PendingGroup exited.";
/// Message when the `run` future is dropped before it finished.
const DROPPED_MESSAGE: &str = "Cancelled because its PendingGroup was dropped before it finished.";

impl PendingGroup {
    /// A new, unshielded group.
    pub fn new() -> Self {
        PendingGroup::with_shield(false)
    }

    fn with_shield(shield: bool) -> Self {
        PendingGroup::with_owner(shield, None)
    }

    /// A group bound to `owner` (a caller, SPEC W5) for its whole life.
    pub(crate) fn with_owner(shield: bool, owner: Option<Arc<dyn Any + Send + Sync>>) -> Self {
        PendingGroup {
            tracker: Tracker::new(GroupEvents {
                shield: AtomicBool::new(shield),
                signals: Mutex::new(Signals::default()),
                owner,
                created_on: std::thread::current().id(),
            }),
        }
    }

    /// The owner given at creation, if it is an `O`.
    pub(crate) fn owner<O: Clone + 'static>(&self) -> Option<O> {
        self.tracker
            .events
            .owner
            .as_ref()
            .and_then(|o| o.downcast_ref::<O>())
            .cloned()
    }

    /// The thread that made the group.
    pub(crate) fn created_on(&self) -> ThreadId {
        self.tracker.events.created_on
    }

    /// Sets `shield` (SPEC G6): while the group runs, cancellation of the enclosing group or
    /// task is held back. Takes effect at the next `run`.
    pub fn shield(self, shield: bool) -> Self {
        self.tracker.events.shield.store(shield, Ordering::Relaxed);
        self
    }

    /// Whether the group is shielded.
    pub fn is_shielded(&self) -> bool {
        self.tracker.events.shield.load(Ordering::Relaxed)
    }

    /// Runs `body` inside the group and returns its output once every member is done.
    ///
    /// # Errors
    /// * [`PendingError::Cancelled`] with the message when the group cancelled itself (a member
    ///   failed or was cancelled, or [`cancel`](Self::cancel) was called), also when it had been
    ///   cancelled before this call (a cancelled group stays cancelled; the body does not run).
    /// * [`PendingError::InvalidState`] ([`InvalidStateKind::AlreadyActive`]) when the group is
    ///   already running.
    ///
    /// # Panics
    /// Re-raises a panic of `body`, after the members were cancelled and waited for.
    ///
    /// # Cancel safety
    /// Dropping the future stops the body and cancels the members without waiting for them.
    pub async fn run<F, Fut, R>(&self, body: F) -> Result<R, PendingError>
    where
        F: FnOnce(PendingGroup) -> Fut,
        Fut: Future<Output = R>,
    {
        let node = self.enter()?;
        let _shield = self.is_shielded().then(ShieldGuard::raise);
        let guard = ExitOnDrop {
            group: Some(self.clone()),
        };

        let erased: Arc<dyn tracker::SlotTracker> = self.tracker.clone();
        let mut context = Context::current().with_value(tracker::slot(TrackerKind::Group), erased);
        let body = context.run_mut(|| body(self.clone()));
        let mut scoped = pin!(Scoped::new(
            node.clone(),
            context,
            AssertUnwindSafe(body).catch_unwind()
        ));
        // Declared after `scoped`, so dropped before it: when this future is dropped midway the
        // group is already exiting when the body is dropped, and a member cancelled by the body's
        // drop (an abandoned wait) does not count as a failure that cancels the group (G5).
        let mut exit = guard;
        let outcome = scoped.as_mut().await;

        // G1: the body is over; wait for the members while still tracking (tracked work may
        // add more), unless the group was cancelled meanwhile.
        if matches!(outcome, Ok(Ok(_))) {
            poll_fn(|cx| {
                node.register(cx);
                if node.cancel_requested() || self.tracker.len() == 0 {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
        }

        // G4: stop tracking, cancel what still runs, wait for it.
        self.tracker.begin_exit(false);
        let message = lock(&self.tracker.events.signals).cancelled.clone();
        self.tracker.cancel_all(
            message
                .as_deref()
                .filter(|m| !m.is_empty())
                .unwrap_or(EXIT_MESSAGE),
        );
        poll_fn(|cx| {
            node.register(cx);
            if self.tracker.len() == 0 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        exit.group = None;
        self.tracker.set_state(PendingTrackerState::Stopped);
        let (cancelled, failures) = {
            let mut signals = lock(&self.tracker.events.signals);
            signals.scope = None;
            (signals.cancelled.clone(), signals.failures.clone())
        };

        match outcome {
            Ok(Err(panic)) => resume_unwind(panic),
            _ if !failures.is_empty() => {
                Err(GroupError::new(cancelled.unwrap_or_default(), failures).into())
            }
            _ if cancelled.is_some() => Err(PendingError::cancelled(cancelled.unwrap_or_default())),
            Ok(Ok(value)) => Ok(value),
            // The scope is only cancelled through `cancel`, which records a message.
            Err(_) => Err(PendingError::cancelled(String::new())),
        }
    }

    /// Enters: checks the state (G5) and installs a fresh scope for this run.
    fn enter(&self) -> Result<Arc<ScopeNode>, PendingError> {
        let mut signals = lock(&self.tracker.events.signals);
        if let Some(msg) = &signals.cancelled {
            return Err(PendingError::cancelled(msg.clone()));
        }
        self.tracker
            .transition(
                &[PendingTrackerState::Idle, PendingTrackerState::Stopped],
                PendingTrackerState::Active,
            )
            .map_err(|state| {
                InvalidStateError::new(
                    InvalidStateKind::AlreadyActive,
                    format!("a PendingGroup cannot be entered while it is {state:?}"),
                )
            })?;
        let node = ScopeNode::new_in_current();
        signals.scope = Some(node.clone());
        Ok(node)
    }

    /// Cancels the group from any thread (G3): every member is cancelled when the group exits,
    /// the body stops at its next await point, and `run` reports the cancellation. Messages
    /// accumulate like a pending's.
    pub fn cancel(&self, msg: Option<&str>) {
        let scope = {
            let mut signals = lock(&self.tracker.events.signals);
            accumulate_message(&mut signals.cancelled, msg);
            signals.scope.clone()
        };
        if let Some(scope) = scope {
            scope.cancel();
        }
    }

    /// The accumulated cancel message, once the group was cancelled.
    pub fn cancel_message(&self) -> Option<String> {
        lock(&self.tracker.events.signals).cancelled.clone()
    }

    /// True once the group was cancelled (G3).
    pub fn cancelled(&self) -> bool {
        lock(&self.tracker.events.signals).cancelled.is_some()
    }

    /// Takes `pen` out of the group without treating it as completed (G3).
    pub fn remove(&self, pen: impl Into<AnyPending>) -> bool {
        self.tracker.discard(&pen.into())
    }

    /// The members that are not done yet.
    pub fn pending(&self) -> Vec<AnyPending> {
        self.tracker.pending()
    }

    /// True when `pen` is a member.
    pub fn contains(&self, pen: &AnyPending) -> bool {
        self.tracker.contains(pen)
    }

    /// The state (SPEC T3).
    pub fn state(&self) -> PendingTrackerState {
        self.tracker.state()
    }

    /// The group whose body runs in the current context, if any.
    pub fn current() -> Option<PendingGroup> {
        tracker::current::<GroupEvents>().map(|tracker| PendingGroup { tracker })
    }
}

/// Runs the exit steps that do not need to wait, when `run` is dropped midway.
struct ExitOnDrop {
    group: Option<PendingGroup>,
}

impl Drop for ExitOnDrop {
    fn drop(&mut self) {
        if let Some(group) = self.group.take() {
            group.tracker.begin_exit(true);
            group.tracker.cancel_all(DROPPED_MESSAGE);
            lock(&group.tracker.events.signals).scope = None;
            if group.tracker.len() == 0 {
                group.tracker.set_state(PendingTrackerState::Stopped);
            }
        }
    }
}

impl fmt::Debug for PendingGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<PendingGroup {:?}{} at {:#x} pending={}>",
            self.tracker.state(),
            if self.cancelled() { " ⛔" } else { "" },
            Arc::as_ptr(&self.tracker) as usize,
            self.tracker.len()
        )
    }
}
