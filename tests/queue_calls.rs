//! Per-function queues: order, results, context and arguments (SPEC Q1, Q2, Q5, Q6, P13),
//! on every backend from one source (`tests/queue_cases/calls.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("queue_cases/calls.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("queue_cases/calls.rs");
}
