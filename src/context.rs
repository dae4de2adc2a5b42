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

use std::any::Any;
use std::cell::RefCell;
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

thread_local! {
    static CURRENT: RefCell<Context> = const { RefCell::new(Context { entries: None }) };
}

impl Context {
    /// An empty context: every variable unset.
    pub fn new() -> Self {
        Context::default()
    }

    /// A snapshot of this thread's current context (Python's `copy_context()`).
    pub fn current() -> Self {
        CURRENT.with(|c| c.borrow().clone())
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
        CURRENT.with(|c| std::mem::swap(&mut *c.borrow_mut(), slot));
        Entered { slot }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| std::mem::swap(&mut *c.borrow_mut(), self.slot));
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
        CURRENT.with(|c| c.borrow().get(self))
    }

    /// Sets the value in the thread's current context; the token restores the previous value.
    pub fn set(&self, value: T) -> Token<T> {
        self.replace(Some(Arc::new(value)))
    }

    fn replace(&self, value: Option<Value>) -> Token<T> {
        CURRENT.with(|c| {
            let mut current = c.borrow_mut();
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
        CURRENT.with(|c| {
            let mut current = c.borrow_mut();
            *current = current.with_entry(self.id, token.old);
        });
        Ok(())
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
    fn in_current_context(self) -> WithContext<Self> {
        Context::current().wrap(self)
    }
}

impl<F: Future> FutureExt for F {}

/// True when the thread's current context holds no variable (a fast path for pending creation).
pub(crate) fn current_is_empty() -> bool {
    CURRENT.with(|c| c.borrow().is_empty())
}
