//! Scoped context values: `ContextVar::scope`, `scope_async` and `set_scoped` leave nothing on
//! the thread once their scope ends (unlike a bare `set` inside an `async fn`).

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context as TaskContext, Poll};

use async_kernel::caller::Async;
use async_kernel::context::{Context, ContextVar};
use common::{T, new_caller, shutdown};

static USER: LazyLock<ContextVar<String>> = LazyLock::new(|| ContextVar::new("user"));
static OTHER: LazyLock<ContextVar<u32>> = LazyLock::new(|| ContextVar::new("other"));

/// Returns `Pending` once, so a future that awaits it suspends in the middle.
struct YieldOnce(bool);

impl Future for YieldOnce {
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

#[test]
fn scope_sets_the_value_for_the_closure_only() {
    // BEHAVIOUR CX6 (scoped context values, like Python's `Context.run`)
    let var = ContextVar::new("scope-only");
    assert_eq!(var.scope(1, || var.get()), Some(1));
    assert_eq!(var.get(), None);
    // Nested: the inner value wins inside, the outer comes back after.
    let seen = var.scope(1, || (var.scope(2, || var.get()), var.get()));
    assert_eq!(seen, (Some(2), Some(1)));
    assert_eq!(var.get(), None);
}

#[test]
fn nothing_set_inside_a_scope_outlives_it_even_when_it_panics() {
    // BEHAVIOUR CX6 (scoped context values)
    let var = ContextVar::new("scope-panic");
    let other = ContextVar::new("scope-panic-other");
    var.scope(1, || {
        let _ = other.set(5);
    });
    assert_eq!(other.get(), None, "a set inside the scope stayed inside");
    let result = std::panic::catch_unwind(|| {
        var.scope(1, || {
            let _ = other.set(6);
            panic!("inside the scope")
        })
    });
    assert!(result.is_err());
    assert_eq!(var.get(), None);
    assert_eq!(other.get(), None);
}

#[test]
fn a_scoped_set_is_undone_when_its_guard_drops() {
    // BEHAVIOUR CX6 (scoped context values)
    let var = ContextVar::new("guard");
    let token = var.set(1);
    {
        let _guard = var.set_scoped(2);
        assert_eq!(var.get(), Some(2));
    }
    assert_eq!(var.get(), Some(1), "the previous value is back");
    var.reset(token).unwrap();
    assert_eq!(var.get(), None);
    // Also when unwinding.
    let result = std::panic::catch_unwind(|| {
        let _guard = var.set_scoped(3);
        panic!("with a guard")
    });
    assert!(result.is_err());
    assert_eq!(var.get(), None);
}

#[test]
fn scope_async_keeps_its_value_across_awaits_and_leaves_nothing_on_the_thread() {
    // BEHAVIOUR CX6 (scoped context values); SPEC T2 (context travels with the future)
    let seen = common::block_on(USER.scope_async("ada".to_owned(), async {
        let before = USER.get();
        YieldOnce(false).await;
        let _ = OTHER.set(9); // stays inside the future's own context
        YieldOnce(false).await;
        (before, USER.get(), OTHER.get())
    }));
    assert_eq!(
        seen,
        (Some("ada".to_owned()), Some("ada".to_owned()), Some(9))
    );
    assert_eq!(USER.get(), None);
    assert_eq!(OTHER.get(), None);
}

#[test]
fn two_scoped_futures_on_one_thread_never_see_each_others_value() {
    // BEHAVIOUR CX6 (scoped context values) (no leak between tasks polled on one thread)
    let task = |name: &'static str| {
        USER.scope_async(name.to_owned(), async move {
            let mut seen = Vec::new();
            for _ in 0..3 {
                seen.push(USER.get());
                YieldOnce(false).await;
            }
            seen
        })
    };
    let (a, b) = common::block_on(async { futures::join!(task("a"), task("b")) });
    assert!(a.iter().all(|v| v.as_deref() == Some("a")), "{a:?}");
    assert!(b.iter().all(|v| v.as_deref() == Some("b")), "{b:?}");
    assert_eq!(USER.get(), None);
}

#[test]
fn scope_async_captures_the_current_context_when_it_is_made() {
    // BEHAVIOUR CX6 (scoped context values) (like `Context::current().wrap(..)`)
    let future = OTHER.scope(4, || {
        USER.scope_async("grace".to_owned(), async { (USER.get(), OTHER.get()) })
    });
    assert_eq!(Context::current().get(&*OTHER), None);
    assert_eq!(
        common::block_on(future),
        (Some("grace".to_owned()), Some(4))
    );
}

#[test]
fn scope_async_in_a_callers_task_leaves_nothing_for_the_next_call() {
    // BEHAVIOUR CX6 (scoped context values); SPEC C8 (a call runs in its captured context)
    let caller = new_caller("ctx-scope-caller");
    let inside = caller
        .call_soon(Async(|| {
            USER.scope_async("task".to_owned(), async {
                YieldOnce(false).await;
                USER.get()
            })
        }))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(inside.as_deref(), Some("task"));
    let after = caller
        .call_soon(|| USER.get())
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(after, None);
    shutdown(&caller);
}
