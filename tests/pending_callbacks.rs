//! Done-callbacks (SPEC P12).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_kernel::Pending;

// SPEC P12: a callback runs exactly once, even if the pending is then set or cancelled again.
#[test]
fn callback_runs_exactly_once() {
    let pen: Pending<u32> = Pending::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    pen.add_done_callback(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    pen.set_result(1).unwrap();
    assert!(pen.set_result(2).is_err());
    pen.cancel(Some("again"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

// SPEC P12 (Decision): callbacks run in the order they were added.
#[test]
fn callbacks_run_in_the_order_added() {
    let pen: Pending<()> = Pending::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    for i in 0..5 {
        let o = order.clone();
        pen.add_done_callback(move |_| o.lock().unwrap().push(i));
    }
    pen.cancel(None);
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
}

// SPEC P12: a callback added to a done pending runs at once, on the adding thread.
#[test]
fn callback_on_done_pending_runs_at_once_on_this_thread() {
    let pen: Pending<u32> = Pending::new();
    pen.set_result(3).unwrap();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    pen.add_done_callback(move |p| {
        *s.lock().unwrap() = Some((std::thread::current().id(), p.result().unwrap()));
    });
    assert_eq!(
        *seen.lock().unwrap(),
        Some((std::thread::current().id(), 3)),
        "ran before add_done_callback returned"
    );
}

// SPEC P12: callbacks run on the thread that completes the pending, and see the outcome.
#[test]
fn callback_runs_on_the_completing_thread_and_sees_the_outcome() {
    let pen: Pending<&'static str> = Pending::new();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    pen.add_done_callback(move |p| {
        *s.lock().unwrap() = Some((std::thread::current().id(), p.result().unwrap()));
    });
    let setter = pen.clone();
    let completer = std::thread::spawn(move || {
        setter.set_result("value").unwrap();
        std::thread::current().id()
    });
    let completer_id = completer.join().unwrap();
    assert_ne!(completer_id, std::thread::current().id());
    assert_eq!(*seen.lock().unwrap(), Some((completer_id, "value")));
}

// SPEC P12: a panicking callback does not stop the callbacks after it.
#[test]
fn panicking_callback_does_not_stop_the_others() {
    let pen: Pending<u32> = Pending::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    pen.add_done_callback(move |_| o.lock().unwrap().push("first"));
    pen.add_done_callback(|_| panic!("callback exploded"));
    let o = order.clone();
    pen.add_done_callback(move |_| o.lock().unwrap().push("third"));
    pen.set_result(1).unwrap();
    assert_eq!(*order.lock().unwrap(), vec!["first", "third"]);
    // The pending is intact and waiters are released.
    assert_eq!(
        pen.wait_sync(Some(std::time::Duration::from_secs(5)))
            .unwrap(),
        1
    );
}

// SPEC P12: remove_done_callback returns 1 the first time, 0 after, and the callback never runs.
#[test]
fn remove_done_callback_returns_one_then_zero() {
    let pen: Pending<u32> = Pending::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let id = pen.add_done_callback(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let kept = runs.clone();
    pen.add_done_callback(move |_| {
        kept.fetch_add(10, Ordering::SeqCst);
    });
    assert_eq!(pen.remove_done_callback(id), 1);
    assert_eq!(pen.remove_done_callback(id), 0);
    pen.set_result(1).unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        10,
        "only the kept callback ran"
    );
}

// SPEC P12: a callback added by a callback while the pending completes still runs, once.
#[test]
fn callback_added_from_a_callback_runs() {
    let pen: Pending<u32> = Pending::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    pen.add_done_callback(move |p| {
        o.lock().unwrap().push("outer");
        let o2 = o.clone();
        p.add_done_callback(move |_| o2.lock().unwrap().push("inner"));
    });
    pen.set_result(1).unwrap();
    assert_eq!(*order.lock().unwrap(), vec!["outer", "inner"]);
}
