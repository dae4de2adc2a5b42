//! [`Caller`]: a thread with its own event loop that any thread can schedule work onto (the
//! reference's `async_kernel.caller` module).
//!
//! ```
//! use async_kernel::caller::{Async, Caller, CallerOptions, Modifier};
//!
//! let caller = Caller::new(Modifier::NewThread, CallerOptions::named("worker")).unwrap();
//! let sum = caller.call_soon(|| 2 + 2).unwrap();
//! let later = caller.call_soon(Async(|| async { "from the caller's loop" })).unwrap();
//! assert_eq!(sum.wait_sync(None).unwrap(), 4);
//! assert_eq!(later.wait_sync(None).unwrap(), "from the caller's loop");
//! caller.stop(false);
//! caller.join().unwrap();
//! ```

mod call;
mod completion;
mod driver;
mod function_queue;
#[cfg(feature = "zmq")]
mod iopub;
mod lifecycle;
mod options;
mod pool;
mod registry;
mod scheduler;
mod submissions;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

pub use self::call::{Async, Fallible, FallibleAsync, IntoCall, Plain};
pub use self::completion::{
    AsCompleted, IntoWatched, Items, PendingOrFuture, ReturnWhen, Schedule, Watched,
};
pub use self::function_queue::{IntoQueueFn, QueuedFunction};
pub use self::options::{CallOptions, CallerError, CallerOptions, CallerState, Modifier};
// One rustdoc path per type: with the `zmq` feature the context lives in `iopub`; without it
// the stand-in that cannot be made lives here.
#[cfg(not(feature = "zmq"))]
pub use self::options::ZmqContext;
pub use self::pool::WorkerPool;
pub use crate::backend::{Backend, BackendOptions, TokioOptions};
#[doc(no_inline)]
pub use crate::group::PendingGroup;
#[cfg(feature = "zmq")]
#[doc(no_inline)]
pub use crate::iopub::ZmqContext;

use self::scheduler::{CallCell, CallWork, DelayedWork, DirectJob};
use self::submissions::Submissions;
use crate::any_pending::AnyPending;
use crate::context::Context;
use crate::event::Event;
use crate::pending::Pending;

/// A handle to a thread-affine scheduler: a thread running its own event loop, onto which any
/// thread can schedule work (SPEC C1–C14).
///
/// Closures handed to a caller are `Send`; an async closure's future runs only on the caller's
/// thread and may be `!Send`. Every call returns a [`Pending`] that any thread can await, block
/// on or cancel. Clones are handles to the same caller; equality is identity.
///
/// # Guarantees
/// * Calls run in the order they were scheduled; plain closures run inline on the loop.
/// * A call runs inside the [`Context`] captured when it was scheduled, so a
///   [`PendingGroup`] sees the pendings it creates (SPEC T2).
/// * A panic in user code becomes the pending's [`PendingError::Panicked`](crate::PendingError)
///   and the caller keeps serving.
/// * No result is lost: every scheduled call's pending ends (value, failure or cancelled),
///   also when the caller stops first (SPEC C6).
/// * Blocking on a call's pending from the caller's own thread returns an error at once
///   instead of deadlocking (SPEC P11).
///
/// # Drop
/// Dropping handles does not stop a caller; [`stop`](Caller::stop) does. A caller's thread
/// holds its own handle until it has stopped.
/// # Example
/// ```
/// use async_kernel::caller::{Async, Caller, CallerOptions, Modifier};
///
/// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-caller"))?;
/// let pen = caller.call_soon(Async(|| async {
///     let local = std::rc::Rc::new(21); // !Send is fine: it never leaves the caller's thread
///     *local * 2
/// }))?;
/// assert_eq!(pen.wait_sync(None)?, 42);
/// caller.stop(false);
/// caller.join()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Caller {
    pub(crate) inner: Arc<CallerInner>,
}

pub(crate) struct CallerInner {
    pub(crate) id: u32,
    pub(crate) name: String,
    /// The name of the thread it runs on (to find the main thread's caller).
    thread_name: Option<String>,
    backend: Backend,
    backend_options: BackendOptions,
    protected: bool,
    zmq_context: Option<ZmqContext>,
    /// The span every call runs under.
    pub(crate) span: tracing::Span,
    state: AtomicU8,
    thread: OnceLock<ThreadId>,
    join_handle: Mutex<Option<JoinHandle<()>>>,
    pub(crate) queue: Submissions,
    children: Mutex<Vec<Caller>>,
    parent: Mutex<Weak<CallerInner>>,
    stopped: Event,
    pub(crate) running_tasks: AtomicUsize,
    /// The open per-function queues, closed on stop (SPEC C6, Q4).
    pub(crate) function_queues: function_queue::CallerQueues,
    /// Workers for `to_thread` (`pool.rs`).
    pub(crate) pool: WorkerPool,
}

impl CallerInner {
    pub(crate) fn state(&self) -> CallerState {
        CallerState::from_u8(self.state.load(Ordering::Acquire))
    }

    fn set_state(&self, state: CallerState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Moves to running unless a stop came first; false when stopping.
    pub(crate) fn mark_running(&self) -> bool {
        loop {
            let current = self.state.load(Ordering::Acquire);
            if current >= CallerState::Stopping as u8 {
                return false;
            }
            if self
                .state
                .compare_exchange(
                    current,
                    CallerState::Running as u8,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                return true;
            }
        }
    }

    /// The message calls are cancelled with when this caller stops.
    pub(crate) fn stop_message(&self) -> String {
        format!("Cancelled because caller {:?} stopped.", self.name)
    }

    fn lock_children(&self) -> std::sync::MutexGuard<'_, Vec<Caller>> {
        self.children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for CallerInner {
    fn drop(&mut self) {
        // Pendings name their caller by id (SPEC P2); the name lives as long as the caller.
        crate::call_names::forget_caller(self.id);
    }
}

impl PartialEq for Caller {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
impl Eq for Caller {}
impl Hash for Caller {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.inner) as usize).hash(state)
    }
}

impl Caller {
    /// How many idle pooled workers `to_thread` keeps (SPEC C12; the pool arrives with
    /// `to_thread`).
    pub const MAX_IDLE_POOL_INSTANCES: usize = 10;

    /// How long an idle pooled worker lives before it is stopped (SPEC C13).
    pub const IDLE_WORKER_SHUTDOWN_DURATION: Duration = Duration::from_secs(60);

    /// The caller running on this thread, if any.
    pub fn current() -> Option<Caller> {
        registry::get(std::thread::current().id())
    }

    /// The caller registered for `thread`, if any (SPEC C14).
    pub fn get_current(thread: ThreadId) -> Option<Caller> {
        registry::get(thread)
    }

    /// The pending of the call running on this thread, when called from inside a function
    /// scheduled by a caller (SPEC C9).
    pub fn current_pending() -> Option<AnyPending> {
        scheduler::current_pending()
    }

    /// Every registered caller; with `running_only`, only those in the running state (SPEC C14).
    pub fn all_callers(running_only: bool) -> Vec<Caller> {
        registry::all()
            .into_iter()
            .filter(|c| !running_only || c.running())
            .collect()
    }

    /// The caller's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The thread the caller runs on.
    pub fn thread(&self) -> ThreadId {
        // Unset only in the first instant of a new caller thread, before its creator recorded
        // it; the only code that can ask then runs on that very thread.
        self.thread_id()
            .unwrap_or_else(|| std::thread::current().id())
    }

    pub(crate) fn thread_id(&self) -> Option<ThreadId> {
        self.inner.thread.get().copied()
    }

    /// The event loop backend.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The backend options.
    pub fn backend_options(&self) -> &BackendOptions {
        &self.inner.backend_options
    }

    /// True when [`stop`](Caller::stop) is ignored unless forced.
    pub fn protected(&self) -> bool {
        self.inner.protected
    }

    /// The ZeroMQ context (SPEC C15): set, the caller has its own iopub socket while it runs.
    /// Always `None` without the `zmq` feature.
    pub fn zmq_context(&self) -> Option<&ZmqContext> {
        self.inner.zmq_context.as_ref()
    }

    /// True while the caller runs requests (SPEC C4).
    pub fn running(&self) -> bool {
        self.state() == CallerState::Running
    }

    /// The life-cycle state (SPEC C4).
    pub fn state(&self) -> CallerState {
        self.inner.state()
    }

    /// The children created with [`get`](Caller::get) that have not stopped yet (SPEC C11).
    pub fn children(&self) -> Vec<Caller> {
        // The list also holds stopped children whose threads are not joined yet.
        self.inner
            .lock_children()
            .iter()
            .filter(|c| c.state() != CallerState::Stopped)
            .cloned()
            .collect()
    }

    /// The caller that created this one with `get`, unless it has stopped (SPEC C14).
    pub fn parent(&self) -> Option<Caller> {
        let weak = self
            .inner
            .parent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let parent = Caller {
            inner: weak.upgrade()?,
        };
        (parent.state() != CallerState::Stopped).then_some(parent)
    }

    /// Set once the caller has stopped and all its children have (SPEC C6, C14). Blocking on
    /// it with [`Event::wait_sync`] on the caller's own thread is an error at once (it would
    /// wait for itself, SPEC P11).
    pub fn stopped(&self) -> Event {
        self.inner.stopped.clone()
    }

    /// The span calls run under (the reference's `log`).
    pub fn log(&self) -> &tracing::Span {
        &self.inner.span
    }

    /// Calls queued and not yet taken by the loop.
    pub fn queue_depth(&self) -> usize {
        self.inner.queue.len()
    }

    /// Async calls running as tasks on the loop right now.
    pub fn running_tasks(&self) -> usize {
        self.inner.running_tasks.load(Ordering::Relaxed)
    }

    /// Schedules `work` on the caller's thread with `options` (thread-safe, SPEC C8).
    ///
    /// The pending is created in the call's context (so active trackers track it) and the call
    /// runs in that context. Prefer [`call_soon`](Caller::call_soon) and
    /// [`call_later`](Caller::call_later).
    ///
    /// # Errors
    /// [`CallerError::NotAccepting`] when the caller is stopping or stopped (SPEC C7);
    /// [`CallerError::InvalidState`] when a tracker of the context is exiting (SPEC P3).
    pub fn schedule_call<W, M>(
        &self,
        work: W,
        options: CallOptions,
    ) -> Result<Pending<W::Output>, CallerError>
    where
        W: IntoCall<M>,
        M: 'static,
    {
        self.check_accepting()?;
        let CallOptions {
            context,
            metadata,
            untracked,
            delay,
        } = options;
        let function = crate::call_names::function_id::<W>();
        if context.is_none() && metadata.is_empty() && delay.is_none() {
            // The common case (`call_soon`): no builder, no metadata to gather. An empty
            // context holds no tracker: tracking is skipped without looking again.
            let context = Context::current();
            let track = !untracked && !context.is_empty();
            let (pen, cell) =
                Pending::place(None, Some((self.inner.id, function)), track, |inner| {
                    CallCell::new(inner, CallWork::new(context, work))
                })?;
            return self.push_cell(pen, cell);
        }
        let mut builder = Pending::builder()
            .allow_tracking(!untracked)
            .scheduled(self.inner.id, function);
        for (key, value) in metadata {
            builder = builder.metadata(key, value);
        }
        match delay {
            None => self.schedule_cell(builder, context, |context| CallWork::new(context, work)),
            Some(d) => {
                let not_before = scheduler::deadline_after(d);
                builder = builder.metadata("delay", d.as_secs_f64());
                self.schedule_cell(builder, context, |context| DelayedWork {
                    call: CallWork::new(context, work),
                    not_before,
                })
            }
        }
    }

    /// Makes a call's pending and work in one allocation ([`CallCell`]) and queues it. The
    /// pending is made in the call's context, so that context's trackers see it; the work
    /// runs in that context.
    fn schedule_cell<T, P>(
        &self,
        builder: crate::pending::PendingBuilder<T>,
        context: Option<Context>,
        payload: impl FnOnce(Context) -> P,
    ) -> Result<Pending<T>, CallerError>
    where
        T: Send + 'static,
        P: scheduler::Payload<T>,
    {
        // Inside the call's context, `Context::current()` is that context.
        let make = || builder.build_in(|inner| CallCell::new(inner, payload(Context::current())));
        let (pen, cell) = match context {
            Some(mut context) => context.run_mut(make)?,
            None => make()?,
        };
        self.push_cell(pen, cell)
    }

    /// Queues a call made by [`schedule_cell`](Self::schedule_cell).
    fn push_cell<T, P>(
        &self,
        pen: Pending<T>,
        cell: Arc<CallCell<T, P>>,
    ) -> Result<Pending<T>, CallerError>
    where
        T: Send + 'static,
        P: scheduler::Payload<T>,
    {
        match scheduler::queue_job(&self.inner, cell) {
            Ok(()) => Ok(pen),
            Err(job) => {
                // Closed between the check and the push: the pending must still end.
                job.cancel(&self.inner.stop_message(), &self.inner.name);
                Err(self.not_accepting())
            }
        }
    }

    /// Schedules `work` to run soon, in a snapshot of the current context (SPEC C8).
    ///
    /// `work` is a plain closure or one marked with [`Async`], [`Fallible`], [`FallibleAsync`]
    /// or [`Plain`] (see [`IntoCall`]). A plain closure that returns a future does not compile:
    /// the error reads "type annotations needed ... cannot infer type of the type parameter
    /// `M`" (or "type annotations needed for `Pending<_>`"). Annotations do not help: wrap the
    /// closure in [`Async`] to run its future.
    ///
    /// ```
    /// use async_kernel::caller::{Caller, CallerOptions, Fallible, Modifier};
    ///
    /// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-soon")).unwrap();
    /// assert_eq!(caller.call_soon(|| 6 * 7).unwrap().wait_sync(None).unwrap(), 42);
    /// let failed = caller.call_soon(Fallible(|| "x".parse::<u8>())).unwrap();
    /// assert!(failed.wait_sync(None).is_err());
    /// caller.stop(false);
    /// ```
    ///
    /// # Errors
    /// As [`schedule_call`](Caller::schedule_call).
    pub fn call_soon<W, M>(&self, work: W) -> Result<Pending<W::Output>, CallerError>
    where
        W: IntoCall<M>,
        M: 'static,
    {
        self.schedule_call(work, CallOptions::default())
    }

    /// Schedules `work` to run no sooner than `delay` after this call (SPEC C8: the delay counts
    /// from scheduling, not from when the loop gets to it). A delay too long for a deadline
    /// (`Duration::MAX`) saturates: the call waits until cancelled or the caller stops.
    ///
    /// # Errors
    /// As [`schedule_call`](Caller::schedule_call).
    ///
    /// # Example
    /// ```
    /// use std::time::{Duration, Instant};
    /// use async_kernel::caller::{Caller, CallerOptions, Modifier};
    ///
    /// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-later"))?;
    /// let scheduled = Instant::now();
    /// let pen = caller.call_later(Duration::from_millis(20), move || scheduled.elapsed())?;
    /// assert!(pen.wait_sync(None)? >= Duration::from_millis(20));
    /// caller.stop(false);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn call_later<W, M>(
        &self,
        delay: Duration,
        work: W,
    ) -> Result<Pending<W::Output>, CallerError>
    where
        W: IntoCall<M>,
        M: 'static,
    {
        self.schedule_call(work, CallOptions::default().delay(delay))
    }

    /// Runs `f` in the scheduler itself, in order with the queue, with no pending (SPEC C10).
    /// For lightweight calls only: a panic is logged and the scheduler goes on.
    ///
    /// # Errors
    /// [`CallerError::NotAccepting`] when the caller is stopping or stopped.
    pub fn call_direct(&self, f: impl FnOnce() + Send + 'static) -> Result<(), CallerError> {
        self.check_accepting()?;
        self.inner
            .queue
            .push(scheduler::owned(DirectJob(f)))
            .map_err(|_| self.not_accepting())
    }

    /// A new [`PendingGroup`] bound to this caller (SPEC W5): its
    /// [`caller()`](PendingGroup::caller) is this caller, asked from any thread.
    pub fn create_pending_group(&self, shield: bool) -> PendingGroup {
        PendingGroup::with_owner(shield, Some(Arc::new(self.clone())))
    }

    fn check_accepting(&self) -> Result<(), CallerError> {
        if self.state() >= CallerState::Stopping {
            return Err(self.not_accepting());
        }
        Ok(())
    }

    fn not_accepting(&self) -> CallerError {
        CallerError::NotAccepting {
            caller: self.inner.name.clone(),
            state: self.state(),
        }
    }
}

impl PendingGroup {
    /// The group's caller (the reference's `PendingGroup.caller`, used to start work that the
    /// group then tracks), the same from every thread: the caller that made it with
    /// [`Caller::create_pending_group`], otherwise the caller of the thread that made it.
    pub fn caller(&self) -> Option<Caller> {
        self.owner::<Caller>()
            .or_else(|| Caller::get_current(self.created_on()))
    }
}

impl fmt::Debug for Caller {
    /// `Caller<name tokio 🏃 running 2 children>`, like the reference's repr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.children().len();
        let children = match n {
            0 => String::new(),
            1 => " 1 child".to_owned(),
            n => format!(" {n} children"),
        };
        write!(
            f,
            "Caller<{} {} {}{}>",
            self.inner.name,
            self.inner.backend,
            self.state().badge(),
            children
        )
    }
}
