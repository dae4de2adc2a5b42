//! A Jupyter kernel on async-kernel's [`Caller`](async_kernel::Caller): the wire protocol, the
//! channels, run modes, history, kernelspec install and an [`Interpreter`] trait for any
//! language, with Lua 5.4 bundled ([`lua::LuaInterpreter`], served by the `async-kernel` binary).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod channels;
pub mod connection;
pub mod history;
pub mod interpreter;
pub mod kernelspec;
pub mod lua;
pub mod messages;
pub mod run_mode;
pub mod wire;

pub use crate::interpreter::{CellContext, Completeness, Completion, Interpreter, Outcome};
