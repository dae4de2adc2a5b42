//! History: tail, range and search with glob, unique and n (issue 10, behaviour 4).

use async_kernel_jupyter::history::{History, HistoryQuery, SESSION, glob_match};
use serde_json::{Value, json};

fn query(value: Value) -> HistoryQuery {
    serde_json::from_value(value).unwrap()
}

fn sample() -> History {
    let mut h = History::new();
    for (line, code) in [
        (1, "x = 1"),
        (2, "1 + 2"),
        (3, "print(x)"),
        (4, "1 + 2"),
        (5, "y = 2"),
    ] {
        h.push(line, code);
    }
    h.set_output(2, "3".into());
    h
}

// BEHAVIOUR KH1: tail gives the last n entries as [session, line, input].
#[test]
fn tail_gives_the_last_n() {
    let got = sample().answer(&query(
        json!({"hist_access_type": "tail", "n": 2, "output": false}),
    ));
    assert_eq!(
        got,
        vec![json!([SESSION, 4, "1 + 2"]), json!([SESSION, 5, "y = 2"])]
    );
    let got = sample().answer(&query(
        json!({"hist_access_type": "tail", "n": 4, "output": true}),
    ));
    assert_eq!(got[0], json!([SESSION, 2, ["1 + 2", "3"]]));
}

// BEHAVIOUR KH1: range selects [start, stop) of a session; other sessions are empty.
#[test]
fn range_selects_lines() {
    let h = sample();
    let got = h.answer(&query(
        json!({"hist_access_type": "range", "session": SESSION, "start": 2, "stop": 3}),
    ));
    assert_eq!(got, vec![json!([SESSION, 2, "1 + 2"])]);
    let all = h.answer(&query(
        json!({"hist_access_type": "range", "session": 0, "start": 1}),
    ));
    assert_eq!(all.len(), 5);
    let other = h.answer(&query(
        json!({"hist_access_type": "range", "session": 7, "start": 1}),
    ));
    assert!(other.is_empty());
}

// BEHAVIOUR KH1: search matches whole inputs by glob; unique keeps one of each; n keeps the last n.
#[test]
fn search_with_glob_unique_and_n() {
    let h = sample();
    let search = |extra: Value| {
        let mut q = json!({"hist_access_type": "search", "pattern": "1 *"});
        q.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        h.answer(&query(q))
    };
    assert_eq!(search(json!({})).len(), 2);
    assert_eq!(
        search(json!({"unique": true})),
        vec![json!([SESSION, 4, "1 + 2"])]
    );
    assert_eq!(search(json!({"n": 1})), vec![json!([SESSION, 4, "1 + 2"])]);
    let everything = h.answer(&query(
        json!({"hist_access_type": "search", "pattern": "*", "n": 3}),
    ));
    assert_eq!(everything.len(), 3);
}

// BEHAVIOUR KH2: glob as SQLite's GLOB.
#[test]
fn glob_semantics() {
    assert!(glob_match("*", ""));
    assert!(glob_match("a*c", "abbbc"));
    assert!(!glob_match("a*c", "abbbcd"));
    assert!(glob_match("a?c", "abc"));
    assert!(glob_match("[a-c]x", "bx"));
    assert!(!glob_match("[^a-c]x", "bx"));
    assert!(glob_match("[x", "[x"));
    assert!(!glob_match("A", "a"));
    assert!(glob_match("*1*2*", "x = 1 + 2"));
}
