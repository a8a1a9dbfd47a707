"""The switch interval: 2 CPU-bound threads against the same work done serially.

``sys.setswitchinterval`` (5 ms by default) is how long a thread may hold a
contended GIL before it is asked to drop it. For each interval this probe runs
the same countdown as two halves in one thread, then in two threads, in turn,
and reports the threads' throughput over serial (x1 = no gain; above x1 is
impossible under the GIL) and how many times per second the GIL actually
changed hands: each loop iteration compares a shared "last runner" with itself
and counts a switch when it differs. The interval is restored afterwards.
"""
from __future__ import annotations

import statistics
import sys
import threading
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence

from gilcore.gil import gil_enabled
from gilcore.errors import UsageError

DEFAULT_INTERVALS_MS = (0.5, 1.0, 5.0, 20.0, 50.0)
DEFAULT_COUNT = 3_000_000  # iterations in all (two halves): about 0.2 s serial on CPython 3.11
DEFAULT_REPEATS = 3


def counted_countdown(n: int, me: int, last: List[int]) -> int:
    """The countdown, noting each time this thread runs after the other one did."""
    switches = 0
    while n > 0:
        n -= 1
        if last[0] != me:
            last[0] = me
            switches += 1
    return switches


@dataclass
class SwitchRow:
    interval_ms: float
    serial_seconds: float
    threads_seconds: float
    speedup: float  # median of serial / 2-thread time over adjacent pairs: the threads' throughput over serial
    switches_per_second: float
    serial_runs: List[float]
    threads_runs: List[float]


def _serial(half: int) -> float:
    last = [-1]
    start = time.perf_counter()
    counted_countdown(half, 0, last)
    counted_countdown(half, 1, last)
    return time.perf_counter() - start


def _threads(half: int) -> "tuple[float, int]":
    last = [-1]
    switches = [0, 0]

    def run(me: int) -> None:
        switches[me] = counted_countdown(half, me, last)

    threads = [threading.Thread(target=run, args=(me,), name="gilprobes-switch") for me in (0, 1)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, sum(switches)


def check_inputs(intervals_ms: Sequence[float], count: int, repeats: int) -> None:
    if not intervals_ms:
        raise UsageError("give at least one switch interval")
    for value in intervals_ms:
        if not 0.001 <= value <= 1000:  # also NaN
            raise UsageError(f"a switch interval must be from 0.001 to 1000 ms, not {value}")
    if isinstance(count, bool) or not isinstance(count, int) or not 2 <= count <= 10**9:
        raise UsageError(f"--count must be a whole number from 2 to 1000000000, not {count!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 100:
        raise UsageError(f"--repeats must be a whole number from 1 to 100, not {repeats!r}")


def run(intervals_ms: Sequence[float] = DEFAULT_INTERVALS_MS, count: int = DEFAULT_COUNT,
        repeats: int = DEFAULT_REPEATS) -> List[SwitchRow]:
    """One row per interval: medians of ``repeats`` interleaved serial and 2-thread runs."""
    check_inputs(intervals_ms, count, repeats)
    half = count // 2
    original = sys.getswitchinterval()
    rows = []
    try:
        counted_countdown(half // 10, 0, [-1])  # untimed: warm caches (and any specializing interpreter)
        for interval in intervals_ms:
            sys.setswitchinterval(interval / 1000.0)
            serial_runs, thread_runs, rates = [], [], []
            for repeat in range(repeats):
                order = (0, 1) if repeat % 2 == 0 else (1, 0)  # alternate which goes first
                for which in order:
                    if which == 0:
                        serial_runs.append(_serial(half))
                    else:
                        seconds, switches = _threads(half)
                        thread_runs.append(seconds)
                        rates.append(switches / seconds)
            serial, threaded = statistics.median(serial_runs), statistics.median(thread_runs)
            # ratios of runs taken next to each other share the machine's mood: sounder than a ratio of medians
            ratio = statistics.median(s / t for s, t in zip(serial_runs, thread_runs))
            rows.append(SwitchRow(interval, serial, threaded, ratio, statistics.median(rates), serial_runs, thread_runs))
    finally:
        sys.setswitchinterval(original)
    return rows


def format_table(rows: Sequence[SwitchRow], python: str, enabled: Optional[bool] = None) -> str:
    enabled = gil_enabled() if enabled is None else enabled
    lines = [f"switch interval on {python} (GIL {'on' if enabled else 'off'}): 2 CPU-bound threads vs the same "
             "work serially",
             f"{'interval ms':>11} {'serial s':>9} {'2 threads s':>11} {'x serial':>9} {'switches/s':>11} "
             f"{'1/interval':>10}"]
    for row in rows:
        lines.append(f"{row.interval_ms:>11g} {row.serial_seconds:>9.3f} {row.threads_seconds:>11.3f} "
                     f"{row.speedup:>8.2f}x {row.switches_per_second:>11.0f} {1000 / row.interval_ms:>10.0f}")
    lines.append("switches/s: times the GIL changed hands between the two threads, per second; 1/interval "
                 "is the rate of forced switches if each thread kept the GIL for one whole interval")
    return "\n".join(lines)
