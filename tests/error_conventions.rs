//! Error values follow Rust conventions (issue 6, point 7; BEHAVIOUR P9): lowercase `Display`
//! without a final period, address or emoji; `source()` chains without repetition;
//! `CallerError` is `Clone`.

use std::error::Error;

use async_kernel::{CallerError, InvalidStateKind, Pending, PendingError};

/// The rules for a message's own text: lowercase start, no final period, no address, no emoji.
fn assert_text_conventional(text: &str) {
    let first = text.chars().next().expect("a non-empty message");
    assert!(!first.is_uppercase(), "starts uppercase: {text:?}");
    assert!(!text.ends_with('.'), "ends with a period: {text:?}");
    assert!(!text.contains("0x"), "contains an address: {text:?}");
    assert!(text.is_ascii(), "contains emoji or other symbols: {text:?}");
}

fn assert_conventional(e: &(dyn Error + 'static)) {
    let text = e.to_string();
    assert_text_conventional(&text);
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

/// Every `CallerError` variant, with typical fields.
fn caller_errors() -> Vec<CallerError> {
    use async_kernel::{Backend, CallerState};
    let invalid = Pending::<u8>::new().result().unwrap_err();
    let PendingError::InvalidState(invalid) = invalid else {
        unreachable!("reading an unfinished pending is misuse")
    };
    vec![
        CallerError::NotAccepting {
            caller: "worker".to_owned(),
            state: CallerState::Stopped,
        },
        CallerError::NameMismatch {
            existing: "a".to_owned(),
            requested: "b".to_owned(),
        },
        CallerError::BackendMismatch {
            caller: "worker".to_owned(),
            existing: Backend::Tokio,
            requested: Backend::Smol,
        },
        CallerError::NoBackend,
        CallerError::BackendUnavailable(Backend::Smol),
        CallerError::AlreadyExists {
            thread: "main".to_owned(),
        },
        CallerError::NoMainThreadCaller,
        CallerError::Start {
            caller: "worker".to_owned(),
            source: std::sync::Arc::new(std::io::Error::other("no threads left")),
        },
        CallerError::WrongState {
            caller: "worker".to_owned(),
            action: "entered",
            state: CallerState::Running,
        },
        CallerError::WrongThread {
            caller: "worker".to_owned(),
        },
        CallerError::InvalidName {
            name: "a\0b".to_owned(),
        },
        CallerError::JoinOwnThread {
            caller: "worker".to_owned(),
        },
        CallerError::WaitsForItself {
            pending: "Pending { .. }".to_owned(),
        },
        CallerError::InvalidState(invalid),
    ]
}

/// Checks what `assert_conventional` checks, for any error type of ours, and that no error's
/// `Display` repeats its source's text (a chain printer would show it twice).
fn assert_ours(e: &(dyn Error + 'static)) {
    let text = e.to_string();
    assert_text_conventional(&text);
    if let Some(source) = e.source() {
        let inner = source.to_string();
        assert!(
            !text.contains(&inner),
            "{text:?} repeats its source's text {inner:?}"
        );
    }
}

// BEHAVIOUR CX1, C7: every `CallerError` variant (the ones for misuse too: `InvalidName`,
// `JoinOwnThread`, `WaitsForItself`) is conventional, cloneable, and keeps its cause in
// `source()` only.
#[test]
fn every_caller_error_displays_conventionally() {
    let all = caller_errors();
    for e in &all {
        assert_ours(e);
        assert_eq!(e.clone().to_string(), e.to_string());
    }
    let start = all
        .iter()
        .find(|e| matches!(e, CallerError::Start { .. }))
        .unwrap();
    assert_eq!(start.source().unwrap().to_string(), "no threads left");
}

// BEHAVIOUR CX1: errors made by real misuse, not by hand.
#[test]
fn errors_from_real_misuse_display_conventionally() {
    use async_kernel::caller::{Caller, CallerOptions, Modifier};
    let name = Caller::new(Modifier::NewThread, CallerOptions::named("nul\0name")).unwrap_err();
    assert!(matches!(name, CallerError::InvalidName { .. }), "{name:?}");
    assert_ours(&name);

    let caller = Caller::new(Modifier::NewThread, CallerOptions::named("conventions")).unwrap();
    let inner = caller.clone();
    let own = caller
        .call_soon(move || inner.join().unwrap_err())
        .unwrap()
        .wait_sync(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    assert!(matches!(own, CallerError::JoinOwnThread { .. }), "{own:?}");
    assert_ours(&own);
    caller.stop(false);
    caller.join().unwrap();
    let late = caller.call_soon(|| 1).unwrap_err();
    assert!(matches!(late, CallerError::NotAccepting { .. }), "{late:?}");
    assert_ours(&late);

    // Taking twice.
    let pen: Pending<String> = Pending::new();
    pen.set_result("file".to_owned()).unwrap();
    pen.take().unwrap();
    let again = pen.take().unwrap_err();
    assert!(
        matches!(&again, PendingError::InvalidState(i) if i.kind() == InvalidStateKind::AlreadyTaken)
    );
    assert_ours(&again);
}

// BEHAVIOUR G2: a group's failure says a member failed; the member's own error is its source,
// not part of its text.
#[test]
fn group_errors_display_conventionally() {
    use async_kernel::PendingGroup;
    let out = futures::executor::block_on(PendingGroup::new().run(|_pg| async move {
        let bad: Pending<u32> = Pending::new();
        bad.set_exception("the disk is full").unwrap();
        std::future::pending::<()>().await
    }));
    let e = out.unwrap_err();
    assert!(e.group().is_some(), "{e:?}");
    assert_ours(&e);
    assert_eq!(e.source().unwrap().to_string(), "the disk is full");
}

// Iopub errors keep ZeroMQ's or the OS's error in `source()` only.
#[cfg(feature = "zmq")]
#[test]
fn iopub_errors_display_conventionally() {
    use async_kernel::iopub::IopubError;
    let all = [
        IopubError::NoSocket,
        IopubError::InUse,
        IopubError::Zmq {
            action: "bind the forwarder",
            source: zmq::Error::EADDRINUSE,
        },
        IopubError::NoPort("inproc://x".to_owned()),
        IopubError::Thread(std::sync::Arc::new(std::io::Error::other(
            "no threads left",
        ))),
    ];
    for e in &all {
        assert_ours(e);
    }
    assert!(all[2].source().is_some());
    assert_eq!(all[4].source().unwrap().to_string(), "no threads left");
}
