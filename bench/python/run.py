"""The operations of benches/compare.rs, run on the Python async-kernel (the reference).

Run by bench/python/run.sh inside a virtual environment holding one async-kernel version; prints
one JSON object: {"package": "async-kernel", "version": ..., "ops": {op: figure}}. Op names are
those of benches/compare.rs; times are nanoseconds per iteration (per call or per item), heap
figures bytes per item. Each figure is the median of a few repetitions. The process pins
itself to core 0, as the benchmark pins its cross-thread rows.

Written against both APIs it is compared with: 0.10.3 (the one this crate's API was taken
from) and the newest release. Both have `Caller("NewThread", backend=...)`, `call_soon`,
`Pending.wait_sync()`, awaitable pendings and `Caller.stop(force=True)`.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import threading
import time
import tracemalloc
from importlib import metadata

from async_kernel.caller import Caller
from async_kernel.pending import Pending

QUICK = "--quick" in sys.argv[1:]
REPEATS = 3 if QUICK else 5
# Repetitions stop early once an op has taken this long (at least one always runs): 0.10.3
# takes seconds per 100k calls, and the whole benchmark should stay within a few minutes.
BUDGET_S = 3.0 if QUICK else 15.0
SIZES = {
    "roundtrip_cross_thread": 300 if QUICK else 3_000,
    "throughput_cross_thread": 10_000 if QUICK else 100_000,
    "same_thread_call_soon": 1_000 if QUICK else 10_000,
    "gather_same_thread": 2_000 if QUICK else 20_000,
    "heap_pending_unit": 2_000 if QUICK else 20_000,
    "heap_per_queued_call": 2_000 if QUICK else 20_000,
}


def value(i):
    return i


def median_ns(fn, n: int) -> float:
    """Median over up to REPEATS runs of fn(n) (which returns seconds), in ns per item."""
    fn(min(n, 200))  # warm up
    started = time.perf_counter()
    runs = []
    while len(runs) < REPEATS and (not runs or time.perf_counter() - started < BUDGET_S):
        runs.append(fn(n) * 1e9 / n)
    return statistics.median(runs)


def roundtrip(caller: Caller, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        caller.call_soon(value, i).wait_sync()
    return time.perf_counter() - start


def throughput(caller: Caller, n: int) -> float:
    start = time.perf_counter()
    pens = [caller.call_soon(value, i) for i in range(n)]
    for pen in pens:
        pen.wait_sync()
    return time.perf_counter() - start


def same_thread(caller: Caller, n: int) -> float:
    async def body():
        start = time.perf_counter()
        for i in range(n):
            await caller.call_soon(value, i)
        return time.perf_counter() - start

    return caller.call_soon(body).wait_sync()


def gather(caller: Caller, n: int) -> float:
    async def body():
        start = time.perf_counter()
        pens = [caller.call_soon(value, i) for i in range(n)]
        for pen in pens:
            await pen
        return time.perf_counter() - start

    return caller.call_soon(body).wait_sync()


def heap_bytes(make, n: int) -> float:
    """Net bytes allocated per item while making n items that stay alive."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = make(n)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del keep
    return (after - before) / n


def heap_pending(n: int) -> float:
    return statistics.median(heap_bytes(lambda k: [Pending() for _ in range(k)], n) for _ in range(3))


def heap_queued_call(caller: Caller, n: int) -> float:
    """Bytes per call_soon queued behind a call that blocks the caller's loop."""

    def measure() -> float:
        release, started = threading.Event(), threading.Event()

        def block():
            started.set()
            release.wait()

        blocker = caller.call_soon(block)
        started.wait()
        try:
            return heap_bytes(lambda k: [caller.call_soon(value, i) for i in range(k)], n)
        finally:
            release.set()
            blocker.wait_sync()

    return statistics.median(measure() for _ in range(3))


def pin_to_core_0() -> bool:
    """Pins this process (and the threads it starts) to core 0, as the benchmark pins its
    cross-thread rows: wake-ups across cores on small VMs are bimodal."""
    try:
        os.sched_setaffinity(0, {0})
    except (AttributeError, OSError):
        return False
    return True


def main() -> None:
    pinned = pin_to_core_0()
    caller = Caller("NewThread", backend="asyncio", name="bench-python")
    caller.call_soon(value, 0).wait_sync()
    ops = {}
    ops["roundtrip_cross_thread"] = median_ns(lambda n: roundtrip(caller, n), SIZES["roundtrip_cross_thread"])
    ops["throughput_cross_thread"] = median_ns(lambda n: throughput(caller, n), SIZES["throughput_cross_thread"])
    ops["same_thread_call_soon"] = median_ns(lambda n: same_thread(caller, n), SIZES["same_thread_call_soon"])
    ops["gather_same_thread"] = median_ns(lambda n: gather(caller, n), SIZES["gather_same_thread"])
    ops["heap_pending_unit"] = heap_pending(SIZES["heap_pending_unit"])
    ops["heap_per_queued_call"] = heap_queued_call(caller, SIZES["heap_per_queued_call"])
    caller.stop(force=True)
    try:
        caller.stopped.wait_sync(timeout=5)
    except Exception:  # noqa: BLE001 - only waiting for the thread to end
        pass
    report = {
        "package": "async-kernel",
        "version": metadata.version("async-kernel"),
        "python": sys.version.split()[0],
        "quick": QUICK,
        "pinned": pinned,
        "ops": {k: round(v, 1) for k, v in ops.items()},
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
