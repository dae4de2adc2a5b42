//! Synchronisation primitives, swapped for loom's under `cfg(loom)` so the pending state machine
//! can be model-checked (`tests/loom_pending.rs`). `Arc` stays std's: loom's cannot hold `dyn`.
//! async-io does not compile under `--cfg loom`, so its [`Timer`] is swapped for a stand-in.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning: no code of ours panics while holding one of these locks (user
/// callbacks always run after the guard is dropped), so the data is consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The timer behind [`Wait::timeout`](crate::Wait::timeout).
#[cfg(not(loom))]
pub(crate) use async_io::Timer;

/// Loom has no clock: under `cfg(loom)` a wait's timeout never fires (the models use none).
#[cfg(loom)]
pub(crate) struct Timer;

#[cfg(loom)]
impl Timer {
    /// A timer that never fires.
    pub(crate) fn after(_: std::time::Duration) -> Self {
        Timer
    }
}

#[cfg(loom)]
impl std::future::Future for Timer {
    type Output = std::time::Instant;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::time::Instant> {
        std::task::Poll::Pending
    }
}
