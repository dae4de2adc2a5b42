//! Futures running inside a context (BEHAVIOUR CV1: entered around every poll, like
//! `tracing::Instrument`; SPEC T2).

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use async_kernel::context::FutureExt as _;
use async_kernel::{Context, ContextVar};

fn current_thread_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Sets `var` to `name`, then records what it sees after each of `rounds` yields.
async fn set_and_observe(
    var: ContextVar<&'static str>,
    name: &'static str,
    rounds: usize,
    log: Arc<Mutex<Vec<String>>>,
) -> Vec<Option<&'static str>> {
    let _token = var.set(name);
    let mut seen = Vec::new();
    for i in 0..rounds {
        tokio::task::yield_now().await;
        log.lock().unwrap().push(format!("{name}{i}"));
        seen.push(var.get());
    }
    seen
}

// BEHAVIOUR CV1: a wrapped future sees the context's values on every poll, on any worker.
#[test]
fn wrapped_future_sees_values_on_every_poll() {
    let var: ContextVar<u32> = ContextVar::new("v");
    let ctx = Context::new().with_value(&var, 42);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let v = var.clone();
    let seen = rt.block_on(async move {
        tokio::spawn(
            async move {
                let mut seen = Vec::new();
                for _ in 0..20 {
                    seen.push(v.get());
                    tokio::task::yield_now().await;
                }
                seen
            }
            .in_context(ctx),
        )
        .await
        .unwrap()
    });
    assert_eq!(seen, vec![Some(42); 20]);
    assert_eq!(var.get(), None);
}

// BEHAVIOUR CV1: values set inside a wrapped future stay inside it, across its polls.
#[test]
fn values_set_inside_stay_inside_across_polls() {
    let var: ContextVar<u32> = ContextVar::new("v");
    let v = var.clone();
    let mut fut = pin!(
        async move {
            let _t = v.set(7);
            futures::pending!();
            v.get()
        }
        .in_context(Context::new())
    );
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert_eq!(var.get(), None, "the value did not leak to the thread");
    assert_eq!(
        fut.context().get(&var),
        Some(7),
        "it is kept in the future's context"
    );
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(Some(7)));
}

// BEHAVIOUR CV1: two wrapped tasks interleaving on one thread each see only their own value.
#[test]
fn interleaved_tasks_on_one_thread_do_not_see_each_others_values() {
    let var: ContextVar<&'static str> = ContextVar::new("who");
    let log = Arc::new(Mutex::new(Vec::new()));
    let rt = current_thread_rt();
    let (a, b, plain) = rt.block_on(async {
        let a = tokio::spawn(
            set_and_observe(var.clone(), "a", 5, log.clone()).in_context(Context::new()),
        );
        let b = tokio::spawn(
            set_and_observe(var.clone(), "b", 5, log.clone()).in_context(Context::new()),
        );
        let v = var.clone();
        let plain = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..5 {
                tokio::task::yield_now().await;
                seen.push(v.get());
            }
            seen
        });
        (a.await.unwrap(), b.await.unwrap(), plain.await.unwrap())
    });
    assert_eq!(a, vec![Some("a"); 5]);
    assert_eq!(b, vec![Some("b"); 5]);
    assert_eq!(plain, vec![None; 5]);
    // The tasks really interleaved: b ran before a finished.
    let log = log.lock().unwrap();
    let first_b = log.iter().position(|e| e == "b0").unwrap();
    let last_a = log.iter().position(|e| e == "a4").unwrap();
    assert!(first_b < last_a, "{log:?}");
}

// BEHAVIOUR CV1: interleaving on a LocalSet, a wrapped task's value never reaches a local task.
#[test]
fn local_set_tasks_keep_their_own_values() {
    let var: ContextVar<&'static str> = ContextVar::new("who");
    let log = Arc::new(Mutex::new(Vec::new()));
    let rt = current_thread_rt();
    let local = tokio::task::LocalSet::new();
    let (x, y) = local.block_on(&rt, async {
        let base = Context::new().with_value(&var, "base");
        let x = tokio::task::spawn_local(
            set_and_observe(var.clone(), "x", 4, log.clone()).in_context(base.clone()),
        );
        let v = var.clone();
        let y = tokio::task::spawn_local(
            async move {
                let mut seen = Vec::new();
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                    seen.push(v.get());
                }
                seen
            }
            .in_context(base),
        );
        (x.await.unwrap(), y.await.unwrap())
    });
    assert_eq!(x, vec![Some("x"); 4]);
    assert_eq!(y, vec![Some("base"); 4], "x's set did not leak into y");
}

// BEHAVIOUR CV1: in_current_context captures the context at the moment it is called.
#[test]
fn in_current_context_captures_at_call_time() {
    let var: ContextVar<u32> = ContextVar::new("v");
    let t = var.set(1);
    let v = var.clone();
    let fut = async move { v.get() }.in_current_context();
    var.reset(t).unwrap();
    let _t2 = var.set(2);
    assert_eq!(futures::executor::block_on(fut), Some(1));
    assert_eq!(var.get(), Some(2));
}

// BEHAVIOUR CV1: Context::wrap runs a future inside the context from another executor thread.
#[test]
fn wrap_carries_context_to_a_smol_thread() {
    let var: ContextVar<u32> = ContextVar::new("v");
    let v = var.clone();
    let fut = Context::new().with_value(&var, 9).wrap(async move {
        futures::future::ready(()).await;
        v.get()
    });
    let seen = std::thread::spawn(move || smol::block_on(fut))
        .join()
        .unwrap();
    assert_eq!(seen, Some(9));
}
