//! Creating and finding callers with the four modifiers, and the options they keep
//! (SPEC C1–C3).
//!
//! The registry is process-wide and the tests of this binary run in parallel: every caller has
//! a name of its own, and the tests that bind or look up the caller of the thread named "main"
//! are serialised by `MAIN_THREAD`.
//!
//! Runs on every backend from one source (`tests/caller_cases/create.rs`).

mod common;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Serialises the tests that touch the caller of the thread named "main" (one lock for both
/// backends' suites).
static MAIN_THREAD: Mutex<()> = Mutex::new(());

fn main_lock() -> MutexGuard<'static, ()> {
    MAIN_THREAD.lock().unwrap_or_else(PoisonError::into_inner)
}

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/create.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/create.rs");
}

// Tests of one backend only (they name their runtime).
mod single {
    use std::thread;

    use async_kernel::caller::{Backend, Caller, CallerError, CallerOptions, Modifier};

    use crate::common::{new_caller, shutdown};

    #[test]
    fn new_thread_without_backend_uses_tokio() {
        // SPEC C3: default backend of a new thread
        let caller = new_caller("create-default-backend");
        assert_eq!(caller.backend(), Backend::Tokio);
        assert!(!caller.protected());
        shutdown(&caller);
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
}
