//! Publishes through the iopub forwarder to any ZeroMQ SUB client (SPEC C15).
//!
//! ```text
//! cargo run --example iopub --features zmq -- --port PORT --threads N --messages M
//! ```
//!
//! Binds the forwarder on `tcp://127.0.0.1:PORT` (0 picks a free port; the bound endpoint is
//! printed), waits until a subscriber is connected, then starts `N` callers, each on its own
//! thread, that publish `M` messages each through their own iopub sockets. Every message has
//! three parts: `b"iopub"`, the caller's index (`0..N`) and the message's sequence number
//! (`0..M`), both in decimal ASCII (`b"3"`, `b"41"`): readable from any client language without
//! agreeing on a byte order. A client subscribed to everything receives all `N × M` messages,
//! each caller's in order. Exits 0 once everything is flushed to the subscriber (at most
//! 10 s after the last message), 2 on bad arguments, 1 on any other failure.

use std::process::ExitCode;
use std::time::Duration;

use async_kernel::caller::{Caller, CallerOptions, Modifier};
use async_kernel::iopub::{self, IopubError, IopubForwarder, ZmqContext};

/// How long the subscriber gets to receive what is still queued when the example ends.
const FLUSH: Duration = Duration::from_secs(10);

struct Args {
    port: u16,
    threads: usize,
    messages: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        threads: 4,
        messages: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--port" => args.port = value.parse().map_err(bad)?,
            "--threads" => args.threads = value.parse().map_err(bad)?,
            "--messages" => args.messages = value.parse().map_err(bad)?,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\nusage: iopub --port PORT --threads N --messages M");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors keep their cause in `source()`: print the whole chain.
            let mut text = e.to_string();
            let mut cause = e.source();
            while let Some(c) = cause {
                text = format!("{text}: {c}");
                cause = c.source();
            }
            eprintln!("iopub example failed: {text}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let context = ZmqContext::new();
    let forwarder = IopubForwarder::bind(&context, &format!("tcp://127.0.0.1:{}", args.port))?;
    println!("forwarding on {}", forwarder.endpoint());
    println!("waiting for a subscriber");
    forwarder.wait_for_subscriber(None);

    let callers = (0..args.threads)
        .map(|i| {
            let options = CallerOptions::named(format!("iopub-{i}")).zmq_context(context.clone());
            Caller::new(Modifier::NewThread, options)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let messages = args.messages;
    let publishing = callers
        .iter()
        .enumerate()
        .map(|(i, caller)| {
            caller.call_soon(move || {
                let index = i.to_string();
                for seq in 0..messages {
                    let seq = seq.to_string();
                    iopub::publish([&b"iopub"[..], index.as_bytes(), seq.as_bytes()])?;
                }
                Ok::<(), IopubError>(())
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for pending in publishing {
        pending.wait_sync(None)??;
    }
    for caller in &callers {
        caller.stop(true);
        caller.join()?;
    }
    drop(callers);
    // Forwards what is left and lets the TCP socket linger long enough for the subscriber;
    // dropping the last handle of the context waits for it.
    forwarder.stop_with_linger(Some(FLUSH));
    drop(forwarder);
    drop(context);
    println!(
        "published {} messages from {} callers",
        args.threads * args.messages,
        args.threads
    );
    Ok(())
}
