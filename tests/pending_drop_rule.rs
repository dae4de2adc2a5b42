//! The drop rule: borrowing never cancels, giving up what you own does (issue 6, point 1;
//! BEHAVIOUR P10).

use async_kernel::Pending;
use futures::FutureExt as _;

// BEHAVIOUR P10: `pen.await` by value, abandoned unfinished, cancels the pending.
#[test]
fn abandoning_an_owned_await_cancels() {
    let pen: Pending<u32> = Pending::new();
    let watcher = pen.clone();
    #[allow(clippy::redundant_async_block)] // the point: `pen.await` inside a task
    let task = async move { pen.await };
    assert!(task.now_or_never().is_none()); // polled once, then dropped
    assert!(watcher.cancelled());
    let msg = watcher.cancel_message().unwrap();
    assert!(msg.contains("dropped"), "{msg}");
}

// BEHAVIOUR P10: awaiting `&pen` and abandoning it leaves the work running.
#[test]
fn abandoning_a_borrowed_await_does_not_cancel() {
    let pen: Pending<u32> = Pending::new();
    assert!(async { (&pen).await }.now_or_never().is_none());
    assert!(!pen.cancelled());
    pen.set_result(1).unwrap();
    assert_eq!(
        futures::executor::block_on(async { (&pen).await }).unwrap(),
        1
    );
}

// BEHAVIOUR P10: polling through `&mut pen` leaves the wait with `pen`; only dropping `pen`
// unfinished gives it up. A clone of it owns nothing.
#[test]
fn a_handle_polled_by_mut_cancels_when_it_is_dropped() {
    let mut pen: Pending<u32> = Pending::new();
    let watcher = pen.clone();
    assert!((&mut pen).now_or_never().is_none());
    assert!(
        !watcher.cancelled(),
        "dropping the &mut borrow gave nothing up"
    );
    drop(pen.clone());
    assert!(!watcher.cancelled(), "a clone owns no wait");
    drop(pen);
    assert!(watcher.cancelled());
}

// BEHAVIOUR P10: a handle never polled, or polled to the end, cancels nothing when dropped.
#[test]
fn idle_and_finished_handles_cancel_nothing() {
    let pen: Pending<u32> = Pending::new();
    drop(pen.clone());
    assert!(!pen.cancelled());
    let mut awaited = pen.clone();
    pen.set_result(2).unwrap();
    assert_eq!((&mut awaited).now_or_never().unwrap().unwrap(), 2);
    drop(awaited);
    assert_eq!(pen.result().unwrap(), 2);
}

// BEHAVIOUR P10: an explicit `wait()` is owned: abandoned, it cancels unless protected.
#[test]
fn an_explicit_wait_cancels_unless_protected() {
    let pen: Pending<u32> = Pending::new();
    assert!(pen.wait().protect(true).now_or_never().is_none());
    assert!(!pen.cancelled());
    assert!(pen.wait().now_or_never().is_none());
    assert!(pen.cancelled());
}
