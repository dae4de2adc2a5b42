//! What this thread is running right now: the context (context variables), the cancel scope
//! being polled and the pending of the call being run (`Caller::current_pending`).
//!
//! The three live in one thread-local so that entering a call's poll and leaving it touch the
//! thread-local twice, not once per slot each way: each access costs a few nanoseconds, and a
//! call crosses this boundary at least twice (its start on the loop, every poll of its task).
//! A call brings its own slots and they are swapped in (a move, no reference counting) and
//! swapped back afterwards, also when the code inside panics.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::any_pending::AnyPending;
use crate::context::Context;
use crate::scope::ScopeNode;

/// The thread's current slots.
/// The scope and pending are `Cell`s: they are only ever swapped whole or cloned out
/// ([`clone_out`]), so they need no borrow flag.
pub(crate) struct Current {
    pub(crate) context: RefCell<Context>,
    pub(crate) scope: Cell<Option<Arc<ScopeNode>>>,
    pub(crate) pending: Cell<Option<AnyPending>>,
}

/// A clone of what `cell` holds, leaving it in place.
pub(crate) fn clone_out<T: Clone>(cell: &Cell<Option<T>>) -> Option<T> {
    let value = cell.take();
    let copy = value.clone();
    cell.set(value);
    copy
}

thread_local! {
    pub(crate) static CURRENT: Current = const {
        Current {
            context: RefCell::new(Context::EMPTY),
            scope: Cell::new(None),
            pending: Cell::new(None),
        }
    };
}

/// The slots a call brings while it runs on this thread. `scope` is `None` for code that
/// does not change the current cancel scope.
pub(crate) struct CallSlots<'a> {
    pub(crate) pending: &'a mut Option<AnyPending>,
    pub(crate) context: &'a mut Context,
    pub(crate) scope: Option<&'a mut Option<Arc<ScopeNode>>>,
}

impl CallSlots<'_> {
    #[inline]
    fn swap_with(&mut self, current: &Current) {
        *self.pending = current.pending.replace(self.pending.take());
        std::mem::swap(&mut *current.context.borrow_mut(), self.context);
        if let Some(scope) = self.scope.as_deref_mut() {
            *scope = current.scope.replace(scope.take());
        }
    }
}

/// Runs `f` with `slots` as the thread's current ones, then swaps them back (keeping in
/// `slots` whatever `f` changed, such as context variables it set).
pub(crate) fn with_slots<R>(mut slots: CallSlots<'_>, f: impl FnOnce() -> R) -> R {
    struct Restore<'a>(CallSlots<'a>);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            // `try_with`: nothing to restore on a thread whose locals are being torn down.
            let _ = CURRENT.try_with(|c| self.0.swap_with(c));
        }
    }
    CURRENT.with(|c| slots.swap_with(c));
    let _restore = Restore(slots);
    f()
}
