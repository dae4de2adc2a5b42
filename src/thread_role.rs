//! What the current thread is to this crate: the caller whose loop it runs, or the caller bound
//! to it that only it can run, if any. Low in the module stack so that a pending can refuse to
//! block the thread that must complete it (SPEC P11) without knowing about callers.

use std::cell::Cell;

thread_local! {
    /// The caller whose loop runs on this thread.
    static CALLER_ID: Cell<u32> = const { Cell::new(0) };
    /// The caller bound to this thread when it was created here (`CurrentThread`, `Manual`,
    /// `MainThread` on the main thread), running or not: only this thread can ever run it.
    static BOUND_ID: Cell<u32> = const { Cell::new(0) };
}

/// True when caller `id` (non-zero) can only be run by this thread: its loop runs here, or it
/// is bound to this thread.
pub(crate) fn is_caller_thread(id: u32) -> bool {
    id != 0 && (CALLER_ID.with(Cell::get) == id || BOUND_ID.with(Cell::get) == id)
}

/// True when caller `id`'s loop runs on this thread (a cheap check: no destructor-registered
/// thread-local is touched).
pub(crate) fn runs_loop_of(id: u32) -> bool {
    CALLER_ID.with(Cell::get) == id
}

/// Records that caller `id` is bound to this thread.
pub(crate) fn bind_caller(id: u32) {
    BOUND_ID.with(|c| c.set(id));
}

/// Forgets the binding of caller `id` to this thread, if it is the one recorded. A binding
/// left on another thread is harmless: every pending of a stopped caller is done.
pub(crate) fn unbind_caller(id: u32) {
    BOUND_ID.with(|c| {
        if c.get() == id {
            c.set(0);
        }
    });
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
