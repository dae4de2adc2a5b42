//! What the current thread is to this crate: the id of the caller whose loop it runs, if any.
//! Low in the module stack so that a pending can refuse to block the thread that must
//! complete it (SPEC P11) without knowing about callers.

use std::cell::Cell;

thread_local! {
    static CALLER_ID: Cell<u32> = const { Cell::new(0) };
}

/// The id of the caller running on this thread (0: none).
pub(crate) fn current_caller_id() -> u32 {
    CALLER_ID.with(Cell::get)
}

/// Marks this thread as running caller `id` until the guard drops.
pub(crate) fn enter_caller(id: u32) -> CallerThreadGuard {
    let previous = CALLER_ID.with(|c| c.replace(id));
    CallerThreadGuard { previous }
}

/// Restores the thread's previous role on drop.
pub(crate) struct CallerThreadGuard {
    previous: u32,
}

impl Drop for CallerThreadGuard {
    fn drop(&mut self) {
        CALLER_ID.with(|c| c.set(self.previous));
    }
}
