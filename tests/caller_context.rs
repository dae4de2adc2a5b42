//! The context a call runs in, and tracking options (SPEC C8, T2, P3).
//!
//! Runs on every backend from one source (`tests/caller_cases/context.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/context.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/context.rs");
}
