//! The reference's `async_kernel.caller` module.
//!
//! `Caller` itself arrives with the scheduler; this module already re-exports the group the
//! reference documents here.

pub use crate::group::PendingGroup;
