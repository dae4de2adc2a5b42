//! Setting and reading the outcome of a pending, and how it prints (SPEC P1, P2, P4, P9).

use async_kernel::{InvalidStateKind, MetaValue, Pending, PendingError};

fn assert_failed_with(outcome: Result<u32, PendingError>, text: &str) {
    match outcome {
        Err(PendingError::Failed(e)) => assert_eq!(e.to_string(), text),
        other => panic!("expected a failure {text:?}, got {other:?}"),
    }
}

fn assert_not_done<T: std::fmt::Debug>(outcome: Result<T, PendingError>) {
    match outcome {
        Err(PendingError::InvalidState(e)) => assert_eq!(e.kind(), InvalidStateKind::NotDone),
        other => panic!("expected InvalidState(NotDone), got {other:?}"),
    }
}

// SPEC P1: a value set through one handle is done and readable through every clone.
#[test]
fn set_result_is_seen_by_every_clone() {
    let pen: Pending<u32> = Pending::new();
    let other = pen.clone();
    assert!(!other.done());
    pen.set_result(7).unwrap();
    assert!(other.done());
    assert!(!other.cancelled());
    assert_eq!(other.result().unwrap(), 7);
}

// SPEC P1: set_exception fails the pending with the user's error.
#[test]
fn set_exception_fails_with_the_users_error() {
    let pen: Pending<u32> = Pending::new();
    pen.set_exception(std::io::Error::other("disk full"))
        .unwrap();
    assert!(pen.done());
    assert!(!pen.cancelled());
    assert_failed_with(pen.result(), "disk full");
}

// SPEC P1: set_outcome stores any outcome as given, here a contained panic.
#[test]
fn set_outcome_stores_a_panicked_outcome() {
    let pen: Pending<u32> = Pending::new();
    pen.set_outcome(Err(PendingError::from_panic(&"boom")))
        .unwrap();
    assert!(pen.done());
    match pen.result() {
        Err(PendingError::Panicked { message }) => assert_eq!(&*message, "boom"),
        other => panic!("expected Panicked, got {other:?}"),
    }
}

// SPEC P1: set_outcome with a cancellation makes the pending cancelled with that message.
#[test]
fn set_outcome_with_a_cancellation_marks_it_cancelled() {
    let pen: Pending<u32> = Pending::new();
    pen.set_outcome(Err(PendingError::cancelled("stopped by hand")))
        .unwrap();
    assert!(pen.done());
    assert!(pen.cancelled());
    assert_eq!(
        pen.result().unwrap_err().cancel_message(),
        Some("stopped by hand")
    );
}

// SPEC P4: setting a result twice is AlreadyDone and the first value stays.
#[test]
fn set_result_twice_is_already_done_and_keeps_the_first_value() {
    let pen: Pending<u32> = Pending::new();
    pen.set_result(1).unwrap();
    let err = pen.set_result(2).unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::AlreadyDone);
    assert_eq!(pen.result().unwrap(), 1);
}

// SPEC P4: set_exception and set_outcome on a done pending are refused and change nothing.
#[test]
fn every_setter_on_a_done_pending_is_refused() {
    let pen: Pending<u32> = Pending::new();
    pen.set_exception("first").unwrap();
    let e1 = pen.set_exception("second").unwrap_err();
    let e2 = pen.set_outcome(Ok(3)).unwrap_err();
    let e3 = pen.set_result(4).unwrap_err();
    for e in [e1, e2, e3] {
        assert_eq!(e.kind(), InvalidStateKind::AlreadyDone);
    }
    assert_failed_with(pen.result(), "first");
}

// SPEC P4: a pending that was cancelled (and so is done) refuses a later result.
#[test]
fn setting_a_cancelled_pending_is_already_done() {
    let pen: Pending<u32> = Pending::new();
    assert!(pen.cancel(Some("gone")));
    let err = pen.set_result(9).unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::AlreadyDone);
    assert_eq!(pen.result().unwrap_err().cancel_message(), Some("gone"));
}

// SPEC P9: result() before the pending is done is an invalid-state error of kind NotDone.
#[test]
fn result_before_done_is_not_done() {
    let pen: Pending<u32> = Pending::new();
    assert_not_done(pen.result());
    // Reading did not change anything.
    assert!(!pen.done());
    pen.set_result(1).unwrap();
    assert_eq!(pen.result().unwrap(), 1);
}

// SPEC P9: result() of a cancelled pending is the cancelled error with its message.
#[test]
fn result_of_cancelled_is_cancelled_with_message() {
    let pen: Pending<u32> = Pending::new();
    pen.cancel(Some("no longer needed"));
    let err = pen.result().unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.cancel_message(), Some("no longer needed"));
}

// SPEC P9: exception() is Ok(None) for a value and Ok(Some(failure)) for a failure.
#[test]
fn exception_of_value_and_failure() {
    let ok: Pending<u32> = Pending::new();
    ok.set_result(1).unwrap();
    assert!(ok.exception().unwrap().is_none());

    let bad: Pending<u32> = Pending::new();
    bad.set_exception("broken").unwrap();
    match bad.exception() {
        Ok(Some(PendingError::Failed(e))) => assert_eq!(e.to_string(), "broken"),
        other => panic!("expected Ok(Some(Failed)), got {other:?}"),
    }
}

// SPEC P9: exception() reports cancellation as the cancelled error and "not done" as NotDone.
#[test]
fn exception_of_cancelled_and_not_done() {
    let running: Pending<u32> = Pending::new();
    assert_not_done(running.exception());

    let cancelled: Pending<u32> = Pending::new();
    cancelled.cancel(Some("why"));
    match cancelled.exception() {
        Err(PendingError::Cancelled(c)) => assert_eq!(c.message(), "why"),
        other => panic!("expected Err(Cancelled), got {other:?}"),
    }
}

// SPEC P2: a running pending prints 🏃 (not 🏁 or ⛔) with its metadata.
#[test]
fn debug_of_running_pending_shows_runner_and_metadata() {
    let pen: Pending<u32> = Pending::builder()
        .metadata("func", "compute")
        .metadata("delay", 0.5)
        .build()
        .unwrap();
    let text = format!("{pen:?}");
    assert!(text.contains('🏃'), "{text}");
    assert!(!text.contains('🏁'), "{text}");
    assert!(!text.contains('⛔'), "{text}");
    assert!(text.contains("func=compute"), "{text}");
    assert!(text.contains("delay=0.5"), "{text}");
}

// SPEC P2: a pending done with a value prints 🏁 and no cancel mark.
#[test]
fn debug_of_done_pending_shows_finish_flag() {
    let pen: Pending<u32> = Pending::new();
    pen.set_result(3).unwrap();
    let text = format!("{pen:?}");
    assert!(text.contains('🏁'), "{text}");
    assert!(!text.contains('🏃'), "{text}");
    assert!(!text.contains('⛔'), "{text}");
}

// SPEC P2: a cancelled pending prints ⛔ with its message.
#[test]
fn debug_of_cancelled_pending_shows_mark_and_message() {
    let pen: Pending<u32> = Pending::builder().metadata("n", 3).build().unwrap();
    pen.cancel(Some("user abort"));
    let text = format!("{pen:?}");
    assert!(text.contains('⛔'), "{text}");
    assert!(text.contains("user abort"), "{text}");
    assert!(text.contains("n=3"), "{text}");
}

// SPEC P2: long metadata values are cut to 100 characters and marked with '…'.
#[test]
fn debug_truncates_long_metadata_values() {
    let long = "x".repeat(150);
    let pen: Pending<u32> = Pending::builder()
        .metadata("payload", long.clone())
        .metadata("short", "kept")
        .build()
        .unwrap();
    let text = format!("{pen:?}");
    let shown = format!("payload={}…", "x".repeat(100));
    assert!(text.contains(&shown), "{text}");
    assert!(!text.contains(&"x".repeat(101)), "{text}");
    assert!(text.contains("short=kept"), "{text}");
    // The stored value itself is not cut.
    assert_eq!(
        pen.metadata().get("payload"),
        Some(&MetaValue::Str(long.into()))
    );
}

// SPEC P2: metadata keeps creation order; a repeated key keeps its last value.
#[test]
fn metadata_keeps_order_and_last_value_of_a_repeated_key() {
    let pen: Pending<()> = Pending::builder()
        .metadata("a", 1)
        .metadata("b", true)
        .metadata("a", 2)
        .build()
        .unwrap();
    let md = pen.metadata();
    let pairs: Vec<(String, String)> = md
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_string()))
        .collect();
    assert_eq!(
        pairs,
        vec![("a".into(), "2".into()), ("b".into(), "true".into())]
    );
    assert_eq!(pen.erase().metadata().len(), 2);
}

// SPEC P9, P6: while a cancellation is requested but the work has not stopped (a canceller is
// set), the pending is not done, so reading its outcome is NotDone.
#[test]
fn outcome_of_a_cancel_requested_but_running_pending_is_the_cancellation() {
    // SPEC P9 as the reference does it: once cancellation is requested, result() and
    // exception() report it (with the message so far) even while the work is still stopping;
    // done() stays false until it has (P6). See docs/DESIGN.md.
    let pen: Pending<u32> = Pending::new();
    pen.set_canceller(|_| {}).unwrap();
    pen.cancel(Some("a"));
    assert!(!pen.done());
    assert_eq!(pen.result().unwrap_err().cancel_message(), Some("a"));
    assert_eq!(pen.exception().unwrap_err().cancel_message(), Some("a"));
}
