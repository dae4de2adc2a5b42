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
use crate::pending::{Pending, panic_text};
use crate::thread_role;

use super::call::{IntoCall, OutcomeFuture, Started};
use super::driver::TaskDriver;
use super::submissions::Batch;
use super::{CallerInner, CallerState};

/// A unit of work in the submission queue.
pub(crate) type Job = Box<dyn Runnable>;

/// Something the loop runs, or cancels when the caller stops first.
pub(crate) trait Runnable: Send {
    /// Runs the job; returns true when it spawned a task, which must get its first poll before
    /// the next job starts (calls start in the order they were scheduled).
    fn run(self: Box<Self>, lp: &Rc<LoopState>) -> bool;
    /// Ends the job unstarted, its pending cancelled with `msg`. Never panics: the job's user
    /// values are dropped with any panic of their destructors contained (logged as `caller`'s).
    fn cancel(self: Box<Self>, msg: &str, caller: &str);
    /// Reads the job's pending, so that its memory is on its way into the cache while the job
    /// before it runs (a batch of many calls is otherwise a chain of cache misses).
    fn touch(&self) {}
}

thread_local! {
    /// The pending of the call running on this thread (`Caller::current_pending`).
    static CURRENT_PENDING: RefCell<Option<AnyPending>> = const { RefCell::new(None) };
}

/// The pending of the call running on this thread, if any (SPEC C9).
pub(crate) fn current_pending() -> Option<AnyPending> {
    CURRENT_PENDING.with(|c| c.borrow().clone())
}

/// Runs `f` with `pen` as the current pending and `context` as the current context. `pen` is
/// swapped into the thread-local slot and back (no reference counting per call or poll).
pub(crate) fn in_call<R>(
    pen: &mut Option<AnyPending>,
    context: &mut Context,
    f: impl FnOnce() -> R,
) -> R {
    struct Restore<'a>(&'a mut Option<AnyPending>);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            CURRENT_PENDING.with(|c| std::mem::swap(&mut *c.borrow_mut(), self.0));
        }
    }
    CURRENT_PENDING.with(|c| std::mem::swap(&mut *c.borrow_mut(), pen));
    let _restore = Restore(pen);
    context.run_mut(f)
}

/// A scheduled call: its pending, the context it runs in, the work, and when it may start.
pub(crate) struct CallJob<W: IntoCall<M>, M> {
    pub(crate) pen: Pending<<W as IntoCall<M>>::Output>,
    pub(crate) context: Context,
    pub(crate) work: W,
    pub(crate) _marker: PhantomData<fn() -> M>,
}

impl<W, M> CallJob<W, M>
where
    W: IntoCall<M>,
    M: 'static,
{
    /// Runs the call now (see [`Runnable::run`]).
    fn run_now(self, lp: &Rc<LoopState>) -> bool {
        let CallJob {
            pen,
            mut context,
            work,
            ..
        } = self;
        if !pen.begin_run() {
            drop_contained((work, context), &lp.caller.name);
            finish_unstarted(&pen);
            return false;
        }
        let mut erased = Some(pen.erase());
        match in_call(&mut erased, &mut context, || work.start().0) {
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

    /// Ends the call unstarted: drops the work (user values; a panicking destructor is
    /// contained), then cancels the pending, so it ends however the drop went.
    fn cancel_now(self, msg: &str, caller: &str) {
        let CallJob {
            pen, context, work, ..
        } = self;
        drop_contained((work, context), caller);
        pen.cancel(Some(msg));
        finish_unstarted(&pen);
    }
}

impl<W, M> Runnable for CallJob<W, M>
where
    W: IntoCall<M>,
    M: 'static,
{
    fn run(self: Box<Self>, lp: &Rc<LoopState>) -> bool {
        (*self).run_now(lp)
    }

    fn cancel(self: Box<Self>, msg: &str, caller: &str) {
        (*self).cancel_now(msg, caller);
    }

    fn touch(&self) {
        std::hint::black_box(self.pen.done());
    }
}

/// Drops `value`, user data of a call (its closure's captures, its context, a value nobody
/// will read), where a panic in a destructor must not unwind: not through the loop (the calls
/// of its batch would never end) nor into a thread calling `stop`. The panic is logged.
pub(crate) fn drop_contained<V>(value: V, caller: &str) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        log_contained(
            payload,
            caller,
            "dropping a call's closure or value panicked",
        );
    }
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
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        // A payload whose destructor panics, twice: leak it rather than unwind.
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
pub(crate) struct DelayedJob<W: IntoCall<M>, M> {
    pub(crate) call: CallJob<W, M>,
    pub(crate) not_before: Instant,
}

impl<W, M> Runnable for DelayedJob<W, M>
where
    W: IntoCall<M>,
    M: 'static,
{
    fn run(self: Box<Self>, lp: &Rc<LoopState>) -> bool {
        let DelayedJob { call, not_before } = *self;
        if not_before <= Instant::now() {
            return call.run_now(lp);
        }
        let CallJob {
            pen, context, work, ..
        } = call;
        if !pen.begin_run() {
            drop_contained((work, context), &lp.caller.name);
            finish_unstarted(&pen);
            return false;
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

    fn cancel(self: Box<Self>, msg: &str, caller: &str) {
        self.call.cancel_now(msg, caller);
    }
}

/// A `call_direct` closure (SPEC C10): run by the loop itself, in order, with no pending.
pub(crate) struct DirectJob<F>(pub(crate) F);

impl<F: FnOnce() + Send + 'static> Runnable for DirectJob<F> {
    fn run(self: Box<Self>, lp: &Rc<LoopState>) -> bool {
        let f = self.0;
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            tracing::error!(
                caller = %lp.caller.name,
                panic = %panic_text(&*payload),
                "a call_direct function panicked; the caller goes on"
            );
        }
        false
    }

    fn cancel(self: Box<Self>, _msg: &str, caller: &str) {
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
    });
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
    let mut batch = Batch::default();
    loop {
        if batch.is_empty() {
            caller.queue.take_into(&mut batch);
        }
        if batch.is_empty() {
            if caller.state() >= CallerState::Stopping {
                break;
            }
            caller.queue.sleep().await;
            continue;
        }
        {
            // Plain and direct calls run inline: under the caller's span like its tasks
            // (SPEC C3 `log`). Entered once per batch; no await inside.
            let _span = caller.span.enter();
            while let Some(job) = batch.pop_front() {
                if let Some(next) = batch.front() {
                    next.touch();
                }
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

    // SPEC C6: running tasks are cancelled; wait until every one has really ended.
    let message = caller.stop_message();
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
