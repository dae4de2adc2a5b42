//! Delayed calls (SPEC C8: `call_later` runs no sooner than `delay` after the call was made;
//! the wait counts from scheduling, not from start).
//!
//! Runs on every backend from one source (`tests/caller_cases/call_later.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/call_later.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/call_later.rs");
}
