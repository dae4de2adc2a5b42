//! A scheduled call's metadata and `Debug` name its function and its caller (SPEC P2), before
//! the user's own keys.

mod common;

use std::time::Duration;

use async_kernel::Backend;
use async_kernel::MetaValue;
use async_kernel::caller::{Async, CallOptions, Fallible};
use common::{T, block, new_caller_on, shutdown};

fn answer() -> u32 {
    42
}

fn text(value: Option<&MetaValue>) -> String {
    match value {
        Some(MetaValue::Str(s)) => s.to_string(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn a_call_names_its_function_and_caller(backend: Backend) {
    // SPEC P2 (a scheduled call's metadata: the function's name, the caller, delay, user
    // keys); BEHAVIOUR CX4 (how they are named)
    let caller = new_caller_on(backend, "meta-named");
    let pen = caller.call_soon(answer).unwrap();
    let metadata = pen.metadata();
    assert_eq!(text(metadata.get("func")), "caller_metadata::answer");
    assert_eq!(text(metadata.get("caller")), "meta-named");
    let keys: Vec<&str> = metadata.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["func", "caller"]);
    let debug = format!("{pen:?}");
    assert!(debug.contains("func=caller_metadata::answer"), "{debug}");
    assert!(debug.contains("caller=meta-named"), "{debug}");
    assert_eq!(pen.wait_sync(T).unwrap(), 42);
    shutdown(&caller);
}

fn closures_are_named_after_the_function_that_wrote_them_also_inside_wrappers(backend: Backend) {
    // SPEC P2; BEHAVIOUR CX4
    let caller = new_caller_on(backend, "meta-closures");
    let plain = caller.call_soon(|| 1).unwrap();
    let asynchronous = caller.call_soon(Async(|| async { 2 })).unwrap();
    let fallible = caller
        .call_soon(Fallible(|| Ok::<_, std::io::Error>(3)))
        .unwrap();
    // Nested: a closure written inside another closure (as in `run(|pg| async { .. })`).
    let schedule = || caller.call_soon(|| 4).unwrap();
    let nested = schedule();
    // The `{{closure}}` segments are dropped: the name is the function that wrote them.
    let here = "caller_metadata::closures_are_named_after_the_function_that_wrote_them_also_inside_wrappers";
    for metadata in [
        plain.metadata(),
        asynchronous.metadata(),
        fallible.metadata(),
        nested.metadata(),
    ] {
        assert_eq!(text(metadata.get("func")), here);
    }
    assert_eq!(plain.wait_sync(T).unwrap(), 1);
    assert_eq!(asynchronous.wait_sync(T).unwrap(), 2);
    assert_eq!(fallible.wait_sync(T).unwrap(), 3);
    assert_eq!(nested.wait_sync(T).unwrap(), 4);
    shutdown(&caller);
}

fn user_keys_and_the_delay_follow_the_names(backend: Backend) {
    // SPEC P2, C8 (call_later records its delay); BEHAVIOUR CX4
    let caller = new_caller_on(backend, "meta-user-keys");
    let (blocker, release) = block(&caller);
    let pen = caller
        .schedule_call(
            answer,
            CallOptions::new()
                .metadata("job", "nightly")
                .delay(Duration::from_millis(1)),
        )
        .unwrap();
    // Named while queued too.
    let debug = format!("{pen:?}");
    assert!(debug.contains("func=caller_metadata::answer"), "{debug}");
    let metadata = pen.metadata();
    let keys: Vec<&str> = metadata.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["func", "caller", "job", "delay"]);
    assert_eq!(text(metadata.get("job")), "nightly");
    drop(release);
    blocker.wait_sync(T).unwrap();
    assert_eq!(pen.wait_sync(T).unwrap(), 42);
    shutdown(&caller);
}

#[test]
fn a_pending_made_by_hand_has_no_call_names() {
    // SPEC P2 (metadata is what was given)
    let pen: async_kernel::Pending<u8> = async_kernel::Pending::builder()
        .metadata("k", 1)
        .build()
        .unwrap();
    let metadata = pen.metadata();
    let keys: Vec<&str> = metadata.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["k"]);
}

/// The cases above on every backend compiled in, from one source (the bodies keep their names:
/// the closures' names they check include them).
mod on_every_backend {
    use super::common::backends;

    #[test]
    fn a_call_names_its_function_and_caller() {
        for backend in backends() {
            super::a_call_names_its_function_and_caller(backend);
        }
    }

    #[test]
    fn closures_are_named_after_the_function_that_wrote_them_also_inside_wrappers() {
        for backend in backends() {
            super::closures_are_named_after_the_function_that_wrote_them_also_inside_wrappers(
                backend,
            );
        }
    }

    #[test]
    fn user_keys_and_the_delay_follow_the_names() {
        for backend in backends() {
            super::user_keys_and_the_delay_follow_the_names(backend);
        }
    }
}
