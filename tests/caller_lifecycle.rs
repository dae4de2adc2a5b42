//! States, starting and stopping (SPEC C4–C7).
//!
//! Runs on every backend from one source (`tests/caller_cases/lifecycle.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/lifecycle.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/lifecycle.rs");
}
