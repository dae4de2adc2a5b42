//! [`TaskDriver`]: the local task that drives one async call to its pending's outcome.
//!
//! Around every poll it enters the call's context, its cancel scope (so shielded groups inside
//! can hold cancellation back, SPEC G6) and makes the pending current (SPEC C9). It listens for
//! cancellation by waiting on its own pending: cancelling a running call flags the pending and
//! wakes its waiters (no canceller object is needed), and the driver then drops the future at
//! its await point and completes the pending as cancelled (SPEC P6: done only once stopped).

use std::future::Future;
use std::pin::Pin;
use std::rc::Weak;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use crate::any_pending::{AnyPending, WaiterKey};
use crate::context::Context;
use crate::current::{CallSlots, with_slots};
use crate::error::PendingError;
use crate::pending::Pending;
use crate::scope::ScopeNode;

use super::call::OutcomeFuture;
use super::scheduler::{LoopState, drop_contained, set_outcome_contained};

/// Message of a call whose task was dropped without finishing (its loop went away).
const DROPPED: &str = "Cancelled because its caller's loop ended before the call finished.";

pub(crate) struct TaskDriver<T: Send + 'static> {
    pen: Pending<T>,
    /// This call's pending as `Caller::current_pending` hands it out while the task is polled.
    erased: Option<AnyPending>,
    context: Context,
    scope: Arc<ScopeNode>,
    /// The same scope, moved into the thread's current-scope slot around every poll.
    entered_scope: Option<Arc<ScopeNode>>,
    future: Option<OutcomeFuture<T>>,
    /// Our slot among the pending's waiters, and the waker registered there.
    key: WaiterKey,
    registered: Option<Waker>,
    lp: Weak<LoopState>,
    span: tracing::Span,
}

impl<T: Send + 'static> TaskDriver<T> {
    pub(crate) fn new(
        pen: Pending<T>,
        context: Context,
        future: OutcomeFuture<T>,
        lp: Weak<LoopState>,
    ) -> Self {
        let span = lp
            .upgrade()
            .map(|l| l.caller.span.clone())
            .unwrap_or_else(tracing::Span::none);
        let scope = ScopeNode::root();
        TaskDriver {
            erased: Some(pen.erase()),
            pen,
            context,
            entered_scope: Some(scope.clone()),
            scope,
            future: Some(future),
            key: None,
            registered: None,
            lp,
            span,
        }
    }

    /// Ends the task: drops the future (here, on the caller's thread) and sets the outcome.
    fn finish(&mut self, outcome: Result<T, PendingError>) {
        let lp = std::mem::take(&mut self.lp).upgrade();
        let caller = lp.as_ref().map_or("", |l| l.caller.name.as_str());
        // The future is user code: its destructor may panic. Contain it, so the pending still
        // ends and the loop goes on.
        drop_contained(
            (self.future.take(), std::mem::take(&mut self.context)),
            caller,
        );
        self.pen.inner.forget_waiter(&mut self.key);
        // Uncounted before the outcome is published: whoever sees the pending done also sees
        // the task gone from `running_tasks`.
        if let Some(lp) = &lp {
            lp.task_ended(self.pen.id());
        }
        // P4/P7: if cancellation was requested the outcome becomes "cancelled"; if someone
        // else completed the pending, theirs stands (and the value, user data, is dropped with
        // any panic of its destructor contained).
        set_outcome_contained(&self.pen, outcome, caller);
    }
}

impl<T: Send + 'static> Future for TaskDriver<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.future.is_none() {
            return Poll::Ready(());
        }
        // Every poll runs inside the caller's span; moved out so `this` stays free to borrow.
        let span = std::mem::replace(&mut this.span, tracing::Span::none());
        let polled = span.in_scope(|| this.poll_call(cx));
        this.span = span;
        polled
    }
}

impl<T: Send + 'static> TaskDriver<T> {
    fn poll_call(&mut self, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = self;
        if this
            .registered
            .as_ref()
            .is_none_or(|w| !w.will_wake(cx.waker()))
        {
            // Registered once per waker, not per poll: both registrations keep the waker.
            this.scope.register(cx);
            if this.pen.poll_done(cx, &mut this.key).is_ready() {
                // Completed from outside (set_result by another thread): stop the work.
                this.finish(Err(PendingError::cancelled("")));
                return Poll::Ready(());
            }
            this.registered = Some(cx.waker().clone());
        }
        if this.pen.done() {
            this.finish(Err(PendingError::cancelled("")));
            return Poll::Ready(());
        }
        if this.pen.cancelled() {
            if !this.scope.shielded() {
                this.finish(Err(PendingError::cancelled("")));
                return Poll::Ready(());
            }
            // Held back by a shield (SPEC G6): flag the scope, so that the shield going down
            // wakes this driver (a wake takes the registered waker: register it again).
            this.scope.request_cancel();
            this.scope.register(cx);
        }
        let polled = {
            let future = this.future.as_mut().map(Pin::as_mut);
            // The call's pending, context and cancel scope are the thread's current ones
            // around the poll (moved in and out together: one thread-local access each way).
            let slots = CallSlots {
                pending: &mut this.erased,
                context: &mut this.context,
                scope: Some(&mut this.entered_scope),
            };
            with_slots(slots, || future.map(|f| f.poll(cx)))
        };
        match polled {
            Some(Poll::Ready(outcome)) => {
                this.finish(outcome);
                Poll::Ready(())
            }
            _ if this.pen.cancelled() && !this.scope.shielded() => {
                this.finish(Err(PendingError::cancelled("")));
                Poll::Ready(())
            }
            _ => Poll::Pending,
        }
    }
}

impl<T: Send + 'static> Drop for TaskDriver<T> {
    fn drop(&mut self) {
        if self.future.is_some() {
            // The executor dropped the task (its loop is gone): the pending must still end.
            self.pen.cancel(Some(DROPPED));
            self.finish(Err(PendingError::cancelled(DROPPED)));
        }
    }
}
