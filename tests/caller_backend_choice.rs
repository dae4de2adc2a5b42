//! Which backend a caller of an existing thread runs when none is given: the tokio runtime
//! running there, else the only backend compiled in, else an error that says why.
//! Run with `--all-features` and with the default features to see both branches.

mod common;

use async_kernel::caller::{Backend, Caller, CallerError, CallerOptions, Modifier};

/// What a plain thread (no runtime running) must get without a backend in the options.
fn expected() -> Option<Backend> {
    match (cfg!(feature = "tokio"), cfg!(feature = "smol")) {
        (true, false) => Some(Backend::Tokio),
        (false, true) => Some(Backend::Smol),
        _ => None,
    }
}

#[test]
fn a_current_thread_caller_uses_the_only_backend_compiled_in() {
    // SPEC C2 (a backend that can be determined is used); BEHAVIOUR CX5 (the only one compiled
    // in is)
    std::thread::spawn(|| {
        let result = Caller::new(
            Modifier::CurrentThread,
            CallerOptions::named("choice-current"),
        );
        match (expected(), result) {
            (Some(backend), Ok(caller)) => {
                assert_eq!(caller.backend(), backend);
                // And it runs on that backend when entered.
                let v = caller.run(|c| async move { c.call_soon(|| 5).unwrap().await });
                assert_eq!(v.unwrap().unwrap(), 5);
            }
            (None, Err(e @ CallerError::NoBackend)) => {
                assert!(e.to_string().contains("more than one backend"), "{e}");
                assert_eq!(Caller::current(), None);
            }
            (want, got) => panic!("expected {want:?}, got {got:?}"),
        }
    })
    .join()
    .unwrap();
}

#[test]
fn a_manual_caller_uses_the_only_backend_compiled_in() {
    // SPEC C2; BEHAVIOUR CX5
    std::thread::spawn(|| {
        let result = Caller::new(Modifier::Manual, CallerOptions::named("choice-manual"));
        match (expected(), result) {
            (Some(backend), Ok(caller)) => {
                assert_eq!(caller.backend(), backend);
                caller.stop(true);
            }
            (None, Err(CallerError::NoBackend)) => {}
            (want, got) => panic!("expected {want:?}, got {got:?}"),
        }
    })
    .join()
    .unwrap();
}

#[test]
fn only_compiled_names_the_single_backend_of_this_build() {
    // SPEC C2; BEHAVIOUR CX5
    assert_eq!(Backend::only_compiled(), expected());
}
