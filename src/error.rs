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
/// Every variant is cheap to clone. `Display` says what happened in plain words; the cancelled
/// variant carries the accumulated cancellation message (SPEC P5).
#[derive(Debug, Clone, thiserror::Error)]
pub enum PendingError {
    /// The pending was cancelled. The message accumulates every cancel message, joined by `\n`.
    #[error("{0}")]
    Cancelled(#[from] CancelledError),
    /// The function failed: it returned `Err`, or [`set_exception`](crate::Pending::set_exception)
    /// was called with this error.
    #[error("failed: {0}")]
    Failed(Arc<dyn std::error::Error + Send + Sync + 'static>),
    /// The function panicked; the panic was contained and its message kept.
    #[error("panicked: {message}")]
    Panicked {
        /// The panic payload when it was a string, otherwise a placeholder.
        message: Arc<str>,
    },
    /// A wait gave up after the given time. The pending itself may still finish later.
    #[error("timed out after {0:?} waiting for the pending")]
    TimedOut(Duration),
    /// The operation was misuse (for example reading the result of a pending that is not done).
    #[error(transparent)]
    InvalidState(#[from] InvalidStateError),
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

    /// The cancellation message, when this is a cancellation.
    pub fn cancel_message(&self) -> Option<&str> {
        match self {
            PendingError::Cancelled(c) => Some(c.message()),
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str("cancelled")
        } else {
            write!(f, "cancelled: {}", self.message)
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
