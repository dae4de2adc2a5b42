//! Cancelling scheduled calls, and groups inside calls (SPEC C9, P5–P7, P10,
//! G2, G6).
//!
//! Runs on every backend from one source (`tests/caller_cases/cancel.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/cancel.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/cancel.rs");
}
