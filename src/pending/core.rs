//! [`Pending`]: the thread-safe, awaitable result of one piece of work.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};

use futures_core::future::FusedFuture;

use crate::any_pending::{AnyPending, CallbackId, WaiterKey};
use crate::error::{
    BoxError, InvalidStateError, InvalidStateKind, PendingError, accumulate_message,
};
use crate::metadata::{MetaValue, Metadata};
use crate::sync::{MutexGuard, Ordering, lock};
use crate::tracker;

use super::state::{CANCELLED, DEFERRED, DONE, HAS_CANCELLER, NOT_STARTED, SET, TAKEN};

use super::inner::{
    Callback, Canceller, Core, Extras, HasInner, Inner, SharedRef, Wakers, take_wakers,
};

/// A thread-safe handle to a result that is set once: a value, a failure, or cancellation.
///
/// `Pending<T>` is what every scheduled call returns. Any thread may set it, cancel it, await it
/// (from any executor: tokio, smol, `futures::executor::block_on`) or block on it with
/// [`wait_sync`](Pending::wait_sync). Clones are handles to the same pending; equality is
/// identity. A handle is three words; the value type is `'static` (like a spawned task's).
///
/// # Guarantees
/// * The outcome is set exactly once; a second `set_*` is an [`InvalidStateError`] and changes
///   nothing (SPEC P4).
/// * Done-callbacks run exactly once each, in the order they were added, on the thread that
///   completes the pending; a panicking callback is logged and the others still run (SPEC P12).
/// * Waiters (async or blocking) are released only after every done-callback has run (SPEC P10).
/// * Once cancelled, the outcome is "cancelled", whatever the work returns (SPEC P7).
///
/// # Awaiting, and the drop rule (SPEC P10)
/// `Pending<T>` is itself a [`Future`] (for `T: Clone`), `Unpin` and fused, so it goes straight
/// into `join_all`, `try_join_all`, `FuturesUnordered`, `tokio::join!`, `tokio::select!`,
/// `futures::select!` and `tokio::time::timeout`. What dropping does follows one rule:
/// *borrowing never cancels; giving up what you own does.*
///
/// * A handle that was never polled cancels nothing when dropped: fire-and-forget keeps working.
///   A clone never inherits a wait.
/// * A handle that was polled as a future (`pen.await`, or held by a combinator) owns a wait:
///   dropping it before it returned its output cancels the pending, with a message saying so.
/// * Polling through `&mut pen` keeps that wait with `pen`: a `select!` loop over `&mut pen`
///   cancels nothing; dropping `pen` unfinished after the loop does.
/// * Awaiting `&pen` (`(&pen).await`, `select! { r = &pen => .. }`, `timeout(d, &pen)`) is a
///   borrowed wait: dropping it cancels nothing.
/// * An explicit [`wait`](Pending::wait) is owned: dropped unfinished it cancels, unless made
///   with [`protect(true)`](super::Wait::protect).
///
/// # Cancel safety
/// Awaiting `&pen` is cancel-safe. Awaiting `pen` itself is not: abandoning it cancels the work.
///
/// # Taking a value that is not `Clone`
/// `.await`, [`result`](Pending::result) and [`wait_sync`](Pending::wait_sync) clone the value
/// for every reader. One consumer can move it out instead: [`take`](Pending::take),
/// [`Wait::take`](super::Wait::take), [`wait_sync_take`](Pending::wait_sync_take) (SPEC P9).
///
/// # Example
/// ```
/// use async_kernel::Pending;
///
/// let pen: Pending<u32> = Pending::new();
/// let setter = pen.clone();
/// std::thread::spawn(move || setter.set_result(42).unwrap());
/// assert_eq!(futures::executor::block_on(pen.wait()).unwrap(), 42);
/// ```
pub struct Pending<T: 'static> {
    pub(crate) inner: SharedRef<T>,
    /// This handle's own wait, used when the handle itself is polled as a future.
    awaiting: Awaiting,
}

/// The wait a handle runs when it is polled as a future (the drop rule in [`Pending`]'s docs).
/// Packed so that a handle stays three words (a counted pointer and this).
#[derive(Default)]
struct Awaiting {
    /// The waiter slot as `slot + 1`; 0: none.
    key: u32,
    /// Polled as a future at least once: from then on this handle owns a wait.
    polled: bool,
    /// The wait returned its output: dropping the handle gives nothing up.
    finished: bool,
}

impl Awaiting {
    fn key(&self) -> WaiterKey {
        self.key.checked_sub(1).map(|k| k as usize)
    }

    fn set_key(&mut self, key: WaiterKey) {
        // A pending with four billion waiters is not a case: saturate rather than wrap.
        self.key = key.map_or(0, |k| u32::try_from(k + 1).unwrap_or(u32::MAX));
    }
}

static NEXT_CALLBACK_ID: AtomicU64 = AtomicU64::new(1);

fn next_callback_id() -> CallbackId {
    CallbackId(NEXT_CALLBACK_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

impl<T: 'static> Clone for Pending<T> {
    /// Another handle to the same pending. The clone has not awaited anything: dropping it
    /// never cancels, whatever this handle was doing.
    fn clone(&self) -> Self {
        Pending::from_shared(self.inner.clone())
    }
}

impl<T: 'static> Drop for Pending<T> {
    /// Gives up this handle's wait, if it was polled as a future and is unfinished: that
    /// cancels the pending (the drop rule). A handle never polled cancels nothing.
    fn drop(&mut self) {
        if self.awaiting.key != 0 {
            self.inner.forget_waiter(&mut self.awaiting.key());
        }
        if self.awaiting.polled && !self.awaiting.finished && !self.done() {
            self.cancel(Some(DROPPED_WAIT_MESSAGE));
        }
    }
}

/// The cancel message of a wait given up unfinished (SPEC P10).
pub(crate) const DROPPED_WAIT_MESSAGE: &str =
    "Cancelled because its waiter was dropped before it was done.";

impl<T: 'static> PartialEq for Pending<T> {
    fn eq(&self, other: &Self) -> bool {
        self.inner.addr() == other.inner.addr()
    }
}
impl<T: 'static> Eq for Pending<T> {}

impl<T: 'static> std::hash::Hash for Pending<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.addr().hash(state)
    }
}

impl<T: Send + 'static> PartialEq<AnyPending> for Pending<T> {
    fn eq(&self, other: &AnyPending) -> bool {
        self.id() == other.id()
    }
}
impl<T: Send + 'static> PartialEq<Pending<T>> for AnyPending {
    fn eq(&self, other: &Pending<T>) -> bool {
        self.id() == other.id()
    }
}

impl<T: Send + 'static> From<Pending<T>> for AnyPending {
    fn from(pen: Pending<T>) -> Self {
        pen.erase()
    }
}

impl<T: Send + 'static> From<&Pending<T>> for AnyPending {
    fn from(pen: &Pending<T>) -> Self {
        pen.erase()
    }
}

impl<T: Send + 'static> Default for Pending<T> {
    fn default() -> Self {
        Pending::new()
    }
}

/// Builds a [`Pending`] with metadata and tracking options (the reference's
/// `PendingCreateOptions` and `**metadata`).
#[must_use]
pub struct PendingBuilder<T> {
    metadata: Vec<(Cow<'static, str>, MetaValue)>,
    allow_tracking: bool,
    /// `(caller id, function id)` for the pending of a scheduled call.
    scheduled: Option<(u32, u16)>,
    _marker: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + 'static> PendingBuilder<T> {
    /// Adds a metadata pair (SPEC P2).
    pub fn metadata(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<MetaValue>,
    ) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Whether the trackers active in the current context track the new pending (default
    /// true; SPEC P3's `allow_tracking`).
    pub fn allow_tracking(mut self, allow: bool) -> Self {
        self.allow_tracking = allow;
        self
    }

    /// Makes the pending of a call scheduled on caller `caller_id`: queued (not started), and
    /// not to be blocked on from that caller's thread.
    /// `function_id` names its function (`call_names`).
    pub(crate) fn scheduled(mut self, caller_id: u32, function_id: u16) -> Self {
        self.scheduled = Some((caller_id, function_id));
        self
    }

    /// Creates the pending and registers it with the active trackers of the current context.
    ///
    /// # Errors
    /// [`InvalidStateKind::TrackerExiting`] when a tracker of the current context is exiting
    /// (SPEC P3, G4); no pending is created.
    pub fn build(self) -> Result<Pending<T>, InvalidStateError> {
        self.build_in(|inner| inner).map(|(pen, _)| pen)
    }

    /// Like [`build`](Self::build), with the pending's state placed inside the allocation
    /// `place` makes around it (a scheduled call keeps its work there). Gives the pending and
    /// the allocation.
    pub(crate) fn build_in<S>(
        self,
        place: impl FnOnce(Inner<T>) -> S,
    ) -> Result<(Pending<T>, Arc<S>), InvalidStateError>
    where
        S: HasInner<Value = T>,
    {
        let extras = (!self.metadata.is_empty()).then(|| {
            Box::new(Extras {
                metadata: Metadata::from_pairs(self.metadata),
                ..Extras::default()
            })
        });
        Pending::place(extras, self.scheduled, self.allow_tracking, place)
    }
}

impl<T: Send + 'static> Pending<T> {
    /// Makes a pending's state with `extras`, places it in the allocation `place` makes, and
    /// registers the pending with the current context's trackers when `allow_tracking`.
    /// `scheduled` is `(caller id, function id)` for the pending of a scheduled call.
    pub(crate) fn place<S>(
        extras: Option<Box<Extras<T>>>,
        scheduled: Option<(u32, u16)>,
        allow_tracking: bool,
        place: impl FnOnce(Inner<T>) -> S,
    ) -> Result<(Pending<T>, Arc<S>), InvalidStateError>
    where
        S: HasInner<Value = T>,
    {
        let inner = Inner::new(extras);
        if let Some((caller_id, function_id)) = scheduled {
            // Not shared yet: plain stores, no read-modify-write.
            inner.runner.store(caller_id, Ordering::Relaxed);
            inner.function.store(function_id, Ordering::Relaxed);
            inner.state.store(NOT_STARTED, Ordering::Relaxed);
        }
        let shared = Arc::new(place(inner));
        let pen = Pending::from_arc(shared.clone());
        // An empty context holds no tracker: skip the slot lookups.
        if allow_tracking && !crate::context::current_is_empty() {
            tracker::track_new(&pen.erase())?;
        }
        Ok((pen, shared))
    }
}

impl<T: Send + 'static> Pending<T> {
    /// A new running pending, tracked by the trackers active in the current context.
    ///
    /// If a tracker of the current context is exiting, the misuse is not lost: the pending is
    /// returned already failed with that [`InvalidStateError`] (use [`Pending::builder`] to get
    /// the error instead).
    pub fn new() -> Self {
        if crate::context::current_is_empty() {
            // Fast path: no tracker can be active in an empty context.
            return Pending::from_parts(None);
        }
        match Pending::builder().build() {
            Ok(pen) => pen,
            Err(e) => {
                let pen = Pending::from_parts(None);
                let _ = pen.set_outcome(Err(e.into()));
                pen
            }
        }
    }

    /// A builder for a pending with metadata or tracking options.
    pub fn builder() -> PendingBuilder<T> {
        PendingBuilder {
            metadata: Vec::new(),
            allow_tracking: true,
            scheduled: None,
            _marker: std::marker::PhantomData,
        }
    }

    fn from_parts(extras: Option<Box<Extras<T>>>) -> Self {
        Pending::from_arc(Arc::new(Inner::new(extras)))
    }

    /// This pending as a type-erased handle.
    pub fn erase(&self) -> AnyPending {
        AnyPending {
            inner: self.inner.0.clone(),
        }
    }

    /// An identifier unique among live pendings (the same as [`AnyPending::id`]).
    pub fn id(&self) -> usize {
        self.inner.addr()
    }
}

impl<T: 'static> Pending<T> {
    /// A handle to the pending whose state lives in `shared` (an `Inner` itself, or an
    /// allocation holding one), that has not awaited anything.
    pub(crate) fn from_arc<S: HasInner<Value = T>>(shared: Arc<S>) -> Self
    where
        T: Send,
    {
        Pending::from_shared(SharedRef(shared))
    }

    /// A handle around `inner` that has not awaited anything.
    pub(crate) fn from_shared(inner: SharedRef<T>) -> Self {
        Pending {
            inner,
            awaiting: Awaiting::default(),
        }
    }

    /// Sets the value (SPEC P4). When cancellation was requested before, the pending ends
    /// cancelled instead (SPEC P7) and this still returns `Ok`.
    ///
    /// # Errors
    /// [`InvalidStateKind::AlreadyDone`] when the pending is done; nothing changes.
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.set_outcome(Ok(value))
    }

    /// Fails the pending with `error` (the reference's exception path; SPEC P4).
    ///
    /// # Errors
    /// [`InvalidStateKind::AlreadyDone`] when the pending is done; nothing changes.
    pub fn set_exception(&self, error: impl Into<BoxError>) -> Result<(), InvalidStateError> {
        self.set_outcome(Err(PendingError::failed(error)))
    }

    /// Sets the whole outcome at once: a value or any [`PendingError`].
    ///
    /// # Errors
    /// [`InvalidStateKind::AlreadyDone`] when the pending is done; nothing changes.
    pub fn set_outcome(&self, outcome: Result<T, PendingError>) -> Result<(), InvalidStateError> {
        let inner = &*self.inner;
        let mut core = lock(&inner.core);
        let state = inner.state.load(Ordering::Acquire);
        if state & SET != 0 {
            drop(core);
            return Err(InvalidStateError::new(
                InvalidStateKind::AlreadyDone,
                "the pending is already done; its outcome cannot be set again",
            ));
        }
        // A value that gives way to the cancellation is dropped only once the pending is done
        // and unlocked: its destructor is user code and may panic.
        let (outcome, rejected) = if state & CANCELLED != 0 {
            (
                Err(PendingError::cancelled(cancel_text(&core))),
                Some(outcome),
            )
        } else {
            (outcome, None)
        };
        let mut flags = SET;
        if matches!(outcome, Err(PendingError::Cancelled(_))) {
            flags |= CANCELLED;
        }
        core.outcome = Some(outcome.map_err(Box::new));
        self.finish(core, flags);
        drop(rejected);
        Ok(())
    }

    /// Runs the done-callbacks (in order, also those added while they run), then marks the
    /// pending done and wakes every waiter.
    /// `flags` (at least `SET`) publish the outcome just stored under `core`.
    fn finish<'a>(&'a self, mut core: MutexGuard<'a, Core<T>>, flags: u8) {
        let inner = &*self.inner;
        if core.extras.is_none() {
            // No callbacks and at most one waiter: publish and release in one step.
            inner.state.fetch_or(flags | DONE, Ordering::AcqRel);
            let waker = core.waker.take();
            drop(core);
            if let Some(w) = waker {
                w.wake();
            }
            return;
        }
        inner.state.fetch_or(flags, Ordering::AcqRel);
        loop {
            let callbacks = match core.extras.as_mut() {
                Some(x) if !x.callbacks.is_empty() => std::mem::take(&mut x.callbacks),
                _ => break,
            };
            drop(core);
            for (_, cb) in callbacks {
                self.run_callback(cb);
            }
            core = lock(&inner.core);
        }
        inner.state.fetch_or(DONE, Ordering::AcqRel);
        let wakers = take_wakers(&mut core, true);
        if let Some(x) = core.extras.as_mut() {
            // The canceller belongs to the work; it must not outlive the outcome.
            x.canceller = None;
        }
        drop(core);
        wakers.wake();
    }

    fn run_callback(&self, cb: Callback<T>) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| cb(self))) {
            tracing::error!(
                pending = ?self,
                panic = %panic_text(&*payload),
                "a done-callback panicked; the remaining callbacks still run"
            );
        }
    }

    /// Cancels the pending (SPEC P5, P6).
    ///
    /// ```
    /// use async_kernel::Pending;
    ///
    /// let pen: Pending<u32> = Pending::new();
    /// assert!(pen.cancel(Some("not needed")));
    /// assert!(pen.done() && pen.cancelled()); // no canceller: done at once
    /// assert_eq!(pen.cancel_message().as_deref(), Some("not needed"));
    /// assert!(pen.result().unwrap_err().is_cancelled());
    /// assert!(pen.cancel(Some("again"))); // done already: reports that it ended cancelled
    /// ```
    ///
    /// # Panics
    /// Never: a panicking canceller is logged and the pending ends cancelled at once.
    ///
    /// On a done pending this does nothing and returns whether it ended cancelled. Otherwise the
    /// message is appended to earlier ones (`"a"` then `"b"` gives `"a\nb"`; `None` keeps the
    /// earlier text) and `true` is returned. Without a canceller the pending is done (cancelled)
    /// at once; with one, the canceller is called with `msg` and the pending is done when the
    /// work has actually stopped.
    pub fn cancel(&self, msg: Option<&str>) -> bool {
        let inner = &*self.inner;
        let mut core = lock(&inner.core);
        let state = inner.state.load(Ordering::Acquire);
        if state & SET != 0 {
            return state & CANCELLED != 0;
        }
        let extras = core.extras();
        accumulate_message(&mut extras.cancel_message, msg);
        let mut state = state;
        loop {
            if state & (HAS_CANCELLER | DEFERRED) != 0 {
                inner.state.fetch_or(CANCELLED, Ordering::AcqRel);
                let canceller = core.extras().canceller.clone();
                // A running scheduled call: its driver waits on this pending, wake it (and,
                // harmlessly, the other waiters, who poll again and stay registered).
                let wakers = if state & DEFERRED != 0 {
                    take_wakers(&mut core, false)
                } else {
                    Wakers::default()
                };
                drop(core);
                wakers.wake();
                if let Some(c) = canceller {
                    self.run_canceller(&c, msg);
                }
                return true;
            }
            // Publish the cancellation before completing: a runner taking the call right now
            // (`begin_run`, which does not lock) either sees it and skips the call, or has
            // already moved the state to DEFERRED and this exchange fails.
            match inner.state.compare_exchange(
                state,
                state | CANCELLED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => state = now,
            }
        }
        if state & NOT_STARTED != 0 {
            accumulate_message(
                &mut core.extras().cancel_message,
                Some(CANCELLED_BEFORE_STARTED),
            );
        }
        let message = cancel_text(&core);
        core.outcome = Some(Err(Box::new(PendingError::cancelled(message))));
        self.finish(core, SET | CANCELLED);
        true
    }

    /// True once cancellation was requested, even if the work has not stopped yet (SPEC P5).
    pub fn cancelled(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) & CANCELLED != 0
    }

    /// True once the outcome is set (SPEC P1). Waiters are released a moment later, after the
    /// done-callbacks have run.
    pub fn done(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) & SET != 0
    }

    /// The accumulated cancellation message, once cancellation was requested.
    pub fn cancel_message(&self) -> Option<String> {
        let inner = &*self.inner;
        let core = lock(&inner.core);
        core.extras.as_ref().and_then(|x| x.cancel_message.clone())
    }

    /// Installs the function that stops the work when the pending is cancelled (SPEC P8).
    /// It is called with each new cancel message; the work must then set an outcome (which
    /// becomes "cancelled", SPEC P7). On a pending whose cancellation is already requested it
    /// is called at once.
    ///
    /// # Errors
    /// [`InvalidStateKind::CancellerAlreadySet`] on a done pending or one that has a canceller.
    pub fn set_canceller(
        &self,
        canceller: impl Fn(Option<&str>) + Send + Sync + 'static,
    ) -> Result<(), InvalidStateError> {
        let inner = &*self.inner;
        let mut core = lock(&inner.core);
        let state = inner.state.load(Ordering::Acquire);
        if state & (SET | HAS_CANCELLER) != 0 {
            drop(core);
            return Err(InvalidStateError::new(
                InvalidStateKind::CancellerAlreadySet,
                "the pending is done or already has a canceller",
            ));
        }
        let canceller: Canceller = Arc::new(canceller);
        core.extras().canceller = Some(canceller.clone());
        inner.state.fetch_or(HAS_CANCELLER, Ordering::AcqRel);
        drop(core);
        if state & CANCELLED != 0 {
            self.run_canceller(&canceller, None);
        }
        Ok(())
    }

    /// Calls the canceller with `msg`. A panicking canceller cannot stop the work any more, so
    /// the pending ends cancelled here (SPEC P6 needs it to end somehow): the panic is logged,
    /// never raised out of `cancel`.
    fn run_canceller(&self, canceller: &Canceller, msg: Option<&str>) {
        let Err(payload) = catch_unwind(AssertUnwindSafe(|| canceller(msg))) else {
            return;
        };
        tracing::error!(
            pending = ?self,
            panic = %panic_text(&*payload),
            "a canceller panicked; the pending ends cancelled without waiting for its work"
        );
        let mut core = lock(&self.inner.core);
        if self.inner.state.load(Ordering::Acquire) & SET != 0 {
            return;
        }
        let message = cancel_text(&core);
        core.outcome = Some(Err(Box::new(PendingError::cancelled(message))));
        self.finish(core, SET | CANCELLED);
    }

    /// Runs `callback` once when the pending completes, on the completing thread, after the
    /// callbacks added before it; at once (on this thread) if it is already done (SPEC P12).
    pub fn add_done_callback(
        &self,
        callback: impl FnOnce(&Pending<T>) + Send + 'static,
    ) -> CallbackId {
        let inner = &*self.inner;
        let id = next_callback_id();
        let mut core = lock(&inner.core);
        if inner.state.load(Ordering::Acquire) & DONE != 0 {
            drop(core);
            self.run_callback(Box::new(callback));
        } else {
            core.extras().callbacks.push((id, Box::new(callback)));
        }
        id
    }

    /// Removes a callback that has not run yet; returns how many were removed (0 or 1).
    pub fn remove_done_callback(&self, id: CallbackId) -> usize {
        self.inner.remove_callback(id)
    }

    /// The metadata given at creation (SPEC P2).
    pub fn metadata(&self) -> Metadata {
        self.inner.metadata()
    }

    /// The failure, without waiting (SPEC P9): `Ok(None)` when it produced a value,
    /// `Ok(Some(error))` when it failed or panicked.
    ///
    /// # Errors
    /// [`PendingError::Cancelled`] when it was cancelled; [`PendingError::InvalidState`] when it
    /// is not done.
    pub fn exception(&self) -> Result<Option<PendingError>, PendingError> {
        let inner = &*self.inner;
        let core = lock(&inner.core);
        let taken = inner.state.load(Ordering::Acquire) & TAKEN != 0;
        let found = match &core.outcome {
            None if taken => Some(Ok(None)),
            None if self.cancelled() => Some(Err(PendingError::cancelled(cancel_text(&core)))),
            None => None,
            Some(Ok(_)) => Some(Ok(None)),
            Some(Err(e)) if matches!(**e, PendingError::Cancelled(_)) => {
                Some(Err(PendingError::clone(e)))
            }
            Some(Err(e)) => Some(Ok(Some(PendingError::clone(e)))),
        };
        drop(core);
        found.unwrap_or_else(|| Err(not_done()))
    }
}

impl<T: Send + 'static> Pending<T> {
    /// The runner takes the call: false when it is already done (cancelled before it started).
    /// From here on, cancellation is delivered by the runner (SPEC P6).
    pub(crate) fn begin_run(&self) -> bool {
        self.inner.begin_run()
    }

    /// Names the caller whose thread runs this call from now on (SPEC P11): a `to_thread` call
    /// that waited for a free worker is made with runner 0 and gets its worker here, before the
    /// job is handed over, so that the job cannot block on its own pending.
    pub(crate) fn set_runner(&self, caller_id: u32) {
        self.inner.runner.store(caller_id, Ordering::Relaxed);
    }

    pub(crate) fn check_not_runner(&self) -> Result<(), PendingError> {
        let runner = self.inner.runner.load(Ordering::Relaxed);
        // Only this thread can run that caller: its loop runs here, or it is bound here.
        if crate::thread_role::is_caller_thread(runner) {
            return Err(InvalidStateError::new(
                InvalidStateKind::WouldDeadlock,
                "blocking on this pending from the thread of the caller that must run it would deadlock",
            )
            .into());
        }
        Ok(())
    }

    /// Registers `cx`'s waker unless done; `Ready` once every callback has run.
    pub(crate) fn poll_done(&self, cx: &mut Context<'_>, key: &mut WaiterKey) -> Poll<()> {
        self.inner.poll_done(cx, key)
    }
}

impl<T: Clone + 'static> Pending<T> {
    /// The outcome without waiting (SPEC P9), as a clone: every reader gets the value.
    ///
    /// # Errors
    /// The failure, the cancellation, or [`PendingError::InvalidState`] when not done
    /// ([`InvalidStateKind::NotDone`]) or when the value was moved out by
    /// [`take`](Pending::take) ([`InvalidStateKind::AlreadyTaken`]).
    pub fn result(&self) -> Result<T, PendingError> {
        let inner = &*self.inner;
        let core = lock(&inner.core);
        let found = match &core.outcome {
            Some(Ok(value)) => Some(Ok(value.clone())),
            Some(Err(e)) => Some(Err(PendingError::clone(e))),
            None => self.outcome_missing(&core),
        };
        drop(core);
        found.unwrap_or_else(|| Err(not_done()))
    }
}

impl<T: 'static> Pending<T> {
    /// Moves the value out, without waiting (the single consumer of a value that is not
    /// `Clone`, such as a `File`; SPEC P9). Exactly one `take` gets the value; every later
    /// reader ([`take`](Pending::take), [`result`](Pending::result), `.await`) gets
    /// [`InvalidStateKind::AlreadyTaken`]. A failure or a cancellation is not consumed: it is
    /// returned to every taker.
    ///
    /// Wait first with [`Wait::take`](super::Wait::take) (async) or
    /// [`wait_sync_take`](Pending::wait_sync_take) (blocking).
    ///
    /// # Errors
    /// The failure or the cancellation; [`PendingError::InvalidState`] when not done
    /// ([`InvalidStateKind::NotDone`]) or already taken ([`InvalidStateKind::AlreadyTaken`]).
    ///
    /// # Example
    /// ```
    /// use async_kernel::{InvalidStateKind, Pending, PendingError};
    ///
    /// struct Connection; // not Clone
    /// let pen: Pending<Connection> = Pending::new();
    /// pen.set_result(Connection).unwrap();
    /// let _conn: Connection = pen.take().unwrap();
    /// match pen.take() {
    ///     Err(PendingError::InvalidState(e)) => assert_eq!(e.kind(), InvalidStateKind::AlreadyTaken),
    ///     _ => unreachable!("a value leaves a pending once"),
    /// }
    /// ```
    pub fn take(&self) -> Result<T, PendingError> {
        let inner = &*self.inner;
        let mut core = lock(&inner.core);
        let found = match core.outcome.take() {
            Some(Ok(value)) => {
                inner.state.fetch_or(TAKEN, Ordering::AcqRel);
                Some(Ok(value))
            }
            Some(Err(e)) => {
                let error = PendingError::clone(&e);
                core.outcome = Some(Err(e));
                Some(Err(error))
            }
            None => self.outcome_missing(&core),
        };
        drop(core);
        found.unwrap_or_else(|| Err(not_done()))
    }

    /// What a reader gets when the outcome slot is empty: the cancellation being delivered,
    /// "already taken", or `None` (not done).
    fn outcome_missing<V>(&self, core: &Core<T>) -> Option<Result<V, PendingError>> {
        let state = self.inner.state.load(Ordering::Acquire);
        if state & TAKEN != 0 {
            Some(Err(InvalidStateError::new(
                InvalidStateKind::AlreadyTaken,
                "the value of this pending was already taken by move",
            )
            .into()))
        } else if state & CANCELLED != 0 {
            Some(Err(PendingError::cancelled(cancel_text(core))))
        } else {
            None
        }
    }
}

/// `pen.await` (and `join_all`, `FuturesUnordered`, `select!` over pendings): waits for the
/// outcome and clones the value (SPEC P10).
///
/// # Cancel safety
/// Polling a handle makes it own a wait: dropping that handle before it returned its output
/// cancels the pending (unless it is done). Polling through `&mut pen` keeps the wait with the
/// handle, so a `select!` loop over `&mut pen` cancels nothing until `pen` itself is dropped.
/// Awaiting `&pen` never cancels (see [`Pending`]'s drop rule).
impl<T: Clone + 'static> Future for Pending<T> {
    type Output = Result<T, PendingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = &*this.inner;
        this.awaiting.polled = true;
        let mut key = this.awaiting.key();
        let polled = inner.poll_done(cx, &mut key);
        this.awaiting.set_key(key);
        if polled.is_pending() {
            return Poll::Pending;
        }
        this.awaiting.finished = true;
        inner.forget_waiter(&mut key);
        this.awaiting.set_key(key);
        Poll::Ready(this.result())
    }
}

impl<T: Clone + 'static> FusedFuture for Pending<T> {
    /// True once this handle returned its output as a future.
    fn is_terminated(&self) -> bool {
        self.awaiting.finished
    }
}

fn not_done() -> PendingError {
    InvalidStateError::new(InvalidStateKind::NotDone, "the pending is not done yet").into()
}

fn cancel_text<T>(core: &Core<T>) -> String {
    core.extras
        .as_ref()
        .and_then(|x| x.cancel_message.clone())
        .unwrap_or_default()
}

pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    match PendingError::from_panic(payload) {
        PendingError::Panicked { message } => message.to_string(),
        _ => String::new(),
    }
}

/// Appended to the message of a scheduled call cancelled before it started (SPEC C9).
pub(crate) const CANCELLED_BEFORE_STARTED: &str = "Cancelled before started.";

impl<T: 'static> fmt::Debug for Pending<T> {
    /// `<Pending ⛔ message=… 🏁 at 0x… metadata: {…}>`: cancelled mark and message, done 🏁 or
    /// running 🏃, identity, truncated metadata (SPEC P2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt_debug(f, self.inner.addr())
    }
}

/// Loom models of the lock-free hand-over between the loop taking a queued call (`begin_run`)
/// and another thread cancelling it. Run with
/// `RUSTFLAGS="--cfg loom" cargo test --release --no-default-features --lib loom_models`.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        builder.check(f);
    }

    /// Exactly one of "the loop starts the call" and "the call is cancelled before it started"
    /// wins; a started call is never done before its runner sets the outcome (P6), and a
    /// cancellation requested while it runs still wins (P7).
    #[test]
    fn begin_run_races_cancel() {
        model(|| {
            let pen: Pending<u32> = Pending::builder()
                .scheduled(7, 0)
                .build()
                .expect("an empty context has no tracker");
            let runner = pen.clone();
            let loop_thread = loom::thread::spawn(move || {
                if runner.begin_run() {
                    assert!(!runner.done(), "done while its work still runs");
                    runner
                        .set_result(1)
                        .expect("only the runner completes a started call");
                    true
                } else {
                    false
                }
            });
            let cancelled = pen.cancel(Some("stop"));
            let started = loop_thread.join().expect("loop thread");
            assert!(pen.done());
            match (started, pen.result()) {
                // Cancelled before it started: done at once, with the C9 note.
                (false, Err(e)) => {
                    assert!(cancelled);
                    assert_eq!(e.cancel_message(), Some("stop\nCancelled before started."));
                }
                // Cancelled while it ran: the runner's value gives way to the cancellation.
                (true, Err(e)) => {
                    assert!(cancelled);
                    assert_eq!(e.cancel_message(), Some("stop"));
                }
                // Cancelled after it finished: nothing happens.
                (true, Ok(v)) => {
                    assert_eq!(v, 1);
                    assert!(!cancelled);
                }
                (false, Ok(_)) => panic!("a call that never started produced a value"),
            }
        });
    }
}

#[cfg(all(test, not(loom)))]
mod size_tests {
    use super::Pending;

    #[test]
    fn a_handle_is_three_words() {
        assert_eq!(std::mem::size_of::<Pending<()>>(), 24);
    }
}
