//! Closing per-function queues, failures inside them, and closing on caller stop (SPEC Q3, Q4,
//! C6), on every backend from one source (`tests/queue_cases/close.rs`).

mod common;

mod on_tokio {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Tokio;
    include!("queue_cases/close.rs");
}

#[cfg(feature = "smol")]
mod on_smol {
    const BACKEND: async_kernel::Backend = async_kernel::Backend::Smol;
    include!("queue_cases/close.rs");
}
