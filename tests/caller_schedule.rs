//! Scheduling work: the four work forms, order, metadata, many threads and other runtimes
//! (SPEC C8, C9, P1).
//!
//! Runs on every backend from one source (`tests/caller_cases/schedule.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/schedule.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/schedule.rs");
}
