"""Contention: the fraction of time CPU-bound threads spend waiting instead of running Python code.

W threads run small units of bytecode for a fixed time; the wait fraction is
1 - (time they ran) / (W x wall time). Three ways to tell when a thread ran:

- ``checkpoints`` (every Python, 2.7 included through portable.py): each thread
  reads the clock after every few microseconds of work; a pause longer than
  the gap threshold between two reads means it was not running. It is the
  timeline's own measure.
- ``cpu-time`` (3.7+): per-thread CPU time (``time.thread_time``) against wall
  time. A thread waiting for the GIL sleeps on a condition variable and burns
  no CPU, so this measures the same thing independently of any threshold.
- ``py-spy`` (GIL builds; needs the py-spy binary and ptrace): ``py-spy record
  --gil --threads`` attaches to this very process without pausing it and
  samples which thread holds the GIL; a worker's wait fraction is 1 - its
  GIL-holding samples / (rate x seconds). A thread the OS preempts while it
  holds the GIL still counts as holding it, so this one measures the GIL
  alone, not a busy machine. py-spy cannot tell GIL holders on a
  free-threaded build.

The first two cannot separate "waiting for the GIL" from "waiting for a CPU"
on a busy machine: ``W = 1`` is the baseline that shows the machine's own noise.
Tools evaluated and not used are described in the README.
"""
from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from gilcore.gil import free_threaded_build, gil_enabled
from gilcore.gilprobes import portable
from gilcore.gilprobes.timeline import Timeline, record_external
from gilcore.errors import UsageError

METHODS = ("checkpoints", "cpu-time", "py-spy")
DEFAULT_SECONDS = 0.5
PY_SPY_RATE = 200  # samples per second
GAP_NS = 20_000  # as the timeline: finer than 2.7's thread swaps


@dataclass
class ContentionRow:
    method: str
    workers: int
    wait_fraction: Optional[float]  # None: the method cannot run here (``note`` says why)
    per_worker: List[float]
    seconds: float
    note: str = ""


def py_spy_path() -> Optional[str]:
    """The py-spy binary: next to this interpreter (a venv's bin) or on PATH."""
    beside = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "py-spy")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("py-spy")


def py_spy_unavailable_reason() -> Optional[str]:
    if free_threaded_build():
        return "py-spy's --gil cannot tell which thread holds the GIL on a free-threaded build"
    if py_spy_path() is None:
        return "the py-spy binary is not installed (pip install py-spy)"
    return None


def _spin_threads(workers: int, seconds: float, on_running=None) -> List[Dict]:
    """W threads recording their running stretches for ``seconds``; ``on_running`` runs meanwhile."""
    start_ns = time.monotonic_ns() + 20_000_000
    stop_ns = start_ns + int(seconds * 1e9)
    results: List[Dict] = [{}] * workers
    native: List[int] = [0] * workers

    def run(index: int) -> None:
        native[index] = threading.get_native_id()
        results[index] = portable.record_slices(start_ns, stop_ns, GAP_NS)

    threads = [threading.Thread(target=run, args=(i,), name="gilprobes-contention") for i in range(workers)]
    for thread in threads:
        thread.start()
    try:
        if on_running is not None:
            portable.wait_until(start_ns)
            on_running(native, seconds)
    finally:
        for thread in threads:
            thread.join()
    for index, result in enumerate(results):
        result["native_id"] = native[index]
        result["start_ns"], result["stop_ns"] = start_ns, stop_ns
    return results


def _timeline(results: Sequence[Dict]) -> Timeline:
    from gilcore.gilprobes.timeline import worker_traces

    return Timeline(python="", strategy="threads", gil="", start_ns=results[0]["start_ns"],
                    stop_ns=results[0]["stop_ns"], gap_ns=GAP_NS, workers=worker_traces("threads", results))


def _py_spy(workers: int, seconds: float) -> ContentionRow:
    binary = py_spy_path()
    whole = max(1, round(seconds))  # py-spy's --duration takes whole seconds
    held: Dict[int, int] = collections.Counter()
    failure: List[str] = []

    def sample(native: List[int], _: float) -> None:
        with tempfile.TemporaryDirectory(prefix="gilcore-pyspy-") as folder:
            out = os.path.join(folder, "raw.txt")
            done = subprocess.run([binary, "record", "--pid", str(os.getpid()), "--nonblocking", "--gil",
                                   "--threads", "--rate", str(PY_SPY_RATE), "--duration", str(whole),
                                   "--format", "raw", "--output", out],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=whole + 30)
            if done.returncode != 0 or not os.path.exists(out):
                failure.append((done.stderr.strip().splitlines() or ["no output"])[-1])
                return
            with open(out, encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    match = re.match(r"thread \((\d+)\)", line)
                    if match:
                        held[int(match.group(1))] += int(line.rsplit(" ", 1)[1])

    # The threads run a little longer than py-spy samples, so every sample finds them running.
    results = _spin_threads(workers, whole + 0.3, sample)
    if failure:
        return ContentionRow("py-spy", workers, None, [], float(whole), f"py-spy failed: {failure[0]}")
    expected = PY_SPY_RATE * whole
    per_worker = [max(0.0, 1.0 - held.get(r["native_id"], 0) / expected) for r in results]
    return ContentionRow("py-spy", workers, sum(per_worker) / workers, per_worker, float(whole),
                         f"{PY_SPY_RATE} samples/s for {whole} s")


def measure(method: str, workers: int, seconds: float = DEFAULT_SECONDS) -> ContentionRow:
    """The wait fraction of ``workers`` CPU-bound threads by one method; a row with a note when n/a."""
    if method not in METHODS:
        raise UsageError(f"unknown contention method {method!r}; choose from {', '.join(METHODS)}")
    if method == "py-spy":
        reason = py_spy_unavailable_reason()
        if reason:
            return ContentionRow(method, workers, None, [], 0.0, reason)
        return _py_spy(workers, seconds)
    results = _spin_threads(workers, seconds)
    timeline = _timeline(results)
    if method == "checkpoints":
        per_worker = [1.0 - f for f in timeline.running_fractions()]
        note = f"pauses > {GAP_NS / 1000:g} µs between clock reads"
    else:
        per_worker = [1.0 - r["cpu_seconds"] / timeline.seconds for r in results]
        note = "time.thread_time() against wall time"
    return ContentionRow(method, workers, sum(per_worker) / workers, per_worker, timeline.seconds, note)


def check_inputs(methods: Sequence[str], workers: Sequence[int], seconds: float) -> None:
    for method in methods:
        if method not in METHODS:
            raise UsageError(f"unknown contention method {method!r}; choose from {', '.join(METHODS)}")
    if not workers:
        raise UsageError("--workers needs at least one number")
    for count in workers:
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
            raise UsageError(f"--workers takes whole numbers from 1 to 64, not {count!r}")
    if not 0.05 <= seconds <= 10:  # also NaN
        raise UsageError(f"--seconds must be from 0.05 to 10, not {seconds}")


def run(methods: Sequence[str] = METHODS, workers: Sequence[int] = (1, 2),
        seconds: float = DEFAULT_SECONDS) -> List[ContentionRow]:
    check_inputs(methods, workers, seconds)
    return [measure(method, count, seconds) for count in workers for method in methods]


def format_table(rows: Sequence[ContentionRow], python: str) -> str:
    enabled = gil_enabled()
    lines = [f"contention on {python} (GIL {'on' if enabled else 'off'}): share of the time CPU-bound threads "
             "wait instead of running",
             f"{'method':<12} {'threads':>7} {'wait':>6} {'per thread':<18} how"]
    for row in rows:
        wait = f"{row.wait_fraction:.2f}" if row.wait_fraction is not None else "n/a"
        each = " ".join(f"{w:.2f}" for w in row.per_worker)
        lines.append(f"{row.method:<12} {row.workers:>7} {wait:>6} {each:<18} {row.note}")
    lines.append("wait = 1 - (time the threads ran) / (threads x wall time); 1 thread shows the machine's own noise")
    return "\n".join(lines)


def run_external(python: str, workers: Sequence[int] = (1, 2), seconds: float = DEFAULT_SECONDS) -> List[ContentionRow]:
    """The checkpoints method with another interpreter (2.7 included), through portable.py's timeline."""
    check_inputs(["checkpoints"], workers, seconds)
    rows = []
    for count in workers:
        timeline = record_external(python, "threads", count, seconds * 1000, GAP_NS / 1000)
        per_worker = [1.0 - f for f in timeline.running_fractions()]
        rows.append(ContentionRow("checkpoints", count, sum(per_worker) / count, per_worker, timeline.seconds,
                                  f"pauses > {GAP_NS / 1000:g} µs between clock reads, on {timeline.python}"))
    return rows
