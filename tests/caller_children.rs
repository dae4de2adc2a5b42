//! Children made with `get` (SPEC C6, C11, C14).
//!
//! Runs on every backend from one source (`tests/caller_cases/children.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/children.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/children.rs");
}
