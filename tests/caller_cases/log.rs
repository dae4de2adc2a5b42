// Included by tests/caller_log.rs once per backend; `BACKEND` is defined there.

use async_kernel::caller::{Async, Caller, CallerOptions, Modifier};

use crate::common::{T, capture_logs, logs, shutdown};

/// The captured line holding `marker`.
fn line_with(marker: &str) -> String {
    let logs = logs();
    logs.lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker} was not logged; logs:\n{logs}"))
        .to_owned()
}

#[test]
fn a_plain_call_runs_under_the_callers_span() {
    // SPEC C3, C14 (log)
    capture_logs();
    let caller = Caller::new(Modifier::NewThread, CallerOptions::named("log-plain").backend(BACKEND)).unwrap();
    caller
        .call_soon(|| tracing::info!("marker-plain-7f3a-{BACKEND}"))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    let line = line_with(&format!("marker-plain-7f3a-{BACKEND}"));
    assert!(
        line.contains("caller{")
            && line.contains("log-plain")
            && line.contains(&format!("backend={BACKEND}")),
        "{line}"
    );
    shutdown(&caller);
}

#[test]
fn an_async_call_runs_under_the_callers_span() {
    // SPEC C3, C14 (log)
    capture_logs();
    let caller = Caller::new(Modifier::NewThread, CallerOptions::named("log-async").backend(BACKEND)).unwrap();
    caller
        .call_soon(Async(|| async {
            futures::future::ready(()).await;
            tracing::info!("marker-async-9c1d-{BACKEND}");
        }))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    let line = line_with(&format!("marker-async-9c1d-{BACKEND}"));
    assert!(
        line.contains("caller{")
            && line.contains("log-async")
            && line.contains(&format!("backend={BACKEND}")),
        "{line}"
    );
    shutdown(&caller);
}

#[test]
fn calls_run_under_the_span_given_as_log() {
    // SPEC C3 (log)
    capture_logs();
    let span = tracing::info_span!("custom_log_span", tag = "given-5e2b");
    let caller = Caller::new(
        Modifier::NewThread,
        CallerOptions::named("log-given").backend(BACKEND).log(span),
    )
    .unwrap();
    assert_eq!(
        caller.log().metadata().map(|m| m.name()),
        Some("custom_log_span")
    );
    caller
        .call_soon(Async(|| async { tracing::info!("marker-given-44aa-{BACKEND}") }))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    let line = line_with(&format!("marker-given-44aa-{BACKEND}"));
    assert!(
        line.contains("custom_log_span") && line.contains("given-5e2b"),
        "{line}"
    );
    shutdown(&caller);
}
