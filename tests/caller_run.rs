//! Entering a caller on its own thread: the blocking `run` and the async `run_async`
//! (SPEC C4, C6, C11; the Rust shape of the reference's `async with Caller("manual")`).
//!
//! Runs on every backend from one source (`tests/caller_cases/run.rs`).

// A `Pending` is a future: bodies here hand one back on purpose, to inspect it afterwards.
#![allow(clippy::async_yields_async)]

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/run.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/run.rs");
}

// Tests of one backend only (they name their runtime).
mod single {
    use std::rc::Rc;
    use std::thread;

    use async_kernel::caller::{
        Async, Backend, Caller, CallerError, CallerOptions, CallerState, Modifier,
    };

    use crate::common::manual_on;

    #[test]
    fn run_async_inside_a_tokio_current_thread_runtime_with_a_local_set() {
        // SPEC C4 (async form of entering)
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        let here = thread::current().id();
        let (caller, value, seen) = local.block_on(&rt, async {
            let caller = Caller::new(
                Modifier::CurrentThread,
                CallerOptions::named("run-async-tokio"),
            )
            .expect("the tokio backend is determined inside the runtime");
            let (value, seen) = caller
                .run_async(|c| async move {
                    let pen = c
                        .call_soon(Async(|| async {
                            let local = Rc::new(20);
                            (*local + 1, thread::current().id())
                        }))
                        .unwrap();
                    pen.await.unwrap()
                })
                .await
                .unwrap();
            (caller, value, seen)
        });
        assert_eq!(value, 21);
        assert_eq!(seen, here);
        assert_eq!(caller.backend(), Backend::Tokio);
        assert_eq!(caller.state(), CallerState::Stopped);
    }

    #[test]
    fn run_async_with_tokio_outside_a_tokio_runtime_is_a_start_error_and_stops_the_caller() {
        // SPEC C4
        let caller = manual_on(Backend::Tokio, "run-async-no-runtime");
        let result = futures::executor::block_on(caller.run_async(|_| async { 1 }));
        assert!(
            matches!(result, Err(CallerError::Start { .. })),
            "{result:?}"
        );
        assert_eq!(caller.state(), CallerState::Stopped);
    }

    #[test]
    fn run_async_from_another_thread_is_wrong_thread() {
        // SPEC C4
        let caller = manual_on(Backend::Tokio, "run-async-wrong-thread");
        let c = caller.clone();
        let result = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(c.run_async(|_| async { 1 })).map(|_| ())
        })
        .join()
        .unwrap();
        assert!(
            matches!(result, Err(CallerError::WrongThread { .. })),
            "{result:?}"
        );
        caller.stop(true);
    }

    #[cfg(feature = "smol")]
    #[test]
    fn run_async_inside_smol_block_on_with_the_smol_backend() {
        // SPEC C4
        let caller = Caller::new(
            Modifier::Manual,
            CallerOptions::named("run-async-smol").backend(Backend::Smol),
        )
        .unwrap();
        let here = thread::current().id();
        let (value, seen) = smol::block_on(caller.run_async(|c| async move {
            let pen = c
                .call_soon(Async(|| async {
                    let local = Rc::new(6);
                    (*local * 7, thread::current().id())
                }))
                .unwrap();
            pen.await.unwrap()
        }))
        .unwrap();
        assert_eq!(value, 42);
        assert_eq!(seen, here);
        assert_eq!(caller.state(), CallerState::Stopped);
    }
}
