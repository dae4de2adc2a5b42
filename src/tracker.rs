//! The tracking machinery shared by [`PendingManager`](crate::PendingManager) and
//! [`PendingGroup`](crate::PendingGroup) (SPEC T1–T3).
//!
//! Each tracker kind owns one context slot (a [`ContextVar`]). A new pending looks at every slot
//! of the current context and registers with the tracker it finds there (T1). Because the context
//! travels with scheduled work (T2), pendings created by that work are tracked too.
//!
//! A tracker holds type-erased members ([`AnyPending`]) and a done-hook on each: when a member
//! completes it leaves the set, and the tracker kind reacts through [`TrackerEvents`] (a group
//! cancels everything on a failure; a manager only counts down).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Weak};

use crate::any_pending::{AnyPending, CallbackId};
use crate::context::{ContextVar, Token};
use crate::error::{InvalidStateError, InvalidStateKind};
use crate::sync::{Mutex, lock};

/// The life cycle of a tracker (SPEC T3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PendingTrackerState {
    /// Created, never activated.
    Idle,
    /// Tracking new pendings.
    Active,
    /// Leaving: creating a pending in its context is an error; members are finishing.
    Exiting,
    /// Done; may be activated or entered again.
    Stopped,
}

/// Which tracker kind a slot or token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackerKind {
    Manager = 0,
    Group = 1,
}

impl TrackerKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            TrackerKind::Manager => "PendingManager",
            TrackerKind::Group => "PendingGroup",
        }
    }
}

/// What sits in a tracker kind's context slot.
pub(crate) trait SlotTracker: Send + Sync + 'static {
    /// Tracks a new pending if this tracker is active; an error if it is exiting; nothing if
    /// it is stopped (its context outlived it).
    fn track_new(self: Arc<Self>, pen: &AnyPending) -> Result<(), InvalidStateError>;
    fn as_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync>;
}

type Slot = ContextVar<Arc<dyn SlotTracker>>;

static SLOTS: LazyLock<[Slot; 2]> = LazyLock::new(|| {
    [
        ContextVar::new("PendingManager"),
        ContextVar::new("PendingGroup"),
    ]
});

pub(crate) fn slot(kind: TrackerKind) -> &'static Slot {
    &SLOTS[kind as usize]
}

/// Registers a new pending with every tracker active in the current context (SPEC P3, T1).
pub(crate) fn track_new(pen: &AnyPending) -> Result<(), InvalidStateError> {
    for slot in SLOTS.iter() {
        if let Some(tracker) = slot.get() {
            tracker.track_new(pen)?;
        }
    }
    Ok(())
}

/// Hands the tracker kind's reactions to member events.
pub(crate) trait TrackerEvents: Send + Sync + Sized + 'static {
    const KIND: TrackerKind;
    /// A member completed and left the set; `was_active` is the state at that moment.
    fn member_done(_tracker: &Arc<Tracker<Self>>, _pen: &AnyPending, _was_active: bool) {}
    /// The member set became empty (after `member_done`, or after a discard).
    fn drained(_tracker: &Arc<Tracker<Self>>) {}
}

/// A set of tracked pendings with a state; `E` adds the kind's behaviour and data.
pub(crate) struct Tracker<E> {
    pub(crate) events: E,
    members: Mutex<Members>,
}

struct Members {
    state: PendingTrackerState,
    /// Each member with the id of its done-hook (None until the hook is registered).
    set: HashMap<AnyPending, Option<CallbackId>>,
    /// When the set empties while exiting, move to stopped (manager deactivation, abandoned group).
    stop_when_drained: bool,
}

impl<E: TrackerEvents> Tracker<E> {
    pub(crate) fn new(events: E) -> Arc<Self> {
        Arc::new(Tracker {
            events,
            members: Mutex::new(Members {
                state: PendingTrackerState::Idle,
                set: HashMap::new(),
                stop_when_drained: false,
            }),
        })
    }

    pub(crate) fn state(&self) -> PendingTrackerState {
        lock(&self.members).state
    }

    pub(crate) fn set_state(&self, state: PendingTrackerState) {
        let mut m = lock(&self.members);
        m.state = state;
        m.stop_when_drained = false;
    }

    /// Moves from `from` states to `to` atomically; returns the state found.
    pub(crate) fn transition(
        &self,
        from: &[PendingTrackerState],
        to: PendingTrackerState,
    ) -> Result<PendingTrackerState, PendingTrackerState> {
        let mut m = lock(&self.members);
        if from.contains(&m.state) {
            let old = m.state;
            m.state = to;
            m.stop_when_drained = false;
            Ok(old)
        } else {
            Err(m.state)
        }
    }

    /// Moves to exiting; with `stop_when_drained` the tracker becomes stopped when its last
    /// member completes. Returns true when it is already empty (and then stopped if asked).
    pub(crate) fn begin_exit(self: &Arc<Self>, stop_when_drained: bool) -> bool {
        let mut m = lock(&self.members);
        m.state = PendingTrackerState::Exiting;
        let empty = m.set.is_empty();
        if empty && stop_when_drained {
            m.state = PendingTrackerState::Stopped;
        } else {
            m.stop_when_drained = stop_when_drained;
        }
        empty
    }

    pub(crate) fn pending(&self) -> Vec<AnyPending> {
        lock(&self.members).set.keys().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.members).set.len()
    }

    pub(crate) fn contains(&self, pen: &AnyPending) -> bool {
        lock(&self.members).set.contains_key(pen)
    }

    /// Tracks `pen` (SPEC T3): needs the active state; done or already tracked pendings are
    /// ignored.
    pub(crate) fn track(self: &Arc<Self>, pen: &AnyPending) -> Result<(), InvalidStateError> {
        {
            let mut m = lock(&self.members);
            if m.state != PendingTrackerState::Active {
                return Err(InvalidStateError::new(
                    InvalidStateKind::TrackerState,
                    format!(
                        "{} is {:?}; only an active tracker can track",
                        E::KIND.name(),
                        m.state
                    ),
                ));
            }
            if pen.done() || m.set.contains_key(pen) {
                return Ok(());
            }
            m.set.insert(pen.clone(), None);
        }
        let weak: Weak<Self> = Arc::downgrade(self);
        let hook_id = pen.inner.clone().add_hook(Box::new(move |done| {
            if let Some(tracker) = weak.upgrade() {
                tracker.member_completed(done);
            }
        }));
        if let Some(id) = hook_id {
            if let Some(slot) = lock(&self.members).set.get_mut(pen) {
                *slot = Some(id);
            }
        }
        Ok(())
    }

    fn member_completed(self: &Arc<Self>, pen: &AnyPending) {
        let (was_active, empty) = {
            let mut m = lock(&self.members);
            if m.set.remove(pen).is_none() {
                return; // discarded meanwhile
            }
            let was_active = m.state == PendingTrackerState::Active;
            let empty = m.set.is_empty();
            if empty && m.stop_when_drained && m.state == PendingTrackerState::Exiting {
                m.state = PendingTrackerState::Stopped;
                m.stop_when_drained = false;
            }
            (was_active, empty)
        };
        E::member_done(self, pen, was_active);
        if empty {
            E::drained(self);
        }
    }

    /// Removes `pen` if tracked, without treating it as completed; returns whether it was.
    pub(crate) fn discard(self: &Arc<Self>, pen: &AnyPending) -> bool {
        let (found, empty) = {
            let mut m = lock(&self.members);
            let Some(hook) = m.set.remove(pen) else {
                return false;
            };
            if let Some(id) = hook {
                pen.inner.remove_callback(id);
            }
            let empty = m.set.is_empty();
            if empty && m.stop_when_drained && m.state == PendingTrackerState::Exiting {
                m.state = PendingTrackerState::Stopped;
                m.stop_when_drained = false;
            }
            (true, empty)
        };
        if empty {
            E::drained(self);
        }
        found
    }

    /// Cancels every member with `msg`.
    pub(crate) fn cancel_all(&self, msg: &str) {
        for pen in self.pending() {
            pen.cancel(Some(msg));
        }
    }
}

impl<E: TrackerEvents> SlotTracker for Tracker<E> {
    fn track_new(self: Arc<Self>, pen: &AnyPending) -> Result<(), InvalidStateError> {
        match self.state() {
            PendingTrackerState::Active => match self.track(pen) {
                // Lost a race with deactivation: treat like the state we lost to.
                Err(_) if self.state() != PendingTrackerState::Exiting => Ok(()),
                other => other,
            },
            PendingTrackerState::Exiting => Err(InvalidStateError::new(
                InvalidStateKind::TrackerExiting,
                format!(
                    "a pending was created in the context of a {} that is exiting",
                    E::KIND.name()
                ),
            )),
            PendingTrackerState::Idle | PendingTrackerState::Stopped => Ok(()),
        }
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

/// The tracker of kind `E` in the current context, if any.
pub(crate) fn current<E: TrackerEvents>() -> Option<Arc<Tracker<E>>> {
    slot(E::KIND).get()?.as_any().downcast::<Tracker<E>>().ok()
}

/// Returned by `start_tracking`; hand it back to `stop_tracking` (SPEC T4).
#[must_use = "pass the token to `stop_tracking` to stop tracking in this context"]
#[derive(Debug)]
pub struct TrackerToken {
    pub(crate) kind: TrackerKind,
    /// Identity of the tracker that was bound.
    pub(crate) owner: usize,
    pub(crate) token: Token<Arc<dyn SlotTracker>>,
}

/// Binds `tracker` in the current context.
pub(crate) fn bind<E: TrackerEvents>(tracker: &Arc<Tracker<E>>) -> TrackerToken {
    let erased: Arc<dyn SlotTracker> = tracker.clone();
    TrackerToken {
        kind: E::KIND,
        owner: Arc::as_ptr(tracker) as *const () as usize,
        token: slot(E::KIND).set(erased),
    }
}

/// Unbinds `tracker` (of kind `E`), bound with `token`.
pub(crate) fn unbind<E: TrackerEvents>(
    tracker: &Arc<Tracker<E>>,
    token: TrackerToken,
) -> Result<(), InvalidStateError> {
    let kind = E::KIND;
    if token.owner != Arc::as_ptr(tracker) as *const () as usize && token.kind == kind {
        return Err(InvalidStateError::new(
            InvalidStateKind::WrongToken,
            format!(
                "a token of another {} was handed back to this one",
                kind.name()
            ),
        ));
    }
    if token.kind != kind {
        return Err(InvalidStateError::new(
            InvalidStateKind::WrongToken,
            format!(
                "a {} token was handed to a {}",
                token.kind.name(),
                kind.name()
            ),
        ));
    }
    slot(kind).reset(token.token)
}
