//! Context variables: Python's `contextvars`, for threads and tasks.
//!
//! A [`Context`] is an immutable snapshot mapping [`ContextVar`]s to values. Each thread has a
//! *current* context; [`ContextVar::set`] replaces the current context with a copy holding the
//! new value, and returns a [`Token`] that [`ContextVar::reset`] uses to put the old value back.
//!
//! Work that moves between tasks or threads carries a snapshot: [`Context::current`] captures
//! one, [`Context::run`] runs a closure inside one, and [`Context::wrap`] (or
//! [`FutureExt::in_context`]) enters one around every poll of a future, the way
//! `tracing::Instrument` enters a span. Values a wrapped future sets stay inside it: other tasks
//! polled on the same thread never see them.
//!
//! This is how a [`PendingGroup`](crate::PendingGroup) sees every pending made by work it
//! started (SPEC T2): the group is a value in the context, and the context travels with the work.
//!
//! ```
//! use async_kernel::context::{Context, ContextVar};
//! use std::sync::LazyLock;
//!
//! static REQUEST_ID: LazyLock<ContextVar<u64>> = LazyLock::new(|| ContextVar::new("request_id"));
//!
//! let token = REQUEST_ID.set(7);
//! let snapshot = Context::current();
//! REQUEST_ID.reset(token).unwrap();
//! assert_eq!(REQUEST_ID.get(), None);
//! // The snapshot still holds 7, wherever it is run.
//! let seen = std::thread::spawn(move || snapshot.run(|| REQUEST_ID.get())).join().unwrap();
//! assert_eq!(seen, Some(7));
//! ```
//!
//! # Setting a value for a scope
//!
//! [`ContextVar::set`] changes the thread's current context until someone resets it. Inside an
//! `async fn` that is rarely what is meant: the value stays on the executor's thread after the
//! function returns, and other tasks polled there see it while the function waits. Scope the
//! value instead:
//!
//! * [`ContextVar::scope`] runs a closure with the value set, and nothing the closure sets
//!   outlives it (also when it panics);
//! * [`ContextVar::scope_async`] runs a future with the value set around every poll, and
//!   nothing the future sets leaks to its thread or to other tasks;
//! * [`ContextVar::set_scoped`] sets the value until the returned guard drops, for plain code
//!   where a closure is awkward (the guard stays on its thread: it is not `Send`).
//!
//! ```
//! use async_kernel::context::ContextVar;
//! use std::sync::LazyLock;
//!
//! static USER: LazyLock<ContextVar<&'static str>> = LazyLock::new(|| ContextVar::new("user"));
//!
//! async fn handle() -> Option<&'static str> {
//!     std::future::ready(()).await;
//!     USER.get()
//! }
//!
//! // Synchronous code: a closure.
//! assert_eq!(USER.scope("ada", || USER.get()), Some("ada"));
//! assert_eq!(USER.get(), None);
//!
//! // Asynchronous code: a future, set around each of its polls.
//! let seen = futures::executor::block_on(USER.scope_async("grace", handle()));
//! assert_eq!(seen, Some("grace"));
//! assert_eq!(USER.get(), None, "nothing is left on the thread");
//!
//! // A guard, when a closure does not fit.
//! {
//!     let _user = USER.set_scoped("linus");
//!     assert_eq!(USER.get(), Some("linus"));
//! }
//! assert_eq!(USER.get(), None);
//! ```

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};

use crate::error::{InvalidStateError, InvalidStateKind};

type Value = Arc<dyn Any + Send + Sync>;

/// An immutable snapshot of context-variable values. Cloning is one atomic increment.
#[derive(Clone, Default)]
pub struct Context {
    // Sorted by variable id. Copy-on-write: contexts hold a handful of variables.
    entries: Option<Arc<Vec<(u64, Value)>>>,
}

use crate::current::CURRENT;

impl Context {
    /// The empty context, as a constant (the thread-local's initial value).
    pub(crate) const EMPTY: Context = Context { entries: None };

    /// An empty context: every variable unset.
    pub fn new() -> Self {
        Context::default()
    }

    /// A snapshot of this thread's current context (Python's `copy_context()`).
    pub fn current() -> Self {
        CURRENT.with(|c| c.context.borrow().clone())
    }

    /// True when no variable is set in this context.
    pub fn is_empty(&self) -> bool {
        self.entries.as_ref().is_none_or(|e| e.is_empty())
    }

    /// Runs `f` with this context as the thread's current one, then restores the previous one.
    /// Values `f` sets are discarded with the copy; use [`Context::run_mut`] to keep them.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let mut copy = self.clone();
        copy.run_mut(f)
    }

    /// Runs `f` inside this context and keeps, in `self`, whatever `f` set.
    pub fn run_mut<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _guard = Entered::enter(self);
        f()
    }

    /// Wraps `future` so that this context is entered around every poll.
    ///
    /// # Cancel safety
    /// As cancel-safe as `future`: dropping the wrapper drops `future` (inside no context).
    pub fn wrap<F: Future>(self, future: F) -> WithContext<F> {
        WithContext {
            context: self,
            future,
        }
    }

    fn lookup(&self, id: u64) -> Option<&Value> {
        let entries = self.entries.as_ref()?;
        entries
            .binary_search_by_key(&id, |(k, _)| *k)
            .ok()
            .map(|i| &entries[i].1)
    }

    fn with_entry(&self, id: u64, value: Option<Value>) -> Context {
        let mut entries: Vec<(u64, Value)> = self.entries.as_deref().cloned().unwrap_or_default();
        match (entries.binary_search_by_key(&id, |(k, _)| *k), value) {
            (Ok(i), Some(v)) => entries[i].1 = v,
            (Ok(i), None) => {
                entries.remove(i);
            }
            (Err(i), Some(v)) => entries.insert(i, (id, v)),
            (Err(_), None) => {}
        }
        Context {
            entries: (!entries.is_empty()).then(|| Arc::new(entries)),
        }
    }

    /// A copy of this context with `var` set to `value` (this context is unchanged).
    pub fn with_value<T: Clone + Send + Sync + 'static>(
        &self,
        var: &ContextVar<T>,
        value: T,
    ) -> Context {
        self.with_entry(var.id, Some(Arc::new(value)))
    }

    /// The value of `var` in this context, if set.
    pub fn get<T: Clone + Send + Sync + 'static>(&self, var: &ContextVar<T>) -> Option<T> {
        self.lookup(var.id)
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.entries.as_ref().map_or(0, |e| e.len());
        write!(f, "Context({n} variables)")
    }
}

/// Swaps a context in as the thread's current one; swaps it back (keeping changes) on drop,
/// also when the code inside panics.
struct Entered<'a> {
    slot: &'a mut Context,
}

impl<'a> Entered<'a> {
    fn enter(slot: &'a mut Context) -> Self {
        CURRENT.with(|c| std::mem::swap(&mut *c.context.borrow_mut(), slot));
        Entered { slot }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| std::mem::swap(&mut *c.context.borrow_mut(), self.slot));
    }
}

static NEXT_VAR_ID: AtomicU64 = AtomicU64::new(1);

/// A context variable holding values of type `T` (Python's `ContextVar`).
///
/// Each `ContextVar::new` is a distinct variable; clones of one handle are the same variable.
/// Keep long-lived variables in a `static` behind `LazyLock`.
///
/// # Example
/// ```
/// use std::sync::LazyLock;
/// use async_kernel::context::{Context, ContextVar};
///
/// static USER: LazyLock<ContextVar<String>> = LazyLock::new(|| ContextVar::new("user"));
///
/// let ctx = Context::new().with_value(&*USER, "ada".to_owned());
/// // Inside the context the variable has its value; outside it is unset.
/// assert_eq!(ctx.run(|| USER.get()).as_deref(), Some("ada"));
/// assert_eq!(USER.get(), None);
/// ```
pub struct ContextVar<T> {
    id: u64,
    name: &'static str,
    _marker: PhantomData<fn() -> T>,
}

impl<T> Clone for ContextVar<T> {
    fn clone(&self) -> Self {
        ContextVar {
            id: self.id,
            name: self.name,
            _marker: PhantomData,
        }
    }
}

impl<T> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContextVar({:?})", self.name)
    }
}

impl<T: Clone + Send + Sync + 'static> ContextVar<T> {
    /// A new variable, unset in every context.
    pub fn new(name: &'static str) -> Self {
        ContextVar {
            id: NEXT_VAR_ID.fetch_add(1, Ordering::Relaxed),
            name,
            _marker: PhantomData,
        }
    }

    /// The variable's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its value in the thread's current context.
    pub fn get(&self) -> Option<T> {
        CURRENT.with(|c| c.context.borrow().get(self))
    }

    /// Sets the value in the thread's current context; the token restores the previous value.
    ///
    /// The value stays until it is reset: inside an `async fn` it outlives the function on the
    /// thread that polled it (unless the future runs inside its own context, see
    /// [`WithContext`]). Prefer [`scope`](ContextVar::scope),
    /// [`scope_async`](ContextVar::scope_async) or [`set_scoped`](ContextVar::set_scoped).
    pub fn set(&self, value: T) -> Token<T> {
        self.replace(Some(Arc::new(value)))
    }

    /// Runs `f` in a copy of the current context where this variable is `value`. Nothing `f`
    /// sets outlives it, and the thread's context is back as it was when `f` returns or panics.
    ///
    /// ```
    /// use async_kernel::context::ContextVar;
    ///
    /// let depth = ContextVar::new("depth");
    /// let inner = depth.scope(1, || depth.scope(2, || depth.get()));
    /// assert_eq!(inner, Some(2));
    /// assert_eq!(depth.get(), None);
    /// ```
    pub fn scope<R>(&self, value: T, f: impl FnOnce() -> R) -> R {
        Context::current().with_value(self, value).run(f)
    }

    /// Runs `future` in a copy of the current context where this variable is `value`, entered
    /// around every poll (see [`WithContext`]): the value is seen across the future's await
    /// points, never by other tasks polled on the same thread, and nothing the future sets
    /// leaks out. The context is captured now, not at the first poll.
    ///
    /// ```
    /// use async_kernel::context::ContextVar;
    ///
    /// let request = ContextVar::new("request");
    /// let seen = futures::executor::block_on(request.scope_async(7_u64, async {
    ///     std::future::ready(()).await;
    ///     request.get()
    /// }));
    /// assert_eq!(seen, Some(7));
    /// assert_eq!(request.get(), None);
    /// ```
    ///
    /// # Cancel safety
    /// Dropping the returned future drops `future` and the copied context; the thread's
    /// context is never changed by it.
    pub fn scope_async<F: Future>(&self, value: T, future: F) -> WithContext<F> {
        Context::current().with_value(self, value).wrap(future)
    }

    /// Sets the value in the thread's current context until the guard drops, which restores
    /// the value the variable had before (the scoped form of [`set`](ContextVar::set)).
    ///
    /// The guard belongs to its thread (it is not `Send`); in async code use
    /// [`scope_async`](ContextVar::scope_async), since a guard held across an await point
    /// leaves the value visible to other tasks of the thread while the future waits.
    ///
    /// ```
    /// use async_kernel::context::ContextVar;
    ///
    /// let level = ContextVar::new("level");
    /// let _outer = level.set_scoped("info");
    /// {
    ///     let _inner = level.set_scoped("debug");
    ///     assert_eq!(level.get(), Some("debug"));
    /// }
    /// assert_eq!(level.get(), Some("info"));
    /// ```
    pub fn set_scoped(&self, value: T) -> ScopedValue<T> {
        ScopedValue {
            token: Some(self.set(value)),
            _not_send: PhantomData,
        }
    }

    fn replace(&self, value: Option<Value>) -> Token<T> {
        CURRENT.with(|c| {
            let mut current = c.context.borrow_mut();
            let old = current.lookup(self.id).cloned();
            *current = current.with_entry(self.id, value);
            Token {
                var_id: self.id,
                var_name: self.name,
                old,
                _marker: PhantomData,
            }
        })
    }

    /// Restores the value this variable had before the `set` that returned `token`.
    ///
    /// # Errors
    /// [`InvalidStateKind::WrongToken`] when `token` came from another variable; nothing changes.
    pub fn reset(&self, token: Token<T>) -> Result<(), InvalidStateError> {
        if token.var_id != self.id {
            return Err(InvalidStateError::new(
                InvalidStateKind::WrongToken,
                format!(
                    "a token of context variable {:?} was used to reset {:?}",
                    token.var_name, self.name
                ),
            ));
        }
        token.restore();
        Ok(())
    }
}

impl<T> Token<T> {
    /// Puts the variable's old value back into the thread's current context.
    fn restore(self) {
        CURRENT.with(|c| {
            let mut current = c.context.borrow_mut();
            *current = current.with_entry(self.var_id, self.old);
        });
    }
}

/// Returned by [`ContextVar::set_scoped`]: restores the variable's previous value when dropped.
#[must_use = "the value is reset as soon as the guard is dropped; bind it with `let _name = ..`"]
pub struct ScopedValue<T> {
    token: Option<Token<T>>,
    /// Restores the context of the thread it was made on.
    _not_send: PhantomData<*const ()>,
}

impl<T> Drop for ScopedValue<T> {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.restore();
        }
    }
}

impl<T> fmt::Debug for ScopedValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.token {
            Some(token) => write!(f, "ScopedValue({:?})", token.var_name),
            None => f.write_str("ScopedValue"),
        }
    }
}

/// Returned by [`ContextVar::set`]; hand it to [`ContextVar::reset`] to undo the set.
#[must_use = "dropping a token keeps the new value; pass it to `reset` to restore the old one"]
pub struct Token<T> {
    var_id: u64,
    var_name: &'static str,
    old: Option<Value>,
    _marker: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Token<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({:?})", self.var_name)
    }
}

pin_project_lite::pin_project! {
    /// A future that runs inside a [`Context`]: the context is entered around every poll, and
    /// what the future sets stays in its own context.
    ///
    /// # Cancel safety
    /// As cancel-safe as the wrapped future: dropping the wrapper drops it (and the context's
    /// values with it); nothing is left on the thread.
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        context: Context,
        #[pin]
        future: F,
    }
}

impl<F> WithContext<F> {
    /// The context the future runs in (with the values it has set so far).
    pub fn context(&self) -> &Context {
        &self.context
    }
}

/// # Cancel safety
/// As cancel-safe as the wrapped future: dropping the wrapper drops it.
impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = Entered::enter(this.context);
        this.future.poll(cx)
    }
}

/// Extension to run any future inside a context.
pub trait FutureExt: Future + Sized {
    /// Runs `self` inside `context` (see [`WithContext`]).
    ///
    /// # Cancel safety
    /// As cancel-safe as `self` (see [`Context::wrap`]).
    fn in_context(self, context: Context) -> WithContext<Self> {
        context.wrap(self)
    }

    /// Runs `self` inside a snapshot of the current context.
    ///
    /// # Cancel safety
    /// As cancel-safe as `self` (see [`Context::wrap`]).
    fn in_current_context(self) -> WithContext<Self> {
        Context::current().wrap(self)
    }
}

impl<F: Future> FutureExt for F {}

/// True when the thread's current context holds no variable (a fast path for pending creation).
pub(crate) fn current_is_empty() -> bool {
    CURRENT.with(|c| c.context.borrow().is_empty())
}
