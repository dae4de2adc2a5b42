//! Guarantees beyond the reference: no self-deadlock, contained panics, a readable `Debug`,
//! no lost work when `stop` races with submissions (SPEC P11, C6, C7, C9;
//! BEHAVIOUR CX2).
//!
//! Runs on every backend from one source (`tests/caller_cases/safety.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/safety.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/safety.rs");
}
