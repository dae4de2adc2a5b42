"""The kernel's behaviour seen from `jupyter_client` (issue 10): run modes, answers while a
cell runs, interrupt, stdin, stop_on_error, comms, shutdown."""

import signal
import time
import uuid

import pytest
from jupyter_client.manager import start_new_kernel

KERNEL = "async-kernel-lua"
TIMEOUT = 15


@pytest.fixture(scope="module")
def kernel():
    km, kc = start_new_kernel(kernel_name=KERNEL)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def drain_iopub(kc):
    while True:
        try:
            kc.get_iopub_msg(timeout=0.2)
        except Exception:
            return


def drain_shell(kc):
    while True:
        try:
            kc.get_shell_msg(timeout=0.2)
        except Exception:
            return


def reply_to(kc, msg_id, channel="shell"):
    get = kc.get_shell_msg if channel == "shell" else kc.get_control_msg
    while True:
        msg = get(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def collect_until_idle(kc, msg_ids):
    """Iopub messages of the given requests, in arrival order, until each went idle."""
    pending = set(msg_ids)
    seen = []
    deadline = time.monotonic() + TIMEOUT
    while pending and time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        parent = msg["parent_header"].get("msg_id")
        if parent not in msg_ids:
            continue
        seen.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            pending.discard(parent)
    assert not pending, "some requests never went idle"
    return seen


def wait_for_output(kc, msg_id, text):
    """Blocks until the request's stdout shows `text`: the cell is running."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
                and text in msg["content"]["text"]):
            return
    raise AssertionError(f"{text!r} never came")


def stdout_lines(msgs):
    text = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
    return text.split()


# BEHAVIOUR KR3: task-mode cells interleave on the shell's loop.
def test_task_mode_cells_interleave(kernel):
    _, kc = kernel
    drain_iopub(kc)
    a = kc.execute("-- task\nfor i = 1, 3 do print('a' .. i) sleep(0.1) end")
    b = kc.execute("-- task\nfor i = 1, 3 do print('b' .. i) sleep(0.1) end")
    lines = stdout_lines(collect_until_idle(kc, [a, b]))
    reply_to(kc, a)
    reply_to(kc, b)
    assert sorted(lines) == ["a1", "a2", "a3", "b1", "b2", "b3"]
    assert lines.index("b1") < lines.index("a3"), lines


# BEHAVIOUR KR4: queue-mode cells run one at a time, in order.
def test_queue_mode_cells_do_not_interleave(kernel):
    _, kc = kernel
    drain_iopub(kc)
    a = kc.execute("for i = 1, 3 do print('a' .. i) sleep(0.05) end")
    b = kc.execute("for i = 1, 3 do print('b' .. i) sleep(0.05) end")
    lines = stdout_lines(collect_until_idle(kc, [a, b]))
    reply_to(kc, a)
    reply_to(kc, b)
    assert lines == ["a1", "a2", "a3", "b1", "b2", "b3"]


# BEHAVIOUR KR5: thread-mode cells (pool worker or named caller) publish their output before their
# idle, and share the session's globals.
@pytest.mark.parametrize("first_line", ["-- thread", "-- thread name=io"])
def test_thread_mode_cells(kernel, first_line):
    _, kc = kernel
    drain_iopub(kc)
    run = kc.execute(first_line + "\nfrom_thread = 6 * 7 for i = 1, 3 do print('t' .. i) end")
    msgs = collect_until_idle(kc, [run])
    assert stdout_lines(msgs) == ["t1", "t2", "t3"]
    assert reply_to(kc, run)["content"]["status"] == "ok"
    check = kc.execute("from_thread")
    result = [m for m in collect_until_idle(kc, [check]) if m["msg_type"] == "execute_result"]
    assert result[0]["content"]["data"]["text/plain"] == "42"
    reply_to(kc, check)


# BEHAVIOUR KC1: the shell answers kernel_info, complete, inspect, is_complete, history and
# comm_info while a 2 s cell runs (sleeping or busy).
@pytest.mark.parametrize(
    "cell",
    [
        "print('started') sleep(2)",
        "print('started') local t = os.clock() while os.clock() - t < 2 do end",
    ],
    ids=["sleeping", "cpu-bound"],
)
def test_kernel_info_while_a_cell_runs(kernel, cell):
    _, kc = kernel
    drain_shell(kc)
    drain_iopub(kc)
    run = kc.execute(cell)
    wait_for_output(kc, run, "started")
    asked = [
        kc.kernel_info(),
        kc.complete("pri"),
        kc.inspect("print"),
        kc.is_complete("x ="),
        kc.history(hist_access_type="tail", n=1, output=False, raw=True),
        kc.comm_info(),
    ]
    for msg_id in asked:
        answer = kc.get_shell_msg(timeout=TIMEOUT)
        assert answer["parent_header"]["msg_id"] == msg_id, "an answer waited for the cell"
        assert answer["content"]["status"] in ("ok", "incomplete"), answer["content"]
    done = reply_to(kc, run)
    assert done["content"]["status"] == "ok"


# BEHAVIOUR KI1: an interrupt stops `while true do end`; variables survive.
def test_interrupt_stops_an_infinite_loop(kernel):
    km, kc = kernel
    kc.execute_interactive("kept = 41", timeout=TIMEOUT)
    drain_iopub(kc)
    run = kc.execute("print('looping') while true do end")
    wait_for_output(kc, run, "looping")
    km.interrupt_kernel()
    reply = reply_to(kc, run)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    after = kc.execute("kept + 1")
    result = [m for m in collect_until_idle(kc, [after]) if m["msg_type"] == "execute_result"]
    assert result[0]["content"]["data"]["text/plain"] == "42"
    reply_to(kc, after)


# BEHAVIOUR KI2: SIGINT interrupts the running cells instead of ending the kernel.
def test_sigint_interrupts(kernel):
    km, kc = kernel
    drain_iopub(kc)
    run = kc.execute("print('looping') while true do end")
    wait_for_output(kc, run, "looping")
    km.signal_kernel(signal.SIGINT)
    reply = reply_to(kc, run)
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert km.is_alive()
    assert kc.execute_interactive("1", timeout=TIMEOUT)["content"]["status"] == "ok"


# BEHAVIOUR KS1: input() asks on stdin and gets the front-end's answer.
def test_input_round_trip(kernel):
    _, kc = kernel
    drain_iopub(kc)
    run = kc.execute("name = input('who? ') print('hi ' .. name)", allow_stdin=True)
    request = kc.get_stdin_msg(timeout=TIMEOUT)
    assert request["msg_type"] == "input_request"
    assert request["content"]["prompt"] == "who? "
    kc.input("ada")
    assert reply_to(kc, run)["content"]["status"] == "ok"
    assert "hi ada" in " ".join(stdout_lines(collect_until_idle(kc, [run])))


# BEHAVIOUR KQ1: with stop_on_error, cells queued behind a failing one are aborted.
def test_stop_on_error_aborts_queued_cells(kernel):
    _, kc = kernel
    drain_iopub(kc)
    # The first cell waits for input, so the second is surely queued before the failure.
    failing = kc.execute("input('go? ') error('first fails')", allow_stdin=True)
    kc.get_stdin_msg(timeout=TIMEOUT)
    queued = kc.execute("never_ran = true")
    wait_iopub_type(kc, queued, "execute_input")
    kc.input("go")
    assert reply_to(kc, failing)["content"]["status"] == "error"
    assert reply_to(kc, queued)["content"]["status"] == "aborted"
    check = kc.execute("never_ran == nil")
    result = [m for m in collect_until_idle(kc, [check]) if m["msg_type"] == "execute_result"]
    assert result[0]["content"]["data"]["text/plain"] == "true"
    reply_to(kc, check)


def wait_iopub_type(kc, msg_id, msg_type):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == msg_type:
            return msg
    raise AssertionError(f"no {msg_type}")


# BEHAVIOUR KM1: a comm answers while a cell runs.
def test_comm_round_trip_while_a_cell_runs(kernel):
    _, kc = kernel
    drain_iopub(kc)
    run = kc.execute("print('started') sleep(1)")
    wait_for_output(kc, run, "started")
    comm_id = uuid.uuid4().hex
    kc.session.send(kc.shell_channel.socket, "comm_open",
                    {"comm_id": comm_id, "target_name": "async_kernel.echo", "data": {}})
    kc.session.send(kc.shell_channel.socket, "comm_msg",
                    {"comm_id": comm_id, "data": {"ping": 1}})
    deadline = time.monotonic() + TIMEOUT
    echoed = None
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == comm_id:
            echoed = msg
            break
        assert not (msg["parent_header"].get("msg_id") == run and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"), "the echo waited for the cell"
    assert echoed is not None and echoed["content"]["data"] == {"ping": 1}
    info = kc.comm_info()
    assert comm_id in reply_to(kc, info)["content"]["comms"]
    reply_to(kc, run)


# BEHAVIOUR KD1: shutdown answers, and the process exits with code 0 within 1 s.
def test_shutdown_exit_code():
    km, kc = start_new_kernel(kernel_name=KERNEL)
    try:
        kc.execute("-- task\nsleep(30)")
        process = km.provisioner.process
        started = time.monotonic()
        msg_id = kc.shutdown()
        reply = kc.get_control_msg(timeout=TIMEOUT)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "ok"
        code = process.wait(timeout=5)
        assert code == 0
        assert time.monotonic() - started < 1.0
    finally:
        kc.stop_channels()
        km.cleanup_resources()
