//! The span calls run under (SPEC C3 `log`, C14; RUST.md "Observability": calls are traced
//! with `tracing` spans carrying the caller's name).
//!
//! The subscriber is global (callers log on their own threads), so this binary holds only the
//! tests that read the captured output, each looking for its own markers.

mod common;

use async_kernel::caller::{Async, Caller, CallerOptions, Modifier};

use common::{T, capture_logs, logs, shutdown};

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
    let caller = Caller::new(Modifier::NewThread, CallerOptions::named("log-plain")).unwrap();
    caller
        .call_soon(|| tracing::info!("marker-plain-7f3a"))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    let line = line_with("marker-plain-7f3a");
    assert!(
        line.contains("caller{") && line.contains("log-plain"),
        "{line}"
    );
    shutdown(&caller);
}

#[test]
fn an_async_call_runs_under_the_callers_span() {
    // SPEC C3, C14 (log)
    capture_logs();
    let caller = Caller::new(Modifier::NewThread, CallerOptions::named("log-async")).unwrap();
    caller
        .call_soon(Async(|| async {
            futures::future::ready(()).await;
            tracing::info!("marker-async-9c1d");
        }))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    let line = line_with("marker-async-9c1d");
    assert!(
        line.contains("caller{") && line.contains("log-async"),
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
        CallerOptions::named("log-given").log(span),
    )
    .unwrap();
    assert_eq!(
        caller.log().metadata().map(|m| m.name()),
        Some("custom_log_span")
    );
    caller
        .call_soon(Async(|| async { tracing::info!("marker-given-44aa") }))
        .unwrap()
        .wait_sync(T)
        .unwrap();
    let line = line_with("marker-given-44aa");
    assert!(
        line.contains("custom_log_span") && line.contains("given-5e2b"),
        "{line}"
    );
    shutdown(&caller);
}
