//! Creating and finding callers with the four modifiers, and the options they keep
//! (SPEC C1–C3).
//!
//! The registry is process-wide and the tests of this binary run in parallel: every caller has
//! a name of its own, and the tests that bind or look up the caller of the thread named "main"
//! are serialised by `MAIN_THREAD`.

mod common;

use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
use std::thread;
use std::time::Duration;

use async_kernel::Pending;
use async_kernel::caller::{
    Backend, BackendOptions, Caller, CallerError, CallerOptions, CallerState, Modifier,
    TokioOptions,
};

use common::{T, manual, new_caller, shutdown};

/// Serialises the tests that touch the caller of the thread named "main".
static MAIN_THREAD: Mutex<()> = Mutex::new(());

fn main_lock() -> MutexGuard<'static, ()> {
    MAIN_THREAD.lock().unwrap_or_else(PoisonError::into_inner)
}

fn thread_name_inside(caller: &Caller) -> Option<String> {
    caller
        .call_soon(|| thread::current().name().map(str::to_owned))
        .unwrap()
        .wait_sync(T)
        .unwrap()
}

#[test]
fn new_thread_without_name_runs_on_a_thread_named_async_kernel_caller() {
    // SPEC C1
    let caller = Caller::new(Modifier::NewThread, CallerOptions::default()).unwrap();
    assert_eq!(caller.name(), "async_kernel_caller");
    assert_eq!(
        thread_name_inside(&caller).as_deref(),
        Some("async_kernel_caller")
    );
    shutdown(&caller);
}

#[test]
fn new_thread_runs_on_a_thread_named_after_the_caller() {
    // SPEC C1
    let caller = new_caller("create-named-thread");
    assert_eq!(
        thread_name_inside(&caller).as_deref(),
        Some("create-named-thread")
    );
    shutdown(&caller);
}

#[test]
fn new_thread_runs_calls_on_its_own_thread() {
    // SPEC C1
    let caller = new_caller("create-own-thread");
    let inside = caller
        .call_soon(|| thread::current().id())
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_ne!(inside, thread::current().id());
    assert_eq!(inside, caller.thread());
    shutdown(&caller);
}

#[test]
fn new_thread_without_backend_uses_tokio() {
    // SPEC C3: default backend of a new thread
    let caller = new_caller("create-default-backend");
    assert_eq!(caller.backend(), Backend::Tokio);
    assert!(!caller.protected());
    shutdown(&caller);
}

#[test]
fn manual_creates_a_caller_bound_to_this_thread_without_starting_it() {
    // SPEC C1
    let caller = manual("create-manual");
    assert_eq!(caller.thread(), thread::current().id());
    assert_eq!(caller.state(), CallerState::Initial);
    assert!(!caller.running());
    assert_eq!(Caller::current(), Some(caller.clone()));
    caller.stop(true);
}

#[test]
fn current_thread_finds_the_existing_caller_of_this_thread() {
    // SPEC C1
    let existing = manual("create-find");
    let found = Caller::new(Modifier::CurrentThread, CallerOptions::default()).unwrap();
    assert_eq!(found, existing);
    let by_name =
        Caller::new(Modifier::CurrentThread, CallerOptions::named("create-find")).unwrap();
    assert_eq!(by_name, existing);
    existing.stop(true);
}

#[test]
fn current_thread_inside_a_call_finds_the_caller_running_it() {
    // SPEC C1
    let caller = new_caller("create-find-in-call");
    let found = caller
        .call_soon(|| {
            Caller::new(Modifier::CurrentThread, CallerOptions::default())
                .map_err(|e| e.to_string())
        })
        .unwrap()
        .wait_sync(T)
        .unwrap()
        .unwrap();
    assert_eq!(found, caller);
    shutdown(&caller);
}

#[test]
fn current_thread_with_a_backend_creates_a_caller_for_this_thread() {
    // SPEC C1
    let caller = Caller::new(
        Modifier::CurrentThread,
        CallerOptions::named("create-current-new").backend(Backend::Tokio),
    )
    .unwrap();
    assert_eq!(caller.thread(), thread::current().id());
    assert_eq!(caller.state(), CallerState::Initial);
    assert_eq!(Caller::current(), Some(caller.clone()));
    caller.stop(true);
}

#[test]
fn manual_on_a_thread_that_has_a_caller_is_already_exists() {
    // SPEC C1
    let existing = manual("create-manual-dup");
    match Caller::new(
        Modifier::Manual,
        CallerOptions::named("create-manual-dup-2").backend(Backend::Tokio),
    ) {
        Err(CallerError::AlreadyExists { thread }) => {
            assert_eq!(Some(thread.as_str()), thread::current().name());
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    // The thread's caller is unchanged.
    assert_eq!(Caller::current(), Some(existing.clone()));
    existing.stop(true);
}

#[test]
fn manual_inside_a_caller_thread_is_already_exists() {
    // SPEC C1
    let caller = new_caller("create-manual-in-call");
    let thread = caller
        .call_soon(|| {
            match Caller::new(
                Modifier::Manual,
                CallerOptions::default().backend(Backend::Tokio),
            ) {
                Err(CallerError::AlreadyExists { thread }) => Ok(thread),
                other => Err(format!("{other:?}")),
            }
        })
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(thread.as_deref(), Ok("create-manual-in-call"));
    shutdown(&caller);
}

#[test]
fn current_thread_with_another_name_is_name_mismatch() {
    // SPEC C2
    let existing = manual("create-name-a");
    match Caller::new(
        Modifier::CurrentThread,
        CallerOptions::named("create-name-b"),
    ) {
        Err(CallerError::NameMismatch {
            existing,
            requested,
        }) => {
            assert_eq!(existing, "create-name-a");
            assert_eq!(requested, "create-name-b");
        }
        other => panic!("expected NameMismatch, got {other:?}"),
    }
    existing.stop(true);
}

#[test]
fn current_thread_with_another_backend_is_backend_mismatch() {
    // SPEC C2
    let existing = manual("create-backend-mismatch");
    match Caller::new(
        Modifier::CurrentThread,
        CallerOptions::default().backend(Backend::Smol),
    ) {
        Err(CallerError::BackendMismatch {
            caller,
            existing,
            requested,
        }) => {
            assert_eq!(caller, "create-backend-mismatch");
            assert_eq!(existing, Backend::Tokio);
            assert_eq!(requested, Backend::Smol);
        }
        other => panic!("expected BackendMismatch, got {other:?}"),
    }
    existing.stop(true);
}

#[test]
// With one backend compiled in, that one is used (tests/caller_backend_choice.rs).
#[cfg(all(feature = "tokio", feature = "smol"))]
fn manual_without_backend_on_a_plain_thread_is_no_backend_and_says_why() {
    // SPEC C2
    match Caller::new(Modifier::Manual, CallerOptions::named("create-no-backend")) {
        Err(e @ CallerError::NoBackend) => {
            assert!(
                e.to_string().contains("none can be determined"),
                "unexpected message: {e}"
            );
        }
        other => panic!("expected NoBackend, got {other:?}"),
    }
    // Nothing was registered for this thread.
    assert_eq!(Caller::current(), None);
}

#[test]
// With one backend compiled in, that one is used (tests/caller_backend_choice.rs).
#[cfg(all(feature = "tokio", feature = "smol"))]
fn current_thread_without_backend_on_a_plain_thread_is_no_backend() {
    // SPEC C2
    let result = Caller::new(
        Modifier::CurrentThread,
        CallerOptions::named("create-no-backend-current"),
    );
    assert!(
        matches!(result, Err(CallerError::NoBackend)),
        "expected NoBackend, got {result:?}"
    );
    assert_eq!(Caller::current(), None);
}

#[test]
fn current_thread_inside_a_tokio_runtime_determines_the_tokio_backend() {
    // SPEC C2: a backend that can be determined is used
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let caller = rt
        .block_on(async {
            Caller::new(
                Modifier::CurrentThread,
                CallerOptions::named("create-detect"),
            )
        })
        .unwrap();
    assert_eq!(caller.backend(), Backend::Tokio);
    assert_eq!(caller.thread(), thread::current().id());
    caller.stop(true);
}

#[test]
fn options_are_kept_by_the_caller() {
    // SPEC C3
    let backend_options = BackendOptions::Tokio(TokioOptions {
        enable_io: false,
        event_interval: Some(7),
        thread_stack_size: Some(4 << 20),
    });
    let caller = Caller::new(
        Modifier::NewThread,
        CallerOptions::named("create-options")
            .backend(Backend::Tokio)
            .backend_options(backend_options.clone())
            .protected(true),
    )
    .unwrap();
    assert_eq!(caller.name(), "create-options");
    assert_eq!(caller.backend(), Backend::Tokio);
    assert_eq!(caller.backend_options(), &backend_options);
    assert!(caller.protected());
    assert!(caller.zmq_context().is_none());
    // The runtime built from those options serves calls.
    assert_eq!(
        caller.call_soon(|| 5).unwrap().wait_sync(T).unwrap(),
        5,
        "a caller built with custom tokio options runs calls"
    );
    shutdown(&caller);
}

#[cfg(not(feature = "smol"))]
#[test]
fn new_thread_with_a_backend_not_compiled_in_is_backend_unavailable() {
    // SPEC C2 (a backend that cannot be used is an error that says so)
    match Caller::new(
        Modifier::NewThread,
        CallerOptions::named("create-unavailable").backend(Backend::Smol),
    ) {
        Err(e @ CallerError::BackendUnavailable(Backend::Smol)) => {
            assert!(e.to_string().contains("smol"), "{e}");
        }
        other => panic!("expected BackendUnavailable, got {other:?}"),
    }
}

#[test]
fn main_thread_from_another_thread_without_a_main_caller_is_an_error() {
    // SPEC C1
    let _serial = main_lock();
    // The test harness runs this test on a thread named after the test, not "main".
    assert_ne!(thread::current().name(), Some("main"));
    let result = Caller::new(Modifier::MainThread, CallerOptions::default());
    assert!(
        matches!(result, Err(CallerError::NoMainThreadCaller)),
        "expected NoMainThreadCaller, got {result:?}"
    );
}

#[test]
fn main_thread_on_the_main_thread_binds_to_it() {
    // SPEC C1
    let _serial = main_lock();
    let (main_id, caller_thread, state, registered) = thread::Builder::new()
        .name("main".into())
        .spawn(|| {
            let caller = Caller::new(
                Modifier::MainThread,
                CallerOptions::named("create-main-bind").backend(Backend::Tokio),
            )
            .unwrap();
            let out = (
                thread::current().id(),
                caller.thread(),
                caller.state(),
                Caller::current() == Some(caller.clone()),
            );
            caller.stop(true);
            out
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(caller_thread, main_id);
    assert_eq!(state, CallerState::Initial);
    assert!(registered);
}

#[test]
fn main_thread_from_another_thread_finds_the_main_caller_and_its_calls_run_on_main() {
    // SPEC C1
    let _serial = main_lock();
    let gate: Pending<()> = Pending::new();
    let release = gate.clone();
    let (tx, rx) = mpsc::channel();
    let main = thread::Builder::new()
        .name("main".into())
        .spawn(move || {
            let caller = Caller::new(
                Modifier::MainThread,
                CallerOptions::named("create-main-find").backend(Backend::Tokio),
            )
            .unwrap();
            caller
                .run(move |c| async move {
                    tx.send(c.clone()).unwrap();
                    let _ = gate.wait().protect(true).await;
                })
                .unwrap();
        })
        .unwrap();
    let main_caller: Caller = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let found = Caller::new(Modifier::MainThread, CallerOptions::default()).unwrap();
    assert_eq!(found, main_caller);
    assert_eq!(thread_name_inside(&found).as_deref(), Some("main"));
    release.set_result(()).unwrap();
    main.join().unwrap();
    assert_eq!(main_caller.state(), CallerState::Stopped);
}

#[test]
fn main_thread_with_another_name_is_name_mismatch() {
    // SPEC C2
    let _serial = main_lock();
    let main_caller = thread::Builder::new()
        .name("main".into())
        .spawn(|| {
            Caller::new(
                Modifier::MainThread,
                CallerOptions::named("create-main-a").backend(Backend::Tokio),
            )
            .unwrap()
        })
        .unwrap()
        .join()
        .unwrap();
    let result = Caller::new(Modifier::MainThread, CallerOptions::named("create-main-b"));
    main_caller.stop(true);
    match result {
        Err(CallerError::NameMismatch {
            existing,
            requested,
        }) => {
            assert_eq!(existing, "create-main-a");
            assert_eq!(requested, "create-main-b");
        }
        other => panic!("expected NameMismatch, got {other:?}"),
    }
}

// SPEC C1: MainThread means the thread that runs `fn main`, not a caller thread that happens to
// be named "main".
#[test]
fn main_thread_does_not_find_a_new_thread_caller_named_main() {
    let _serial = main_lock();
    let impostor = Caller::new(Modifier::NewThread, CallerOptions::named("main")).unwrap();
    let err = Caller::new(Modifier::MainThread, CallerOptions::default()).unwrap_err();
    assert!(matches!(err, CallerError::NoMainThreadCaller), "{err:?}");
    impostor.stop(true);
    impostor.join().unwrap();
}
