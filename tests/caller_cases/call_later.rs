// Included by tests/caller_call_later.rs once per backend; `BACKEND` is defined there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use async_kernel::{MetaValue, Pending};
use async_kernel::caller::{Async, CallOptions, Caller};

use crate::common::{T, block, new_caller_on, shutdown};

#[test]
fn call_later_runs_no_sooner_than_the_delay() {
    // SPEC C8
    let caller = new_caller_on(BACKEND, "later-not-sooner");
    let delay = Duration::from_millis(30);
    let scheduled = Instant::now();
    let pen = caller.call_later(delay, Instant::now).unwrap();
    let ran_at = pen.wait_sync(T).unwrap();
    assert!(
        ran_at.duration_since(scheduled) >= delay,
        "ran after {:?}",
        ran_at.duration_since(scheduled)
    );
    shutdown(&caller);
}

#[test]
fn call_later_delay_counts_from_scheduling_not_from_when_the_loop_takes_it() {
    // SPEC C8
    let caller = new_caller_on(BACKEND, "later-from-scheduling");
    let order = Arc::new(Mutex::new(Vec::new()));
    let (_blocker, release) = block(&caller);
    // While the loop is busy: a delayed call, then a plain one behind it.
    let delay = Duration::from_millis(50);
    let o = order.clone();
    let delayed = caller
        .call_later(delay, move || o.lock().unwrap().push("delayed"))
        .unwrap();
    let scheduled = Instant::now();
    let o = order.clone();
    let plain = caller
        .call_soon(move || o.lock().unwrap().push("plain"))
        .unwrap();
    // Keep the loop busy until the delay has passed (time passing, not synchronisation).
    while scheduled.elapsed() < delay {
        thread::sleep(delay - scheduled.elapsed());
    }
    drop(release);
    delayed.wait_sync(T).unwrap();
    plain.wait_sync(T).unwrap();
    // Its delay was already over when the loop took it: it ran at once, ahead of the call
    // queued after it. Had the delay counted from start, the plain call would run first.
    assert_eq!(*order.lock().unwrap(), vec!["delayed", "plain"]);
    shutdown(&caller);
}

#[test]
fn call_later_with_an_async_closure() {
    // SPEC C8
    let caller = new_caller_on(BACKEND, "later-async");
    let delay = Duration::from_millis(10);
    let scheduled = Instant::now();
    let pen = caller
        .call_later(
            delay,
            Async(|| async {
                let local = std::rc::Rc::new(3);
                futures::future::ready(()).await;
                (*local, Instant::now())
            }),
        )
        .unwrap();
    let (value, ran_at) = pen.wait_sync(T).unwrap();
    assert_eq!(value, 3);
    assert!(ran_at.duration_since(scheduled) >= delay);
    shutdown(&caller);
}

#[test]
fn call_later_records_its_delay_in_the_metadata() {
    // SPEC P2 (a scheduled call's metadata includes its delay)
    let caller = new_caller_on(BACKEND, "later-metadata");
    let pen = caller
        .call_later(Duration::from_millis(250), || ())
        .unwrap();
    assert_eq!(pen.metadata().get("delay"), Some(&MetaValue::Float(0.25)));
    let plain = caller.call_soon(|| ()).unwrap();
    assert_eq!(plain.metadata().get("delay"), None);
    pen.cancel(None);
    shutdown(&caller);
}

#[test]
fn schedule_call_with_a_delay_option_is_a_delayed_call() {
    // SPEC C8
    let caller = new_caller_on(BACKEND, "later-option");
    let delay = Duration::from_millis(20);
    let scheduled = Instant::now();
    let pen = caller
        .schedule_call(Instant::now, CallOptions::new().delay(delay))
        .unwrap();
    assert!(pen.wait_sync(T).unwrap().duration_since(scheduled) >= delay);
    shutdown(&caller);
}

/// Schedules a call 30 s ahead and returns once the loop has taken it (it then waits for its
/// delay), with the flag the call would set if it ran.
fn far_call_taken_by_the_loop(caller: &Caller) -> (Pending<()>, Arc<AtomicBool>) {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let pen = caller
        .call_later(Duration::from_secs(30), move || {
            r.store(true, Ordering::SeqCst)
        })
        .unwrap();
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    (pen, ran)
}

#[test]
fn a_delayed_call_cancelled_while_it_waits_never_runs() {
    // SPEC C9, P6
    let caller = new_caller_on(BACKEND, "later-cancelled");
    let (pen, ran) = far_call_taken_by_the_loop(&caller);
    assert!(pen.cancel(Some("not needed")));
    let err = pen.wait_sync(T).unwrap_err();
    assert_eq!(err.cancel_message(), Some("not needed"));
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(
        caller
            .call_soon({
                let c = caller.clone();
                move || c.running_tasks()
            })
            .unwrap()
            .wait_sync(T)
            .unwrap(),
        0,
        "the waiting task is gone"
    );
    shutdown(&caller);
}

#[test]
fn a_delayed_call_still_waiting_at_stop_ends_cancelled() {
    // SPEC C6
    let caller = new_caller_on(BACKEND, "later-at-stop");
    let (pen, ran) = far_call_taken_by_the_loop(&caller);
    caller.stop(false);
    caller.join().unwrap();
    let err = pen.wait_sync(T).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn current_pending_inside_a_delayed_call_is_its_pending() {
    // SPEC C9
    let caller = new_caller_on(BACKEND, "later-current-pending");
    let pen = caller
        .call_later(Duration::from_millis(1), || {
            Caller::current_pending().map(|p| p.id())
        })
        .unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), Some(pen.id()));
    shutdown(&caller);
}
