//! The span calls run under (SPEC C3 `log`, C14: calls are traced
//! with `tracing` spans carrying the caller's name).
//!
//! The subscriber is global (callers log on their own threads), so this binary holds only the
//! tests that read the captured output, each looking for its own markers.
//!
//! Runs on every backend from one source (`tests/caller_cases/log.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/log.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/log.rs");
}
