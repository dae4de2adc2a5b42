//! Error types: the outcome of a pending ([`PendingError`]) and misuse ([`InvalidStateError`]).
//!
//! Both are cheap to clone (every payload is behind an `Arc`), because one outcome is handed to
//! every waiter of a [`Pending`](crate::Pending).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The error a boxed user failure is stored as.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a [`Pending`](crate::Pending) did not produce a value, or why waiting for it gave up.
///
/// Every variant is cheap to clone. `Display` says what happened in lowercase words without a
/// final period; the user's own error is the [`source`](std::error::Error::source) of
/// [`Failed`](PendingError::Failed) (print the chain, as `anyhow`'s `{:#}` does, to see both).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PendingError {
    /// The pending was cancelled. The message accumulates every cancel message, joined by `\n`
    /// (SPEC P5).
    Cancelled(CancelledError),
    /// The function failed: it returned `Err`, or [`set_exception`](crate::Pending::set_exception)
    /// was called with this error. The error is also the [`source`](std::error::Error::source).
    Failed(Arc<dyn std::error::Error + Send + Sync + 'static>),
    /// The function panicked; the panic was contained and its message kept.
    Panicked {
        /// The panic payload when it was a string, otherwise a placeholder.
        message: Arc<str>,
    },
    /// A wait gave up after the given time. The pending itself may still finish later.
    TimedOut(Duration),
    /// The operation was misuse (for example reading the result of a pending that is not done).
    InvalidState(InvalidStateError),
    /// A [`PendingGroup`](crate::PendingGroup) ended because members failed (SPEC G2). The
    /// first failure is the [`source`](std::error::Error::source); all are in the
    /// [`GroupError`].
    GroupFailed(GroupError),
}

impl fmt::Display for PendingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PendingError::Cancelled(c) => fmt::Display::fmt(c, f),
            PendingError::Failed(_) => f.write_str("failed"),
            PendingError::Panicked { message } => write!(f, "panicked: {message}"),
            PendingError::TimedOut(d) => write!(f, "timed out after {d:?} waiting for the pending"),
            PendingError::InvalidState(e) => fmt::Display::fmt(e, f),
            PendingError::GroupFailed(g) => fmt::Display::fmt(g, f),
        }
    }
}

impl std::error::Error for PendingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PendingError::Failed(e) => Some(&**e),
            PendingError::GroupFailed(g) => g.source(),
            // The others say everything in their own text (`Cancelled` and `InvalidState`
            // are transparent: their source is their wrapped error's, which is none).
            _ => None,
        }
    }
}

impl From<CancelledError> for PendingError {
    fn from(e: CancelledError) -> Self {
        PendingError::Cancelled(e)
    }
}

impl From<InvalidStateError> for PendingError {
    fn from(e: InvalidStateError) -> Self {
        PendingError::InvalidState(e)
    }
}

impl From<GroupError> for PendingError {
    fn from(e: GroupError) -> Self {
        PendingError::GroupFailed(e)
    }
}

/// Why a [`PendingGroup`](crate::PendingGroup) failed: every member failure it saw while it
/// was active, the first (the one that cancelled the group) first (SPEC G2).
///
/// `Display` is "a member of the pending group failed" ("3 members of …" when several did);
/// [`source`](std::error::Error::source) is the first member's own error: the error its work
/// returned, or its panic.
///
/// ```
/// use std::error::Error as _;
/// use async_kernel::{Pending, PendingError, PendingGroup};
///
/// # futures::executor::block_on(async {
/// let out = PendingGroup::new()
///     .run(|_pg| async move {
///         let bad: Pending<u32> = Pending::new();
///         bad.set_exception("disk full").unwrap();
///         std::future::pending::<()>().await // stopped by the group
///     })
///     .await;
/// let Err(PendingError::GroupFailed(e)) = out else { unreachable!() };
/// assert_eq!(e.to_string(), "a member of the pending group failed");
/// assert_eq!(e.source().unwrap().to_string(), "disk full");
/// assert_eq!(e.failures().len(), 1);
/// # });
/// ```
#[derive(Clone)]
pub struct GroupError {
    inner: Arc<GroupFailures>,
}

struct GroupFailures {
    message: String,
    failures: Vec<PendingError>,
}

impl GroupError {
    /// A group error from the member failures (the first is the one that cancelled the group)
    /// and the cancel message the other members were given.
    ///
    /// # Panics
    /// When `failures` is empty: a group fails only because a member did.
    pub(crate) fn new(message: String, failures: Vec<PendingError>) -> Self {
        assert!(!failures.is_empty(), "a group error needs a member failure");
        GroupError {
            inner: Arc::new(GroupFailures { message, failures }),
        }
    }

    /// The failure that cancelled the group.
    pub fn first(&self) -> &PendingError {
        &self.inner.failures[0]
    }

    /// Every member failure, in the order the members failed.
    pub fn failures(&self) -> &[PendingError] {
        &self.inner.failures
    }

    /// The cancel message the group gave its other members (and reports as its own).
    pub fn message(&self) -> &str {
        &self.inner.message
    }
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.failures.len() {
            1 => f.write_str("a member of the pending group failed"),
            n => write!(f, "{n} members of the pending group failed"),
        }
    }
}

impl fmt::Debug for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("message", &self.inner.message)
            .field("failures", &self.inner.failures)
            .finish()
    }
}

impl std::error::Error for GroupError {
    /// The first member's own error: what its work returned ([`PendingError::Failed`]'s
    /// error), otherwise the member's [`PendingError`] (a panic, for example).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.first() {
            PendingError::Failed(e) => Some(&**e),
            other => Some(other),
        }
    }
}

impl PendingError {
    /// Wraps any error as a failure.
    pub fn failed(error: impl Into<BoxError>) -> Self {
        PendingError::Failed(Arc::from(error.into()))
    }

    /// A cancellation with the given message.
    pub fn cancelled(message: impl Into<Arc<str>>) -> Self {
        PendingError::Cancelled(CancelledError::new(message))
    }

    /// Builds the `Panicked` variant from a caught panic payload.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message: Arc<str> = if let Some(s) = payload.downcast_ref::<&'static str>() {
            Arc::from(*s)
        } else if let Some(s) = payload.downcast_ref::<String>() {
            Arc::from(s.as_str())
        } else {
            Arc::from("a panic with a non-string payload")
        };
        PendingError::Panicked { message }
    }

    /// True for [`PendingError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, PendingError::Cancelled(_))
    }

    /// True for [`PendingError::TimedOut`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, PendingError::TimedOut(_))
    }

    /// The cancellation message, when this is a cancellation, or the message a failed group
    /// gave its other members.
    pub fn cancel_message(&self) -> Option<&str> {
        match self {
            PendingError::Cancelled(c) => Some(c.message()),
            PendingError::GroupFailed(g) => Some(g.message()),
            _ => None,
        }
    }

    /// The group failure, when this is [`PendingError::GroupFailed`].
    pub fn group(&self) -> Option<&GroupError> {
        match self {
            PendingError::GroupFailed(g) => Some(g),
            _ => None,
        }
    }
}

/// A pending ended cancelled. Holds the accumulated message (possibly empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledError {
    message: Arc<str>,
}

impl CancelledError {
    /// A cancellation with `message`.
    pub fn new(message: impl Into<Arc<str>>) -> Self {
        CancelledError {
            message: message.into(),
        }
    }

    /// The accumulated message; empty when nobody gave one.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CancelledError {
    /// "cancelled", then the message if there is one (without its final period: messages keep
    /// the reference's sentences, such as "Cancelled before started.").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.message.trim_end().trim_end_matches('.');
        if message.is_empty() {
            f.write_str("cancelled")
        } else {
            write!(f, "cancelled: {message}")
        }
    }
}

impl std::error::Error for CancelledError {}

/// What kind of misuse an [`InvalidStateError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidStateKind {
    /// A result or failure was set on a pending that is already done (SPEC P4).
    AlreadyDone,
    /// The outcome of a pending was read before it was done (SPEC P9).
    NotDone,
    /// A canceller was set twice, or on a done pending (SPEC P8).
    CancellerAlreadySet,
    /// A thread blocked on a pending that only it can complete (SPEC P11).
    WouldDeadlock,
    /// A tracker operation needs a state the tracker is not in (SPEC T3, T4).
    TrackerState,
    /// A pending was created in the context of a tracker that is exiting (SPEC P3, G4).
    TrackerExiting,
    /// A group was entered while it was already active (SPEC G5).
    AlreadyActive,
    /// A token was handed back to the wrong variable or tracker kind (SPEC T4).
    WrongToken,
    /// The value of a pending was already moved out by [`Pending::take`](crate::Pending::take)
    /// (SPEC P9).
    AlreadyTaken,
    /// A plain closure returned a future: the future would never run. Mark async closures with
    /// [`Async`](crate::caller::Async) (SPEC C9).
    UnmarkedAsyncClosure,
}

/// Misuse of a pending, a tracker or a context variable. `Display` names what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidStateError {
    kind: InvalidStateKind,
    detail: Arc<str>,
}

impl InvalidStateError {
    /// An error of `kind` with a sentence that says what went wrong.
    pub fn new(kind: InvalidStateKind, detail: impl Into<Arc<str>>) -> Self {
        InvalidStateError {
            kind,
            detail: detail.into(),
        }
    }

    /// The kind of misuse.
    pub fn kind(&self) -> InvalidStateKind {
        self.kind
    }

    /// The sentence describing it.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid state: {}", self.detail)
    }
}

impl std::error::Error for InvalidStateError {}

/// Appends `msg` to an accumulated cancel message (SPEC P5): `"a"` then `"b"` gives `"a\nb"`;
/// `None` keeps the earlier text; the first cancel without a message records an empty one.
pub(crate) fn accumulate_message(slot: &mut Option<String>, msg: Option<&str>) {
    match (slot, msg) {
        (Some(old), Some(m)) if !old.is_empty() => {
            old.push('\n');
            old.push_str(m);
        }
        (slot, Some(m)) => *slot = Some(m.to_owned()),
        (slot @ None, None) => *slot = Some(String::new()),
        (Some(_), None) => {}
    }
}

/// `error` and its sources, joined by ": ".
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_small() {
        // The outcome lives inline in every pending: keep it at three words.
        assert!(std::mem::size_of::<PendingError>() <= 24);
        assert!(std::mem::size_of::<Option<Result<(), PendingError>>>() <= 24);
    }

    #[test]
    fn display_in_words() {
        assert_eq!(PendingError::cancelled("").to_string(), "cancelled");
        assert_eq!(
            PendingError::cancelled("a\nb").to_string(),
            "cancelled: a\nb"
        );
        let e = PendingError::from_panic(&"boom");
        assert_eq!(e.to_string(), "panicked: boom");
    }
}
