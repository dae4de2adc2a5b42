//! Quick end-to-end checks of the caller (the full suite lives in the other caller_* files).
//!
//! Runs on every backend from one source (`tests/caller_cases/smoke.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/smoke.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/smoke.rs");
}

// One backend only: smol by name, whatever the suite's backend.
#[cfg(feature = "smol")]
#[test]
fn smol_backend_runs_calls() {
    let caller = async_kernel::caller::Caller::new(
        async_kernel::caller::Modifier::NewThread,
        async_kernel::caller::CallerOptions::named("smoke-smol")
            .backend(async_kernel::caller::Backend::Smol),
    )
    .unwrap();
    let pen = caller
        .call_soon(async_kernel::caller::Async(|| async { 7 }))
        .unwrap();
    assert_eq!(
        pen.wait_sync(Some(std::time::Duration::from_secs(5)))
            .unwrap(),
        7
    );
    let later = caller
        .call_later(std::time::Duration::from_millis(2), || 8)
        .unwrap();
    assert_eq!(
        later
            .wait_sync(Some(std::time::Duration::from_secs(5)))
            .unwrap(),
        8
    );
    caller.stop(false);
    caller.join().unwrap();
}
