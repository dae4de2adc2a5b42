//! The bundled Lua interpreter through the `Interpreter` trait, with a sink that records what
//! a cell publishes (issue 10: the builtins, expression values, errors, interrupt,
//! completion, inspection, is_complete).

use std::sync::{Arc, Mutex};

use async_kernel_jupyter::interpreter::{BoxFuture, OutputSink};
use async_kernel_jupyter::lua::LuaInterpreter;
use async_kernel_jupyter::run_mode::RunMode;
use async_kernel_jupyter::{CellContext, Completeness, Interpreter, Outcome};
use futures::executor::block_on;
use serde_json::{Value, json};

#[derive(Default)]
struct Recorder {
    published: Mutex<Vec<(String, Value)>>,
    answer: Option<String>,
}

impl OutputSink for Recorder {
    fn publish(&self, msg_type: &str, content: Value) {
        self.published
            .lock()
            .unwrap()
            .push((msg_type.to_owned(), content));
    }
    fn input(&self, prompt: &str, _password: bool) -> BoxFuture<Option<String>> {
        self.publish("input_request", json!({"prompt": prompt}));
        let answer = self.answer.clone();
        Box::pin(async move { answer })
    }
}

fn run(lua: &LuaInterpreter, code: &str) -> (Outcome, Vec<(String, Value)>) {
    let sink = Arc::new(Recorder::default());
    let cell = CellContext::new(1, RunMode::Queue, sink.clone());
    let outcome = block_on(lua.execute(code.to_owned(), cell));
    let published = sink.published.lock().unwrap().clone();
    (outcome, published)
}

fn text_of(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Ok {
            result: Some(data), ..
        } => serde_json::to_value(data).ok()?["text/plain"]
            .as_str()
            .map(str::to_owned),
        _ => None,
    }
}

fn streams(published: &[(String, Value)], name: &str) -> String {
    published
        .iter()
        .filter(|(t, c)| t == "stream" && c["name"] == name)
        .map(|(_, c)| c["text"].as_str().unwrap().to_owned())
        .collect()
}

// BEHAVIOUR KL1: print, io.write and io.stdout:write go to stdout; eprint and io.stderr:write to
// stderr, in order.
#[test]
fn streams_go_where_they_belong() {
    let lua = LuaInterpreter::new().unwrap();
    let (outcome, published) = run(
        &lua,
        "print('hello, world', 1) io.write('a', 2) io.stdout:write('b\\n') eprint('oops') io.stderr:write('e')",
    );
    assert!(
        matches!(outcome, Outcome::Ok { result: None, .. }),
        "{outcome:?}"
    );
    assert_eq!(streams(&published, "stdout"), "hello, world\t1\na2b\n");
    assert_eq!(streams(&published, "stderr"), "oops\ne");
    // stdout was flushed before stderr started.
    assert_eq!(published[0].1["name"], "stdout");
}

// BEHAVIOUR KL2: an expression cell shows its value; a statement cell shows none; globals persist.
#[test]
fn expression_values_and_globals() {
    let lua = LuaInterpreter::new().unwrap();
    assert_eq!(text_of(&run(&lua, "1+2+3").0).as_deref(), Some("6"));
    assert!(matches!(
        run(&lua, "x = 41").0,
        Outcome::Ok { result: None, .. }
    ));
    assert_eq!(text_of(&run(&lua, "x + 1").0).as_deref(), Some("42"));
    assert_eq!(text_of(&run(&lua, "'a', 2").0).as_deref(), Some("a\t2"));
    assert!(matches!(
        run(&lua, "print('x')").0,
        Outcome::Ok { result: None, .. }
    ));
}

// BEHAVIOUR KL3: an error gives name, value and a traceback; a syntax error too.
#[test]
fn errors_carry_a_traceback() {
    let lua = LuaInterpreter::new().unwrap();
    match run(&lua, "local function f() error('boom') end\nf()").0 {
        Outcome::Error {
            ename,
            evalue,
            traceback,
        } => {
            assert_eq!(ename, "LuaError");
            assert!(evalue.contains("boom"), "{evalue}");
            assert!(
                traceback.iter().any(|l| l.contains("traceback")),
                "{traceback:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(run(&lua, "x = = 1").0, Outcome::Error { ename, .. } if ename == "SyntaxError")
    );
}

// BEHAVIOUR KL4: display*, clear_output and help.
#[test]
fn display_clear_and_help() {
    let lua = LuaInterpreter::new().unwrap();
    let (_, published) = run(
        &lua,
        "display(12) display_html('<b>x</b>') display_markdown('*m*') display_json({1, 2, {a = true}}) clear_output(true)",
    );
    let kinds: Vec<&str> = published.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "display_data",
            "display_data",
            "display_data",
            "display_data",
            "clear_output"
        ]
    );
    assert_eq!(published[0].1["data"]["text/plain"], "12");
    assert_eq!(published[1].1["data"]["text/html"], "<b>x</b>");
    assert_eq!(published[2].1["data"]["text/markdown"], "*m*");
    assert_eq!(
        published[3].1["data"]["application/json"],
        json!([1, 2, {"a": true}])
    );
    assert_eq!(published[4].1["wait"], true);

    match run(&lua, "function add(a, b) return a + b end help(add)").0 {
        Outcome::Ok { payload, .. } => {
            let page = serde_json::to_value(&payload).unwrap();
            assert_eq!(page[0]["source"], "page");
            assert!(
                page[0]["data"]["text/plain"]
                    .as_str()
                    .unwrap()
                    .contains("add(a, b)")
            );
        }
        other => panic!("{other:?}"),
    }
}

// BEHAVIOUR KL5: input goes through the sink; without stdin it is an error.
#[test]
fn input_round_trip() {
    let lua = LuaInterpreter::new().unwrap();
    let sink = Arc::new(Recorder {
        answer: Some("ada".into()),
        ..Recorder::default()
    });
    let cell = CellContext::new(1, RunMode::Queue, sink.clone());
    let outcome = block_on(lua.execute("name = input('who? ') return name".into(), cell));
    assert_eq!(text_of(&outcome).as_deref(), Some("ada"));
    assert_eq!(sink.published.lock().unwrap()[0].1["prompt"], "who? ");
    assert!(matches!(run(&lua, "input('x')").0, Outcome::Error { .. }));
}

// BEHAVIOUR KL6: an interrupt stops an infinite loop; the session's globals survive.
#[test]
fn interrupt_stops_an_infinite_loop() {
    let lua = Arc::new(LuaInterpreter::new().unwrap());
    run(&lua, "kept = 7");
    let sink = Arc::new(Recorder::default());
    let cell = CellContext::new(2, RunMode::Thread(None), sink);
    let running = {
        let lua = lua.clone();
        let cell = cell.clone();
        std::thread::spawn(move || {
            block_on(lua.execute("started = true while true do end".into(), cell))
        })
    };
    // Wait until the loop runs (polling a global through the interpreter is not possible
    // while the cell holds the state, so wait for the cell to be yielded to once).
    while text_of(&run(&lua, "started == true").0).as_deref() != Some("true") {
        std::thread::yield_now();
    }
    cell.cancel();
    let outcome = running.join().unwrap();
    assert!(
        matches!(&outcome, Outcome::Error { ename, .. } if ename == "KeyboardInterrupt"),
        "{outcome:?}"
    );
    assert_eq!(text_of(&run(&lua, "kept").0).as_deref(), Some("7"));
}

// BEHAVIOUR KL7: sleep lets other cells run meanwhile (task mode on one loop).
#[test]
fn sleeping_cells_interleave() {
    let lua = LuaInterpreter::new().unwrap();
    let sink = Arc::new(Recorder::default());
    let a = lua.execute(
        "for i = 1, 3 do print('a' .. i) sleep(0.02) end".into(),
        CellContext::new(1, RunMode::Task, sink.clone()),
    );
    let b = lua.execute(
        "for i = 1, 3 do print('b' .. i) sleep(0.02) end".into(),
        CellContext::new(2, RunMode::Task, sink.clone()),
    );
    block_on(futures::future::join(a, b));
    let lines: Vec<String> = sink
        .published
        .lock()
        .unwrap()
        .iter()
        .map(|(_, c)| c["text"].as_str().unwrap().trim().to_owned())
        .collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    // Both started before either finished.
    let first_b = lines.iter().position(|l| l == "b1").unwrap();
    let last_a = lines.iter().position(|l| l == "a3").unwrap();
    assert!(first_b < last_a, "{lines:?}");
}

// BEHAVIOUR KL8: completion of globals and table fields; inspection; is_complete.
#[test]
fn complete_inspect_is_complete() {
    let lua = LuaInterpreter::new().unwrap();
    run(&lua, "zeta_value = 1 zeta_table = {alpha = 1, beta = 2}");
    let c = lua.complete("zeta_", 5);
    assert_eq!(c.matches, ["zeta_table", "zeta_value"]);
    assert_eq!((c.cursor_start, c.cursor_end), (0, 5));
    let c = lua.complete("x = zeta_table.al", 17);
    assert_eq!(c.matches, ["zeta_table.alpha"]);
    assert_eq!(c.cursor_start, 4);
    assert!(
        lua.complete("string.up", 9)
            .matches
            .contains(&"string.upper".to_owned())
    );

    let found = serde_json::to_value(lua.inspect("print", 5, 0).unwrap()).unwrap();
    assert!(found["text/plain"].as_str().unwrap().starts_with("print("));
    assert!(lua.inspect("no_such_name", 3, 0).is_none());

    assert_eq!(lua.is_complete("x = 1"), Completeness::Complete);
    assert_eq!(lua.is_complete("1 + 2"), Completeness::Complete);
    assert!(matches!(
        lua.is_complete("function f("),
        Completeness::Incomplete(_)
    ));
    assert_eq!(lua.is_complete("x = = 1"), Completeness::Invalid);
}
