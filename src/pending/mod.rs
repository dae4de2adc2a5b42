//! Pendings and the trackers around them: the reference's `async_kernel.pending` module.
//!
//! * [`Pending`]: the thread-safe awaitable result of one piece of work.
//! * [`AnyPending`]: the same with its value type erased.
//! * [`PendingGroup`]: a structured scope that cancels every member when one fails.
//! * [`PendingManager`]: a context-bound registry for long-lived scopes.

mod core;
mod inner;
mod state;
mod wait;

pub use self::core::{Pending, PendingBuilder};
pub use self::wait::{Wait, WaitDone, WaitTake};
pub use crate::any_pending::{AnyPending, CallbackId, WaitDoneAny};
pub use crate::error::{
    BoxError, CancelledError, GroupError, InvalidStateError, InvalidStateKind, PendingError,
};
pub use crate::group::PendingGroup;
pub use crate::manager::{Countdown, PendingManager};
pub use crate::metadata::{MetaValue, Metadata};
pub use crate::tracker::{PendingTrackerState, TrackerToken};

pub(crate) use self::core::panic_text;
pub(crate) use self::inner::{HasInner, Inner};
