//! `async-kernel`: the Jupyter kernel for Lua 5.4 on async-kernel's Caller.
//!
//! ```text
//! async-kernel -f CONNECTION_FILE        serve a front-end
//! async-kernel install [--user | --sys-prefix | --prefix DIR]
//! ```
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use async_kernel_jupyter::channels::Kernel;
use async_kernel_jupyter::connection::ConnectionInfo;
use async_kernel_jupyter::kernelspec::{self, InstallTarget};
use async_kernel_jupyter::lua::LuaInterpreter;
use signal_hook::consts::SIGINT;
use signal_hook::iterator::Signals;

const USAGE: &str = "usage: async-kernel -f CONNECTION_FILE
       async-kernel install [--user | --sys-prefix | --prefix DIR]";

/// Exit code for bad usage or an unusable connection file.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ASYNC_KERNEL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("install") => install(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("async-kernel {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("-f" | "--connection-file") if args.len() == 2 => serve(PathBuf::from(&args[1])),
        Some(arg) if args.len() == 1 && arg.starts_with("--connection-file=") => {
            serve(PathBuf::from(&arg["--connection-file=".len()..]))
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}

fn install(args: &[String]) -> ExitCode {
    let target = match InstallTarget::from_args(args) {
        Ok(target) => target,
        Err(message) => {
            eprintln!("async-kernel: {message}\n{USAGE}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let executable = match std::env::current_exe().and_then(|p| p.canonicalize()) {
        Ok(path) => path,
        Err(error) => {
            eprintln!("async-kernel: cannot find this program's path: {error}");
            return ExitCode::FAILURE;
        }
    };
    match kernelspec::install(&target, &executable) {
        Ok(dir) => {
            println!(
                "installed kernelspec {} in {}",
                kernelspec::KERNEL_NAME,
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("async-kernel: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(connection_file: PathBuf) -> ExitCode {
    let connection = match ConnectionInfo::from_file(&connection_file) {
        Ok(connection) => connection,
        Err(error) => {
            eprintln!("async-kernel: {error}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let interpreter = match LuaInterpreter::new() {
        Ok(interpreter) => Arc::new(interpreter),
        Err(error) => {
            eprintln!("async-kernel: {error}");
            return ExitCode::FAILURE;
        }
    };
    let kernel = match Kernel::start(&connection, interpreter) {
        Ok(kernel) => kernel,
        Err(error) => {
            eprintln!("async-kernel: {error}");
            return ExitCode::FAILURE;
        }
    };
    // SIGINT (a front-end with `interrupt_mode: signal`, or Ctrl-C) interrupts the running
    // cells instead of ending the process.
    let signals = match Signals::new([SIGINT]) {
        Ok(mut signals) => {
            let handle = signals.handle();
            let interrupter = kernel.interrupter();
            let thread = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for _ in signals.forever() {
                        let cells = interrupter.interrupt();
                        tracing::info!(cells, "SIGINT: interrupted");
                    }
                });
            thread.ok().map(|thread| (handle, thread))
        }
        Err(error) => {
            tracing::warn!(%error, "SIGINT is not handled");
            None
        }
    };
    kernel.run_until_shutdown();
    if let Some((handle, thread)) = signals {
        handle.close();
        let _ = thread.join();
    }
    ExitCode::SUCCESS
}
