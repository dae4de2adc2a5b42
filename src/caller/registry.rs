//! The process-wide registry: one caller per thread, keyed by `ThreadId` (SPEC C1, C14).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::thread::ThreadId;

use super::Caller;

static REGISTRY: LazyLock<Mutex<HashMap<ThreadId, Caller>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// A fresh caller id (never 0, which means "no caller" to a pending).
pub(crate) fn next_id() -> u32 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The registry, locked. Poisoning is ignored: entries are inserted and removed whole.
pub(crate) fn lock() -> MutexGuard<'static, HashMap<ThreadId, Caller>> {
    REGISTRY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The caller registered for `thread`.
pub(crate) fn get(thread: ThreadId) -> Option<Caller> {
    lock().get(&thread).cloned()
}

/// Removes `caller`'s entry, if it is still the one registered for its thread.
pub(crate) fn remove(caller: &Caller) {
    if let Some(thread) = caller.thread_id() {
        let mut registry = lock();
        if registry.get(&thread).is_some_and(|c| c == caller) {
            registry.remove(&thread);
        }
    }
}

/// Every registered caller.
pub(crate) fn all() -> Vec<Caller> {
    lock().values().cloned().collect()
}
