//! The process-wide registry and the "current" look-ups (SPEC C1, C9, C14).
//!
//! Other tests of this binary run in parallel and register callers of their own: every check
//! looks for this test's callers only and never assumes a global count.
//!
//! Runs on every backend from one source (`tests/caller_cases/registry.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/registry.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/registry.rs");
}
