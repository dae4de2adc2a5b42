//! Cancelling a pending: messages, cancellers, and cancellation winning (SPEC P5–P8).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_kernel::{InvalidStateKind, Pending};

/// A canceller that records every message it is called with.
fn recording_canceller<T: Send + 'static>(pen: &Pending<T>) -> Arc<Mutex<Vec<Option<String>>>> {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let record = calls.clone();
    pen.set_canceller(move |msg| record.lock().unwrap().push(msg.map(str::to_owned)))
        .unwrap();
    calls
}

// SPEC P6: without a canceller, cancel makes the pending done (cancelled) at once.
#[test]
fn cancel_without_canceller_is_done_at_once() {
    let pen: Pending<u32> = Pending::new();
    assert!(pen.cancel(Some("stop")));
    assert!(pen.done());
    assert!(pen.cancelled());
    assert_eq!(pen.result().unwrap_err().cancel_message(), Some("stop"));
}

// SPEC P6: with a canceller, cancel only asks; the pending is done once the work sets an outcome.
#[test]
fn cancel_with_canceller_is_done_only_when_the_work_stops() {
    let pen: Pending<u32> = Pending::new();
    let calls = recording_canceller(&pen);
    assert!(pen.cancel(Some("stop")));
    assert!(pen.cancelled());
    assert!(!pen.done(), "the work has not stopped yet");
    assert_eq!(calls.lock().unwrap().len(), 1);

    pen.set_result(5).unwrap(); // the work stops
    assert!(pen.done());
    assert_eq!(pen.result().unwrap_err().cancel_message(), Some("stop"));
}

// SPEC P6, P5: the canceller is called once per cancel, with that call's new message.
#[test]
fn canceller_is_called_with_each_new_message() {
    let pen: Pending<u32> = Pending::new();
    let calls = recording_canceller(&pen);
    pen.cancel(Some("a"));
    pen.cancel(Some("b"));
    pen.cancel(None);
    assert_eq!(
        *calls.lock().unwrap(),
        vec![Some("a".to_owned()), Some("b".to_owned()), None]
    );
    pen.set_result(0).unwrap();
    // Cancelling a done pending calls nobody.
    pen.cancel(Some("late"));
    assert_eq!(calls.lock().unwrap().len(), 3);
}

// SPEC P5: messages accumulate with "\n"; a cancel without message keeps the earlier text.
#[test]
fn cancel_messages_accumulate_and_none_keeps_text() {
    let pen: Pending<u32> = Pending::new();
    let _calls = recording_canceller(&pen);
    pen.cancel(Some("a"));
    pen.cancel(Some("b"));
    assert_eq!(pen.cancel_message().as_deref(), Some("a\nb"));
    pen.cancel(None);
    assert_eq!(pen.cancel_message().as_deref(), Some("a\nb"));
    pen.set_result(1).unwrap();
    assert_eq!(pen.result().unwrap_err().cancel_message(), Some("a\nb"));
}

// SPEC P5: cancel on a pending done with a value does nothing and returns false.
#[test]
fn cancel_on_done_value_returns_false_and_changes_nothing() {
    let pen: Pending<u32> = Pending::new();
    pen.set_result(8).unwrap();
    assert!(!pen.cancel(Some("too late")));
    assert!(!pen.cancelled());
    assert_eq!(pen.cancel_message(), None);
    assert_eq!(pen.result().unwrap(), 8);
}

// SPEC P5: cancel on a pending already done cancelled returns true and keeps the first message.
#[test]
fn cancel_on_done_cancelled_returns_true_and_keeps_message() {
    let pen: Pending<u32> = Pending::new();
    pen.cancel(Some("first"));
    assert!(pen.done());
    assert!(pen.cancel(Some("second")));
    assert_eq!(pen.result().unwrap_err().cancel_message(), Some("first"));
}

// SPEC P7: once cancelled, a later set_result is accepted but the outcome stays cancelled.
#[test]
fn cancellation_wins_over_a_later_result() {
    let pen: Pending<u32> = Pending::new();
    let _calls = recording_canceller(&pen);
    pen.cancel(Some("cancelled first"));
    assert!(pen.set_result(42).is_ok());
    let err = pen.result().unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.cancel_message(), Some("cancelled first"));
}

// SPEC P7: once cancelled, a later failure does not replace the cancellation either.
#[test]
fn cancellation_wins_over_a_later_failure() {
    let pen: Pending<u32> = Pending::new();
    let _calls = recording_canceller(&pen);
    pen.cancel(Some("c"));
    pen.set_exception("the work failed while stopping").unwrap();
    assert!(pen.exception().unwrap_err().is_cancelled());
}

// SPEC P6: a canceller that stops the work on the spot completes the cancellation at once.
#[test]
fn canceller_that_sets_the_outcome_completes_cancel_at_once() {
    let pen: Pending<u32> = Pending::new();
    let work = pen.clone();
    pen.set_canceller(move |_| {
        work.set_result(0).unwrap();
    })
    .unwrap();
    assert!(pen.cancel(Some("now")));
    assert!(pen.done());
    assert_eq!(pen.result().unwrap_err().cancel_message(), Some("now"));
}

// SPEC P8: set_canceller on a done pending is an invalid-state error.
#[test]
fn set_canceller_on_done_pending_is_an_error() {
    let pen: Pending<u32> = Pending::new();
    pen.set_result(1).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let err = pen
        .set_canceller(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::CancellerAlreadySet);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

// SPEC P8: a second canceller is refused and the first one stays in charge.
#[test]
fn set_canceller_twice_is_an_error_and_keeps_the_first() {
    let pen: Pending<u32> = Pending::new();
    let first = Arc::new(AtomicUsize::new(0));
    let second = Arc::new(AtomicUsize::new(0));
    let f = first.clone();
    pen.set_canceller(move |_| {
        f.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    let s = second.clone();
    let err = pen
        .set_canceller(move |_| {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::CancellerAlreadySet);
    pen.cancel(None);
    assert_eq!(first.load(Ordering::SeqCst), 1);
    assert_eq!(second.load(Ordering::SeqCst), 0);
}

// SPEC P1, P6: cancel from another thread reaches the canceller; the work finishing there ends it.
#[test]
fn cancel_from_another_thread_reaches_the_canceller() {
    let pen: Pending<u32> = Pending::new();
    let (tx, rx) = crossbeam_channel::bounded::<Option<String>>(1);
    pen.set_canceller(move |msg| tx.send(msg.map(str::to_owned)).unwrap())
        .unwrap();
    let remote = pen.clone();
    std::thread::spawn(move || remote.cancel(Some("from afar")))
        .join()
        .unwrap();
    let got = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!(got.as_deref(), Some("from afar"));
    assert!(!pen.done());
    pen.set_result(1).unwrap();
    assert!(pen.result().unwrap_err().is_cancelled());
}
