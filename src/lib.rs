//! # async-kernel
//!
//! The concurrency core of [async-kernel](https://github.com/fleming79/async-kernel) in Rust:
//! thread-safe awaitable results ([`Pending`]), context propagation ([`context`]), and
//! structured scopes over them ([`PendingGroup`], [`PendingManager`]).
//!
//! A [`Pending`] can be set or cancelled from any thread, awaited from any executor (tokio,
//! smol, `futures::executor::block_on`) and blocked on from a plain thread. A
//! [`PendingGroup`] tracks every pending created in its context, including by work that work
//! started, and cancels them all when one fails.
//!
//! ```
//! use async_kernel::{Pending, PendingError, PendingGroup};
//!
//! # futures::executor::block_on(async {
//! let result = PendingGroup::new()
//!     .run(|_pg| async move {
//!         let ok: Pending<u32> = Pending::new();
//!         let bad: Pending<u32> = Pending::new();
//!         bad.set_exception("disk full").unwrap();
//!         ok.await // cancelled by the group because `bad` failed
//!     })
//!     .await;
//! assert!(matches!(result, Err(PendingError::Cancelled(_))));
//! # });
//! ```
//!
//! Design notes live in `docs/DESIGN.md`; the reference's names map onto this crate as the
//! README's table shows.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod any_pending;
mod backend;
pub mod caller;
pub mod context;
mod error;
mod event;
mod group;
mod manager;
mod metadata;
pub mod pending;
mod scope;
mod spin;
mod sync;
mod thread_role;
mod tracker;

pub use crate::caller::{Backend, Caller, CallerError, CallerOptions, CallerState, Modifier};
pub use crate::context::{Context, ContextVar};
pub use crate::error::{
    BoxError, CancelledError, InvalidStateError, InvalidStateKind, PendingError,
};
pub use crate::event::Event;
pub use crate::pending::{
    AnyPending, CallbackId, Countdown, MetaValue, Metadata, Pending, PendingBuilder, PendingGroup,
    PendingManager, PendingTrackerState, TrackerToken, Wait, WaitDone,
};
