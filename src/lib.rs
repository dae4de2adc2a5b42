//! # async-kernel
//!
//! The concurrency core of [async-kernel](https://github.com/fleming79/async-kernel) in Rust:
//! threads with their own event loop that any thread can hand work to, thread-safe awaitable
//! results, and structured scopes over them.
//!
//! | start here | what it is |
//! |---|---|
//! | [`Caller`] | a thread running its own event loop (tokio or smol); any thread schedules plain or async closures onto it with [`call_soon`](caller::Caller::call_soon) / [`call_later`](caller::Caller::call_later), each returning a `Pending` |
//! | [`Pending<T>`](pending::Pending) | the thread-safe result of one piece of work: awaited from any executor, blocked on with [`wait_sync`](pending::Pending::wait_sync), cancelled with a message |
//! | [`PendingGroup`] | a structured scope: tracks every pending created in its context (also by work it started on other threads) and cancels them all when one fails |
//! | [`ContextVar`] | context variables that travel with scheduled work, as Python's `contextvars` do |
//!
//! ```
//! use async_kernel::caller::{Async, Caller, CallerOptions, Modifier};
//!
//! let caller = Caller::new(Modifier::NewThread, CallerOptions::named("worker"))?;
//! let sum = caller.call_soon(|| 2 + 2)?; // a plain closure runs inline on the loop
//! let text = caller.call_soon(Async(|| async { "hello" }))?; // an async one as a task
//! assert_eq!(sum.wait_sync(None)?, 4); // block from a plain thread...
//! assert_eq!(futures::executor::block_on(text)?, "hello"); // ...or await from any executor
//! caller.stop(false);
//! caller.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Three rules to know
//!
//! 1. **Dropping a wait: borrowing never cancels, giving up what you own does.** Awaiting
//!    `&pen` and dropping that future leaves the work running. A [`Pending`]
//!    handle that was polled as a future (`pen.await`, or inside `join_all`,
//!    `FuturesUnordered`, `select!`, `timeout`) owns its wait: dropping that handle unfinished
//!    cancels the work, as does dropping an unfinished [`pen.wait()`](pending::Pending::wait)
//!    unless it was made with [`protect(true)`](pending::Wait::protect). Polling through
//!    `&mut pen` keeps the wait with `pen`, so a `select!` loop does not cancel its job; only
//!    leaving the loop and dropping `pen` unfinished does. A handle that was never polled
//!    cancels nothing when dropped (fire-and-forget). ([BEHAVIOUR P10])
//!
//!    ```
//!    use async_kernel::caller::{Async, Caller, CallerOptions, Modifier};
//!    # let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-rule")).unwrap();
//!    # let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
//!    # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//!    # rt.block_on(async {
//!    let mut job = caller.call_soon(Async(|| async { 42 })).unwrap();
//!    # tx.send(()).unwrap();
//!    let answer = loop {
//!        tokio::select! {
//!            r = &mut job => break r.unwrap(), // `&mut`: the loop keeps `job` running
//!            Some(()) = rx.recv() => println!("still working"),
//!        }
//!    };
//!    assert_eq!(answer, 42);
//!    # });
//!    # caller.stop(true);
//!    ```
//!
//! 2. **How values leave a pending.** Every reader gets a clone: `.await`,
//!    [`result`](pending::Pending::result), [`wait_sync`](pending::Pending::wait_sync) need
//!    `T: Clone`. A value that is not `Clone` leaves by move, once, through
//!    [`take`](pending::Pending::take), [`wait().take()`](pending::Wait::take) or
//!    [`wait_sync_take`](pending::Pending::wait_sync_take); a second taker gets
//!    [`InvalidStateKind::AlreadyTaken`].
//!    ([BEHAVIOUR P9])
//!
//! 3. **Blocking waits refused on a caller's own thread.** [`Pending::wait_sync`](pending::Pending::wait_sync)
//!    on the thread of the caller that must run the pending returns
//!    [`InvalidStateKind::WouldDeadlock`] at once
//!    instead of hanging; await it there instead. The same goes for waiting on
//!    [`caller.stopped()`](caller::Caller::stopped) with `wait_sync` there, and
//!    [`join`](caller::Caller::join) there is [`CallerError::JoinOwnThread`].
//!    ([BEHAVIOUR P11], [CX1])
//!
//! Every rule the crate keeps is written down, with the ids tests and docs cite (P1, G2, C9,
//! ...), in [`behaviour`] (the repository's `docs/BEHAVIOUR.md`); the design decisions behind
//! them are in the repository's `docs/DESIGN.md`.
//!
//! [BEHAVIOUR P9]: behaviour#pending-p
//! [BEHAVIOUR P10]: behaviour#pending-p
//! [BEHAVIOUR P11]: behaviour#pending-p
//! [CX1]: behaviour#callers-cx
//!
//! ## Where things live
//!
//! Each type has one path: [`caller`] (callers, what can be scheduled, their errors),
//! [`pending`] (pendings, groups, managers, their errors), [`context`] (context variables).
//! The crate root re-exports the common ones for short imports.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod any_pending;
mod backend;
mod call_names;
pub mod caller;
pub mod context;
mod current;
mod error;
mod event;
mod group;
#[cfg(feature = "zmq")]
pub mod iopub;
mod manager;
mod metadata;
pub mod pending;
mod scope;
mod spin;

#[doc = include_str!("../docs/BEHAVIOUR.md")]
pub mod behaviour {}
mod sync;
mod thread_role;
mod tracker;

#[doc(no_inline)]
pub use crate::caller::{AsCompleted, Items, QueuedFunction, ReturnWhen, WorkerPool};
#[doc(no_inline)]
pub use crate::caller::{Backend, Caller, CallerError, CallerOptions, CallerState, Modifier};
#[doc(no_inline)]
pub use crate::context::{Context, ContextVar};
pub use crate::event::Event;
#[doc(no_inline)]
pub use crate::pending::BoxError;
#[doc(no_inline)]
pub use crate::pending::{
    AnyPending, CallbackId, CancelledError, Countdown, GroupError, InvalidStateError,
    InvalidStateKind, MetaValue, Metadata, Pending, PendingBuilder, PendingError, PendingGroup,
    PendingManager, PendingTrackerState, TrackerToken, Wait, WaitDone, WaitTake,
};
