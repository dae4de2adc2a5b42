//! The loop that runs on a caller's thread: takes batches of jobs from the submission queue,
//! runs plain calls inline and async calls as local tasks, and winds everything down on stop.
//!
//! Running a plain closure inline (no task per call) and draining the queue in batches (one
//! lock per batch, one wake only when the loop sleeps) is what makes cross-thread calls cheap.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use crate::any_pending::AnyPending;
use crate::backend::LocalSpawner;
use crate::context::Context;
use crate::current::{CURRENT, CallSlots, with_slots};
use crate::pending::{HasInner, Inner, Pending, panic_text};
use crate::thread_role;

use super::call::{IntoCall, OutcomeFuture, Started};
use super::driver::TaskDriver;
use super::submissions::Batch;
use super::{CallerInner, CallerState};

/// A unit of work in the submission queue. Shared, not boxed: a scheduled call is one
/// allocation holding both its pending and its work ([`CallCell`]), and the queue holds it by
/// the same counted pointer the call's [`Pending`] does.
pub(crate) type Job = Arc<dyn Runnable>;

/// Something the loop runs, or cancels when the caller stops first.
pub(crate) trait Runnable: Send + Sync {
    /// Runs the job; returns true when it spawned a task, which must get its first poll before
    /// the next job starts (calls start in the order they were scheduled).
    fn run(self: Arc<Self>, lp: &Rc<LoopState>) -> bool;
    /// Ends the job unstarted, its pending cancelled with `msg`. Never panics: the job's user
    /// values are dropped with any panic of their destructors contained (logged as `caller`'s).
    fn cancel(self: Arc<Self>, msg: &str, caller: &str);
    /// Reads the job's pending, so that its memory is on its way into the cache while the job
    /// before it runs (a batch of many calls is otherwise a chain of cache misses).
    fn touch(&self) {}
}

/// A job the queue alone holds, run or cancelled by value.
pub(crate) trait OwnedJob: Send + 'static {
    fn run(self, lp: &Rc<LoopState>) -> bool;
    fn cancel(self, msg: &str, caller: &str);
}

/// An [`OwnedJob`] in the queue's shared form. The mutex is never locked (the job is moved out
/// whole, `Mutex::into_inner`); it only makes a job whose values are `Send` but not `Sync`
/// fit in an `Arc` that crosses threads.
struct Owned<J>(std::sync::Mutex<J>);

/// `job` as a [`Job`].
pub(crate) fn owned<J: OwnedJob>(job: J) -> Job {
    Arc::new(Owned(std::sync::Mutex::new(job)))
}

impl<J: OwnedJob> Owned<J> {
    /// The job, moved out. `None` would mean a clone of the queue's `Arc` escaped, which
    /// nothing makes.
    fn take(self: Arc<Self>) -> Option<J> {
        let owned = Arc::into_inner(self);
        debug_assert!(owned.is_some(), "a queued job is held by the queue alone");
        owned.map(|Owned(m)| {
            m.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
    }
}

impl<J: OwnedJob> Runnable for Owned<J> {
    fn run(self: Arc<Self>, lp: &Rc<LoopState>) -> bool {
        self.take().is_some_and(|job| job.run(lp))
    }

    fn cancel(self: Arc<Self>, msg: &str, caller: &str) {
        if let Some(job) = self.take() {
            job.cancel(msg, caller);
        }
    }
}

/// The pending of the call running on this thread, if any (SPEC C9).
pub(crate) fn current_pending() -> Option<AnyPending> {
    CURRENT.with(|c| crate::current::clone_out(&c.pending))
}

/// Runs `f` with `pen` as the current pending and `context` as the current context. Both are
/// moved into the thread's slots and back (no reference counting per call or poll).
pub(crate) fn in_call<R>(
    pen: &mut Option<AnyPending>,
    context: &mut Context,
    f: impl FnOnce() -> R,
) -> R {
    with_slots(
        CallSlots {
            pending: pen,
            context,
            scope: None,
        },
        f,
    )
}

/// The work of a scheduled call: the context it runs in and what runs.
pub(crate) struct CallWork<W, M> {
    pub(crate) context: Context,
    pub(crate) work: W,
    pub(crate) _marker: PhantomData<fn() -> M>,
}

impl<W, M> CallWork<W, M>
where
    W: IntoCall<M>,
    M: 'static,
{
    pub(crate) fn new(context: Context, work: W) -> Self {
        CallWork {
            context,
            work,
            _marker: PhantomData,
        }
    }

    /// Runs the call now (see [`Runnable::run`]).
    fn run_now(self, pen: Pending<W::Output>, lp: &Rc<LoopState>) -> bool {
        let CallWork {
            mut context, work, ..
        } = self;
        if !pen.begin_run() {
            return skip_unstarted(&pen, (work, context), lp);
        }
        let mut erased = Some(pen.erase());
        let started = in_call(&mut erased, &mut context, || work.start().0);
        settle(pen, context, started, lp)
    }

    /// Ends the call unstarted: drops the work (user values; a panicking destructor is
    /// contained), then cancels the pending, so it ends however the drop went.
    fn cancel_now(self, pen: &Pending<W::Output>, msg: &str, caller: &str) {
        let CallWork { context, work, .. } = self;
        drop_contained((work, context), caller);
        pen.cancel(Some(msg));
        finish_unstarted(pen);
    }
}

/// A call the loop took after it was cancelled (or completed from outside): its user values
/// go, with panics contained, and the pending ends. Returns false: no task was spawned.
fn skip_unstarted<T: Send + 'static, V>(pen: &Pending<T>, leftovers: V, lp: &LoopState) -> bool {
    drop_contained(leftovers, &lp.caller.name);
    finish_unstarted(pen);
    false
}

/// What the loop does with a call it started: a plain call's outcome is set at once; an async
/// call's future becomes a task. True when a task was spawned (see [`Runnable::run`]).
fn settle<T: Send + 'static>(
    pen: Pending<T>,
    context: Context,
    started: Started<T>,
    lp: &Rc<LoopState>,
) -> bool {
    match started {
        Started::Done(outcome) => {
            // P4: the runner never fails because the pending was completed elsewhere.
            set_outcome_contained(&pen, outcome, &lp.caller.name);
            drop_contained(context, &lp.caller.name);
            false
        }
        Started::Future(future) => {
            lp.spawn_task(pen, context, future);
            true
        }
    }
}

/// What a [`CallCell`] holds until the loop takes it: the work of a call, run at once or
/// after a delay.
pub(crate) trait Payload<T: Send + 'static>: Sized + Send + 'static {
    /// Runs the work taken out of `cell` (see [`Runnable::run`]).
    fn run(self, cell: Arc<CallCell<T, Self>>, lp: &Rc<LoopState>) -> bool;
    fn cancel(self, pen: &Pending<T>, msg: &str, caller: &str);
}

impl<W, M> Payload<W::Output> for CallWork<W, M>
where
    W: IntoCall<M>,
    M: 'static,
{
    /// [`run_now`](CallWork::run_now) without counting references: the cell itself is moved
    /// into the thread's current-pending slot for the call (`Caller::current_pending`), and
    /// taken back after it.
    fn run(self, cell: Arc<CallCell<W::Output, Self>>, lp: &Rc<LoopState>) -> bool {
        if !cell.inner.begin_run() {
            return skip_unstarted(&cell.pending(), (self.work, self.context), lp);
        }
        let CallWork {
            mut context, work, ..
        } = self;
        let mut current = Some(AnyPending { inner: cell });
        let started = in_call(&mut current, &mut context, || work.start().0);
        // `in_call` puts back what it took, so this is the cell moved in above.
        let Some(cell) = current.and_then(AnyPending::downcast::<CallCell<W::Output, Self>>) else {
            tracing::error!(caller = %lp.caller.name, "a call's pending was lost while it ran");
            return false;
        };
        settle(cell.pending(), context, started, lp)
    }

    fn cancel(self, pen: &Pending<W::Output>, msg: &str, caller: &str) {
        self.cancel_now(pen, msg, caller);
    }
}

/// A scheduled call in one allocation: its pending's state, and the work until the loop takes
/// it. The call's [`Pending`] handles and the queue's [`Job`] point at the same cell, so
/// scheduling allocates once, and the memory goes back to the allocator of the thread that
/// drops the last handle (usually the one that scheduled the call and read its result) instead
/// of being freed by the loop's thread.
pub(crate) struct CallCell<T: 'static, P> {
    inner: Inner<T>,
    /// Taken once, by the loop (run or cancel). Uncontended: only the loop's thread locks it.
    payload: std::sync::Mutex<Option<P>>,
}

impl<T: Send + 'static, P: Send + 'static> CallCell<T, P> {
    /// Places a pending's state beside `payload` (for [`PendingBuilder::build_in`]).
    pub(crate) fn new(inner: Inner<T>, payload: P) -> Self {
        CallCell {
            inner,
            payload: std::sync::Mutex::new(Some(payload)),
        }
    }

    fn take_payload(&self) -> Option<P> {
        self.payload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn pending(self: Arc<Self>) -> Pending<T> {
        Pending::from_arc(self)
    }
}

impl<T: Send + 'static, P: Send + 'static> HasInner for CallCell<T, P> {
    type Value = T;

    #[inline]
    fn inner(&self) -> &Inner<T> {
        &self.inner
    }
}

impl<T: Send + 'static, P: Payload<T>> Runnable for CallCell<T, P> {
    fn run(self: Arc<Self>, lp: &Rc<LoopState>) -> bool {
        match self.take_payload() {
            Some(payload) => payload.run(self, lp),
            None => {
                finish_unstarted(&self.pending());
                false
            }
        }
    }

    fn cancel(self: Arc<Self>, msg: &str, caller: &str) {
        let payload = self.take_payload();
        let pen = self.pending();
        match payload {
            Some(payload) => payload.cancel(&pen, msg, caller),
            None => {
                pen.cancel(Some(msg));
                finish_unstarted(&pen);
            }
        }
    }

    fn touch(&self) {
        std::hint::black_box(self.inner.state.load(crate::sync::Ordering::Relaxed));
    }
}

/// A call whose pending was made apart from its work (a `to_thread` call that waited for a
/// worker).
pub(crate) struct CallJob<W: IntoCall<M>, M> {
    pub(crate) pen: Pending<W::Output>,
    pub(crate) call: CallWork<W, M>,
}

impl<W, M> OwnedJob for CallJob<W, M>
where
    W: IntoCall<M>,
    M: 'static,
{
    fn run(self, lp: &Rc<LoopState>) -> bool {
        self.call.run_now(self.pen, lp)
    }

    fn cancel(self, msg: &str, caller: &str) {
        self.call.cancel_now(&self.pen, msg, caller);
    }
}

/// Drops `value`, user data of a call (its closure's captures, its context, a value nobody
/// will read), where a panic in a destructor must not unwind: not through the loop (the calls
/// of its batch would never end) nor into a thread calling `stop`. The panic is logged.
pub(crate) fn drop_contained<V>(value: V, caller: &str) {
    drop_catching(value, |panic| {
        tracing::error!(
            caller = %caller,
            panic = %panic_text(panic),
            "dropping a call's closure or value panicked; contained, the caller goes on"
        );
    });
}

/// Sets a call's outcome; a value rejected because the pending was cancelled meanwhile is
/// dropped, and a panic in its destructor is contained like [`drop_contained`]'s.
pub(crate) fn set_outcome_contained<T: Send + 'static>(
    pen: &Pending<T>,
    outcome: Result<T, crate::error::PendingError>,
    caller: &str,
) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| pen.set_outcome(outcome))) {
        log_contained(
            payload,
            caller,
            "dropping a cancelled call's value panicked",
        );
    }
}

/// Logs a contained panic; its payload is user data too, dropped under the same guard.
pub(crate) fn log_contained(payload: Box<dyn Any + Send>, caller: &str, what: &str) {
    tracing::error!(
        caller = %caller,
        panic = %panic_text(&*payload),
        "{what}; contained, the caller goes on"
    );
    drop_payload(payload);
}

/// Drops `value` where a panic of its destructor must not unwind: the panic is handed to
/// `report` (to log it in the caller's words), then its payload is dropped under the same
/// guard. [`drop_contained`] is this with the caller's log line.
pub(crate) fn drop_catching<V>(value: V, report: impl FnOnce(&(dyn Any + Send))) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        report(&*payload);
        drop_payload(payload);
    }
}

/// Drops a panic's payload, user data whose destructor may panic too: then it is leaked
/// rather than unwind.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// A call the loop did not start because it was cancelled (or completed from outside) first.
/// Normally `cancel` has completed it already; a pending given a canceller by the user is the
/// exception, and it must still end.
fn finish_unstarted<T: Send + 'static>(pen: &Pending<T>) {
    if !pen.done() {
        let _ = pen.set_outcome(Err(crate::error::PendingError::cancelled("")));
    }
}

/// How far ahead a deadline that `Instant` cannot hold is put: a century, "never" in practice.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// The instant `delay` from now, saturated: a delay past what `Instant` can hold (such as
/// `Duration::MAX`) gives a far deadline instead of a panic.
pub(crate) fn deadline_after(delay: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(delay)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// A `call_later` call: waits in a task until `not_before`, then runs (SPEC C8: the delay
/// counts from scheduling). Kept apart so that plain calls carry no deadline.
pub(crate) struct DelayedWork<W, M> {
    pub(crate) call: CallWork<W, M>,
    pub(crate) not_before: Instant,
}

impl<W, M> Payload<W::Output> for DelayedWork<W, M>
where
    W: IntoCall<M>,
    M: 'static,
{
    fn run(self, cell: Arc<CallCell<W::Output, Self>>, lp: &Rc<LoopState>) -> bool {
        let pen = cell.pending();
        let DelayedWork { call, not_before } = self;
        if not_before <= Instant::now() {
            return call.run_now(pen, lp);
        }
        let CallWork { context, work, .. } = call;
        if !pen.begin_run() {
            return skip_unstarted(&pen, (work, context), lp);
        }
        let sleep = lp.spawner.sleep_until(not_before);
        let future: OutcomeFuture<W::Output> = Box::pin(async move {
            sleep.await;
            match work.start().0 {
                Started::Done(outcome) => outcome,
                Started::Future(future) => future.await,
            }
        });
        lp.spawn_task(pen, context, future);
        // Its start is the end of the delay, not now: no need to let it poll first.
        false
    }

    fn cancel(self, pen: &Pending<W::Output>, msg: &str, caller: &str) {
        self.call.cancel_now(pen, msg, caller);
    }
}

/// A `call_direct` closure (SPEC C10): run by the loop itself, in order, with no pending.
pub(crate) struct DirectJob<F>(pub(crate) F);

impl<F: FnOnce() + Send + 'static> OwnedJob for DirectJob<F> {
    fn run(self, lp: &Rc<LoopState>) -> bool {
        let DirectJob(f) = self;
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            tracing::error!(
                caller = %lp.caller.name,
                panic = %panic_text(&*payload),
                "a call_direct function panicked; the caller goes on"
            );
        }
        false
    }

    fn cancel(self, _msg: &str, caller: &str) {
        drop_contained(self.0, caller);
    }
}

/// What the loop shares with the tasks it spawned, on its own thread.
pub(crate) struct LoopState {
    pub(crate) caller: Arc<CallerInner>,
    pub(crate) spawner: Rc<dyn LocalSpawner>,
    /// Running tasks by pending id, to cancel them on stop.
    tasks: RefCell<HashMap<usize, AnyPending>>,
    /// Woken when the last task ends (the loop waits for it while stopping).
    idle_waker: RefCell<Option<Waker>>,
    /// The jobs the loop is working through. A call scheduled on this caller from its own
    /// thread (a task awaiting `call_soon`) is added here directly, with no lock: see
    /// [`queue_job`].
    batch: RefCell<Batch>,
    /// Set when the loop has stopped taking jobs: [`queue_job`] refuses from then on.
    closed: std::cell::Cell<bool>,
}

thread_local! {
    /// The loop running on this thread, if any (for [`queue_job`]).
    static CURRENT_LOOP: RefCell<Option<Rc<LoopState>>> = const { RefCell::new(None) };
}

/// Queues `job` on `caller`. From the thread that runs that caller's loop it needs no lock
/// (BEHAVIOUR CX7): the job goes to the end of the loop's own batch. Everything other threads
/// queued before is moved into the batch first, so calls still start in the order they were
/// scheduled: a call queued by another thread before this one (in any order this thread could
/// have observed) is already in the shared queue and goes first. From any other thread it
/// goes through the shared queue.
///
/// Gives `job` back when the caller no longer takes jobs.
pub(crate) fn queue_job(caller: &CallerInner, job: Job) -> Result<(), Job> {
    if !thread_role::runs_loop_of(caller.id) {
        return caller.queue.push(job);
    }
    CURRENT_LOOP.with(|current| {
        let current = current.borrow();
        let Some(lp) = current.as_ref().filter(|lp| lp.caller.id == caller.id) else {
            return caller.queue.push(job);
        };
        if lp.closed.get() {
            return Err(job);
        }
        let mut batch = lp.batch.borrow_mut();
        caller.queue.take_into(&mut batch);
        batch.push_back(job);
        drop(batch);
        caller.queue.wake_if_sleeping();
        Ok(())
    })
}

/// Makes `lp` the loop of this thread until dropped.
struct CurrentLoop(Option<Rc<LoopState>>);

impl CurrentLoop {
    fn enter(lp: &Rc<LoopState>) -> Self {
        CurrentLoop(CURRENT_LOOP.with(|c| c.borrow_mut().replace(lp.clone())))
    }
}

impl Drop for CurrentLoop {
    fn drop(&mut self) {
        let previous = self.0.take();
        // `try_with`: the thread may be tearing down its locals already.
        let _ = CURRENT_LOOP.try_with(|c| *c.borrow_mut() = previous);
    }
}

impl LoopState {
    /// Spawns a task that drives `future` to the pending's outcome.
    pub(crate) fn spawn_task<T: Send + 'static>(
        self: &Rc<Self>,
        pen: Pending<T>,
        context: Context,
        future: OutcomeFuture<T>,
    ) {
        self.tasks.borrow_mut().insert(pen.id(), pen.erase());
        self.caller
            .running_tasks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let driver = TaskDriver::new(pen, context, future, Rc::downgrade(self));
        self.spawner.spawn(Box::pin(driver));
    }

    /// Called by a task's driver when it ends, however it ends.
    pub(crate) fn task_ended(&self, id: usize) {
        let empty = {
            let mut tasks = self.tasks.borrow_mut();
            tasks.remove(&id);
            tasks.is_empty()
        };
        self.caller
            .running_tasks
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if empty {
            if let Some(w) = self.idle_waker.borrow_mut().take() {
                w.wake();
            }
        }
    }
}

/// The next job of `batch`, with the one after it touched (see [`Runnable::touch`]).
fn next_job(batch: &RefCell<Batch>) -> Option<Job> {
    let mut batch = batch.borrow_mut();
    let job = batch.pop_front()?;
    if let Some(next) = batch.front() {
        next.touch();
    }
    Some(job)
}

/// Yields once to the executor so spawned tasks get their turn between batches (the loop's
/// and a function queue's).
pub(crate) fn yield_now() -> YieldNow {
    YieldNow(false)
}

/// The future of [`yield_now`]: pending once (waking itself), then ready.
pub(crate) struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The caller's loop: runs until the caller is stopping, then cancels its tasks and waits for
/// them.
pub(crate) async fn run_loop(caller: Arc<CallerInner>, spawner: Rc<dyn LocalSpawner>) {
    let _role = thread_role::enter_caller(caller.id);
    let lp = Rc::new(LoopState {
        caller: caller.clone(),
        spawner,
        tasks: RefCell::new(HashMap::new()),
        idle_waker: RefCell::new(None),
        batch: RefCell::new(Batch::default()),
        closed: std::cell::Cell::new(false),
    });
    let _current = CurrentLoop::enter(&lp);
    // SPEC C15: the caller's iopub socket lives while its loop runs, on its thread; it is
    // ready (the forwarder subscribed) before the caller reports running.
    #[cfg(feature = "zmq")]
    let _iopub = caller.zmq_context.as_ref().and_then(|zmq_context| {
        crate::iopub::open_thread_socket(zmq_context, &caller.name, &|| {
            caller.state() >= CallerState::Stopping
        })
    });
    if !caller.mark_running() {
        tracing::debug!(caller = %caller.name, "stopped before its loop started");
    } else {
        tracing::debug!(caller = %caller.name, "running");
    }
    loop {
        let empty = {
            let mut batch = lp.batch.borrow_mut();
            if batch.is_empty() {
                caller.queue.take_into(&mut batch);
            }
            batch.is_empty()
        };
        if empty {
            if caller.state() >= CallerState::Stopping {
                break;
            }
            caller.queue.sleep(&lp.batch).await;
            continue;
        }
        {
            // Plain and direct calls run inline: under the caller's span like its tasks
            // (SPEC C3 `log`). Entered once per batch; no await inside.
            let _span = caller.span.enter();
            loop {
                // The batch is borrowed only between jobs: a job may add to it (`queue_job`).
                let Some(job) = next_job(&lp.batch) else {
                    break;
                };
                if caller.state() >= CallerState::Stopping {
                    job.cancel(&caller.stop_message(), &caller.name);
                    continue;
                }
                // Jobs contain user panics themselves; this guard keeps the rest of the batch
                // (whose pendings must end) should anything slip through.
                match catch_unwind(AssertUnwindSafe(|| job.run(&lp))) {
                    // An async call was spawned: yield so that it starts before the next
                    // call of the batch (calls start in the order they were scheduled).
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(payload) => log_contained(payload, &caller.name, "running a call panicked"),
                }
            }
        }
        yield_now().await;
    }
    // Calls from this thread are refused from here on (the caller is stopping); any left in
    // the batch are cancelled, like those of the shared queue.
    lp.closed.set(true);
    let left = std::mem::take(&mut *lp.batch.borrow_mut());
    let message = caller.stop_message();
    for job in left {
        job.cancel(&message, &caller.name);
    }

    // SPEC C6: running tasks are cancelled; wait until every one has really ended.
    let running: Vec<AnyPending> = lp.tasks.borrow().values().cloned().collect();
    for pen in running {
        pen.cancel(Some(&message));
    }
    poll_fn(|cx| {
        if lp.tasks.borrow().is_empty() {
            Poll::Ready(())
        } else {
            *lp.idle_waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await;
    tracing::debug!(caller = %caller.name, "loop finished");
}
