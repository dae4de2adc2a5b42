"""Kernel benchmark: our Lua kernel against ipykernel and the Python async-kernel (issue 10).

Each measure runs on every kernel in turn, the kernels interleaved, and reports the median
and its ratio to ipykernel. Figures vary with the machine's load: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import statistics
import time

import zmq
from jupyter_client.manager import KernelManager

TIMEOUT = 60

KERNELS = {
    # name: (kernelspec, code for each measure)
    "ours (async-kernel-lua)": (
        "async-kernel-lua",
        {
            "empty": "",
            "sleep2": "sleep(2)",
            "busy": "while true do end",
            "lines": "for i = 1, 100000 do print(i) end",
        },
    ),
    "ipykernel": (
        "python3",
        {
            "empty": "",
            "sleep2": "import time; time.sleep(2)",
            "busy": "while True: pass",
            "lines": "for i in range(100000): print(i)",
        },
    ),
    "async-kernel (Python)": (
        "async",
        {
            "empty": "",
            "sleep2": "import time; time.sleep(2)",
            "busy": "while True: pass",
            "lines": "for i in range(100000): print(i)",
        },
    ),
}

BASELINE = "ipykernel"


def start(spec):
    """Starts a kernel; the time from the start to its first kernel_info_reply."""
    km = KernelManager(kernel_name=spec)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    # No high-water mark on the client's sockets: a burst of output must not be dropped here.
    kc.context.setsockopt(zmq.RCVHWM, 0)
    kc.start_channels()
    # As wait_for_ready, without its iopub flush (200 ms of silence) in the figure: ask until
    # the first answer (requests sent before the kernel binds wait in the client's socket).
    took = None
    while took is None:
        msg_id = kc.kernel_info()
        deadline = time.perf_counter() + 1
        while time.perf_counter() < deadline:
            try:
                msg = kc.get_shell_msg(timeout=0.05)
            except Exception:
                continue
            if msg["msg_type"] == "kernel_info_reply":
                took = time.perf_counter() - t0
                break
        if time.perf_counter() - t0 > TIMEOUT:
            raise RuntimeError(f"{spec} did not answer kernel_info")
    kc.wait_for_ready(timeout=TIMEOUT)
    return km, kc, took


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def drain(kc):
    _stash.clear()
    for get in (kc.get_iopub_msg, kc.get_shell_msg):
        while True:
            try:
                get(timeout=0.05)
            except Exception:
                break


def wait_iopub(kc, msg_id, predicate):
    while True:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") == msg_id and predicate(msg):
            return msg


def is_idle(msg):
    return msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"


# Shell replies that arrived while another was awaited (ipykernel answers kernel_info only
# after the running cell's execute_reply), by their request's msg_id.
_stash: dict = {}


def shell_reply(kc, msg_id):
    if msg_id in _stash:
        return _stash.pop(msg_id)
    while True:
        msg = kc.get_shell_msg(timeout=TIMEOUT)
        parent = msg["parent_header"].get("msg_id")
        if parent == msg_id:
            return msg
        _stash[parent] = msg


def empty_cell(kc, code, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        msg_id = kc.execute(code, store_history=False)
        wait_iopub(kc, msg_id, is_idle)
        out.append(time.perf_counter() - t0)
        shell_reply(kc, msg_id)
    return out


def kernel_info_during(kc, code, reps):
    out = []
    for _ in range(reps):
        drain(kc)
        run = kc.execute(code)
        wait_iopub(kc, run, lambda m: m["msg_type"] == "execute_input")
        time.sleep(0.1)
        t0 = time.perf_counter()
        info = kc.kernel_info()
        shell_reply(kc, info)
        out.append(time.perf_counter() - t0)
        shell_reply(kc, run)
        wait_iopub(kc, run, is_idle)
    return out


def interrupt(km, kc, code, reps):
    out = []
    for _ in range(reps):
        drain(kc)
        run = kc.execute(code)
        wait_iopub(kc, run, lambda m: m["msg_type"] == "execute_input")
        time.sleep(0.3)
        t0 = time.perf_counter()
        km.interrupt_kernel()
        shell_reply(kc, run)
        out.append(time.perf_counter() - t0)
        wait_iopub(kc, run, is_idle)
    return out


def lines(kc, code, reps):
    out = []
    for _ in range(reps):
        drain(kc)
        t0 = time.perf_counter()
        run = kc.execute(code)
        count = 0
        while True:
            try:
                msg = kc.get_iopub_msg(timeout=TIMEOUT)
            except Exception:
                print("  note: no idle after the output (lost?)", flush=True)
                break
            if msg["parent_header"].get("msg_id") != run:
                continue
            if msg["msg_type"] == "stream":
                count += msg["content"]["text"].count("\n")
            if is_idle(msg):
                break
        out.append(time.perf_counter() - t0)
        if count != 100000:
            # A client's iopub socket drops messages over its high-water mark: a kernel that
            # sends one message per line loses some. Reported, not fatal.
            print(f"  note: {count} of 100000 lines arrived", flush=True)
        shell_reply(kc, run)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--report", help="write the figures as JSON here")
    args = parser.parse_args()
    q = args.quick
    reps = {"start": 2 if q else 5, "empty": 30 if q else 200, "info": 1 if q else 3,
            "interrupt": 2 if q else 5, "lines": 1 if q else 3}

    results = {name: {k: [] for k in ("start", "empty", "info", "interrupt", "lines")}
               for name in KERNELS}
    for _ in range(reps["start"]):
        for name, (spec, _) in KERNELS.items():
            km, kc, took = start(spec)
            results[name]["start"].append(took)
            stop(km, kc)
    for name, (spec, code) in KERNELS.items():
        print(f"measuring {name}", flush=True)
        km, kc, _ = start(spec)
        try:
            empty_cell(kc, code["empty"], 20)  # warm-up
            results[name]["empty"] = empty_cell(kc, code["empty"], reps["empty"])
            results[name]["info"] = kernel_info_during(kc, code["sleep2"], reps["info"])
            results[name]["interrupt"] = interrupt(km, kc, code["busy"], reps["interrupt"])
            results[name]["lines"] = lines(kc, code["lines"], reps["lines"])
        finally:
            stop(km, kc)

    measures = [
        ("empty", "empty-cell execute, request -> idle", 1e3, "ms"),
        ("info", "kernel_info while a 2 s cell runs", 1e3, "ms"),
        ("interrupt", "interrupt of a busy loop -> its reply", 1e3, "ms"),
        ("lines", "100,000 printed lines, end to end", 1, "s"),
        ("start", "start -> first kernel_info_reply", 1, "s"),
    ]
    versions = {}
    for package in ("ipykernel", "async-kernel", "jupyter_client"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "?"
    print(f"versions: {versions}")
    names = list(KERNELS)
    print("| measure | " + " | ".join(names) + " | ours / ipykernel |")
    print("|---|" + "---|" * (len(names) + 1))
    report = {"versions": versions, "medians": {}}
    for key, title, scale, unit in measures:
        medians = {n: statistics.median(results[n][key]) for n in names}
        report["medians"][key] = medians
        cells = [f"{medians[n] * scale:.3g} {unit}" for n in names]
        ratio = medians[names[0]] / medians[BASELINE]
        print(f"| {title} | " + " | ".join(cells) + f" | {ratio:.3f} |")
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"results": results, **report}, f, indent=1)


if __name__ == "__main__":
    main()
