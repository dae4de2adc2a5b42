// Included by tests/caller_registry.rs once per backend; `BACKEND` is defined there.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::thread;
use std::time::Duration;

use async_kernel::caller::{Async, Caller, CallerOptions, Modifier};
use async_kernel::{Event, Pending};

use crate::common::{T, ensure_running, new_caller_on, shutdown};

fn hash_of(caller: &Caller) -> u64 {
    let mut hasher = DefaultHasher::new();
    caller.hash(&mut hasher);
    hasher.finish()
}

#[test]
fn get_current_finds_a_new_thread_caller_by_its_thread() {
    // SPEC C14
    let caller = new_caller_on(BACKEND, "reg-get-current");
    assert_eq!(Caller::get_current(caller.thread()), Some(caller.clone()));
    shutdown(&caller);
}

#[test]
fn get_current_of_a_stopped_caller_is_none() {
    // SPEC C14, C6 (a stopping caller leaves the registry)
    let caller = new_caller_on(BACKEND, "reg-get-current-stopped");
    ensure_running(&caller);
    let thread = caller.thread();
    caller.stop(false);
    assert_eq!(Caller::get_current(thread), None);
    caller.join().unwrap();
    assert_eq!(Caller::get_current(thread), None);
}

#[test]
fn get_current_of_a_thread_without_a_caller_is_none() {
    // SPEC C14
    let plain = thread::spawn(|| thread::current().id()).join().unwrap();
    assert_eq!(Caller::get_current(plain), None);
    assert_eq!(Caller::get_current(thread::current().id()), None);
}

#[test]
fn all_callers_lists_initial_and_running_callers() {
    // SPEC C14
    let initial = Caller::new(
        Modifier::Manual,
        CallerOptions::named("reg-all-initial").backend(BACKEND),
    )
    .unwrap();
    let running = new_caller_on(BACKEND, "reg-all-running");
    ensure_running(&running);
    let all = Caller::all_callers(false);
    assert!(all.contains(&initial));
    assert!(all.contains(&running));
    initial.stop(true);
    shutdown(&running);
}

#[test]
fn all_callers_running_only_skips_a_caller_that_is_not_running() {
    // SPEC C14
    let initial = Caller::new(
        Modifier::Manual,
        CallerOptions::named("reg-running-only-initial").backend(BACKEND),
    )
    .unwrap();
    let running = new_caller_on(BACKEND, "reg-running-only-running");
    ensure_running(&running);
    let listed = Caller::all_callers(true);
    assert!(listed.contains(&running));
    assert!(!listed.contains(&initial));
    assert!(listed.iter().all(Caller::running));
    initial.stop(true);
    shutdown(&running);
}

#[test]
fn all_callers_does_not_list_stopped_callers() {
    // SPEC C14, C6
    let a = new_caller_on(BACKEND, "reg-stopped-a");
    let b = Caller::new(
        Modifier::Manual,
        CallerOptions::named("reg-stopped-b").backend(BACKEND),
    )
    .unwrap();
    ensure_running(&a);
    a.stop(false);
    b.stop(false);
    let all = Caller::all_callers(false);
    assert!(!all.contains(&a));
    assert!(!all.contains(&b));
    a.join().unwrap();
}

#[test]
fn current_inside_a_call_is_the_caller_running_it() {
    // SPEC C14
    let caller = new_caller_on(BACKEND, "reg-current-in-call");
    let inside = caller
        .call_soon(Caller::current)
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(inside, Some(caller.clone()));
    shutdown(&caller);
}

#[test]
fn current_on_a_thread_without_a_caller_is_none() {
    // SPEC C14
    assert_eq!(Caller::current(), None);
}

#[test]
fn current_pending_inside_a_plain_call_is_that_calls_pending() {
    // SPEC C9
    let caller = new_caller_on(BACKEND, "reg-current-pending-plain");
    let pen = caller
        .call_soon(|| Caller::current_pending().map(|p| p.id()))
        .unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), Some(pen.id()));
    shutdown(&caller);
}

#[test]
fn current_pending_inside_an_async_call_is_that_calls_pending_across_awaits() {
    // SPEC C9
    let caller = new_caller_on(BACKEND, "reg-current-pending-async");
    let gate: Pending<()> = Pending::new();
    let waiting = gate.clone();
    let started = Event::new();
    let signal = started.clone();
    let a = caller
        .call_soon(Async(move || async move {
            let before = Caller::current_pending().map(|p| p.id());
            signal.set();
            let _ = waiting.wait().protect(true).await;
            let after = Caller::current_pending().map(|p| p.id());
            (before, after)
        }))
        .unwrap();
    started.wait_sync(T).unwrap();
    // Another call runs while `a` is suspended; it sees its own pending.
    let b = caller
        .call_soon(move || {
            let mine = Caller::current_pending().map(|p| p.id());
            gate.set_result(()).unwrap();
            mine
        })
        .unwrap();
    assert_eq!(b.wait_sync(T).unwrap(), Some(b.id()));
    assert_eq!(a.wait_sync(T).unwrap(), (Some(a.id()), Some(a.id())));
    shutdown(&caller);
}

#[test]
fn current_pending_outside_a_call_is_none() {
    // SPEC C9
    assert!(Caller::current_pending().is_none());
    let caller = new_caller_on(BACKEND, "reg-current-pending-outside");
    ensure_running(&caller);
    // Still none on this thread, and none on the caller's thread between calls.
    assert!(Caller::current_pending().is_none());
    let (tx, rx) = std::sync::mpsc::channel();
    caller
        .call_direct(move || tx.send(Caller::current_pending().is_none()).unwrap())
        .unwrap();
    assert!(rx.recv_timeout(Duration::from_secs(5)).unwrap());
    shutdown(&caller);
}

#[test]
fn thread_is_the_thread_calls_run_on_and_is_unique_per_caller() {
    // SPEC C1, C14
    let a = new_caller_on(BACKEND, "reg-thread-a");
    let b = new_caller_on(BACKEND, "reg-thread-b");
    let in_a = a
        .call_soon(|| thread::current().id())
        .unwrap()
        .wait_sync(T)
        .unwrap();
    let in_b = b
        .call_soon(|| thread::current().id())
        .unwrap()
        .wait_sync(T)
        .unwrap();
    assert_eq!(in_a, a.thread());
    assert_eq!(in_b, b.thread());
    assert_ne!(a.thread(), b.thread());
    shutdown(&a);
    shutdown(&b);
}

#[test]
fn clones_are_equal_and_distinct_callers_are_not() {
    // SPEC C14: a caller is a cheap Clone handle; equality is identity
    let a = new_caller_on(BACKEND, "reg-eq-a");
    let b = new_caller_on(BACKEND, "reg-eq-a");
    assert_eq!(a, a.clone());
    assert_ne!(a, b, "same name, different callers");
    // Hashing agrees with equality: by identity.
    assert_eq!(hash_of(&a), hash_of(&a.clone()));
    assert_ne!(hash_of(&a), hash_of(&b));
    shutdown(&a);
    shutdown(&b);
}
