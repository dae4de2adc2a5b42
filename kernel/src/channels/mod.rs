//! The kernel's channels and what runs them: shell and control each on their own
//! [`Caller`](async_kernel::Caller), the sockets on their own threads, heartbeat on its own
//! thread, iopub through one XPUB thread.

mod execute;
pub mod heartbeat;
pub mod iopub;
mod kernel;
mod requests;
pub mod socket;
pub mod stdin;

pub use self::kernel::{Interrupter, Kernel, KernelError};
