//! Error values follow Rust conventions (issue 6, point 7; BEHAVIOUR P9): lowercase `Display`
//! without a final period, address or emoji; `source()` chains without repetition;
//! `CallerError` is `Clone`.

use std::error::Error;

use async_kernel::{CallerError, InvalidStateKind, Pending, PendingError};

fn assert_conventional(e: &(dyn Error + 'static)) {
    let text = e.to_string();
    let first = text.chars().next().expect("a non-empty message");
    assert!(!first.is_uppercase(), "starts uppercase: {text:?}");
    assert!(!text.ends_with('.'), "ends with a period: {text:?}");
    assert!(!text.contains("0x"), "contains an address: {text:?}");
    assert!(text.is_ascii(), "contains emoji or other symbols: {text:?}");
    if let Some(source) = e.source() {
        assert_ne!(
            source.to_string(),
            text,
            "the source repeats the error's own text"
        );
        assert_conventional_or_user(source);
    }
}

/// A user's error in a chain only needs to be reachable; ours must follow the rules.
fn assert_conventional_or_user(e: &(dyn Error + 'static)) {
    if e.downcast_ref::<PendingError>().is_some() {
        assert_conventional(e);
    }
}

fn errors() -> Vec<PendingError> {
    let cancelled: Pending<u8> = Pending::new();
    cancelled.cancel(Some("Cancelled before started."));
    let failed: Pending<u8> = Pending::new();
    failed.set_exception("disk full").unwrap();
    let running: Pending<u8> = Pending::new();
    let twice: Pending<u8> = Pending::new();
    twice.set_result(1).unwrap();
    let set_twice = twice.set_result(2).unwrap_err();
    let canceller = twice.set_canceller(|_| {}).unwrap_err();
    vec![
        cancelled.result().unwrap_err(),
        PendingError::cancelled(""),
        failed.result().unwrap_err(),
        running.result().unwrap_err(),
        set_twice.into(),
        canceller.into(),
        PendingError::from_panic(&"boom"),
        PendingError::TimedOut(std::time::Duration::from_millis(5)),
    ]
}

// BEHAVIOUR P9: every pending error's Display is conventional.
#[test]
fn pending_errors_display_conventionally() {
    for e in errors() {
        assert_conventional(&e);
        // Debug may show more, but never less.
        assert!(!format!("{e:?}").is_empty());
    }
}

// BEHAVIOUR P9: `Failed` exposes the user's error as its source; `Cancelled` does not repeat
// itself.
#[test]
fn source_chains_are_right() {
    let failed = PendingError::failed(std::io::Error::other("disk full"));
    assert_eq!(failed.to_string(), "failed");
    let source = failed.source().expect("the user's error");
    assert_eq!(source.to_string(), "disk full");
    assert!(source.downcast_ref::<std::io::Error>().is_some());
    let cancelled = PendingError::cancelled("stop");
    assert_eq!(cancelled.to_string(), "cancelled: stop");
    assert!(cancelled.source().is_none());
    let e = Pending::<u8>::new().result().unwrap_err();
    assert!(matches!(&e, PendingError::InvalidState(i) if i.kind() == InvalidStateKind::NotDone));
    assert!(e.source().is_none());
}

// BEHAVIOUR C7: `CallerError` is `Clone` and conventional.
#[test]
fn caller_errors_clone_and_display_conventionally() {
    let e = CallerError::Start {
        caller: "worker".to_owned(),
        source: std::sync::Arc::new(std::io::Error::other("no threads left")),
    };
    let copy = e.clone();
    assert_conventional(&copy);
    assert_eq!(copy.source().unwrap().to_string(), "no threads left");
    assert_conventional(&CallerError::NoBackend);
}
