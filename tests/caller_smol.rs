//! The smol backend (feature `smol`; SPEC C3, P1).
#![cfg(feature = "smol")]

mod common;

use std::rc::Rc;
use std::time::{Duration, Instant};

use async_kernel::caller::{Async, Backend, Caller, CallerOptions, Modifier};
use async_kernel::{Event, Pending};

use common::{T, shutdown};

fn smol_caller(name: &str) -> Caller {
    Caller::new(
        Modifier::NewThread,
        CallerOptions::named(name).backend(Backend::Smol),
    )
    .expect("smol caller starts")
}

fn tokio_caller(name: &str) -> Caller {
    Caller::new(
        Modifier::NewThread,
        CallerOptions::named(name).backend(Backend::Tokio),
    )
    .expect("tokio caller starts")
}

#[test]
fn a_smol_caller_runs_plain_calls_on_its_thread() {
    // SPEC C3: Backend::Smol
    let caller = smol_caller("smol-plain");
    assert_eq!(caller.backend(), Backend::Smol);
    let (value, name) = caller
        .call_soon(|| (2 + 2, std::thread::current().name().map(str::to_owned)))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(value, 4);
    assert_eq!(name.as_deref(), Some("smol-plain"));
    shutdown(&caller);
}

#[test]
fn a_smol_caller_runs_async_calls_whose_future_holds_an_rc() {
    // SPEC C8: the future may be !Send
    let caller = smol_caller("smol-async");
    let pen = caller
        .call_soon(Async(|| async {
            let local = Rc::new(20);
            futures::future::ready(()).await;
            *local + 1
        }))
        .unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 21);
    shutdown(&caller);
}

#[test]
fn a_smol_caller_runs_call_later_no_sooner_than_the_delay() {
    // SPEC C8
    let caller = smol_caller("smol-later");
    let delay = Duration::from_millis(20);
    let scheduled = Instant::now();
    let pen = caller.call_later(delay, Instant::now).unwrap();
    assert!(pen.wait_sync(T).unwrap().duration_since(scheduled) >= delay);
    shutdown(&caller);
}

#[test]
fn a_smol_callers_async_call_can_be_cancelled() {
    // SPEC C9 on the smol backend
    let caller = smol_caller("smol-cancel");
    let started = Event::new();
    let signal = started.clone();
    let pen = caller
        .call_soon(Async(move || async move {
            signal.set();
            std::future::pending::<()>().await
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    pen.cancel(Some("smol stop"));
    assert_eq!(
        pen.wait_sync(T).unwrap_err().cancel_message(),
        Some("smol stop")
    );
    shutdown(&caller);
}

#[test]
fn a_tokio_callers_pending_is_awaited_inside_a_smol_callers_call() {
    // SPEC P1: a pending made on a tokio caller can be awaited on a smol caller
    let tokio = tokio_caller("smol-cross-tokio-a");
    let smol = smol_caller("smol-cross-smol-a");
    let gate = Event::new();
    let open = gate.clone();
    let made_on_tokio: Pending<&'static str> = tokio
        .call_soon(Async(move || async move {
            open.wait().await.unwrap();
            "from tokio"
        }))
        .unwrap();
    let awaited = smol.call_soon(Async(move || made_on_tokio)).unwrap();
    gate.set();
    assert_eq!(awaited.wait_sync(T).unwrap().unwrap(), "from tokio");
    shutdown(&tokio);
    shutdown(&smol);
}

#[test]
fn a_smol_callers_pending_is_awaited_inside_a_tokio_callers_call() {
    // SPEC P1: and the other way round
    let tokio = tokio_caller("smol-cross-tokio-b");
    let smol = smol_caller("smol-cross-smol-b");
    let gate = Event::new();
    let open = gate.clone();
    let made_on_smol: Pending<&'static str> = smol
        .call_soon(Async(move || async move {
            open.wait().await.unwrap();
            "from smol"
        }))
        .unwrap();
    let awaited = tokio.call_soon(Async(move || made_on_smol)).unwrap();
    gate.set();
    assert_eq!(awaited.wait_sync(T).unwrap().unwrap(), "from smol");
    shutdown(&tokio);
    shutdown(&smol);
}

#[test]
fn run_with_the_smol_backend_returns_the_bodys_value() {
    // SPEC C4 on the smol backend
    let caller = Caller::new(
        Modifier::Manual,
        CallerOptions::named("smol-run").backend(Backend::Smol),
    )
    .unwrap();
    let out = caller
        .run(|c| async move {
            let child = c.get(CallerOptions::named("smol-run-child")).unwrap();
            assert_eq!(child.backend(), Backend::Smol);
            child.call_soon(|| 5).unwrap().await.unwrap()
                + c.call_soon(|| 1).unwrap().await.unwrap()
        })
        .unwrap();
    assert_eq!(out, 6);
    assert!(caller.stopped().is_set());
}

#[test]
fn stopping_a_smol_caller_cancels_its_running_tasks() {
    // SPEC C6 on the smol backend
    let caller = smol_caller("smol-stop");
    let started = Event::new();
    let signal = started.clone();
    let pen = caller
        .call_soon(Async(move || async move {
            signal.set();
            std::future::pending::<u32>().await
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    caller.stop(false);
    caller.join().unwrap();
    assert!(pen.wait_sync(T).unwrap_err().is_cancelled());
}
