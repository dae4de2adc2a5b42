//! Watching many pendings at once: [`Caller::as_completed`] yields them as they complete and
//! [`Caller::wait`] splits them into done and not done (SPEC W1–W4).
//!
//! Both take pendings of one type: a `Pending<T>` for one `T`, or [`AnyPending`] when the
//! value types differ (`pen.erase()`), and futures to schedule on the caller ([`Schedule`],
//! or [`PendingOrFuture`] to mix the two). A pending is watched through a done-callback, which
//! runs at once for a pending that is already done: no item is missed, however early it ends.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use futures_core::stream::FusedStream;

use crate::any_pending::{AnyPending, CallbackId, WaiterKey};
use crate::pending::Pending;

use super::call::Async;
use super::{Caller, CallerError};

/// The message unfinished items are cancelled with when an [`AsCompleted`] ends early.
const CANCELLED_BY_AS_COMPLETED: &str = "Cancelled by as_completed";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A pending that [`Caller::as_completed`] and [`Caller::wait`] can watch: a [`Pending<T>`] or an
/// [`AnyPending`].
pub trait Watched: Clone + Send + Unpin + 'static {
    /// The same pending, type-erased.
    fn to_any(&self) -> AnyPending;
}

impl<T: Send + 'static> Watched for Pending<T> {
    fn to_any(&self) -> AnyPending {
        self.erase()
    }
}

impl Watched for AnyPending {
    fn to_any(&self) -> AnyPending {
        self.clone()
    }
}

/// An item of [`Caller::as_completed`] or [`Caller::wait`]: a pending (owned or borrowed) is
/// watched as it is; a future ([`Schedule`], [`PendingOrFuture::Future`]) is first scheduled on
/// the caller, as an async call.
pub trait IntoWatched {
    /// The pending that is watched and handed back.
    type Pending: Watched;

    /// The pending to watch; a future is scheduled on `caller` here.
    ///
    /// # Errors
    /// The errors of [`Caller::call_soon`] when a future must be scheduled.
    fn into_watched(self, caller: &Caller) -> Result<Self::Pending, CallerError>;
}

impl<T: Send + 'static> IntoWatched for Pending<T> {
    type Pending = Pending<T>;

    fn into_watched(self, _: &Caller) -> Result<Pending<T>, CallerError> {
        Ok(self)
    }
}

impl<T: Send + 'static> IntoWatched for &Pending<T> {
    type Pending = Pending<T>;

    fn into_watched(self, _: &Caller) -> Result<Pending<T>, CallerError> {
        Ok(self.clone())
    }
}

impl IntoWatched for AnyPending {
    type Pending = AnyPending;

    fn into_watched(self, _: &Caller) -> Result<AnyPending, CallerError> {
        Ok(self)
    }
}

impl IntoWatched for &AnyPending {
    type Pending = AnyPending;

    fn into_watched(self, _: &Caller) -> Result<AnyPending, CallerError> {
        Ok(self.clone())
    }
}

/// A future to run on the caller as an async call, for [`Caller::as_completed`] and
/// [`Caller::wait`] (the reference accepts bare awaitables; Rust needs to know it is a future to
/// schedule, not a pending to watch).
pub struct Schedule<F>(pub F);

impl<F> IntoWatched for Schedule<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Pending = Pending<F::Output>;

    fn into_watched(self, caller: &Caller) -> Result<Pending<F::Output>, CallerError> {
        let future = self.0;
        caller.call_soon(Async(move || future))
    }
}

/// A pending or a future producing the same value, to mix both in one collection.
pub enum PendingOrFuture<T: 'static, F> {
    /// Watched as it is.
    Pending(Pending<T>),
    /// Scheduled on the caller first.
    Future(F),
}

impl<T, F> IntoWatched for PendingOrFuture<T, F>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    type Pending = Pending<T>;

    fn into_watched(self, caller: &Caller) -> Result<Pending<T>, CallerError> {
        match self {
            PendingOrFuture::Pending(pen) => Ok(pen),
            PendingOrFuture::Future(future) => Schedule(future).into_watched(caller),
        }
    }
}

/// The items of [`Caller::as_completed`]: a collection (watched all at once) or a lazy source,
/// an iterator or a [`Stream`], pulled so that at most `max_concurrent` items are unfinished
/// (SPEC W2). A `Vec` converts into a collection.
pub struct Items<I> {
    source: Source<I>,
}

enum Source<I> {
    All(std::vec::IntoIter<I>),
    Lazy(Box<dyn Iterator<Item = I> + Send>),
    Stream(Pin<Box<dyn Stream<Item = I> + Send>>),
    Exhausted,
}

impl<I> Items<I> {
    /// A collection: every item is watched at once, whatever `max_concurrent` says.
    pub fn all(items: impl IntoIterator<Item = I>) -> Self {
        Items {
            source: Source::All(items.into_iter().collect::<Vec<_>>().into_iter()),
        }
    }

    /// A lazy iterator: the next item is taken only while fewer than `max_concurrent` are
    /// unfinished, so an iterator that calls [`Caller::to_thread`] bounds the threads in use.
    pub fn lazy<It>(items: It) -> Self
    where
        It: IntoIterator<Item = I>,
        It::IntoIter: Send + 'static,
    {
        Items {
            source: Source::Lazy(Box::new(items.into_iter())),
        }
    }

    /// A lazy [`Stream`], pulled like [`Items::lazy`].
    pub fn stream(items: impl Stream<Item = I> + Send + 'static) -> Self {
        Items {
            source: Source::Stream(Box::pin(items)),
        }
    }
}

impl<I> From<Vec<I>> for Items<I> {
    fn from(items: Vec<I>) -> Self {
        Items {
            source: Source::All(items.into_iter()),
        }
    }
}

impl<I, const N: usize> From<[I; N]> for Items<I> {
    fn from(items: [I; N]) -> Self {
        Items::all(items)
    }
}

/// What [`Caller::wait`] returns: `(done, not_done)`, each in the order of the items.
pub type DoneAndNotDone<P> = (Vec<P>, Vec<P>);

/// How [`Caller::wait`] decides to return (SPEC W4; the reference's `return_when`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnWhen {
    /// When every item is done (`ALL_COMPLETED`).
    #[default]
    AllCompleted,
    /// When any item is done (`FIRST_COMPLETED`).
    FirstCompleted,
    /// When an item fails or is cancelled, or else when every item is done
    /// (`FIRST_EXCEPTION`).
    FirstException,
}

impl Caller {
    /// Yields the pendings of `items` as they complete (SPEC W1–W3; the reference's
    /// `as_completed(items, max_concurrent=, cancel_unfinished=)`).
    ///
    /// * `items`: a collection ([`Items::all`], a `Vec` or an array) is watched all at once; a
    ///   lazy source ([`Items::lazy`], [`Items::stream`]) is pulled so that at most
    ///   `max_concurrent` items (default [`Caller::max_idle_pool_instances`]; at least 1) are
    ///   unfinished. Futures ([`Schedule`]) are scheduled on this caller when they are taken.
    /// * Every item is yielded once, done and with its done-callbacks run, items that were
    ///   done before they were taken included; failed and cancelled items are yielded too,
    ///   never raised. An empty source ends at once.
    /// * When the stream ends early (dropped, an error) and `cancel_unfinished` is set, the
    ///   unfinished items are cancelled with "Cancelled by as_completed".
    ///
    /// Nothing happens until the stream is polled. It can be polled from any executor and
    /// any thread.
    ///
    /// ```
    /// use async_kernel::caller::{Caller, CallerOptions, Items, Modifier};
    /// use futures::StreamExt;
    ///
    /// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-as-completed")).unwrap();
    /// let jobs = (0..20u64).map({
    ///     let caller = caller.clone();
    ///     move |i| caller.to_thread(move || i * i).unwrap()
    /// });
    /// let total: u64 = futures::executor::block_on(
    ///     caller
    ///         .as_completed(Items::lazy(jobs), Some(4), true)
    ///         .map(|pen| pen.unwrap().result().unwrap())
    ///         .fold(0, |sum, v| async move { sum + v }),
    /// );
    /// assert_eq!(total, (0..20).map(|i| i * i).sum());
    /// assert!(caller.pool().workers() <= 4);
    /// caller.stop(false);
    /// caller.join().unwrap();
    /// ```
    ///
    /// # Errors
    /// The stream yields a [`CallerError`] and ends (cancelling as above) when an item is the
    /// pending of the call running this code ([`Caller::current_pending`]: waiting for it
    /// would deadlock; [`CallerError::WaitsForItself`]), or a future cannot be scheduled.
    ///
    /// # Cancel safety
    /// Dropping the stream between items loses nothing that was yielded; unfinished items are
    /// cancelled when `cancel_unfinished`, and left running otherwise.
    pub fn as_completed<I: IntoWatched>(
        &self,
        items: impl Into<Items<I>>,
        max_concurrent: Option<usize>,
        cancel_unfinished: bool,
    ) -> AsCompleted<I> {
        let source = items.into().source;
        let limit = match source {
            Source::All(_) => usize::MAX,
            _ => max_concurrent
                .unwrap_or_else(Caller::max_idle_pool_instances)
                .max(1),
        };
        AsCompleted {
            caller: self.clone(),
            source,
            limit,
            cancel_unfinished,
            current: Caller::current_pending(),
            ready: Arc::new(Mutex::new(Ready {
                items: VecDeque::new(),
                waker: None,
            })),
            done_now: VecDeque::new(),
            slots: Vec::new(),
            free: Vec::new(),
            unfinished: 0,
            head: None,
            error: None,
            finished: false,
        }
    }

    /// Waits until `items` are done as `return_when` says, or `timeout` passed, and returns
    /// `(done, not_done)`, each in the order of `items` (SPEC W4; the reference's
    /// `wait(items, timeout=, return_when=)`, which returns sets). It never fails with a timeout
    /// and never cancels what is not done. Futures ([`Schedule`]) are scheduled on this caller
    /// when `wait` is called; the timeout counts from the first poll.
    ///
    /// ```
    /// use async_kernel::caller::{Caller, CallerOptions, Modifier, ReturnWhen};
    /// use async_kernel::Pending;
    ///
    /// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-wait")).unwrap();
    /// let quick = caller.call_soon(|| 1).unwrap();
    /// let never: Pending<i32> = Pending::new();
    /// let (done, not_done) = futures::executor::block_on(caller.wait(
    ///     [quick.clone(), never.clone()],
    ///     None,
    ///     ReturnWhen::FirstCompleted,
    /// ))
    /// .unwrap();
    /// assert_eq!((done, not_done), (vec![quick], vec![never.clone()]));
    /// assert!(!never.cancelled());
    /// caller.stop(false);
    /// ```
    ///
    /// # Errors
    /// [`CallerError::WaitsForItself`] when an item is the pending of the call running this
    /// code; the errors of [`Caller::call_soon`] when a future cannot be scheduled.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future cancels nothing. The items, and the futures it
    /// scheduled, keep running; call `wait` again to wait for them.
    pub fn wait<I: IntoWatched>(
        &self,
        items: impl IntoIterator<Item = I>,
        timeout: Option<Duration>,
        return_when: ReturnWhen,
    ) -> impl Future<Output = Result<DoneAndNotDone<I::Pending>, CallerError>> + Send + 'static
    {
        let current = Caller::current_pending();
        let taken: Result<Vec<I::Pending>, CallerError> = items
            .into_iter()
            .map(|item| {
                let pen = item.into_watched(self)?;
                check_not_current(&current, &pen)?;
                Ok(pen)
            })
            .collect();
        async move {
            let pens = taken?;
            Ok(wait_for(pens, timeout, return_when).await)
        }
    }
}

fn check_not_current<P: Watched>(current: &Option<AnyPending>, pen: &P) -> Result<(), CallerError> {
    match current {
        Some(current) if *current == pen.to_any() => Err(CallerError::WaitsForItself {
            pending: format!("{current:?}"),
        }),
        _ => Ok(()),
    }
}

/// True when `any` is done and its callbacks have run (checked without waiting).
fn released(any: &AnyPending) -> bool {
    let mut probe = TaskContext::from_waker(Waker::noop());
    let mut key = None;
    let ready = any.inner.poll_done(&mut probe, &mut key).is_ready();
    any.inner.forget_waiter(&mut key);
    ready
}

/// What [`wait_for`] shares with the done-callbacks of its items.
struct WaitShared {
    done: AtomicUsize,
    failed: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

async fn wait_for<P: Watched>(
    pens: Vec<P>,
    timeout: Option<Duration>,
    return_when: ReturnWhen,
) -> (Vec<P>, Vec<P>) {
    let total = pens.len();
    let shared = Arc::new(WaitShared {
        done: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
        waker: Mutex::new(None),
    });
    let mut hooks: Vec<(AnyPending, Option<CallbackId>)> = Vec::with_capacity(total);
    for pen in &pens {
        let any = pen.to_any();
        if any.done() && released(&any) {
            // Done with its callbacks run: count it here, no callback needed.
            if any.error().is_some() {
                shared.failed.store(true, Ordering::Release);
            }
            shared.done.fetch_add(1, Ordering::AcqRel);
            continue;
        }
        let shared = shared.clone();
        let id = any.inner.clone().add_hook(Box::new(move |p: &AnyPending| {
            if p.error().is_some() {
                shared.failed.store(true, Ordering::Release);
            }
            shared.done.fetch_add(1, Ordering::AcqRel);
            if let Some(w) = lock(&shared.waker).take() {
                w.wake();
            }
        }));
        hooks.push((any, id));
    }
    let reached = |shared: &WaitShared| {
        let done = shared.done.load(Ordering::Acquire);
        done == total
            || match return_when {
                ReturnWhen::AllCompleted => false,
                ReturnWhen::FirstCompleted => done > 0,
                ReturnWhen::FirstException => shared.failed.load(Ordering::Acquire),
            }
    };
    let mut timer = None;
    poll_fn(|cx| {
        if reached(&shared) {
            return Poll::Ready(());
        }
        *lock(&shared.waker) = Some(cx.waker().clone());
        // Checked again: a hook may have run before the waker was in place.
        if reached(&shared) {
            return Poll::Ready(());
        }
        if let Some(t) = timeout {
            let timer = timer.get_or_insert_with(|| crate::sync::Timer::after(t));
            if Pin::new(timer).poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    })
    .await;
    // Hooks of items not done must not pile up on pendings that live on.
    for (any, id) in hooks {
        if let Some(id) = id {
            any.inner.remove_callback(id);
        }
    }
    pens.into_iter().partition(|p| p.to_any().done())
}

/// The done items not yet yielded, and the waker of the stream's task.
struct Ready<P> {
    items: VecDeque<(usize, P)>,
    waker: Option<Waker>,
}

/// A watched item not yet yielded.
struct Slot {
    any: AnyPending,
    callback: Option<CallbackId>,
}

/// The [`Stream`] returned by [`Caller::as_completed`]: yields each item's pending once it is
/// done and its done-callbacks have run.
///
/// # Cancel safety
/// `next()` is cancel-safe: an item is removed from the stream only when it is yielded, so
/// dropping a `next()` future loses nothing. Dropping the stream cancels the items it took and
/// has not yielded when it was made with `cancel_unfinished`, and leaves them running otherwise.
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<I: IntoWatched> {
    caller: Caller,
    source: Source<I>,
    /// At most this many items unfinished (taken and not yet yielded).
    limit: usize,
    cancel_unfinished: bool,
    /// The pending of the call that made the stream: never watched (it would wait for itself).
    current: Option<AnyPending>,
    ready: Arc<Mutex<Ready<I::Pending>>>,
    /// Items that were done (callbacks run) when taken: yielded first, in the order taken.
    done_now: VecDeque<I::Pending>,
    /// Items taken and not yet yielded, by slot; `free` lists the empty slots.
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    unfinished: usize,
    /// An item whose done-callbacks are still running: yielded once they have.
    head: Option<(usize, I::Pending, WaiterKey)>,
    error: Option<CallerError>,
    finished: bool,
}

// No field is ever pinned: the source stream is boxed, items are moved out before use.
impl<I: IntoWatched> Unpin for AsCompleted<I> {}

impl<I: IntoWatched> AsCompleted<I> {
    /// Items taken from the source and not yet yielded.
    pub fn unfinished(&self) -> usize {
        self.unfinished
    }

    /// Watches `pen`: its done-callback queues it in `ready` (at once when already done).
    /// A pending already done with its callbacks run goes straight to `done_now`: no callback,
    /// no slot, no lock.
    fn watch(&mut self, pen: I::Pending, cx: &mut TaskContext<'_>) {
        let any = pen.to_any();
        if any.done() {
            let mut key = None;
            if any.inner.poll_done(cx, &mut key).is_ready() {
                self.done_now.push_back(pen);
                self.unfinished += 1;
                return;
            }
            // Its callbacks are still running: watch it like the others.
            any.inner.forget_waiter(&mut key);
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.slots[slot] = Some(Slot {
            any: any.clone(),
            callback: None,
        });
        self.unfinished += 1;
        let ready = self.ready.clone();
        let callback = any.inner.clone().add_hook(Box::new(move |_| {
            let waker = {
                let mut ready = lock(&ready);
                ready.items.push_back((slot, pen));
                ready.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }));
        if let Some(Some(s)) = self.slots.get_mut(slot) {
            s.callback = callback;
        }
    }

    /// Takes items from the source while fewer than `limit` are unfinished. False when the
    /// source may still have items.
    fn fill(&mut self, cx: &mut TaskContext<'_>) -> bool {
        while self.unfinished < self.limit {
            let next = match &mut self.source {
                Source::All(items) => items.next(),
                Source::Lazy(items) => items.next(),
                Source::Stream(items) => match items.as_mut().poll_next(cx) {
                    Poll::Ready(item) => item,
                    Poll::Pending => return false,
                },
                Source::Exhausted => return true,
            };
            let Some(item) = next else {
                self.source = Source::Exhausted;
                return true;
            };
            match item
                .into_watched(&self.caller)
                .and_then(|pen| check_not_current(&self.current, &pen).map(|()| pen))
            {
                Ok(pen) => self.watch(pen, cx),
                Err(e) => {
                    self.error = Some(e);
                    return true;
                }
            }
        }
        matches!(self.source, Source::Exhausted)
    }

    /// A yielded item leaves its slot.
    fn release(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            *s = None;
            self.free.push(slot);
            self.unfinished -= 1;
        }
    }

    /// Ends the stream: unfinished items are cancelled (when asked) and unhooked.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.source = Source::Exhausted;
        if let Some((slot, pen, mut key)) = self.head.take() {
            pen.to_any().inner.forget_waiter(&mut key);
            self.release(slot);
        }
        for slot in std::mem::take(&mut self.slots).into_iter().flatten() {
            if let Some(id) = slot.callback {
                slot.any.inner.remove_callback(id);
            }
            if self.cancel_unfinished && !slot.any.done() {
                slot.any.cancel(Some(CANCELLED_BY_AS_COMPLETED));
            }
        }
        self.unfinished = 0;
        self.done_now.clear();
        lock(&self.ready).items.clear();
    }
}

impl<I: IntoWatched> Stream for AsCompleted<I> {
    type Item = Result<I::Pending, CallerError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            if let Some(e) = this.error.take() {
                this.finish();
                return Poll::Ready(Some(Err(e)));
            }
            if let Some((_, pen, key)) = &mut this.head {
                // Its done-callback ran; the ones after it may still run.
                if pen.to_any().inner.poll_done(cx, key).is_pending() {
                    return Poll::Pending;
                }
                if let Some((slot, pen, _)) = this.head.take() {
                    this.release(slot);
                    return Poll::Ready(Some(Ok(pen)));
                }
            }
            let exhausted = this.fill(cx);
            if this.error.is_some() {
                continue;
            }
            if let Some(pen) = this.done_now.pop_front() {
                this.unfinished -= 1;
                return Poll::Ready(Some(Ok(pen)));
            }
            let next = {
                let mut ready = lock(&this.ready);
                let next = ready.items.pop_front();
                if next.is_none()
                    && !ready
                        .waker
                        .as_ref()
                        .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    ready.waker = Some(cx.waker().clone());
                }
                next
            };
            match next {
                Some((slot, pen)) => this.head = Some((slot, pen, None)),
                None if exhausted && this.unfinished == 0 => {
                    this.finish();
                    return Poll::Ready(None);
                }
                None => return Poll::Pending,
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.source {
            Source::All(items) => {
                let n = items.len() + self.unfinished;
                (n, Some(n))
            }
            Source::Exhausted => (self.unfinished, Some(self.unfinished)),
            _ => (self.unfinished, None),
        }
    }
}

impl<I: IntoWatched> FusedStream for AsCompleted<I> {
    fn is_terminated(&self) -> bool {
        self.finished
    }
}

impl<I: IntoWatched> Drop for AsCompleted<I> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<I: IntoWatched> fmt::Debug for AsCompleted<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("caller", &self.caller.name())
            .field("unfinished", &self.unfinished)
            .field("limit", &self.limit)
            .field("cancel_unfinished", &self.cancel_unfinished)
            .field("finished", &self.finished)
            .finish()
    }
}
