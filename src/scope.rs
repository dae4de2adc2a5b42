//! Cancel scopes with shields: how a driver (a group running its body, later a caller running a
//! task) stops the future it drives, and how a shielded group holds that back (SPEC G6).
//!
//! A driver wraps its future in [`Scoped`], which owns a [`ScopeNode`] and makes it the
//! thread's current scope around every poll of the future (scopes nest exactly as polls do). To cancel, the driver sets the node's flag; the next poll
//! drops the future (it stops at its await point). A shielded group, while it runs, raises the
//! shield depth of every enclosing node; a node with a raised shield keeps polling its future
//! and delivers the cancellation once the depth is back to zero.
//!
//! What a shield cannot stop: an enclosing `select!`, `timeout` or any other code that drops
//! the future from outside. Dropping is Rust's cancellation and nothing can defer it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};

use futures_util::task::AtomicWaker;

use crate::context::{Context, WithContext};
use crate::current::CURRENT;

/// One cancel scope in a chain of nested ones.
pub(crate) struct ScopeNode {
    cancel_requested: AtomicBool,
    shield_depth: AtomicUsize,
    waker: AtomicWaker,
    parent: Option<Arc<ScopeNode>>,
}

/// The scope whose future is being polled on this thread.
fn current_scope() -> Option<Arc<ScopeNode>> {
    CURRENT.with(|c| crate::current::clone_out(&c.scope))
}

/// Makes `node` the current scope until the guard drops.
pub(crate) struct EnteredScope {
    previous: Option<Arc<ScopeNode>>,
}

impl EnteredScope {
    pub(crate) fn enter(node: &Arc<ScopeNode>) -> Self {
        let previous = CURRENT.with(|c| c.scope.replace(Some(node.clone())));
        EnteredScope { previous }
    }
}

impl Drop for EnteredScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| c.scope.set(previous));
    }
}

impl ScopeNode {
    /// A scope nested in the scope being polled on this thread.
    pub(crate) fn new_in_current() -> Arc<Self> {
        Self::with_parent(current_scope())
    }

    /// A scope with no enclosing scope (a caller's task).
    pub(crate) fn root() -> Arc<Self> {
        Self::with_parent(None)
    }

    fn with_parent(parent: Option<Arc<ScopeNode>>) -> Arc<Self> {
        Arc::new(ScopeNode {
            cancel_requested: AtomicBool::new(false),
            shield_depth: AtomicUsize::new(0),
            waker: AtomicWaker::new(),
            parent,
        })
    }

    /// Asks the driver to stop the future at its next await point.
    pub(crate) fn cancel(&self) {
        self.cancel_requested.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Flags the scope as cancelled without waking its driver (the driver itself, mid-poll).
    pub(crate) fn request_cancel(&self) {
        self.cancel_requested.store(true, Ordering::Release);
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::Acquire)
    }

    /// True when the cancellation should be delivered now.
    fn should_stop(&self) -> bool {
        self.cancel_requested() && !self.shielded()
    }

    /// True while a shielded group inside this scope holds cancellation back.
    pub(crate) fn shielded(&self) -> bool {
        self.shield_depth.load(Ordering::Acquire) != 0
    }

    /// Registers the driver's waker (woken by `cancel`, by a shield dropping to zero, and by
    /// whatever else the driver signals with [`ScopeNode::wake`]).
    pub(crate) fn register(&self, cx: &TaskContext<'_>) {
        self.waker.register(cx.waker());
    }

    /// Wakes the driver.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    fn ancestors(self: &Arc<Self>) -> impl Iterator<Item = &Arc<ScopeNode>> {
        std::iter::successors(Some(self), |n| n.parent.as_ref())
    }
}

/// Raises the shield of the enclosing scopes for as long as it lives (a shielded group holds
/// one for its whole run, members included).
pub(crate) struct ShieldGuard {
    innermost: Option<Arc<ScopeNode>>,
}

impl ShieldGuard {
    /// Shields every scope enclosing the code being polled.
    pub(crate) fn raise() -> Self {
        let innermost = current_scope();
        if let Some(node) = &innermost {
            for n in node.ancestors() {
                n.shield_depth.fetch_add(1, Ordering::AcqRel);
            }
        }
        ShieldGuard { innermost }
    }
}

impl Drop for ShieldGuard {
    fn drop(&mut self) {
        if let Some(node) = &self.innermost {
            for n in node.ancestors() {
                if n.shield_depth.fetch_sub(1, Ordering::AcqRel) == 1 && n.cancel_requested() {
                    n.waker.wake();
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// Drives `future` inside `node`'s scope; resolves to `Err(ScopeCancelled)` when the scope
    /// is cancelled (and no shield holds it back), dropping the future there.
    pub(crate) struct Scoped<F> {
        node: Arc<ScopeNode>,
        #[pin]
        future: Option<WithContext<F>>,
    }
}

/// The scope was cancelled before the future finished.
#[derive(Debug)]
pub(crate) struct ScopeCancelled;

impl<F: Future> Scoped<F> {
    /// Drives `future` inside `context` with `node` as its current scope.
    pub(crate) fn new(node: Arc<ScopeNode>, context: Context, future: F) -> Self {
        Scoped {
            node,
            future: Some(context.wrap(future)),
        }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = Result<F::Output, ScopeCancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        this.node.register(cx);
        if this.node.should_stop() {
            this.future.set(None);
            return Poll::Ready(Err(ScopeCancelled));
        }
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(Err(ScopeCancelled));
        };
        let polled = {
            let _scope = EnteredScope::enter(this.node);
            future.poll(cx)
        };
        match polled {
            Poll::Ready(v) => {
                this.future.set(None);
                Poll::Ready(Ok(v))
            }
            Poll::Pending if this.node.should_stop() => {
                this.future.set(None);
                Poll::Ready(Err(ScopeCancelled))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
