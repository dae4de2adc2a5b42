// Included by tests/caller_smoke.rs once per backend; `BACKEND` is defined there.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_kernel::caller::{Async, Caller, CallerOptions, Fallible, Modifier};
use async_kernel::{InvalidStateKind, Pending, PendingError, PendingGroup};

use crate::common::new_caller_on;

#[test]
fn cancel_running_async_call_from_another_thread() {
    // SPEC C9, P6
    let caller = new_caller_on(BACKEND, "smoke-cancel");
    let never: Pending<()> = Pending::new();
    let gate = never.clone();
    let pen = caller
        .call_soon(Async(
            move || async move { gate.wait().protect(true).await },
        ))
        .unwrap();
    // Wait until it runs.
    let started = caller.call_soon(|| ()).unwrap();
    started.wait_sync(Some(Duration::from_secs(5))).unwrap();
    assert!(pen.cancel(Some("stop it")));
    let err = pen.wait_sync(Some(Duration::from_secs(5))).unwrap_err();
    assert_eq!(err.cancel_message(), Some("stop it"));
    caller.stop(false);
    caller.join().unwrap();
}

#[test]
fn panic_becomes_error_and_caller_keeps_serving() {
    let caller = new_caller_on(BACKEND, "smoke-panic");
    let bad = caller.call_soon(|| -> u32 { panic!("boom") }).unwrap();
    assert!(matches!(
        bad.wait_sync(None),
        Err(PendingError::Panicked { .. })
    ));
    assert_eq!(caller.call_soon(|| 1).unwrap().wait_sync(None).unwrap(), 1);
    let failed = caller.call_soon(Fallible(|| "x".parse::<u8>())).unwrap();
    assert!(matches!(
        failed.wait_sync(None),
        Err(PendingError::Failed(_))
    ));
    caller.stop(false);
    caller.join().unwrap();
}

#[test]
fn wait_sync_on_own_thread_is_an_error() {
    let caller = new_caller_on(BACKEND, "smoke-deadlock");
    let c2 = caller.clone();
    let outer = caller
        .call_soon(move || {
            let inner = c2.call_soon(|| 5).unwrap();
            inner.wait_sync(None).map_err(|e| match e {
                PendingError::InvalidState(i) => i.kind(),
                _ => InvalidStateKind::NotDone,
            })
        })
        .unwrap();
    assert_eq!(
        outer.wait_sync(None).unwrap(),
        Err(InvalidStateKind::WouldDeadlock)
    );
    caller.stop(false);
    caller.join().unwrap();
}

#[test]
fn group_tracks_calls_and_their_children() {
    let caller = new_caller_on(BACKEND, "smoke-group");
    let c = caller.clone();
    let count = Arc::new(AtomicUsize::new(0));
    let n = count.clone();
    futures::executor::block_on(async move {
        PendingGroup::new()
            .run(|pg| async move {
                let c2 = c.clone();
                // A done pending leaves its group: hold the call until membership is checked.
                let (checked_tx, checked_rx) = std::sync::mpsc::channel::<()>();
                let pen = c
                    .call_soon(move || {
                        let _ = checked_rx.recv();
                        // created by tracked work: tracked too
                        let inner = c2
                            .call_soon(move || n.fetch_add(1, Ordering::SeqCst))
                            .unwrap();
                        inner.id()
                    })
                    .unwrap();
                assert!(pg.contains(&pen.erase()));
                checked_tx.send(()).unwrap();
            })
            .await
            .unwrap();
    });
    assert_eq!(count.load(Ordering::SeqCst), 1);
    caller.stop(false);
    caller.join().unwrap();
}

#[test]
fn stop_cancels_queued_and_running() {
    let caller = Caller::new(
        Modifier::Manual,
        CallerOptions::named("smoke-stop").backend(BACKEND),
    )
    .unwrap();
    let queued: Vec<_> = (0..10)
        .map(|i| caller.call_soon(move || i).unwrap())
        .collect();
    caller.stop(true);
    for p in queued {
        assert!(p.wait_sync(None).unwrap_err().is_cancelled());
    }
    assert!(caller.stopped().is_set());
}

#[test]
fn manual_run_and_children() {
    let caller = Caller::new(
        Modifier::Manual,
        CallerOptions::named("smoke-run").backend(BACKEND),
    )
    .unwrap();
    let out = caller
        .run(|caller| async move {
            let child = caller.get(CallerOptions::named("kid")).unwrap();
            let pen = child.call_later(Duration::from_millis(5), || 3).unwrap();
            let running = caller
                .call_soon(Async(|| async { std::future::pending::<()>().await }))
                .unwrap();
            (pen.await.unwrap(), running)
        })
        .unwrap();
    assert_eq!(out.0, 3);
    assert!(out.1.wait_sync(None).unwrap_err().is_cancelled());
    assert!(caller.stopped().is_set());
}
