//! The worker pool behind [`Caller::to_thread`] (SPEC C12, C13) and the one reaper of the
//! process that stops idle workers.
//!
//! A worker is a child caller on a new thread with its parent's backend and backend options.
//! It runs one job at a time; when the job ends it goes back to its parent's pool (at most
//! [`Caller::max_idle_pool_instances`] idle workers), or stops. The reaper, one thread for the
//! whole process, stops workers that stayed idle longer than
//! [`Caller::idle_worker_shutdown_duration`]; it sleeps while no pool holds an idle worker.
//!
//! Beyond the reference, a pool can cap its total number of workers
//! ([`WorkerPool::set_max_workers`]): calls beyond the cap wait for a free worker, in the order
//! they were made, and their pendings can be cancelled while they wait.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::context::Context;
use crate::pending::Pending;

use super::call::IntoCall;
use super::scheduler::{CallJob, CallWork, owned};
use super::{CallOptions, Caller, CallerError, CallerInner, CallerOptions, CallerState};

/// The process-wide number of idle workers a pool keeps (SPEC C12).
static MAX_IDLE: AtomicUsize = AtomicUsize::new(Caller::MAX_IDLE_POOL_INSTANCES);

/// The process-wide idle time after which the reaper stops a worker, in nanoseconds (SPEC C13).
static IDLE_SHUTDOWN_NANOS: AtomicU64 =
    AtomicU64::new(Caller::IDLE_WORKER_SHUTDOWN_DURATION.as_nanos() as u64);

/// A per-pool setting that follows the process-wide one.
const FOLLOW: usize = usize::MAX;
/// The same for the idle shutdown duration.
const FOLLOW_NANOS: u64 = u64::MAX;

/// Name of the reaper's thread.
const REAPER_THREAD_NAME: &str = "async_kernel_reaper";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(FOLLOW_NANOS - 1)
}

impl Caller {
    /// The process-wide number of idle workers each pool keeps: [`MAX_IDLE_POOL_INSTANCES`]
    /// unless changed with [`set_max_idle_pool_instances`] (SPEC C12). A pool can override it
    /// ([`WorkerPool::set_max_idle`]).
    ///
    /// [`MAX_IDLE_POOL_INSTANCES`]: Caller::MAX_IDLE_POOL_INSTANCES
    /// [`set_max_idle_pool_instances`]: Caller::set_max_idle_pool_instances
    pub fn max_idle_pool_instances() -> usize {
        MAX_IDLE.load(Ordering::Relaxed)
    }

    /// Sets the process-wide number of idle workers a pool keeps. Workers already idle beyond
    /// the new number stay until they are used or reaped.
    pub fn set_max_idle_pool_instances(n: usize) {
        MAX_IDLE.store(n.min(FOLLOW - 1), Ordering::Relaxed);
    }

    /// The process-wide time an idle worker lives before the reaper stops it:
    /// [`IDLE_WORKER_SHUTDOWN_DURATION`] unless changed with
    /// [`set_idle_worker_shutdown_duration`] (SPEC C13). Zero disables the reaper. A pool can
    /// override it ([`WorkerPool::set_idle_shutdown`]).
    ///
    /// [`IDLE_WORKER_SHUTDOWN_DURATION`]: Caller::IDLE_WORKER_SHUTDOWN_DURATION
    /// [`set_idle_worker_shutdown_duration`]: Caller::set_idle_worker_shutdown_duration
    pub fn idle_worker_shutdown_duration() -> Duration {
        Duration::from_nanos(IDLE_SHUTDOWN_NANOS.load(Ordering::Relaxed))
    }

    /// Sets the process-wide idle time after which workers are stopped (zero: never). Takes
    /// effect at once, also for workers already idle.
    pub fn set_idle_worker_shutdown_duration(duration: Duration) {
        IDLE_SHUTDOWN_NANOS.store(duration_nanos(duration), Ordering::Relaxed);
        reaper().nudge();
    }

    /// This caller's worker pool: its size, and its limits.
    pub fn pool(&self) -> &WorkerPool {
        &self.inner.pool
    }

    /// Runs `work` on a worker thread with this caller's backend (SPEC C12): an idle pooled
    /// worker (the one idle longest first) or a new child caller on a new thread. `work` takes
    /// the shapes of [`call_soon`](Caller::call_soon): `|| value`, [`Async`](super::Async),
    /// [`Fallible`](super::Fallible), [`FallibleAsync`](super::FallibleAsync).
    ///
    /// When the job ends the worker goes back to the pool while the pool holds fewer than
    /// [`max_idle`](WorkerPool::max_idle) idle workers and this caller is not stopping;
    /// otherwise it stops. When the pool has a cap ([`WorkerPool::set_max_workers`]) and every
    /// worker is busy, the call waits for a free worker, after those that waited before it.
    ///
    /// The pending is created in the current context (so a [`PendingGroup`](super::PendingGroup)
    /// tracks it) and the job runs in that context. Cancelling it cancels the job: before it
    /// started, it never runs; an async job stops at its next await point; a plain closure
    /// that is running finishes and the pending still ends cancelled.
    ///
    /// ```
    /// use async_kernel::caller::{Caller, CallerOptions, Modifier};
    ///
    /// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-to-thread")).unwrap();
    /// let on_worker = caller.to_thread(|| std::thread::current().name().map(str::to_owned)).unwrap();
    /// let name = on_worker.wait_sync(None).unwrap().unwrap();
    /// assert!(name.starts_with("doc-to-thread-worker"));
    /// assert_eq!(caller.pool().workers(), 1);
    /// caller.stop(false);
    /// caller.join().unwrap();
    /// assert_eq!(caller.pool().workers(), 0);
    /// ```
    ///
    /// # Errors
    /// [`CallerError::NotAccepting`] when this caller is stopping or stopped (SPEC C7);
    /// [`CallerError::Start`] when a worker thread cannot be created;
    /// [`CallerError::InvalidState`] when a tracker of the context is exiting (SPEC P3).
    pub fn to_thread<W, M>(&self, work: W) -> Result<Pending<W::Output>, CallerError>
    where
        W: IntoCall<M>,
        M: 'static,
    {
        self.check_accepting()?;
        let shared = &self.inner.pool.shared;
        match shared.acquire() {
            Slot::Idle(worker) => shared.run_on(worker, work),
            Slot::New(number) => {
                let worker = shared
                    .spawn_worker(self, number)
                    .inspect_err(|_| shared.slot_lost())?;
                shared.run_on(worker, work)
            }
            Slot::Full => {
                // Made here, in the caller's context, so trackers see it now; it runs once a
                // worker is free. Runner 0: no caller thread owns it until `Waiter::start`.
                let pen = Pending::builder()
                    .scheduled(0, crate::call_names::function_id::<W>())
                    .build()?;
                let waiter = Box::new(Waiting {
                    pen: pen.clone(),
                    context: Context::current(),
                    work,
                    _marker: PhantomData,
                });
                shared.enqueue(self, waiter);
                Ok(pen)
            }
        }
    }
}

/// A caller's pool of worker threads for [`Caller::to_thread`] (SPEC C12, C13): how many workers
/// it has, and its limits. Reached through [`Caller::pool`].
///
/// ```
/// use std::time::Duration;
/// use async_kernel::caller::{Caller, CallerOptions, Modifier};
///
/// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-pool")).unwrap();
/// caller.pool().set_max_workers(Some(2)); // never more than two worker threads
/// caller.pool().set_idle_shutdown(Some(Duration::from_secs(5))); // this pool only
/// let jobs: Vec<_> = (0..10).map(|i| caller.to_thread(move || i * 2).unwrap()).collect();
/// assert!(caller.pool().workers() <= 2);
/// let sum: i32 = jobs.iter().map(|p| p.wait_sync(None).unwrap()).sum();
/// assert_eq!(sum, 90);
/// caller.stop(false);
/// caller.join().unwrap();
/// ```
pub struct WorkerPool {
    pub(crate) shared: Arc<PoolShared>,
}

impl WorkerPool {
    pub(crate) fn new() -> Self {
        WorkerPool {
            shared: Arc::new(PoolShared {
                state: Mutex::new(PoolState::default()),
                parent: OnceLock::new(),
                max_workers: AtomicUsize::new(0),
                max_idle: AtomicUsize::new(FOLLOW),
                idle_shutdown: AtomicU64::new(FOLLOW_NANOS),
            }),
        }
    }

    /// Workers alive: idle ones and those running (or starting to run) a job.
    pub fn workers(&self) -> usize {
        let state = lock(&self.shared.state);
        state.idle.len() + state.busy
    }

    /// Idle workers waiting in the pool.
    pub fn idle(&self) -> usize {
        lock(&self.shared.state).idle.len()
    }

    /// Workers running a job.
    pub fn busy(&self) -> usize {
        lock(&self.shared.state).busy
    }

    /// `to_thread` calls waiting for a worker because the pool is at its cap.
    pub fn waiting(&self) -> usize {
        lock(&self.shared.state).waiting.len()
    }

    /// The cap on the number of workers, if any (beyond the reference; default none).
    pub fn max_workers(&self) -> Option<usize> {
        match self.shared.max_workers.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    /// Caps the number of workers (`None`: no cap; `Some(0)` counts as 1). Calls beyond the cap
    /// wait for a free worker in the order they were made. Raising the cap starts workers for
    /// waiting calls at once; lowering it stops no worker, the pool shrinks as jobs end.
    pub fn set_max_workers(&self, cap: Option<usize>) {
        let value = cap.map_or(0, |n| n.max(1));
        self.shared.max_workers.store(value, Ordering::Relaxed);
        self.shared.fill_waiting();
    }

    /// How many idle workers this pool keeps: its own setting, or the process-wide
    /// [`Caller::max_idle_pool_instances`].
    pub fn max_idle(&self) -> usize {
        self.shared.max_idle()
    }

    /// Sets how many idle workers this pool keeps; `None` follows the process-wide setting.
    pub fn set_max_idle(&self, n: Option<usize>) {
        let value = n.map_or(FOLLOW, |n| n.min(FOLLOW - 1));
        self.shared.max_idle.store(value, Ordering::Relaxed);
    }

    /// How long a worker of this pool may stay idle before the reaper stops it: its own
    /// setting, or the process-wide [`Caller::idle_worker_shutdown_duration`]. Zero: never.
    pub fn idle_shutdown(&self) -> Duration {
        self.shared.idle_shutdown()
    }

    /// Sets this pool's idle shutdown duration; `None` follows the process-wide setting.
    /// Takes effect at once, also for workers already idle.
    pub fn set_idle_shutdown(&self, duration: Option<Duration>) {
        let value = duration.map_or(FOLLOW_NANOS, duration_nanos);
        self.shared.idle_shutdown.store(value, Ordering::Relaxed);
        reaper().nudge();
    }
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("WorkerPool")
            .field("idle", &state.idle.len())
            .field("busy", &state.busy)
            .field("waiting", &state.waiting.len())
            .field("max_workers", &self.max_workers())
            .finish()
    }
}

pub(crate) struct PoolShared {
    state: Mutex<PoolState>,
    /// The caller that owns the pool (set by its first `to_thread`): waiting calls need it to
    /// start workers.
    parent: OnceLock<Weak<CallerInner>>,
    /// 0: no cap.
    max_workers: AtomicUsize,
    /// `FOLLOW`: the process-wide setting.
    max_idle: AtomicUsize,
    /// `FOLLOW_NANOS`: the process-wide setting.
    idle_shutdown: AtomicU64,
}

#[derive(Default)]
struct PoolState {
    /// Idle workers, the longest idle first.
    idle: VecDeque<IdleWorker>,
    /// Workers running a job, or being started for one.
    busy: usize,
    /// Calls waiting for a worker (only with a cap), first come first served.
    waiting: VecDeque<Box<dyn Waiter>>,
    /// The parent is stopping: no worker returns, nothing waits.
    closed: bool,
    /// The pool is in the reaper's list.
    registered: bool,
    /// Numbers the workers' names.
    next_number: u64,
}

struct IdleWorker {
    worker: Caller,
    since: Instant,
}

/// What `acquire` found.
enum Slot {
    Idle(Caller),
    /// Start worker number N (a slot is reserved).
    New(u64),
    /// At the cap.
    Full,
}

impl PoolShared {
    fn max_idle(&self) -> usize {
        match self.max_idle.load(Ordering::Relaxed) {
            FOLLOW => Caller::max_idle_pool_instances(),
            n => n,
        }
    }

    fn idle_shutdown(&self) -> Duration {
        match self.idle_shutdown.load(Ordering::Relaxed) {
            FOLLOW_NANOS => Caller::idle_worker_shutdown_duration(),
            n => Duration::from_nanos(n),
        }
    }

    fn has_room(&self, state: &PoolState) -> bool {
        match self.max_workers.load(Ordering::Relaxed) {
            0 => true,
            cap => state.busy + state.idle.len() < cap,
        }
    }

    /// An idle worker, or a reserved slot for a new one, or `Full` (at the cap, or calls are
    /// waiting already: they go first).
    fn acquire(&self) -> Slot {
        let mut state = lock(&self.state);
        self.acquire_locked(&mut state)
    }

    fn acquire_locked(&self, state: &mut PoolState) -> Slot {
        if !state.waiting.is_empty() {
            return Slot::Full;
        }
        while let Some(idle) = state.idle.pop_front() {
            if idle.worker.state() < CallerState::Stopping {
                state.busy += 1;
                return Slot::Idle(idle.worker);
            }
        }
        if self.has_room(state) {
            state.busy += 1;
            state.next_number += 1;
            return Slot::New(state.next_number);
        }
        Slot::Full
    }

    /// Starts worker `number` as a child of `parent`, in a slot reserved by `acquire` (the
    /// caller releases the slot when this fails).
    fn spawn_worker(self: &Arc<Self>, parent: &Caller, number: u64) -> Result<Caller, CallerError> {
        let _ = self.parent.set(Arc::downgrade(&parent.inner));
        let name = format!("{}-worker-{number}", parent.name());
        parent.get(CallerOptions::named(name)).inspect(|worker| {
            // A worker stopped from outside while idle leaves the pool.
            let pool = Arc::downgrade(self);
            let handle = Arc::downgrade(&worker.inner);
            worker.stopped().on_set(move || {
                if let (Some(pool), Some(inner)) = (pool.upgrade(), handle.upgrade()) {
                    lock(&pool.state)
                        .idle
                        .retain(|w| !Arc::ptr_eq(&w.worker.inner, &inner));
                }
            });
            tracing::debug!(worker = %worker.name(), "worker started");
        })
    }

    /// A reserved slot was not used (its worker could not start, or it stopped).
    fn slot_lost(self: &Arc<Self>) {
        lock(&self.state).busy -= 1;
        self.fill_waiting();
    }

    /// Schedules `work` on `worker`, which holds a busy slot; the slot is released when the
    /// job's pending is done.
    fn run_on<W, M>(
        self: &Arc<Self>,
        worker: Caller,
        work: W,
    ) -> Result<Pending<W::Output>, CallerError>
    where
        W: IntoCall<M>,
        M: 'static,
    {
        match worker.schedule_call(work, CallOptions::default()) {
            Ok(pen) => {
                let pool = self.clone();
                pen.add_done_callback(move |_| pool.release(worker));
                Ok(pen)
            }
            Err(e) => {
                // The worker was stopped from outside a moment ago (or a tracker is exiting).
                self.release(worker);
                Err(e)
            }
        }
    }

    /// Queues a call that found the pool full, unless a worker became free meanwhile.
    fn enqueue(self: &Arc<Self>, parent: &Caller, waiter: Box<dyn Waiter>) {
        let _ = self.parent.set(Arc::downgrade(&parent.inner));
        let mut state = lock(&self.state);
        if state.closed {
            drop(state);
            waiter.cancel(&parent.inner.stop_message());
            return;
        }
        state.waiting.push_back(waiter);
        drop(state);
        // A worker may have been freed between `acquire` and the push.
        self.fill_waiting();
    }

    /// Hands free capacity to waiting calls: idle workers first, then new workers while below
    /// the cap.
    fn fill_waiting(self: &Arc<Self>) {
        loop {
            let mut state = lock(&self.state);
            if state.closed {
                return;
            }
            let Some(waiter) = state.waiting.pop_front() else {
                return;
            };
            let worker = loop {
                match state.idle.pop_front() {
                    Some(idle) if idle.worker.state() < CallerState::Stopping => {
                        break Some(idle.worker);
                    }
                    Some(_) => continue,
                    None => break None,
                }
            };
            // An idle worker, or the number of a new one.
            let slot: Result<Caller, u64> = match worker {
                Some(worker) => Ok(worker),
                None if self.has_room(&state) => {
                    state.next_number += 1;
                    Err(state.next_number)
                }
                None => {
                    // Still full: it keeps its place at the head of the line.
                    state.waiting.push_front(waiter);
                    return;
                }
            };
            state.busy += 1;
            drop(state);
            let worker = match slot {
                Ok(worker) => worker,
                Err(number) => {
                    let started = match self.parent.get().and_then(Weak::upgrade) {
                        Some(inner) => self
                            .spawn_worker(&Caller { inner }, number)
                            .map_err(|e| e.to_string()),
                        None => Err("its caller is gone".to_owned()),
                    };
                    match started {
                        Ok(worker) => worker,
                        Err(e) => {
                            lock(&self.state).busy -= 1;
                            waiter.cancel(&format!("Cancelled because no worker could start: {e}"));
                            continue;
                        }
                    }
                }
            };
            self.start_waiter(waiter, worker);
        }
    }

    /// Gives `worker` (holding a busy slot) to `waiter`, and to the next ones while a waiter
    /// gives it back (it was cancelled while waiting).
    fn start_waiter(self: &Arc<Self>, waiter: Box<dyn Waiter>, worker: Caller) {
        let mut waiter = waiter;
        let mut worker = worker;
        loop {
            match waiter.start(worker, self) {
                None => return,
                Some(unused) => worker = unused,
            }
            let mut state = lock(&self.state);
            match state.waiting.pop_front() {
                Some(next) if !state.closed => waiter = next,
                other => {
                    drop(state);
                    if let Some(next) = other {
                        next.cancel(&worker.inner.stop_message());
                    }
                    self.release(worker);
                    return;
                }
            }
        }
    }

    /// A job ended on `worker`: hand it to the next waiting call, keep it idle, or stop it.
    fn release(self: &Arc<Self>, worker: Caller) {
        let mut state = lock(&self.state);
        let alive = worker.state() < CallerState::Stopping;
        if !alive || state.closed {
            drop(state);
            if alive {
                worker.stop(false);
            }
            self.slot_lost();
            return;
        }
        if let Some(waiter) = state.waiting.pop_front() {
            drop(state);
            self.start_waiter(waiter, worker);
            return;
        }
        state.busy -= 1;
        if state.idle.len() < self.max_idle() {
            state.idle.push_back(IdleWorker {
                worker,
                since: Instant::now(),
            });
            let register = !state.registered;
            state.registered = true;
            drop(state);
            if register {
                reaper().register(Arc::downgrade(self));
            }
        } else {
            drop(state);
            tracing::debug!(worker = %worker.name(), "pool full; stopping the worker");
            worker.stop(false);
        }
    }

    /// The parent is stopping (SPEC C6): idle workers stop, waiting calls are cancelled, and
    /// no worker returns.
    pub(crate) fn close(&self, message: &str) {
        let (idle, waiting) = {
            let mut state = lock(&self.state);
            state.closed = true;
            (
                std::mem::take(&mut state.idle),
                std::mem::take(&mut state.waiting),
            )
        };
        for waiter in waiting {
            waiter.cancel(message);
        }
        for idle in idle {
            idle.worker.stop(true);
        }
    }

    /// For the reaper: takes the workers idle since before `now - idle_shutdown` into `expired`
    /// and lowers `next` to the moment the next one expires. False when the pool holds no
    /// idle worker (it then leaves the reaper's list).
    fn reap(&self, now: Instant, expired: &mut Vec<Caller>, next: &mut Option<Instant>) -> bool {
        let mut state = lock(&self.state);
        let limit = self.idle_shutdown();
        if !limit.is_zero() {
            while let Some(front) = state.idle.front() {
                let due = front.since + limit;
                if due <= now {
                    if let Some(idle) = state.idle.pop_front() {
                        expired.push(idle.worker);
                    }
                } else {
                    *next = Some(next.map_or(due, |n| n.min(due)));
                    break;
                }
            }
        }
        if state.idle.is_empty() {
            state.registered = false;
            return false;
        }
        true
    }
}

/// A `to_thread` call waiting for a worker.
trait Waiter: Send {
    /// Runs the call on `worker` (which holds a busy slot). Gives the worker back when the
    /// call was cancelled while it waited.
    fn start(self: Box<Self>, worker: Caller, pool: &Arc<PoolShared>) -> Option<Caller>;
    /// Ends the call cancelled: its caller stopped, or no worker could start.
    fn cancel(self: Box<Self>, message: &str);
}

struct Waiting<W: IntoCall<M>, M> {
    pen: Pending<W::Output>,
    context: Context,
    work: W,
    _marker: PhantomData<fn() -> M>,
}

impl<W, M> Waiter for Waiting<W, M>
where
    W: IntoCall<M>,
    M: 'static,
{
    fn start(self: Box<Self>, worker: Caller, pool: &Arc<PoolShared>) -> Option<Caller> {
        let Waiting {
            pen, context, work, ..
        } = *self;
        if pen.done() {
            // Cancelled while it waited: its user values go, with panics contained.
            super::scheduler::drop_contained((work, context), worker.name());
            return Some(worker);
        }
        // From here the worker's thread runs it: blocking on it there is a deadlock (P11).
        pen.set_runner(worker.inner.id);
        let job = CallJob {
            pen: pen.clone(),
            call: CallWork::new(context, work),
        };
        match worker.inner.queue.push(owned(job)) {
            Ok(()) => {
                // Cancelled between the check and the push: the loop skips the job, and this
                // callback runs at once.
                let pool = pool.clone();
                pen.add_done_callback(move |_| pool.release(worker));
                None
            }
            Err(job) => {
                // The worker stopped from outside: this call ends like its calls.
                job.cancel(&worker.inner.stop_message(), &worker.inner.name);
                pool.release(worker);
                None
            }
        }
    }

    fn cancel(self: Box<Self>, message: &str) {
        let Waiting {
            pen, context, work, ..
        } = *self;
        // User values first, with panics contained (never unwinding into `stop`), then the end.
        super::scheduler::drop_contained((work, context), "to_thread");
        pen.cancel(Some(message));
    }
}

/// The reaper: one thread for the process, started with the first idle worker.
struct Reaper {
    state: Mutex<ReaperState>,
    wake: Condvar,
}

struct ReaperState {
    /// Pools holding idle workers.
    pools: Vec<Weak<PoolShared>>,
    started: bool,
}

fn reaper() -> &'static Reaper {
    static REAPER: Reaper = Reaper {
        state: Mutex::new(ReaperState {
            pools: Vec::new(),
            started: false,
        }),
        wake: Condvar::new(),
    };
    &REAPER
}

impl Reaper {
    /// Adds a pool that now holds idle workers; starts the thread the first time.
    fn register(&'static self, pool: Weak<PoolShared>) {
        let mut state = lock(&self.state);
        state.pools.push(pool);
        if !state.started {
            let spawned = std::thread::Builder::new()
                .name(REAPER_THREAD_NAME.to_owned())
                .spawn(move || self.run());
            match spawned {
                Ok(_) => state.started = true,
                // Idle workers then live until used or their parent stops; the next
                // registration tries again.
                Err(e) => tracing::warn!(error = %e, "could not start the worker reaper"),
            }
        }
        drop(state);
        self.wake.notify_one();
    }

    /// A setting changed: look again.
    fn nudge(&self) {
        let _state = lock(&self.state);
        self.wake.notify_one();
    }

    fn run(&'static self) {
        let mut state = lock(&self.state);
        loop {
            let now = Instant::now();
            let mut next = None;
            let mut expired = Vec::new();
            state.pools.retain(|pool| {
                pool.upgrade()
                    .is_some_and(|pool| pool.reap(now, &mut expired, &mut next))
            });
            if !expired.is_empty() {
                drop(state);
                for worker in expired {
                    tracing::debug!(worker = %worker.name(), "idle too long; stopping the worker");
                    worker.stop(false);
                }
                state = lock(&self.state);
                continue;
            }
            state = match next {
                None => self
                    .wake
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
                Some(at) => {
                    self.wake
                        .wait_timeout(state, at.saturating_duration_since(now))
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}
