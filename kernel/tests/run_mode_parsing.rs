//! Run modes chosen by a cell's first line or its tags (issue 10, behaviour 2).

use async_kernel_jupyter::run_mode::RunMode;
use serde_json::json;

// BEHAVIOUR KR1: the first line names the mode.
#[test]
fn first_line_names_the_mode() {
    let none = json!({});
    assert_eq!(RunMode::of_cell("-- task\nsleep(1)", &none), RunMode::Task);
    assert_eq!(RunMode::of_cell("--queue", &none), RunMode::Queue);
    assert_eq!(
        RunMode::of_cell("  --  thread  \nx=1", &none),
        RunMode::Thread(None)
    );
    assert_eq!(
        RunMode::of_cell("-- thread name=io\nx=1", &none),
        RunMode::Thread(Some("io".into()))
    );
}

// BEHAVIOUR KR1: anything else is the default, queue.
#[test]
fn other_first_lines_are_the_default() {
    let none = json!({});
    for code in [
        "x = 1",
        "-- a comment",
        "--[[ task ]]",
        "-- task now",
        "",
        "-- Task",
    ] {
        assert_eq!(RunMode::of_cell(code, &none), RunMode::Queue, "{code:?}");
    }
    assert_eq!(RunMode::from_first_line("-- a comment"), None);
}

// BEHAVIOUR KR2: tags in the metadata, below the first line.
#[test]
fn tags_choose_when_the_first_line_does_not() {
    let tagged = json!({"tags": ["x", "thread"]});
    assert_eq!(RunMode::of_cell("x = 1", &tagged), RunMode::Thread(None));
    assert_eq!(RunMode::of_cell("-- task\nx = 1", &tagged), RunMode::Task);
    let nested = json!({"cell": {"tags": ["task"]}});
    assert_eq!(RunMode::of_cell("x = 1", &nested), RunMode::Task);
    assert_eq!(
        RunMode::of_cell("x", &json!({"tags": "task"})),
        RunMode::Queue
    );
}
