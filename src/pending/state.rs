//! The pending state machine, as bits of one atomic byte.
//!
//! ```text
//!   (0) running ──set/fail/cancel──▶ SET ──callbacks ran──▶ SET|DONE
//!        │                            ▲
//!        └─cancel with a canceller──▶ CANCELLED (still running until the task stops)
//! ```
//! `SET` means the outcome is stored (`done()` is true); `DONE` means every done-callback has
//! run and waiters are released (SPEC P10). `CANCELLED` is sticky: once set, the outcome will be
//! "cancelled" whatever the function returns (SPEC P7).

/// The outcome is stored; `done()` reports true and setting again is an error.
pub(crate) const SET: u8 = 0b0001;
/// Every done-callback has run; waiters may read the outcome.
pub(crate) const DONE: u8 = 0b0010;
/// Cancellation was requested (or the outcome is a cancellation).
pub(crate) const CANCELLED: u8 = 0b0100;
/// A canceller is installed: cancellation completes only when the task has stopped (SPEC P6).
pub(crate) const HAS_CANCELLER: u8 = 0b1000;
/// A scheduled call that has not started: cancelling completes it at once with
/// "Cancelled before started." appended to the message (SPEC C9, P6).
pub(crate) const NOT_STARTED: u8 = 0b1_0000;
/// A scheduled call is running: cancelling only flags it and wakes its waiters (the task's
/// driver is one of them); the driver sets the outcome once the work has stopped (SPEC P6).
pub(crate) const DEFERRED: u8 = 0b10_0000;
/// The value was moved out by [`Pending::take`](super::Pending::take): the outcome slot is
/// empty although the pending is done, and later readers are told it was taken (SPEC P9).
pub(crate) const TAKEN: u8 = 0b100_0000;
