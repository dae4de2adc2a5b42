//! `call_direct`: lightweight calls run by the scheduler itself, in order with the queue,
//! with no pending; a failure is logged and the scheduler goes on (SPEC C10).
//!
//! Runs on every backend from one source (`tests/caller_cases/call_direct.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/call_direct.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/call_direct.rs");
}
