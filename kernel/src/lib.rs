//! A Jupyter kernel on async-kernel's [`Caller`](async_kernel::Caller): the wire protocol, the
//! channels, run modes, history, kernelspec install and an [`Interpreter`] trait for any
//! language, with Lua 5.4 bundled ([`lua::LuaInterpreter`], served by the `async-kernel` binary).
//!
//! A language plugs in through [`Interpreter`]; [`channels::Kernel::start`] serves it on the
//! channels of a connection file. A toy language that shows each cell upper-cased:
//!
//! ```
//! use std::sync::Arc;
//! use async_kernel_jupyter::interpreter::{BoxFuture, OutputSink};
//! use async_kernel_jupyter::run_mode::RunMode;
//! use async_kernel_jupyter::{CellContext, Completeness, Completion, Interpreter, Outcome};
//! use jupyter_protocol::{LanguageInfo, Media};
//!
//! struct Shout;
//!
//! impl Interpreter for Shout {
//!     fn language_info(&self) -> LanguageInfo {
//!         LanguageInfo {
//!             name: "shout".into(), version: "1".into(), mimetype: None,
//!             file_extension: Some(".txt".into()), pygments_lexer: None,
//!             codemirror_mode: None, nbconvert_exporter: None,
//!         }
//!     }
//!     fn banner(&self) -> String { "SHOUT".into() }
//!     fn execute(&self, code: String, cell: CellContext) -> BoxFuture<Outcome> {
//!         Box::pin(async move {
//!             cell.stream("stdout", &format!("{}\n", code.to_uppercase()));
//!             Outcome::Ok { result: None, payload: Vec::new() }
//!         })
//!     }
//!     fn complete(&self, _code: &str, cursor_pos: usize) -> Completion {
//!         Completion { matches: vec![], cursor_start: cursor_pos, cursor_end: cursor_pos }
//!     }
//!     fn inspect(&self, _code: &str, _cursor_pos: usize, _detail: u8) -> Option<Media> { None }
//!     fn is_complete(&self, _code: &str) -> Completeness { Completeness::Complete }
//! }
//!
//! // The kernel gives each cell a context whose output goes to iopub; here, to the console.
//! struct Print;
//! impl OutputSink for Print {
//!     fn publish(&self, msg_type: &str, content: serde_json::Value) {
//!         println!("{msg_type}: {content}");
//!     }
//!     fn input(&self, _prompt: &str, _password: bool) -> BoxFuture<Option<String>> {
//!         Box::pin(async { None })
//!     }
//! }
//!
//! let cell = CellContext::new(1, RunMode::Queue, Arc::new(Print));
//! let outcome = futures::executor::block_on(Shout.execute("hello".into(), cell));
//! assert!(matches!(outcome, Outcome::Ok { .. }));
//! ```
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
