//! The span calls run under (SPEC C3 `log`, C14; RUST.md "Observability": calls are traced
//! with `tracing` spans carrying the caller's name).
//!
//! The subscriber is global (callers log on their own threads), so this binary holds only the
//! tests that read the captured output, each looking for its own markers.

use std::io::Write;
use std::sync::{Mutex, Once};
use std::time::Duration;

use async_kernel::caller::{Async, Caller, CallerOptions, Modifier};

const T: Option<Duration> = Some(Duration::from_secs(5));

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(|| Capture)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

/// The captured line holding `marker`.
fn line_with(marker: &str) -> String {
    let logs = String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned();
    logs.lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker} was not logged; logs:\n{logs}"))
        .to_owned()
}

fn shutdown(caller: &Caller) {
    caller.stop(true);
    caller.join().unwrap();
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
