//! A destructor that panics in a value a call captured (or returned) never takes a caller down:
//! not when the call is cancelled before it starts and the loop drops it, not when `stop`
//! drains the queue, not when a value gives way to a cancellation. Every pending still ends,
//! on both backends.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_kernel::caller::Async;
use async_kernel::{Pending, PendingError};
use common::{T, backends, block, caller, capture_logs, logs};

/// Panics when dropped, after counting the drop.
struct PanicOnDrop(Arc<AtomicUsize>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("destructor boom");
    }
}

fn cancelled(e: &PendingError) -> bool {
    e.is_cancelled()
}

#[test]
fn a_call_cancelled_before_it_starts_whose_capture_panics_on_drop_ends_and_the_batch_goes_on() {
    // BEHAVIOUR CX2 (contained panics); SPEC C9 (cancelled before
    // started), C6 (no pending is lost)
    capture_logs();
    for backend in backends() {
        let caller = caller("drop-unstarted", backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let (blocker, release) = block(&caller);
        // One batch: the doomed call, then plain and async calls behind it.
        let keep = PanicOnDrop(drops.clone());
        let doomed = caller
            .call_soon(move || {
                let _keep = &keep;
                0
            })
            .unwrap();
        let plain = caller.call_soon(|| 1).unwrap();
        let asynchronous = caller.call_soon(Async(|| async { 2 })).unwrap();
        let keep = PanicOnDrop(drops.clone());
        let delayed = caller
            .call_later(Duration::from_secs(3600), move || {
                let _keep = &keep;
                3
            })
            .unwrap();
        let last = caller.call_soon(|| 4).unwrap();
        assert!(doomed.cancel(Some("never mind")));
        assert!(delayed.cancel(Some("never mind")));
        drop(release);
        blocker.wait_sync(T).unwrap();
        assert!(doomed.wait_sync(T).is_err_and(|e| cancelled(&e)));
        assert!(delayed.wait_sync(T).is_err_and(|e| cancelled(&e)));
        assert_eq!(plain.wait_sync(T).unwrap(), 1, "{backend}");
        assert_eq!(asynchronous.wait_sync(T).unwrap(), 2, "{backend}");
        assert_eq!(last.wait_sync(T).unwrap(), 4, "{backend}");
        // The caller's thread survived and still serves.
        assert!(caller.running(), "{backend}");
        assert_eq!(caller.call_soon(|| 5).unwrap().wait_sync(T).unwrap(), 5);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "both captures were dropped"
        );
        caller.stop(false);
        caller.join().unwrap();
    }
    assert!(
        logs().contains("destructor boom"),
        "the contained panic is logged"
    );
}

#[test]
fn stop_draining_calls_whose_captures_panic_on_drop_does_not_unwind_and_ends_them_all() {
    // BEHAVIOUR CX2 (contained panics); SPEC C6 (stop cancels every
    // queued call; no pending is lost)
    for backend in backends() {
        let caller = caller("drop-stop", backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let (blocker, release) = block(&caller);
        let mut queued: Vec<Pending<u32>> = Vec::new();
        for i in 0..3 {
            let keep = PanicOnDrop(drops.clone());
            queued.push(
                caller
                    .call_soon(move || {
                        let _keep = &keep;
                        i
                    })
                    .unwrap(),
            );
            queued.push(caller.call_soon(move || 10 + i).unwrap());
        }
        let keep = PanicOnDrop(drops.clone());
        queued.push(
            caller
                .call_later(Duration::from_secs(3600), move || {
                    let _keep = &keep;
                    99
                })
                .unwrap(),
        );
        let keep = PanicOnDrop(drops.clone());
        caller
            .call_direct(move || {
                let _keep = &keep;
            })
            .unwrap();
        queued.push(caller.call_soon(Async(|| async { 7 })).unwrap());
        // Stop from this thread while the loop is busy: the queue is drained here.
        let c = caller.clone();
        let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || c.stop(true)));
        assert!(
            stopped.is_ok(),
            "{backend}: a destructor's panic unwound into stop()"
        );
        for pen in &queued {
            let err = pen.wait_sync(T).unwrap_err();
            assert!(cancelled(&err), "{backend}: {err:?}");
        }
        assert_eq!(drops.load(Ordering::SeqCst), 5, "{backend}");
        drop(release);
        let _ = blocker.wait_sync(T);
        caller.join().unwrap();
    }
}

#[test]
fn a_value_that_gives_way_to_a_cancellation_and_panics_on_drop_is_contained() {
    // BEHAVIOUR CX2 (contained panics); SPEC P7 (a cancellation
    // requested while the call ran wins over its value)
    for backend in backends() {
        let caller = caller("drop-value", backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let pen = caller
            .call_soon(move || {
                // Cancelled while it runs: the value it returns is dropped, not delivered.
                async_kernel::Caller::current_pending()
                    .unwrap()
                    .cancel(Some("changed my mind"));
                PanicOnDrop(d)
            })
            .unwrap();
        pen.wait_sync_done(T).unwrap();
        assert!(pen.cancelled(), "{backend}");
        // Same for an async call.
        let d = drops.clone();
        let task = caller
            .call_soon(Async(move || async move {
                async_kernel::Caller::current_pending()
                    .unwrap()
                    .cancel(Some("changed my mind"));
                PanicOnDrop(d)
            }))
            .unwrap();
        task.wait_sync_done(T).unwrap();
        assert!(task.cancelled(), "{backend}");
        assert!(caller.running(), "{backend}");
        // The rejected values are dropped once their pendings are done, before the loop goes
        // on to the next call.
        assert_eq!(caller.call_soon(|| 5).unwrap().wait_sync(T).unwrap(), 5);
        assert_eq!(drops.load(Ordering::SeqCst), 2, "{backend}");
        caller.stop(false);
        caller.join().unwrap();
    }
}

static BOMB: std::sync::LazyLock<async_kernel::ContextVar<Arc<PanicOnDrop>>> =
    std::sync::LazyLock::new(|| async_kernel::ContextVar::new("bomb"));

#[test]
fn a_context_value_set_by_a_call_that_panics_on_drop_is_contained() {
    // BEHAVIOUR CX2 (contained panics); SPEC C8 (a call runs in its
    // own context, which ends with it)
    for backend in backends() {
        let caller = caller("drop-context", backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let plain = caller
            .call_soon(move || {
                let _ = BOMB.set(Arc::new(PanicOnDrop(d)));
                1
            })
            .unwrap();
        let d = drops.clone();
        let task = caller
            .call_soon(Async(move || async move {
                let _ = BOMB.set(Arc::new(PanicOnDrop(d)));
                2
            }))
            .unwrap();
        assert_eq!(plain.wait_sync(T).unwrap(), 1, "{backend}");
        assert_eq!(task.wait_sync(T).unwrap(), 2, "{backend}");
        assert_eq!(caller.call_soon(|| 5).unwrap().wait_sync(T).unwrap(), 5);
        assert_eq!(drops.load(Ordering::SeqCst), 2, "{backend}");
        assert!(caller.running(), "{backend}");
        caller.stop(false);
        caller.join().unwrap();
    }
}
