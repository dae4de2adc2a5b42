//! Creating, starting, entering and stopping callers (SPEC C1–C7, C11).

use std::future::Future;
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;

use futures_util::FutureExt as _;

use crate::backend::{self, Backend, LocalSpawner, Runtime};
use crate::event::Event;
use crate::thread_role;

use super::scheduler::run_loop;
use super::submissions::Submissions;
use super::{Caller, CallerError, CallerInner, CallerOptions, CallerState, Modifier, registry};

/// The name of a new caller thread when none is given (SPEC C1).
const DEFAULT_THREAD_NAME: &str = "async_kernel_caller";

impl Caller {
    /// Finds or creates a caller (SPEC C1–C3; the reference's `Caller(modifier, **options)`).
    ///
    /// * [`Modifier::CurrentThread`]: the caller of this thread, or a new one bound to it (not
    ///   running until the thread enters it with [`run`](Caller::run)/[`run_async`](Caller::run_async)).
    /// * [`Modifier::MainThread`]: the same for the thread named `"main"`.
    /// * [`Modifier::NewThread`]: a new thread, started at once.
    /// * [`Modifier::Manual`]: a new caller bound to this thread, not started.
    ///
    /// Without [`CallerOptions::backend`], a new thread runs tokio when compiled in; a caller of
    /// an existing thread runs the tokio runtime visible there, or else the one backend
    /// compiled in.
    ///
    /// # Errors
    /// [`CallerError::InvalidName`] when the name contains a NUL byte;
    /// [`CallerError::NameMismatch`] / [`CallerError::BackendMismatch`] when the thread's
    /// caller differs from the options; [`CallerError::AlreadyExists`] for `Manual` on a thread
    /// with a caller; [`CallerError::NoBackend`] when no backend is given or can be told (both
    /// backends compiled in and no tokio runtime on this thread);
    /// [`CallerError::BackendUnavailable`]; [`CallerError::Start`] when the thread or its
    /// runtime cannot be created.
    ///
    /// # Example
    /// ```
    /// use async_kernel::caller::{Backend, Caller, CallerOptions, Modifier};
    ///
    /// let caller = Caller::new(
    ///     Modifier::NewThread,
    ///     CallerOptions::named("doc-new").backend(Backend::Tokio),
    /// )?;
    /// assert_eq!(caller.name(), "doc-new");
    /// assert_eq!(caller.call_soon(|| 1 + 1)?.wait_sync(None)?, 2);
    /// caller.stop(false);
    /// caller.join()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(modifier: Modifier, options: CallerOptions) -> Result<Caller, CallerError> {
        if let Some(name) = options.name.as_deref().filter(|n| n.contains('\0')) {
            // A caller's name becomes its thread's name, and thread names cannot hold NUL.
            return Err(CallerError::InvalidName {
                name: name.to_owned(),
            });
        }
        let current = std::thread::current();
        let bound_thread = match modifier {
            Modifier::CurrentThread | Modifier::Manual => Some(current.id()),
            Modifier::MainThread if current.name() == Some("main") => Some(current.id()),
            Modifier::MainThread => {
                return registry::all()
                    .into_iter()
                    .find(|c| c.inner.thread_name.as_deref() == Some("main"))
                    .ok_or(CallerError::NoMainThreadCaller)
                    .and_then(|c| c.check_matches(&options).map(|()| c));
            }
            Modifier::NewThread => None,
        };
        let mut registry = registry::lock();
        if let Some(thread) = bound_thread {
            if let Some(existing) = registry.get(&thread) {
                if modifier == Modifier::Manual {
                    return Err(CallerError::AlreadyExists {
                        thread: current.name().unwrap_or("unnamed").to_owned(),
                    });
                }
                existing.check_matches(&options)?;
                return Ok(existing.clone());
            }
        }
        let backend = match (options.backend, bound_thread) {
            (Some(b), _) => b,
            // The running runtime tells; otherwise the only backend compiled in, if one.
            (None, Some(_)) => Backend::detect()
                .or_else(Backend::only_compiled)
                .ok_or(CallerError::NoBackend)?,
            (None, None) => Backend::default_for_new_thread().ok_or(CallerError::NoBackend)?,
        };
        if !backend.is_available() {
            return Err(CallerError::BackendUnavailable(backend));
        }
        let name = options.name.clone().unwrap_or_else(|| match bound_thread {
            Some(_) => current.name().unwrap_or(DEFAULT_THREAD_NAME).to_owned(),
            None => DEFAULT_THREAD_NAME.to_owned(),
        });
        let caller = Caller::build(
            name,
            backend,
            options,
            bound_thread.map(|_| current.name().map(str::to_owned)),
        );
        if let Some(thread) = bound_thread {
            let _ = caller.inner.thread.set(thread);
            registry.insert(thread, caller.clone());
            // SPEC P11: only this thread can run it, even before it is entered.
            thread_role::bind_caller(caller.inner.id);
        }
        drop(registry);
        if modifier == Modifier::NewThread {
            caller.start_sync()?;
        }
        Ok(caller)
    }

    fn build(
        name: String,
        backend: Backend,
        options: CallerOptions,
        thread_name: Option<Option<String>>,
    ) -> Caller {
        let span = options
            .log
            .unwrap_or_else(|| tracing::info_span!("caller", name = %name, backend = %backend));
        let id = registry::next_id();
        crate::call_names::register_caller(id, &name);
        Caller {
            inner: Arc::new(CallerInner {
                id,
                // Only a caller bound to an existing thread can be the main thread's.
                thread_name: thread_name.flatten(),
                name,
                backend,
                backend_options: options.backend_options.unwrap_or_default(),
                protected: options.protected,
                zmq_context: options.zmq_context,
                span,
                state: AtomicU8::new(CallerState::Initial as u8),
                thread: OnceLock::new(),
                join_handle: Mutex::new(None),
                queue: Submissions::new(),
                children: Mutex::new(Vec::new()),
                parent: Mutex::new(Weak::new()),
                // Set by the caller's own thread once it has stopped (SPEC P11 for `stopped`).
                stopped: Event::set_by_caller(id),
                running_tasks: AtomicUsize::new(0),
                function_queues: Default::default(),
                pool: super::WorkerPool::new(),
            }),
        }
    }

    /// SPEC C2: a found caller must agree with the name and backend asked for.
    fn check_matches(&self, options: &CallerOptions) -> Result<(), CallerError> {
        if let Some(name) = options.name.as_deref().filter(|n| *n != self.inner.name) {
            return Err(CallerError::NameMismatch {
                existing: self.inner.name.clone(),
                requested: name.to_owned(),
            });
        }
        if let Some(backend) = options.backend.filter(|b| *b != self.inner.backend) {
            return Err(CallerError::BackendMismatch {
                caller: self.inner.name.clone(),
                existing: self.inner.backend,
                requested: backend,
            });
        }
        Ok(())
    }

    /// Starts a caller that owns no thread yet on a new thread named after it (SPEC C4).
    /// Does nothing unless the caller is in its initial state.
    ///
    /// # Errors
    /// [`CallerError::WrongState`] for a caller bound to an existing thread that was not entered
    /// yet (enter it there with [`run`](Caller::run)); [`CallerError::Start`] when the runtime
    /// or thread cannot be made (the caller is then stopped).
    pub fn start_sync(&self) -> Result<(), CallerError> {
        // A caller that runs (or ran) on its own thread has a thread id too: only a caller
        // bound to an existing thread and not yet entered is misuse; in any other state this
        // does nothing.
        if self.thread_id().is_some() && self.state() == CallerState::Initial {
            return Err(CallerError::WrongState {
                caller: self.inner.name.clone(),
                action: "started on a new thread (it is bound to an existing thread; enter it there with run)",
                state: self.state(),
            });
        }
        if self
            .inner
            .state
            .compare_exchange(
                CallerState::Initial as u8,
                CallerState::StartSync as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return Ok(());
        }
        // Built here so a failure is reported to whoever starts the caller.
        let runtime = Runtime::build(self.inner.backend, &self.inner.backend_options)
            .map_err(|e| self.start_failed(e))?;
        let mut builder = std::thread::Builder::new().name(self.inner.name.clone());
        if let Some(size) = self.inner.backend_options.thread_stack_size() {
            builder = builder.stack_size(size);
        }
        let caller = self.clone();
        // Hold the registry while spawning so the thread is registered before anyone can look.
        let mut registry = registry::lock();
        let handle = match builder.spawn(move || caller.thread_main(runtime)) {
            Ok(h) => h,
            Err(e) => {
                drop(registry);
                return Err(self.start_failed(e));
            }
        };
        let thread = handle.thread().id();
        let _ = self.inner.thread.set(thread);
        if self.state() < CallerState::Stopping {
            registry.insert(thread, self.clone());
        }
        drop(registry);
        *self
            .inner
            .join_handle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(handle);
        Ok(())
    }

    /// The body of a caller's own thread.
    fn thread_main(self, runtime: Runtime) {
        let _ = self.inner.thread.set(std::thread::current().id());
        let inner = self.inner.clone();
        let ran = std::panic::catch_unwind(AssertUnwindSafe(move || {
            runtime.block_on(move |spawner| Box::pin(run_loop(inner, spawner)))
        }));
        if let Err(payload) = ran {
            // User code cannot get here (its panics end in its pending); a failing runtime
            // can. The caller must still stop, cancel what is queued and report `stopped`,
            // or its pendings and joiners would wait forever.
            tracing::error!(
                caller = %self.inner.name,
                panic = %crate::pending::panic_text(&*payload),
                "the caller's event loop panicked; stopping the caller"
            );
            self.stop(true);
        }
        self.finish();
    }

    /// Runs the caller's loop on this thread for the length of `body`, then stops the caller and
    /// its children and waits for them (the reference's `async with Caller("manual") as
    /// caller:`), building the backend's runtime here. For a plain thread.
    ///
    /// ```
    /// use async_kernel::caller::{Async, Backend, Caller, CallerOptions, Modifier};
    ///
    /// let caller = Caller::new(Modifier::Manual, CallerOptions::default().backend(Backend::Tokio)).unwrap();
    /// let answer = caller
    ///     .run(|caller| async move {
    ///         let child = caller.get(CallerOptions::named("helper")).unwrap();
    ///         let pen = child.call_soon(|| 40 + 2).unwrap();
    ///         pen.await.unwrap()
    ///     })
    ///     .unwrap();
    /// assert_eq!(answer, 42);
    /// assert!(caller.stopped().is_set());
    /// ```
    ///
    /// # Errors
    /// [`CallerError::WrongThread`] from another thread; [`CallerError::WrongState`] unless the
    /// caller is in its initial state (SPEC C4); [`CallerError::Start`] when the runtime cannot
    /// be built.
    ///
    /// # Panics
    /// Re-raises a panic of `body` after the caller has stopped.
    pub fn run<F, Fut, R>(&self, body: F) -> Result<R, CallerError>
    where
        F: FnOnce(Caller) -> Fut,
        Fut: Future<Output = R> + 'static,
        R: 'static,
    {
        self.check_enter()?;
        let runtime = Runtime::build(self.inner.backend, &self.inner.backend_options)
            .map_err(|source| self.start_failed(source))?;
        let body = body(self.clone());
        let this = self.clone();
        let out = runtime.block_on(move |spawner| Box::pin(this.drive(spawner, body)));
        self.finish();
        out.unwrap_or_else(|panic| resume_unwind(panic))
    }

    /// The async form of [`run`](Caller::run), for a thread that already runs an executor of
    /// the caller's backend (a tokio current-thread runtime, or a smol executor). Must be
    /// awaited on the caller's thread.
    ///
    /// # Errors
    /// As [`run`](Caller::run); [`CallerError::Start`] when no runtime of the backend runs here.
    ///
    /// # Panics
    /// Re-raises a panic of `body` after the caller has stopped.
    ///
    /// # Cancel safety
    /// Dropping the future drops the loop and `body` with it: the caller's queued and running
    /// calls are then never driven. Drive it to the end (it stops the caller when `body` ends).
    pub async fn run_async<F, Fut, R>(&self, body: F) -> Result<R, CallerError>
    where
        F: FnOnce(Caller) -> Fut,
        Fut: Future<Output = R> + 'static,
        R: 'static,
    {
        self.check_enter()?;
        let body = body(self.clone());
        let this = self.clone();
        let out = backend::run_local(self.inner.backend, move |spawner| {
            Box::pin(this.drive(spawner, body))
        })
        .await
        .map_err(|source| self.start_failed(source));
        self.finish();
        out?.unwrap_or_else(|panic| resume_unwind(panic))
    }

    /// A caller that could not start is stopped (so its queued calls end cancelled), and the
    /// reason is reported.
    fn start_failed(&self, source: std::io::Error) -> CallerError {
        self.stop(true);
        CallerError::Start {
            caller: self.inner.name.clone(),
            source: source.into(),
        }
    }

    /// C4: only a caller in its initial state, on its own thread, can be entered.
    fn check_enter(&self) -> Result<(), CallerError> {
        if self.thread() != std::thread::current().id() {
            return Err(CallerError::WrongThread {
                caller: self.inner.name.clone(),
            });
        }
        let state = self.state();
        if state != CallerState::Initial {
            return Err(CallerError::WrongState {
                caller: self.inner.name.clone(),
                action: "entered",
                state,
            });
        }
        Ok(())
    }

    /// Runs the loop beside `body`; when the body ends, stops the caller and lets the loop
    /// wind down.
    async fn drive<Fut, R>(
        self,
        spawner: Rc<dyn LocalSpawner>,
        body: Fut,
    ) -> Result<Result<R, CallerError>, Box<dyn std::any::Any + Send>>
    where
        Fut: Future<Output = R>,
    {
        let inner = self.inner.clone();
        let this = self.clone();
        let body = async move {
            let out = AssertUnwindSafe(body).catch_unwind().await;
            this.stop(true);
            out
        };
        let (_, out) = futures_util::future::join(run_loop(inner, spawner), body).await;
        out.map(Ok)
    }

    /// Stops the caller (SPEC C6): nothing when protected (unless `force`) or already stopping.
    /// Otherwise it leaves the registry, force-stops its children, cancels every queued call,
    /// and has its loop cancel the running ones; `stopped` fires once it and its children are
    /// done. Returns the state. A caller that never started is stopped at once.
    ///
    /// Never unwinds: the closures of cancelled calls are dropped here with any panic of their
    /// destructors contained and logged, and every call behind them still ends.
    ///
    /// # Example
    /// ```
    /// use async_kernel::caller::{Caller, CallerOptions, CallerState, Modifier};
    ///
    /// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-stop"))?;
    /// let never = caller.call_later(std::time::Duration::from_secs(3600), || ())?;
    /// let state = caller.stop(false);
    /// assert!(state >= CallerState::Stopping);
    /// assert!(never.wait_sync(None).unwrap_err().is_cancelled()); // queued work ends cancelled
    /// caller.stopped().wait_sync(None)?;
    /// assert_eq!(caller.state(), CallerState::Stopped);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop(&self, force: bool) -> CallerState {
        if self.inner.protected && !force {
            return self.state();
        }
        let previous = loop {
            let current = self.inner.state.load(Ordering::Acquire);
            if current >= CallerState::Stopping as u8 {
                return CallerState::from_u8(current);
            }
            if self
                .inner
                .state
                .compare_exchange(
                    current,
                    CallerState::Stopping as u8,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                break CallerState::from_u8(current);
            }
        };
        tracing::debug!(caller = %self.inner.name, "stopping");
        registry::remove(self);
        let message = self.inner.stop_message();
        // Before the children stop: no worker may return to the pool now (SPEC C6, C12).
        self.inner.pool.shared.close(&message);
        for child in self.children() {
            child.stop(true);
        }
        for job in self.inner.queue.close() {
            // Never unwinds into this thread: a panicking destructor of the job's closure is
            // contained, and the calls behind it are still cancelled.
            job.cancel(&message, &self.inner.name);
        }
        // SPEC C6: every queue_call queue closes; its unrun calls never run.
        self.inner.function_queues.close_all(&message);
        if previous == CallerState::Initial {
            // No loop will ever run: finish here, once the children have stopped. The children's
            // threads set `stopped` then, so waiting for it on the bound thread is fine.
            self.inner.stopped.release_setter();
            self.finish_when_children_stopped();
        }
        self.state()
    }

    /// Blocks until the caller has stopped and its thread (if it owns one) has exited, and
    /// so has every descendant's thread: after `join` on a root, no thread of its tree is
    /// left (also of a child that stopped before it).
    ///
    /// ```
    /// use async_kernel::caller::{Caller, CallerOptions, Modifier};
    ///
    /// let root = Caller::new(Modifier::NewThread, CallerOptions::named("doc-root")).unwrap();
    /// let child = root.get(CallerOptions::named("doc-child")).unwrap();
    /// root.stop(false);
    /// root.join().unwrap();
    /// assert!(child.stopped().is_set());
    /// ```
    ///
    /// # Errors
    /// [`CallerError::JoinOwnThread`] when called on the caller's own thread before it has
    /// stopped (it would wait for itself).
    ///
    /// # Example
    /// ```
    /// use async_kernel::caller::{Caller, CallerOptions, Modifier};
    ///
    /// let caller = Caller::new(Modifier::NewThread, CallerOptions::named("doc-join"))?;
    /// let thread = caller.thread();
    /// caller.stop(false);
    /// caller.join()?; // its thread has exited
    /// assert!(Caller::get_current(thread).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join(&self) -> Result<(), CallerError> {
        let here = std::thread::current().id();
        let stopped = &self.inner.stopped;
        if self.thread_id() == Some(here) && !stopped.is_set() && stopped.has_setter() {
            return Err(CallerError::JoinOwnThread {
                caller: self.inner.name.clone(),
            });
        }
        let _ = self.inner.stopped.wait_sync(None);
        {
            // Joined under the lock: a second `join` returns only once the thread is gone too.
            let mut handle = self
                .inner
                .join_handle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if handle.as_ref().is_some_and(|h| h.thread().id() != here) {
                if let Some(h) = handle.take() {
                    let _ = h.join();
                }
            }
        }
        // Its own thread has joined the children it knew of before reporting stopped; a caller
        // that never ran had no thread to do that, and a child that stopped first is still
        // listed until joined here.
        self.join_children();
        Ok(())
    }

    /// True when its thread has exited or was joined (or it never had one). False while
    /// someone else holds the handle (a `join` in progress): it is then not gone yet.
    fn thread_exited(&self) -> bool {
        match self.inner.join_handle.try_lock() {
            Ok(handle) => handle.as_ref().is_none_or(JoinHandle::is_finished),
            Err(std::sync::TryLockError::Poisoned(p)) => {
                p.into_inner().as_ref().is_none_or(JoinHandle::is_finished)
            }
            Err(std::sync::TryLockError::WouldBlock) => false,
        }
    }

    /// Stops and joins every child still listed (each joins its own descendants), and forgets
    /// them. Only for a stopping or stopped caller: no child can be added any more.
    fn join_children(&self) {
        let children = std::mem::take(&mut *self.inner.lock_children());
        for child in &children {
            child.stop(true);
            if child.thread_id() != Some(std::thread::current().id()) {
                let _ = child.join();
            }
        }
    }

    /// A child by `name`, or a new child on a new thread that inherits this caller's backend and
    /// options (SPEC C11). Children stop with their parent, protected or not.
    ///
    /// A new child may be given the other backend explicitly (a mixed tree); it then does not
    /// inherit this caller's backend options, which belong to this caller's backend.
    ///
    /// # Errors
    /// [`CallerError::BackendMismatch`] when the named child runs another backend; the errors
    /// of [`Caller::new`]; [`CallerError::NotAccepting`] when this caller is stopping.
    pub fn get(&self, options: CallerOptions) -> Result<Caller, CallerError> {
        let mut children = self.inner.lock_children();
        // Children stay listed until their threads are joined; forget those already gone.
        children.retain(|c| c.state() != CallerState::Stopped || !c.thread_exited());
        if let Some(name) = options.name.as_deref() {
            if let Some(child) = children
                .iter()
                .find(|c| c.inner.name == name && c.state() != CallerState::Stopped)
            {
                if let Some(backend) = options.backend.filter(|b| *b != child.inner.backend) {
                    return Err(CallerError::BackendMismatch {
                        caller: child.inner.name.clone(),
                        existing: child.inner.backend,
                        requested: backend,
                    });
                }
                return Ok(child.clone());
            }
        }
        if self.state() >= CallerState::Stopping {
            return Err(CallerError::NotAccepting {
                caller: self.inner.name.clone(),
                state: self.state(),
            });
        }
        let mut options = options;
        if options.backend.is_none() {
            options.backend = Some(self.inner.backend);
            options.backend_options = Some(self.inner.backend_options.clone());
        }
        if options.zmq_context.is_none() {
            options.zmq_context = self.inner.zmq_context.clone();
        }
        let child = Caller::new(Modifier::NewThread, options)?;
        *child
            .inner
            .parent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::downgrade(&self.inner);
        children.push(child.clone());
        Ok(child)
    }

    /// The end of a caller that ran a loop on this thread: join the children's threads, then
    /// report stopped.
    fn finish(&self) {
        self.join_children();
        self.mark_stopped();
    }

    /// For a caller that never ran: stopped once every child has stopped (`join` then joins
    /// their threads).
    fn finish_when_children_stopped(&self) {
        let children = self.children();
        if children.is_empty() {
            self.mark_stopped();
            return;
        }
        let remaining = Arc::new(AtomicUsize::new(children.len()));
        for child in children {
            let this = self.clone();
            let remaining = remaining.clone();
            child.inner.stopped.on_set(move || {
                if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                    this.mark_stopped();
                }
            });
        }
    }

    fn mark_stopped(&self) {
        self.inner.set_state(CallerState::Stopped);
        registry::remove(self);
        thread_role::unbind_caller(self.inner.id);
        // It stays in its parent's list of children (which `children()` filters) until the
        // parent joins its thread: a child that stops first must not be forgotten by the
        // parent's `join` (its thread is still exiting when `stopped` is set).
        tracing::debug!(caller = %self.inner.name, "stopped");
        self.inner.stopped.set();
    }
}
