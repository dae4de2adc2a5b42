// Included by tests/caller_call_direct.rs once per backend; `BACKEND` is defined there.

use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use crate::common::{T, block, capture_logs, logs, new_caller_on, shutdown};

#[test]
fn call_direct_runs_in_order_with_scheduled_calls() {
    // SPEC C10
    let caller = new_caller_on(BACKEND, "direct-order");
    let order = Arc::new(Mutex::new(Vec::new()));
    let (_blocker, release) = block(&caller);
    let push = |i: u32| {
        let order = order.clone();
        move || order.lock().unwrap().push(i)
    };
    caller.call_soon(push(1)).unwrap();
    caller.call_direct(push(2)).unwrap();
    caller.call_soon(push(3)).unwrap();
    caller.call_direct(push(4)).unwrap();
    let last = caller.call_soon(push(5)).unwrap();
    drop(release);
    last.wait_sync(T).unwrap();
    assert_eq!(*order.lock().unwrap(), vec![1, 2, 3, 4, 5]);
    shutdown(&caller);
}

#[test]
fn call_direct_runs_on_the_callers_thread() {
    // SPEC C10
    let caller = new_caller_on(BACKEND, "direct-thread");
    let (tx, rx) = mpsc::channel();
    caller
        .call_direct(move || tx.send(thread::current().id()).unwrap())
        .unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        caller.thread()
    );
    shutdown(&caller);
}

#[test]
fn a_panicking_call_direct_does_not_stop_the_caller() {
    // SPEC C10
    let caller = new_caller_on(BACKEND, "direct-panic-serves");
    caller.call_direct(|| panic!("direct boom")).unwrap();
    let (tx, rx) = mpsc::channel();
    caller.call_direct(move || tx.send(1).unwrap()).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
    assert_eq!(caller.call_soon(|| 9).unwrap().wait_sync(T).unwrap(), 9);
    assert!(caller.running());
    shutdown(&caller);
}

#[test]
fn a_panicking_call_direct_is_logged_with_its_message() {
    // SPEC C10
    capture_logs();
    let caller = new_caller_on(BACKEND, "direct-panic-logged");
    caller.call_direct(|| panic!("direct boom 0x5eed")).unwrap();
    // The next call runs after the panicking one was handled (and logged).
    caller.call_soon(|| ()).unwrap().wait_sync(T).unwrap();
    let logs = logs();
    let line = logs
        .lines()
        .find(|l| l.contains("direct boom 0x5eed"))
        .unwrap_or_else(|| panic!("nothing logged about the panic; logs:\n{logs}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("direct-panic-logged"), "{line}");
    shutdown(&caller);
}
