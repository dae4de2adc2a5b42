//! Per-function queues: the reference's `queue_call`, `queue_get` and `queue_close`
//! (SPEC Q1–Q6). Not to be confused with the submission queue (`submissions.rs`) that carries
//! every call to a caller's loop: a function queue is one user function whose calls run one
//! at a time, in order, on one caller.
//!
//! # Shape
//! Rust closures have no identity and no garbage collector tells when one is gone, so the
//! function is wrapped once in a [`QueuedFunction`] handle. That handle is the queue's key: one
//! queue per (caller, handle), made on the first `queue_call`. When the last clone of the handle
//! is dropped, every queue of the function closes (the reference's `weakref.finalize`).
//!
//! # Rounds instead of a resettable pending (SPEC P13)
//! The reference hands out one pending per queue and resets it (`set_result(value,
//! reset=True)`) each time the queue empties. Here a queue's calls are grouped in *rounds*:
//! a round starts with the first call into an empty queue and ends when the queue is next empty.
//! Each round has its own [`Pending`]; every call of the round returns it, and when the round
//! ends it gets the round's last successful result and a fresh pending becomes the queue's
//! pending. A waiter therefore sees exactly what the reset would have woken it with, while a
//! pending still completes once and stays done (SPEC P1) — the reset broke that, which is what
//! made it unpredictable. A round in which no call succeeded leaves its pending waiting for the next
//! round that has a value (the reference only ever sets a successful result).
//!
//! # Running
//! A drain job on the caller's loop runs the calls: plain functions inline (a batch of up to
//! [`DRAIN_BUDGET`] calls, then the job goes to the back of the caller's submission queue so
//! other work is not starved), async ones in one task that awaits each call before the next.
//! Either way every call runs in the queue's one context with the round's pending as the current
//! pending. The queue holds a call's arguments only until it starts (SPEC Q6).

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use crate::any_pending::AnyPending;
use crate::context::Context;
use crate::error::{BoxError, PendingError, error_chain};
use crate::pending::{Pending, panic_text};

use super::call::{
    Async, Fallible, FallibleAsync, OutcomeFuture, Started, guarded, guarded_future,
};
use super::scheduler::{LoopState, OwnedJob, drop_catching, in_call, owned, yield_now};
use super::{Caller, CallerError, CallerInner};

/// Calls a drain job runs inline before it lets the caller's other work go first.
pub(crate) const DRAIN_BUDGET: usize = 1024;

/// Message of the pending of a queue closed with `queue_close`.
const CLOSED: &str = "Cancelled because its queue was closed.";
/// Message of the pending of a queue whose function handle was dropped.
const FUNCTION_DROPPED: &str = "Cancelled because the queue's function was dropped.";

/// The function of a queue, erased: starts one call with its arguments, on the caller's thread.
type StartFn<A, R> = Arc<dyn Fn(A) -> Started<R> + Send + Sync>;

static NEXT_QUEUE_ID: AtomicU64 = AtomicU64::new(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Drops user values (unrun arguments) one by one, containing a panicking destructor.
fn drop_contained<A>(values: VecDeque<A>, queue: &str) {
    for value in values {
        drop_catching(value, |panic| {
            tracing::error!(
                queue = %queue,
                panic = %panic_text(panic),
                "dropping the arguments of an unrun queued call panicked"
            );
        });
    }
}

/// A function whose calls can be queued on callers: `Fn(A) -> R` shared by every call, or one
/// of the [`Async`], [`Fallible`] and [`FallibleAsync`] wrappers around such a function.
/// Several arguments travel as a tuple, none as `()`.
pub trait IntoQueueFn<A, M>: Send + Sync + 'static {
    /// The value a call produces.
    type Output: Send + 'static;

    /// Erases the function for the queue.
    #[doc(hidden)]
    fn into_queue_fn(self) -> QueueFn<A, Self::Output>;
}

/// Opaque result of [`IntoQueueFn::into_queue_fn`].
#[doc(hidden)]
pub struct QueueFn<A, R>(StartFn<A, R>);

/// Marker for plain queued functions.
#[doc(hidden)]
pub struct QueuePlain<R>(std::marker::PhantomData<fn() -> R>);
/// Marker for [`Async`] queued functions.
#[doc(hidden)]
pub struct QueueAsync<R>(std::marker::PhantomData<fn() -> R>);
/// Marker for [`Fallible`] queued functions.
#[doc(hidden)]
pub struct QueueFallible<R>(std::marker::PhantomData<fn() -> R>);
/// Marker for [`FallibleAsync`] queued functions.
#[doc(hidden)]
pub struct QueueFallibleAsync<R>(std::marker::PhantomData<fn() -> R>);

impl<A, R, F> IntoQueueFn<A, QueuePlain<R>> for F
where
    F: Fn(A) -> R + Send + Sync + 'static,
    A: 'static,
    R: Send + 'static,
{
    type Output = R;

    fn into_queue_fn(self) -> QueueFn<A, R> {
        QueueFn(Arc::new(move |args| {
            Started::Done(guarded(|| Ok(self(args))))
        }))
    }
}

impl<A, F, Fut> IntoQueueFn<A, QueueAsync<Fut>> for Async<F>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    A: 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    type Output = Fut::Output;

    fn into_queue_fn(self) -> QueueFn<A, Fut::Output> {
        let f = self.0;
        QueueFn(Arc::new(move |args| match guarded(|| Ok(f(args))) {
            Ok(future) => Started::Future(guarded_future(async move { Ok(future.await) })),
            Err(e) => Started::Done(Err(e)),
        }))
    }
}

impl<A, F, T, E> IntoQueueFn<A, QueueFallible<(T, E)>> for Fallible<F>
where
    F: Fn(A) -> Result<T, E> + Send + Sync + 'static,
    A: 'static,
    T: Send + 'static,
    E: Into<BoxError> + 'static,
{
    type Output = T;

    fn into_queue_fn(self) -> QueueFn<A, T> {
        let f = self.0;
        QueueFn(Arc::new(move |args| {
            Started::Done(guarded(|| f(args).map_err(PendingError::failed)))
        }))
    }
}

impl<A, F, Fut, T, E> IntoQueueFn<A, QueueFallibleAsync<(Fut, T, E)>> for FallibleAsync<F>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    A: 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Send + 'static,
    E: Into<BoxError> + 'static,
{
    type Output = T;

    fn into_queue_fn(self) -> QueueFn<A, T> {
        let f = self.0;
        QueueFn(Arc::new(move |args| match guarded(|| Ok(f(args))) {
            Ok(future) => Started::Future(guarded_future(async move {
                future.await.map_err(PendingError::failed)
            })),
            Err(e) => Started::Done(Err(e)),
        }))
    }
}

/// A function whose calls run one at a time, in order, on a caller: the key and the owner of
/// its queues (the reference's `queue_call(func, *args)` keys a queue by `func`; SPEC Q1–Q6).
///
/// Clones are handles to the same function. Each caller has at most one queue per function,
/// made by the first [`Caller::queue_call`]. **Dropping the last handle closes every queue of
/// the function**: calls not yet run never run, and the queues' pendings end cancelled (SPEC
/// Q4; the reference closes a queue when its function is garbage collected).
///
/// A queued function is `Fn(A) -> R`, called once per `queue_call` with that call's
/// arguments (a tuple for several, `()` for none). Mark an async function with [`Async`]: an
/// unmarked closure returning a future would make the future itself the result.
///
/// # Drop
/// The last handle dropped closes the function's queues on every caller. A function that
/// holds a handle to itself (or whose arguments carry one) keeps its queues open until
/// [`Caller::queue_close`] or the caller stops.
///
/// ```
/// use async_kernel::caller::{Caller, CallerOptions, Modifier, QueuedFunction};
///
/// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-queue")).unwrap();
/// let double = QueuedFunction::new(|x: u64| x * 2);
/// let mut pen = None;
/// for x in 1..=3 {
///     pen = Some(caller.queue_call(&double, x).unwrap()); // FIFO, one at a time
/// }
/// // The queue's pending gives the last result once the queue is empty (SPEC Q5).
/// assert_eq!(pen.unwrap().wait_sync(None).unwrap(), 6);
/// caller.queue_close(&double);
/// assert!(caller.queue_get(&double).is_none());
/// caller.stop(true);
/// ```
pub struct QueuedFunction<A: Send + 'static, R: Send + 'static> {
    function: Arc<Function<A, R>>,
}

impl<A: Send + 'static, R: Send + 'static> Clone for QueuedFunction<A, R> {
    fn clone(&self) -> Self {
        QueuedFunction {
            function: self.function.clone(),
        }
    }
}

impl<A: Send + 'static, R: Send + 'static> fmt::Debug for QueuedFunction<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuedFunction")
            .field("name", &self.function.name)
            .field("queues", &lock(&self.function.queues).len())
            .finish()
    }
}

/// A function's queue on one caller, with the caller's id.
type CallerQueue<A, R> = (u32, Arc<FunctionQueue<A, R>>);

/// What every handle of a [`QueuedFunction`] shares.
struct Function<A: Send + 'static, R: Send + 'static> {
    name: &'static str,
    start: StartFn<A, R>,
    /// This function's queue on each caller it was queued on, by caller id. A closed queue is
    /// replaced by the next `queue_call`.
    queues: Mutex<Vec<CallerQueue<A, R>>>,
}

impl<A: Send + 'static, R: Send + 'static> Drop for Function<A, R> {
    fn drop(&mut self) {
        // SPEC Q4: the function is gone, so are its queues.
        let queues = std::mem::take(&mut *lock(&self.queues));
        for (_, queue) in queues {
            queue.close(FUNCTION_DROPPED, false);
        }
    }
}

impl<A: Send + 'static, R: Send + 'static> QueuedFunction<A, R> {
    /// Wraps `function` (plain, or marked [`Async`], [`Fallible`] or [`FallibleAsync`]).
    pub fn new<F, M>(function: F) -> Self
    where
        F: IntoQueueFn<A, M, Output = R>,
    {
        QueuedFunction {
            function: Arc::new(Function {
                name: std::any::type_name::<F>(),
                start: function.into_queue_fn().0,
                queues: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The function's type name (the queue's name in logs and metadata).
    pub fn name(&self) -> &'static str {
        self.function.name
    }

    /// The open queue of this function on `caller`.
    fn open_queue(&self, caller: &Caller) -> Option<Arc<FunctionQueue<A, R>>> {
        lock(&self.function.queues)
            .iter()
            .find(|(id, q)| *id == caller.inner.id && !q.is_closed())
            .map(|(_, q)| q.clone())
    }
}

/// One function's queue on one caller.
pub(crate) struct FunctionQueue<A, R: 'static> {
    /// Unique among queues: a closed queue and its successor for the same function differ.
    id: u64,
    name: &'static str,
    /// `name`'s interned id (`call_names`), looked up once: a round's pending needs it under
    /// the queue's lock.
    name_id: u16,
    caller: Weak<CallerInner>,
    caller_id: u32,
    start: StartFn<A, R>,
    /// Set (under the state lock) when the queue closes; read without it by the drain between
    /// calls and by lookups.
    closed: AtomicBool,
    state: Mutex<QueueState<A, R>>,
}

struct QueueState<A, R: 'static> {
    /// Arguments of the calls not yet taken by the drain, oldest first.
    calls: VecDeque<A>,
    /// The current round's pending.
    pending: Pending<R>,
    /// A drain job is queued or running.
    draining: bool,
    closed: bool,
    /// What a paused drain carries to the next one: the context of the first call (SPEC Q2)
    /// and the round's last successful result.
    carried: Option<Carried<R>>,
    /// The pending of the drain task while async calls run, to stop it on close.
    task: Option<Pending<()>>,
}

/// The drain's own state, on the caller's thread while it runs.
struct Carried<R> {
    context: Context,
    last: Option<R>,
}

/// How an inline drain stopped.
enum Step<R> {
    /// The queue is empty (or closed).
    Ended,
    /// A call is async: its future, to go on in a task.
    Async(OutcomeFuture<R>),
    /// [`DRAIN_BUDGET`] calls ran.
    BudgetSpent,
}

/// A running drain: the calls it took from the queue in one swap, and what it carries.
struct Drain<A, R: 'static> {
    batch: VecDeque<A>,
    carried: Carried<R>,
}

impl<A: Send + 'static, R: Send + 'static> FunctionQueue<A, R> {
    fn new(function: &Function<A, R>, caller: &Caller) -> Arc<Self> {
        let name_id = crate::call_names::name_id(function.name);
        Arc::new_cyclic(|me: &Weak<Self>| FunctionQueue {
            id: NEXT_QUEUE_ID.fetch_add(1, Ordering::Relaxed),
            name: function.name,
            name_id,
            caller: Arc::downgrade(&caller.inner),
            caller_id: caller.inner.id,
            start: function.start.clone(),
            closed: AtomicBool::new(false),
            state: Mutex::new(QueueState {
                calls: VecDeque::new(),
                pending: round_pending(me.clone(), function.name, name_id, caller.inner.id),
                draining: false,
                closed: false,
                carried: Some(Carried {
                    context: Context::current(),
                    last: None,
                }),
                task: None,
            }),
        })
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Appends a call; returns the round's pending, and whether a drain must be scheduled.
    /// Gives the arguments back when the queue is closed.
    fn push(&self, args: A) -> Result<(Pending<R>, bool), A> {
        let mut st = lock(&self.state);
        if st.closed {
            return Err(args);
        }
        st.calls.push_back(args);
        let schedule = !st.draining;
        st.draining = true;
        Ok((st.pending.clone(), schedule))
    }

    /// The current round's pending, unless closed.
    fn pending(&self) -> Option<Pending<R>> {
        let st = lock(&self.state);
        (!st.closed).then(|| st.pending.clone())
    }

    /// Starts a drain: takes what the last one carried.
    fn begin_drain(&self) -> Drain<A, R> {
        let carried = lock(&self.state).carried.take().unwrap_or_else(|| Carried {
            context: Context::new(),
            last: None,
        });
        Drain {
            batch: VecDeque::new(),
            carried,
        }
    }

    /// Records a call's outcome: a value becomes the round's last result; a failure is logged
    /// and the queue goes on (SPEC Q3).
    fn record(&self, drain: &mut Drain<A, R>, outcome: Result<R, PendingError>) {
        match outcome {
            Ok(v) => drain.carried.last = Some(v),
            Err(e) => {
                tracing::error!(queue = %self.name, error = %error_chain(&e), "a queued call failed; the queue goes on");
            }
        }
    }

    /// The next call's arguments: from the drain's batch, refilled from the queue in one swap.
    /// When the queue is empty the round ends: its pending gets the last successful result, a
    /// fresh pending takes its place, and the drain ends (`None`). A closed queue ends it too,
    /// and the batch's unrun calls are dropped unrun (SPEC Q4).
    fn next_call(self: &Arc<Self>, drain: &mut Drain<A, R>) -> Option<A> {
        if self.is_closed() {
            drop_contained(std::mem::take(&mut drain.batch), self.name);
            return None;
        }
        if let Some(args) = drain.batch.pop_front() {
            return Some(args);
        }
        let mut st = lock(&self.state);
        if st.closed {
            return None;
        }
        if !st.calls.is_empty() {
            std::mem::swap(&mut st.calls, &mut drain.batch);
            return drain.batch.pop_front();
        }
        st.draining = false;
        let value = drain.carried.last.take();
        let ended = value.map(|v| {
            let next = round_pending(
                Arc::downgrade(self),
                self.name,
                self.name_id,
                self.caller_id,
            );
            (std::mem::replace(&mut st.pending, next), v)
        });
        drop(st);
        if let Some((ended, value)) = ended {
            // P4: nobody else sets it, but a racing close may have: never fail here.
            let _ = ended.set_result(value);
        }
        None
    }

    /// Ends a drain that stops with calls left (its budget is spent): the calls go back to the
    /// front of the queue and the carried state is kept for the next drain. False when the
    /// queue closed meanwhile.
    fn pause_drain(&self, drain: Drain<A, R>) -> bool {
        let Drain { mut batch, carried } = drain;
        let mut st = lock(&self.state);
        if st.closed {
            drop(st);
            drop_contained(batch, self.name);
            return false;
        }
        batch.append(&mut st.calls);
        st.calls = batch;
        st.carried = Some(carried);
        true
    }

    /// Hands the carried state back when a drain ends with the round (the queue is empty).
    fn end_drain(&self, carried: Carried<R>) {
        let mut st = lock(&self.state);
        if !st.closed {
            st.carried = Some(carried);
        }
    }

    /// Queues a drain job on the caller; a caller that no longer accepts work closes the queue.
    fn schedule_drain(self: &Arc<Self>) -> bool {
        let Some(caller) = self.caller.upgrade() else {
            self.close(CLOSED, false);
            return false;
        };
        match caller.queue.push(owned(DrainJob(self.clone()))) {
            Ok(()) => true,
            Err(job) => {
                job.cancel(&caller.stop_message(), &caller.name);
                false
            }
        }
    }

    /// Runs queued calls on the loop: inline while they are plain, then, at the first async
    /// call, in a task. Returns true when it spawned the task.
    fn drain(self: &Arc<Self>, lp: &Rc<LoopState>) -> bool {
        let Some(pen) = self.pending() else {
            return false;
        };
        let mut drain = self.begin_drain();
        // A round ends only when the queue is empty, which also ends this drain: the round's
        // pending is the current pending for every call run here (SPEC C9).
        let mut current = Some(pen.erase());
        // The context and current pending are entered once for the whole batch, not per call.
        let mut context = std::mem::take(&mut drain.carried.context);
        let step = in_call(&mut current, &mut context, || {
            for _ in 0..DRAIN_BUDGET {
                let Some(args) = self.next_call(&mut drain) else {
                    return Step::Ended;
                };
                match (self.start)(args) {
                    Started::Done(outcome) => self.record(&mut drain, outcome),
                    Started::Future(future) => return Step::Async(future),
                }
            }
            Step::BudgetSpent
        });
        drain.carried.context = context;
        match step {
            Step::Ended => {
                self.end_drain(drain.carried);
                false
            }
            Step::Async(future) => {
                self.spawn_task(lp, drain, current, future);
                true
            }
            Step::BudgetSpent => {
                // Let the caller's other work go first, then go on.
                if self.pause_drain(drain) {
                    self.schedule_drain();
                }
                false
            }
        }
    }

    /// Continues the drain in a task, starting with the async call `first`.
    fn spawn_task(
        self: &Arc<Self>,
        lp: &Rc<LoopState>,
        drain: Drain<A, R>,
        current: Option<AnyPending>,
        first: OutcomeFuture<R>,
    ) {
        let task: Pending<()> = Pending::builder()
            .allow_tracking(false)
            .scheduled(self.caller_id, self.name_id)
            .metadata("queue", self.name)
            .build()
            .unwrap_or_default();
        task.begin_run();
        {
            let mut st = lock(&self.state);
            if st.closed {
                drop(st);
                drop_future(first, self.name);
                drop_contained(drain.batch, self.name);
                return;
            }
            st.task = Some(task.clone());
        }
        // Cancelling the task (the caller's stop does) closes the queue: only cancelling the
        // queue stops it (Q3).
        let weak = Arc::downgrade(self);
        task.add_done_callback(move |t| {
            if t.cancelled() {
                if let Some(q) = weak.upgrade() {
                    let msg = t.cancel_message().unwrap_or_default();
                    q.close(&msg, false);
                }
            }
        });
        let queue = self.clone();
        let task_body = async move {
            let mut drain = drain;
            let mut current = current;
            let mut started = Started::Future(first);
            let mut since_yield = 0usize;
            loop {
                let outcome = match started {
                    Started::Done(out) => {
                        since_yield += 1;
                        if since_yield >= DRAIN_BUDGET {
                            since_yield = 0;
                            yield_now().await;
                        }
                        out
                    }
                    Started::Future(mut future) => {
                        since_yield = 0;
                        // Each poll runs in the queue's context with the round's pending as the
                        // current pending, as the inline calls do (SPEC Q2, C9).
                        let (cur, ctx) = (&mut current, &mut drain.carried.context);
                        poll_fn(|cx| in_call(&mut *cur, &mut *ctx, || future.as_mut().poll(cx)))
                            .await
                    }
                };
                queue.record(&mut drain, outcome);
                match queue.next_call(&mut drain) {
                    Some(args) => {
                        let start = &queue.start;
                        started = in_call(&mut current, &mut drain.carried.context, || start(args));
                    }
                    None => break,
                }
            }
            lock(&queue.state).task = None;
            queue.end_drain(drain.carried);
            Ok(())
        };
        // The task's own context is empty: the queue's is entered around each call above.
        lp.spawn_task(task, Context::new(), Box::pin(task_body));
    }

    /// Closes the queue (SPEC Q4): calls not yet taken are dropped unrun here, those a drain has
    /// taken are dropped by the drain before its next call; the pending ends cancelled with
    /// `msg` and a running async call is cancelled. False when it was closed already.
    /// `by_cancel`: the pending was cancelled by its user (its canceller calls this).
    pub(crate) fn close(&self, msg: &str, by_cancel: bool) -> bool {
        let (calls, pending, task) = {
            let mut st = lock(&self.state);
            if st.closed {
                return false;
            }
            st.closed = true;
            self.closed.store(true, Ordering::Release);
            st.carried = None;
            (
                std::mem::take(&mut st.calls),
                st.pending.clone(),
                st.task.take(),
            )
        };
        tracing::debug!(queue = %self.name, "queue closed");
        drop_contained(calls, self.name);
        if !by_cancel {
            // Its canceller calls back here and finds the queue closed.
            pending.cancel(Some(msg));
        }
        // Cancellation was requested, so this ends it cancelled with the accumulated message.
        let _ = pending.set_outcome(Err(PendingError::cancelled(msg)));
        if let Some(task) = task {
            task.cancel(Some(msg));
        }
        if let Some(caller) = self.caller.upgrade() {
            caller.function_queues.forget(self.id);
        }
        true
    }
}

/// Drops a call's future on the caller's thread, containing a panicking destructor.
fn drop_future<R>(future: OutcomeFuture<R>, queue: &str) {
    drop_catching(future, |panic| {
        tracing::error!(queue = %queue, panic = %panic_text(panic), "dropping a queued call's future panicked");
    });
}

/// A new round's pending: untracked (a queue outlives the scope of its first call, and a group
/// would otherwise wait for a queue that ends only when closed), not to be blocked on from the
/// caller's own thread (SPEC P11), and closing the queue when cancelled (SPEC Q3).
fn round_pending<A: Send + 'static, R: Send + 'static>(
    queue: Weak<FunctionQueue<A, R>>,
    name: &'static str,
    name_id: u16,
    caller_id: u32,
) -> Pending<R> {
    let pen: Pending<R> = Pending::builder()
        .allow_tracking(false)
        .scheduled(caller_id, name_id)
        .metadata("queue", name)
        .build()
        .unwrap_or_default();
    pen.begin_run();
    let _ = pen.set_canceller(move |msg| {
        if let Some(q) = queue.upgrade() {
            q.close(msg.unwrap_or(CLOSED), true);
        }
    });
    pen
}

/// The loop's job that runs a queue's calls.
struct DrainJob<A, R: 'static>(Arc<FunctionQueue<A, R>>);

impl<A: Send + 'static, R: Send + 'static> OwnedJob for DrainJob<A, R> {
    fn run(self, lp: &Rc<LoopState>) -> bool {
        self.0.drain(lp)
    }

    fn cancel(self, msg: &str, _caller: &str) {
        // SPEC C6: the caller stops, its queues close.
        self.0.close(msg, false);
    }
}

/// Closing a queue without knowing its types.
pub(crate) trait CloseQueue: Send + Sync {
    fn close_queue(&self, msg: &str);
}

impl<A: Send + 'static, R: Send + 'static> CloseQueue for FunctionQueue<A, R> {
    fn close_queue(&self, msg: &str) {
        self.close(msg, false);
    }
}

/// A caller's open function queues, to close them when it stops (SPEC C6).
#[derive(Default)]
pub(crate) struct CallerQueues {
    queues: Mutex<Vec<(u64, Weak<dyn CloseQueue>)>>,
}

impl CallerQueues {
    fn add(&self, queue_id: u64, queue: Weak<dyn CloseQueue>) {
        let mut queues = lock(&self.queues);
        queues.retain(|(_, q)| q.strong_count() > 0);
        queues.push((queue_id, queue));
    }

    fn forget(&self, queue_id: u64) {
        lock(&self.queues).retain(|(id, q)| *id != queue_id && q.strong_count() > 0);
    }

    /// How many queues are open.
    pub(crate) fn len(&self) -> usize {
        lock(&self.queues)
            .iter()
            .filter(|(_, q)| q.strong_count() > 0)
            .count()
    }

    /// Closes every queue, cancelling their pendings with `msg`.
    pub(crate) fn close_all(&self, msg: &str) {
        let queues = std::mem::take(&mut *lock(&self.queues));
        for (_, queue) in queues {
            if let Some(q) = queue.upgrade() {
                q.close_queue(msg);
            }
        }
    }
}

impl Caller {
    /// Queues a call of `function` with `args` on this caller (thread-safe; SPEC Q1, the
    /// reference's `queue_call(func, *args)`). Calls of one function run one at a time, in the
    /// order they were queued, in the context of the first call (SPEC Q2). Returns the queue's
    /// pending: awaiting it (or `wait_sync` from another thread) gives the last successful
    /// result once the queue is next empty (SPEC Q5). A failing call is logged and the queue
    /// goes on (SPEC Q3).
    ///
    /// ```
    /// use async_kernel::caller::{Async, Caller, CallerOptions, Modifier, QueuedFunction};
    ///
    /// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-queue-call")).unwrap();
    /// let greet = QueuedFunction::new(Async(|(greeting, name): (&'static str, String)| async move {
    ///     format!("{greeting}, {name}")
    /// }));
    /// caller.queue_call(&greet, ("hello", "ada".into())).unwrap();
    /// let pen = caller.queue_call(&greet, ("bye", "bob".into())).unwrap();
    /// assert_eq!(pen.wait_sync(None).unwrap(), "bye, bob");
    /// caller.stop(true);
    /// ```
    ///
    /// # Errors
    /// [`CallerError::NotAccepting`] when the caller is stopping or stopped (SPEC C7).
    pub fn queue_call<A, R>(
        &self,
        function: &QueuedFunction<A, R>,
        args: A,
    ) -> Result<Pending<R>, CallerError>
    where
        A: Send + 'static,
        R: Send + 'static,
    {
        let mut args = args;
        loop {
            self.check_accepting()?;
            let mut queues = lock(&function.function.queues);
            let found = queues
                .iter()
                .position(|(id, q)| *id == self.inner.id && !q.is_closed());
            let queue = match found {
                Some(i) => &queues[i].1,
                None => {
                    queues.retain(|(id, q)| *id != self.inner.id && !q.is_closed());
                    let queue = FunctionQueue::new(&function.function, self);
                    let weak: Weak<FunctionQueue<A, R>> = Arc::downgrade(&queue);
                    self.inner
                        .function_queues
                        .add(queue.id, weak as Weak<dyn CloseQueue>);
                    queues.push((self.inner.id, queue));
                    &queues[queues.len() - 1].1
                }
            };
            match queue.push(args) {
                Ok((pen, false)) => return Ok(pen),
                Ok((pen, true)) => {
                    let queue = queue.clone();
                    drop(queues);
                    return if queue.schedule_drain() {
                        Ok(pen)
                    } else {
                        Err(self.not_accepting())
                    };
                }
                // Closed by another thread since we looked: a new queue takes the call (as
                // after `queue_close`), unless the caller is stopping.
                Err(back) => args = back,
            }
        }
    }

    /// The pending of `function`'s queue on this caller, or `None` when it has no open queue
    /// (SPEC Q4, the reference's `queue_get`).
    pub fn queue_get<A, R>(&self, function: &QueuedFunction<A, R>) -> Option<Pending<R>>
    where
        A: Send + 'static,
        R: Send + 'static,
    {
        function.open_queue(self)?.pending()
    }

    /// Closes `function`'s queue on this caller (SPEC Q4, the reference's `queue_close`): its
    /// calls not yet run never run (their arguments are dropped), a running async call is
    /// cancelled, and its pending ends cancelled. Returns false when there was no open queue.
    pub fn queue_close<A, R>(&self, function: &QueuedFunction<A, R>) -> bool
    where
        A: Send + 'static,
        R: Send + 'static,
    {
        match function.open_queue(self) {
            Some(queue) => queue.close(CLOSED, false),
            None => false,
        }
    }

    /// How many function queues are open on this caller.
    pub fn queue_count(&self) -> usize {
        self.inner.function_queues.len()
    }
}
