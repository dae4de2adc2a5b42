//! A pending is runtime-agnostic: awaitable from tokio, smol and futures, set from plain threads
//! (SPEC P1); AnyPending identity.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use async_kernel::{AnyPending, Pending};

use common::{GUARD, guarded};

/// A pending and a plain thread that sets it to `value` once told to.
fn pending_set_by_thread(value: u32) -> (Pending<u32>, crossbeam_channel::Sender<()>) {
    let pen: Pending<u32> = Pending::new();
    let setter = pen.clone();
    let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
    std::thread::spawn(move || {
        go_rx.recv_timeout(GUARD).unwrap();
        setter.set_result(value).unwrap();
    });
    (pen, go_tx)
}

// SPEC P1: awaitable on a tokio current-thread runtime, set by a plain thread.
#[test]
fn awaited_on_tokio_current_thread() {
    let (pen, go) = pending_set_by_thread(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let v = rt.block_on(guarded(async move {
        let mut wait = pen.wait();
        assert!(futures::poll!(&mut wait).is_pending());
        go.send(()).unwrap();
        wait.await
    }));
    assert_eq!(v.unwrap(), 1);
}

// SPEC P1: awaitable from a task spawned on a tokio multi-thread runtime.
#[test]
fn awaited_on_tokio_multi_thread() {
    let (pen, go) = pending_set_by_thread(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let v = rt.block_on(guarded(async move {
        let task = tokio::spawn(pen);
        go.send(()).unwrap();
        task.await.unwrap()
    }));
    assert_eq!(v.unwrap(), 2);
}

// SPEC P1: awaitable from smol::block_on.
#[test]
fn awaited_on_smol_block_on() {
    let (pen, go) = pending_set_by_thread(3);
    let v = smol::block_on(guarded(async move {
        let mut wait = pen.wait();
        assert!(futures::poll!(&mut wait).is_pending());
        go.send(()).unwrap();
        wait.await
    }));
    assert_eq!(v.unwrap(), 3);
}

// SPEC P1: awaitable from a task on a smol executor.
#[test]
fn awaited_on_a_smol_executor() {
    let (pen, go) = pending_set_by_thread(4);
    let ex = smol::Executor::new();
    let task = ex.spawn(pen);
    let v = smol::block_on(ex.run(guarded(async move {
        go.send(()).unwrap();
        task.await
    })));
    assert_eq!(v.unwrap(), 4);
}

// SPEC P1: awaitable from futures::executor::block_on.
#[test]
fn awaited_on_futures_block_on() {
    let (pen, go) = pending_set_by_thread(5);
    let v = futures::executor::block_on(guarded(async move {
        let mut wait = pen.wait();
        assert!(futures::poll!(&mut wait).is_pending());
        go.send(()).unwrap();
        wait.await
    }));
    assert_eq!(v.unwrap(), 5);
}

// SPEC P1: many concurrent waiters on one pending (all registered first) all get the value.
#[test]
fn many_concurrent_waiters_all_get_the_value() {
    const N: usize = 40;
    let pen: Pending<u64> = Pending::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let results = rt.block_on(guarded(async {
        let registered = Arc::new(tokio::sync::Barrier::new(N + 1));
        let tasks: Vec<_> = (0..N)
            .map(|_| {
                let mut wait = pen.wait();
                let registered = registered.clone();
                tokio::spawn(async move {
                    assert!(futures::poll!(&mut wait).is_pending());
                    registered.wait().await;
                    wait.await
                })
            })
            .collect();
        registered.wait().await;
        let setter = pen.clone();
        std::thread::spawn(move || setter.set_result(77).unwrap());
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }));
    assert_eq!(results.len(), N);
    assert!(results.into_iter().all(|r| r.unwrap() == 77));
}

// SPEC P1: one pending awaited from tokio, smol and a blocked thread at once.
#[test]
fn waiters_on_different_executors_share_one_pending() {
    let pen: Pending<&'static str> = Pending::new();
    let p = pen.clone();
    let on_tokio = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(guarded(p.wait()))
    });
    let p = pen.clone();
    let on_smol = std::thread::spawn(move || smol::block_on(guarded(p.wait())));
    let p = pen.clone();
    let blocked = std::thread::spawn(move || p.wait_sync(Some(GUARD)));
    pen.set_result("everyone").unwrap();
    assert_eq!(on_tokio.join().unwrap().unwrap(), "everyone");
    assert_eq!(on_smol.join().unwrap().unwrap(), "everyone");
    assert_eq!(blocked.join().unwrap().unwrap(), "everyone");
}

// SPEC P1: AnyPending equals the Pending it came from, both ways, and its clones.
#[test]
fn any_pending_equals_the_pending_it_came_from() {
    let pen: Pending<u8> = Pending::new();
    let any: AnyPending = pen.erase();
    let from: AnyPending = AnyPending::from(pen.clone());
    assert!(pen == any);
    assert!(any == pen);
    assert_eq!(any, from);
    assert_eq!(any.id(), pen.id());
    let other: Pending<u8> = Pending::new();
    assert!(other != any);
    assert_ne!(other.erase(), any);
}

// SPEC P1: AnyPending hashing is identity: erasures of one pending collapse, others do not.
#[test]
fn any_pending_hash_is_identity() {
    let a: Pending<u8> = Pending::new();
    let b: Pending<String> = Pending::new();
    let mut set = HashSet::new();
    assert!(set.insert(a.erase()));
    assert!(!set.insert(AnyPending::from(&a)));
    assert!(set.insert(b.erase()));
    assert_eq!(set.len(), 2);
    // Completing a pending does not change its identity.
    a.set_result(1).unwrap();
    assert!(set.contains(&a.erase()));
}

// SPEC P1: Pending equality and hashing are identity, not value.
#[test]
// Hashing is by identity, so the interior mutability clippy sees cannot change a key's hash.
#[allow(clippy::mutable_key_type)]
fn pending_equality_is_identity() {
    let a: Pending<u8> = Pending::new();
    let b: Pending<u8> = Pending::new();
    a.set_result(1).unwrap();
    b.set_result(1).unwrap();
    assert_ne!(a, b, "same value, different pendings");
    let set: HashSet<Pending<u8>> = [a.clone(), a.clone(), b.clone()].into_iter().collect();
    assert_eq!(set.len(), 2);
}

// SPEC P1: AnyPending mirrors state and can be awaited until done without cancelling on drop.
#[test]
fn any_pending_wait_done_and_state() {
    let pen: Pending<u8> = Pending::new();
    let any = pen.erase();
    assert!(!any.done());
    // Dropping an unfinished wait_done cancels nothing.
    assert!(futures::FutureExt::now_or_never(any.wait_done()).is_none());
    assert!(!pen.cancelled());
    let setter = pen.clone();
    std::thread::spawn(move || setter.set_exception("e").unwrap());
    futures::executor::block_on(guarded(any.wait_done()));
    assert!(any.done());
    assert!(!any.cancelled());
    assert!(any.error().is_some());
}
