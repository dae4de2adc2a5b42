//! The bundled language: Lua 5.4 (`mlua`, vendored). One Lua state holds the session's globals;
//! each cell runs in its own Lua thread, polled as a future, so that a cell in task mode can
//! `sleep` while another runs. A global hook every [`HOOK_INSTRUCTIONS`] instructions stops an
//! interrupted cell and yields a long-running one back to its loop.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use jupyter_protocol::{LanguageInfo, Media, Payload};
use mlua::thread::{ThreadEvent, ThreadTriggers};
use mlua::{Function, HookTriggers, Lua, MultiValue, Table, Value, VmState};
use serde_json::json;

use crate::interpreter::{BoxFuture, CellContext, Completeness, Completion, Interpreter, Outcome};

/// Instructions between two runs of the hook: about 0.1 ms of a tight loop, the latency of an
/// interrupt.
pub const HOOK_INSTRUCTIONS: u32 = 10_000;

/// How long a cell runs on its loop before the hook yields it to other work (task mode).
pub const TIME_SLICE: Duration = Duration::from_millis(5);

/// Stream text is buffered up to this size, then published.
const STREAM_BUFFER: usize = 64 * 1024;

const PRELUDE: &str = include_str!("lua_prelude.lua");

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// The Lua 5.4 interpreter of the `async-kernel` binary.
pub struct LuaInterpreter {
    lua: Lua,
    shared: Arc<Shared>,
    run: Function,
    describe: Function,
}

/// What the builtins and the hook need to know: which cell's code runs now. `active` is set
/// by the thread-resume callback, which runs under the Lua state's lock as the cell's code
/// does, so a builtin always sees the cell that called it, whichever thread polls it.
#[derive(Default)]
struct Shared {
    /// The code of every cell by chunk name, for `help` to show a function's first line.
    sources: Mutex<std::collections::HashMap<String, String>>,
    cells: Mutex<std::collections::HashMap<usize, Arc<Running>>>,
    active: Mutex<Option<Arc<Running>>>,
}

/// A cell while it runs: its context, its root thread and its buffered stream output.
struct Running {
    cell: CellContext,
    thread: usize,
    slice_start: Mutex<Instant>,
    buffer: Mutex<StreamBuffer>,
    payload: Mutex<Vec<Payload>>,
}

#[derive(Default)]
struct StreamBuffer {
    name: &'static str,
    text: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the interpreter down: the data stays usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Running {
    fn write(&self, name: &'static str, text: &str) {
        let mut buffer = lock(&self.buffer);
        if buffer.name != name && !buffer.text.is_empty() {
            let text = std::mem::take(&mut buffer.text);
            self.cell.stream(buffer.name, &text);
        }
        buffer.name = name;
        buffer.text.push_str(text);
        if buffer.text.len() >= STREAM_BUFFER {
            let text = std::mem::take(&mut buffer.text);
            self.cell.stream(name, &text);
        }
    }

    fn flush(&self) {
        let mut buffer = lock(&self.buffer);
        if !buffer.text.is_empty() {
            let text = std::mem::take(&mut buffer.text);
            self.cell.stream(buffer.name, &text);
        }
    }
}

impl Shared {
    fn active(&self) -> Option<Arc<Running>> {
        lock(&self.active).clone()
    }
}

/// A cell's entry in [`Shared::cells`], removed on drop.
struct Registration {
    shared: Arc<Shared>,
    thread: usize,
}

impl Registration {
    fn new(shared: &Arc<Shared>, running: Arc<Running>) -> Registration {
        let thread = running.thread;
        lock(&shared.cells).insert(thread, running);
        Registration {
            shared: shared.clone(),
            thread,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let removed = lock(&self.shared.cells).remove(&self.thread);
        let mut active = lock(&self.shared.active);
        if let (Some(removed), Some(current)) = (&removed, &*active)
            && Arc::ptr_eq(removed, current)
        {
            *active = None;
        }
    }
}

/// Why the Lua interpreter could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up lua: {0}")]
pub struct LuaSetupError(#[from] mlua::Error);

impl LuaInterpreter {
    /// A fresh Lua state with the kernel's builtins.
    ///
    /// # Errors
    /// [`LuaSetupError`] when the builtins cannot be installed (not expected).
    pub fn new() -> Result<LuaInterpreter, LuaSetupError> {
        let lua = Lua::new();
        let shared = Arc::new(Shared::default());
        let k = lua.create_table()?;

        let s = shared.clone();
        k.set(
            "write",
            lua.create_function(move |_, (stream, text): (String, String)| {
                if let Some(running) = s.active() {
                    running.write(
                        if stream == "stderr" {
                            "stderr"
                        } else {
                            "stdout"
                        },
                        &text,
                    );
                }
                Ok(())
            })?,
        )?;
        let s = shared.clone();
        k.set(
            "display",
            lua.create_function(move |_, bundle: Table| {
                if let Some(running) = s.active() {
                    let mut data = serde_json::Map::new();
                    for pair in bundle.pairs::<String, String>() {
                        let (mime, value) = pair?;
                        data.insert(mime, json!(value));
                    }
                    running.flush();
                    running.cell.publish(
                        "display_data",
                        json!({"data": data, "metadata": {}, "transient": {}}),
                    );
                }
                Ok(())
            })?,
        )?;
        let s = shared.clone();
        k.set(
            "display_json",
            lua.create_function(move |_, value: Value| {
                if let Some(running) = s.active() {
                    let json = to_json(&value, 0);
                    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
                    running.flush();
                    running.cell.publish(
                        "display_data",
                        json!({"data": {"application/json": json, "text/plain": text},
                               "metadata": {}, "transient": {}}),
                    );
                }
                Ok(())
            })?,
        )?;
        let s = shared.clone();
        k.set(
            "clear_output",
            lua.create_function(move |_, wait: bool| {
                if let Some(running) = s.active() {
                    running.flush();
                    running.cell.clear_output(wait);
                }
                Ok(())
            })?,
        )?;
        let s = shared.clone();
        k.set(
            "page",
            lua.create_function(move |_, text: String| {
                if let Some(running) = s.active() {
                    let data: Media =
                        serde_json::from_value(json!({"text/plain": text})).unwrap_or_default();
                    lock(&running.payload).push(Payload::Page { data, start: 0 });
                }
                Ok(())
            })?,
        )?;
        k.set(
            "traceback",
            lua.create_function(|lua, message: String| {
                Ok(lua.traceback(Some(&message), 1)?.to_string_lossy())
            })?,
        )?;
        let s = shared.clone();
        k.set(
            "function_info",
            lua.create_function(move |_, f: Function| {
                let info = f.info();
                let source = info.source.unwrap_or_default();
                let first_line = info.line_defined.and_then(|line| {
                    let sources = lock(&s.sources);
                    let code = sources.get(source.strip_prefix('=').unwrap_or(&source))?;
                    code.lines()
                        .nth(line.checked_sub(1)?)
                        .map(|l| l.trim().to_owned())
                });
                Ok((
                    info.what,
                    info.short_src.unwrap_or_default(),
                    info.line_defined.unwrap_or(0),
                    info.num_params,
                    first_line,
                ))
            })?,
        )?;
        let s = shared.clone();
        k.set(
            "sleep",
            lua.create_async_function(move |_, seconds: f64| {
                let running = s.active();
                async move {
                    let Some(running) = running else {
                        return Ok(());
                    };
                    running.flush();
                    let duration = Duration::try_from_secs_f64(seconds.max(0.0))
                        .unwrap_or(Duration::from_secs(u64::from(u32::MAX)));
                    let timer = async_io::Timer::after(duration);
                    let cancelled = running.cell.cancelled();
                    futures_util::future::select(Box::pin(timer), cancelled).await;
                    if running.cell.is_cancelled() {
                        return Err(mlua::Error::runtime("KeyboardInterrupt"));
                    }
                    Ok(())
                }
            })?,
        )?;
        let s = shared.clone();
        k.set(
            "input",
            lua.create_async_function(move |_, prompt: Option<String>| {
                let running = s.active();
                async move {
                    let Some(running) = running else {
                        return Err(mlua::Error::runtime("input() outside a cell"));
                    };
                    running.flush();
                    let prompt = prompt.unwrap_or_default();
                    let answer = running.cell.input(&prompt, false);
                    let cancelled = running.cell.cancelled();
                    let answer = match futures_util::future::select(answer, cancelled).await {
                        futures_util::future::Either::Left((answer, _)) => answer,
                        futures_util::future::Either::Right(_) => {
                            return Err(mlua::Error::runtime("KeyboardInterrupt"));
                        }
                    };
                    answer.ok_or_else(|| {
                        mlua::Error::runtime(
                            "input() is not available: the request does not allow stdin",
                        )
                    })
                }
            })?,
        )?;

        let s = shared.clone();
        lua.set_thread_event_callback(ThreadTriggers::new().on_resume(), move |_, event| {
            if let ThreadEvent::Resume(thread) = event {
                let running = lock(&s.cells).get(&(thread.to_pointer() as usize)).cloned();
                if let Some(running) = &running {
                    *lock(&running.slice_start) = Instant::now();
                }
                *lock(&s.active) = running;
            }
            Ok(())
        });

        let (run, describe): (Function, Function) =
            lua.load(PRELUDE).set_name("=kernel").call(k)?;

        let s = shared.clone();
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
            move |lua, _debug| {
                let Some(running) = s.active() else {
                    return Ok(VmState::Continue);
                };
                if running.cell.is_cancelled() {
                    return Err(mlua::Error::runtime("KeyboardInterrupt"));
                }
                // Yield a long-running cell to its loop, from its own thread only: a yield
                // inside a coroutine of the cell's code would return to that code.
                if lock(&running.slice_start).elapsed() >= TIME_SLICE
                    && lua.current_thread().to_pointer() as usize == running.thread
                {
                    running.flush();
                    return Ok(VmState::Yield);
                }
                Ok(VmState::Continue)
            },
        )?;

        Ok(LuaInterpreter {
            lua,
            shared,
            run,
            describe,
        })
    }

    /// The Lua state (for embedding: add globals before the kernel starts).
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Compiles a cell: as an expression (`return <code>`) if it is one, as a chunk otherwise
    /// (the standalone `lua` prompt's rule).
    fn compile(&self, code: &str, name: &str) -> Result<Function, mlua::Error> {
        let expression = self
            .lua
            .load(format!("return {code}"))
            .set_name(name)
            .into_function();
        match expression {
            Ok(f) => Ok(f),
            Err(_) => self.lua.load(code).set_name(name).into_function(),
        }
    }

    /// The value a dotted name (`string.format`, `t.x:y`) names, read without metamethods.
    fn resolve(&self, path: &str) -> Option<Value> {
        let mut value = Value::Table(self.lua.globals());
        for part in path.split(['.', ':']) {
            value = match value {
                Value::Table(t) => t.raw_get::<Value>(part).ok()?,
                Value::String(_) if !part.is_empty() => self
                    .lua
                    .globals()
                    .raw_get::<Table>("string")
                    .ok()?
                    .raw_get(part)
                    .ok()?,
                _ => return None,
            };
            if value.is_nil() {
                return None;
            }
        }
        Some(value)
    }
}

/// A Lua value as JSON (tables with keys 1..n as arrays, others as objects; functions and
/// other values as their text), at most 32 levels deep.
fn to_json(value: &Value, depth: usize) -> serde_json::Value {
    match value {
        Value::Nil => serde_json::Value::Null,
        Value::Boolean(b) => json!(b),
        Value::Integer(i) => json!(i),
        Value::Number(n) => json!(n),
        Value::String(s) => json!(s.to_string_lossy()),
        Value::Table(t) if depth < 32 => {
            let len = t.raw_len();
            let pairs: Vec<(Value, Value)> = t.pairs::<Value, Value>().flatten().collect();
            if len > 0 && pairs.len() == len {
                let mut items = Vec::with_capacity(len);
                for i in 1..=len {
                    items.push(to_json(
                        &t.raw_get::<Value>(i).unwrap_or(Value::Nil),
                        depth + 1,
                    ));
                }
                serde_json::Value::Array(items)
            } else {
                let mut map = serde_json::Map::new();
                for (k, v) in pairs {
                    let key = match &k {
                        Value::String(s) => s.to_string_lossy(),
                        other => other.to_string().unwrap_or_default(),
                    };
                    map.insert(key, to_json(&v, depth + 1));
                }
                serde_json::Value::Object(map)
            }
        }
        other => json!(other.to_string().unwrap_or_else(|_| "?".into())),
    }
}

/// The identifier chain (`a.b:c`) that ends at `cursor` (in characters), with its start.
fn token_before(code: &str, cursor: usize) -> (usize, String) {
    let chars: Vec<char> = code.chars().collect();
    let end = cursor.min(chars.len());
    let mut start = end;
    while start > 0 {
        let c = chars[start - 1];
        if c.is_alphanumeric() || c == '_' || c == '.' || c == ':' {
            start -= 1;
        } else {
            break;
        }
    }
    (start, chars[start..end].iter().collect())
}

/// The identifier chain around `cursor` (extending to the right too).
fn token_at(code: &str, cursor: usize) -> String {
    let chars: Vec<char> = code.chars().collect();
    let (_, mut token) = token_before(code, cursor);
    let mut end = cursor.min(chars.len());
    while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
        token.push(chars[end]);
        end += 1;
    }
    token.trim_matches(['.', ':']).to_owned()
}

impl Interpreter for LuaInterpreter {
    fn language_info(&self) -> LanguageInfo {
        LanguageInfo {
            name: "lua".into(),
            version: "5.4".into(),
            mimetype: Some("text/x-lua".into()),
            file_extension: Some(".lua".into()),
            pygments_lexer: Some("lua".into()),
            codemirror_mode: Some(jupyter_protocol::CodeMirrorMode::Simple("lua".into())),
            nbconvert_exporter: None,
        }
    }

    fn banner(&self) -> String {
        format!(
            "async-kernel: Lua 5.4 on async-kernel's Caller ({})",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn execute(&self, code: String, cell: CellContext) -> BoxFuture<Outcome> {
        let name = format!("=[cell {}]", cell.execution_count());
        let compiled = self.compile(&code, &name);
        lock(&self.shared.sources).insert(name[1..].to_owned(), code.clone());
        let lua = self.lua.clone();
        let shared = self.shared.clone();
        let run = self.run.clone();
        Box::pin(async move {
            let function = match compiled {
                Ok(compiled) => compiled,
                Err(mlua::Error::SyntaxError { message, .. }) => {
                    return Outcome::Error {
                        ename: "SyntaxError".into(),
                        evalue: message.clone(),
                        traceback: vec![format!("SyntaxError: {message}")],
                    };
                }
                Err(other) => return lua_failure(&other),
            };
            let thread = match lua.create_thread(run) {
                Ok(thread) => thread,
                Err(e) => return lua_failure(&e),
            };
            let running = Arc::new(Running {
                cell: cell.clone(),
                thread: thread.to_pointer() as usize,
                slice_start: Mutex::new(Instant::now()),
                buffer: Mutex::new(StreamBuffer {
                    name: "stdout",
                    text: String::new(),
                }),
                payload: Mutex::new(Vec::new()),
            });
            let mut future = match thread.into_async::<MultiValue>(function) {
                Ok(future) => future,
                Err(e) => return lua_failure(&e),
            };
            // Registered until the end of this block, also when the cell is dropped (cancelled).
            let _registered = Registration::new(&shared, running.clone());
            let result = (&mut future).await;
            running.flush();
            if cell.is_cancelled() {
                return Outcome::interrupted();
            }
            let values: Vec<Value> = match result {
                Ok(values) => values.into_iter().collect(),
                Err(e) => return lua_failure(&e),
            };
            match values.first() {
                Some(Value::Boolean(true)) => {}
                _ => {
                    let message = values
                        .get(1)
                        .and_then(|v| v.to_string().ok())
                        .unwrap_or_else(|| "error".into());
                    let traceback = values
                        .get(2)
                        .and_then(|v| v.to_string().ok())
                        .unwrap_or_else(|| message.clone());
                    return Outcome::Error {
                        ename: "LuaError".into(),
                        evalue: message,
                        traceback: traceback.lines().map(str::to_owned).collect(),
                    };
                }
            }
            let shown: Vec<String> = values[1..]
                .iter()
                .map(|v| v.to_string().unwrap_or_else(|_| "?".into()))
                .collect();
            // As the standalone `lua` prompt: whatever the chunk returns is shown.
            let result = if !shown.is_empty() {
                serde_json::from_value(json!({"text/plain": shown.join("\t")})).ok()
            } else {
                None
            };
            let payload = std::mem::take(&mut *lock(&running.payload));
            Outcome::Ok { result, payload }
        })
    }

    fn complete(&self, code: &str, cursor_pos: usize) -> Completion {
        let (start, token) = token_before(code, cursor_pos);
        let split = token.rfind(['.', ':']);
        let (base, partial) = match split {
            Some(i) => (&token[..i], &token[i + 1..]),
            None => ("", token.as_str()),
        };
        let mut matches = Vec::new();
        let table = if base.is_empty() {
            Some(self.lua.globals())
        } else {
            match self.resolve(base) {
                Some(Value::Table(t)) => Some(t),
                Some(Value::String(_)) => self.lua.globals().raw_get::<Table>("string").ok(),
                _ => None,
            }
        };
        if let Some(table) = table {
            for (key, _) in table.pairs::<Value, Value>().flatten() {
                if let Value::String(key) = key {
                    let key = key.to_string_lossy();
                    if key.starts_with(partial) {
                        matches.push(match split {
                            Some(i) => format!("{}{}", &token[..=i], key),
                            None => key,
                        });
                    }
                }
            }
        }
        if base.is_empty() {
            matches.extend(
                KEYWORDS
                    .iter()
                    .filter(|k| k.starts_with(partial) && !partial.is_empty())
                    .map(|k| (*k).to_owned()),
            );
        }
        matches.sort();
        matches.dedup();
        Completion {
            matches,
            cursor_start: start,
            cursor_end: cursor_pos.min(code.chars().count()),
        }
    }

    fn inspect(&self, code: &str, cursor_pos: usize, _detail_level: u8) -> Option<Media> {
        let name = token_at(code, cursor_pos);
        if name.is_empty() {
            return None;
        }
        let value = self.resolve(&name)?;
        let text: String = self.describe.call((value, name)).ok()?;
        serde_json::from_value(json!({"text/plain": text})).ok()
    }

    fn is_complete(&self, code: &str) -> Completeness {
        if self
            .lua
            .load(format!("return {code}"))
            .into_function()
            .is_ok()
        {
            return Completeness::Complete;
        }
        match self.lua.load(code).into_function() {
            Ok(_) => Completeness::Complete,
            Err(mlua::Error::SyntaxError {
                incomplete_input: true,
                ..
            }) => Completeness::Incomplete("  ".into()),
            Err(mlua::Error::SyntaxError { .. }) => Completeness::Invalid,
            Err(_) => Completeness::Unknown,
        }
    }
}

fn lua_failure(error: &mlua::Error) -> Outcome {
    let text = error.to_string();
    Outcome::Error {
        ename: "LuaError".into(),
        evalue: text.clone(),
        traceback: text.lines().map(str::to_owned).collect(),
    }
}
