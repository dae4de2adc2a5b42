//! Mixed trees and pendings across backends: a child of the other backend via `get`, and a
//! pending of one backend awaited on the other, both ways (SPEC C6, C11, Q5,
//! P1). Each case runs with tokio as the first backend, then with smol
//! (`tests/caller_cases/mixed_backends.rs`).
#![cfg(all(feature = "tokio", feature = "smol"))]

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("caller_cases/mixed_backends.rs");
}

mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("caller_cases/mixed_backends.rs");
}
