"""When each worker actually ran: a short run of one strategy, recorded slice by slice.

Every worker loops over small units of work from a common start instant to a
common stop instant (about 150 ms apart) and notes each stretch it ran without
a pause longer than ``gap_us`` between two clock reads; the pauses are when it
was not running. Under the GIL, threads take turns; with a workaround (Cython
nogil threads, a process pool, subinterpreters, free-threaded threads) the
stretches overlap. ``gilcore.gilprobes.svg`` draws the result.

The clock is CLOCK_MONOTONIC (time.monotonic_ns, and the same clock in the
Cython kernel), shared by every process and thread of the machine, so rows
from different processes line up.

``record`` runs a gilcore strategy in this interpreter; ``record_external``
runs the self-contained ``portable.py`` with another Python (2.7 included)
for threads or a process pool.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from gilcore.gil import free_threaded_build, gil_enabled
from gilcore.gilprobes import portable
from gilcore.errors import UsageError
from gilcore.runner import applicability, resolve_strategy
from gilcore.workloads import Workload

Interval = Tuple[int, int]

DEFAULT_DURATION_MS = 150.0
DEFAULT_GAP_US = 20.0  # CPython 2.7 swaps threads every few tens of µs: finer than that
LEAD_MS = 60.0  # workers are handed their chunk, then all start together this much later
MAX_DURATION_MS = 5000.0
# What portable.py can run with another interpreter (--python).
EXTERNAL_STRATEGIES = ("threads", "processes")


def record_cython(start_ns: int, stop_ns: int, gap_ns: int) -> Dict[str, Any]:
    """The timeline kernel in C: spins with the GIL released (gilcore._nogil.busy_slices)."""
    from gilcore import _nogil

    portable.wait_until(start_ns)
    cpu_before = time.thread_time()
    slices = _nogil.busy_slices(stop_ns, gap_ns)
    result = portable.worker_identity()
    result.update(slices=slices, cpu_seconds=time.thread_time() - cpu_before)
    return result


# Not registered in WORKLOADS: it has no checksum and means nothing in the speedup table.
TIMELINE_WORKLOAD = Workload(
    name="gil-timeline",
    description="spin from a common start to a common stop, noting when each worker ran",
    kernels={"python": portable.record_slices, "cython": record_cython},
    split=lambda size, parts: [()] * parts,
    default_size=1,
)


@dataclass
class WorkerTrace:
    """One worker's running stretches, in CLOCK_MONOTONIC nanoseconds."""

    label: str
    pid: int
    thread: int
    slices: List[Interval]
    cpu_seconds: Optional[float] = None

    def running_ns(self, start_ns: int, stop_ns: int) -> int:
        return sum(max(0, min(end, stop_ns) - max(begin, start_ns)) for begin, end in self.slices)


@dataclass
class Timeline:
    """A recorded run: who ran when, on which Python, with which strategy."""

    python: str
    strategy: str
    gil: str  # "on" | "off" | "" (unknown)
    start_ns: int
    stop_ns: int
    gap_ns: int
    workers: List[WorkerTrace] = field(default_factory=list)
    note: str = ""  # how it was taken: the machine's load, best of how many runs

    @property
    def seconds(self) -> float:
        return (self.stop_ns - self.start_ns) / 1e9

    def running_fractions(self) -> List[float]:
        span = max(1, self.stop_ns - self.start_ns)
        return [w.running_ns(self.start_ns, self.stop_ns) / span for w in self.workers]

    def overlaps(self, at_least: int = 2) -> List[Interval]:
        """The stretches when ``at_least`` workers ran at the same time."""
        events: List[Tuple[int, int]] = []
        for worker in self.workers:
            for begin, end in worker.slices:
                begin, end = max(begin, self.start_ns), min(end, self.stop_ns)
                if end > begin:
                    events += [(begin, 1), (end, -1)]
        events.sort()
        found: List[Interval] = []
        running, opened = 0, 0
        for when, change in events:
            before = running
            running += change
            if before < at_least <= running:
                opened = when
            elif running < at_least <= before and when > opened:
                found.append((opened, when))
        return found

    def overlap_fraction(self) -> float:
        """Share of the run during which 2 or more workers ran at once: ~0 under the GIL."""
        return sum(end - begin for begin, end in self.overlaps()) / max(1, self.stop_ns - self.start_ns)

    def wait_fraction(self) -> float:
        """1 - (time workers ran) / (workers x wall): the share of the run they spent waiting."""
        fractions = self.running_fractions()
        return 1.0 - sum(fractions) / len(fractions) if fractions else 0.0

    def pauses_per_second(self) -> float:
        """How often a worker stopped running (every gap longer than gap_ns), per second of the run."""
        pauses = sum(max(0, len(w.slices) - 1) for w in self.workers)
        return pauses / self.seconds if self.seconds > 0 else 0.0

    @property
    def title(self) -> str:
        gil = {"on": "GIL on", "off": "GIL off"}.get(self.gil, "GIL unknown")
        return f"{self.python} ({gil}): {self.strategy}, {len(self.workers)} workers, {self.seconds * 1e3:.0f} ms"

    @property
    def summary(self) -> str:
        ran = " / ".join(f"{f * 100:.0f}%" for f in self.running_fractions())
        return (f"each worker ran {ran} of the time; 2+ ran at once {self.overlap_fraction() * 100:.0f}% of the "
                f"time; {self.pauses_per_second():.0f} pauses/s")

    def total_running(self) -> float:
        return sum(self.running_fractions())

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data.update(running_fractions=self.running_fractions(), overlap_fraction=self.overlap_fraction(),
                    wait_fraction=self.wait_fraction(), pauses_per_second=self.pauses_per_second())
        return data

    def write_svg(self, path: "os.PathLike[str] | str") -> Path:
        """Writes the SVG (atomically: a reader never sees half a file) and returns its path."""
        from gilcore.atomic import write_atomic
        from gilcore.gilprobes.svg import render

        write_atomic(os.fspath(path), render(self))
        return Path(path)


def check_sizes(workers: int, duration_ms: float, gap_us: float) -> None:
    """UsageError for a size that cannot give a timeline; nothing has started yet."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
        raise UsageError(f"--workers must be a whole number from 1 to 64, not {workers!r}")
    if not 1.0 <= duration_ms <= MAX_DURATION_MS:  # also NaN
        raise UsageError(f"--duration-ms must be from 1 to {MAX_DURATION_MS:g} ms, not {duration_ms}")
    if not 1.0 <= gap_us <= duration_ms * 1000:
        raise UsageError(f"--gap-us must be from 1 µs to the duration, not {gap_us} µs")


def timeline_strategy_reason(name: str) -> Optional[str]:
    """None when ``name`` can draw a timeline here, else one sentence why not (UsageError if unknown)."""
    strategy = resolve_strategy(name)
    if strategy.name.startswith("serial"):
        return "a serial run has one worker in turn: there is nothing to overlap"
    return applicability(TIMELINE_WORKLOAD, strategy)


def _label(strategy: str, index: int, pid: int, distinct_pids: bool) -> str:
    if distinct_pids:
        return f"process {index + 1} (pid {pid})"
    if strategy.startswith("subinterp") or strategy == "interpreter-pool":
        return f"interpreter {index + 1}"
    return f"thread {index + 1}"


def worker_traces(strategy: str, raw: Sequence[Dict[str, Any]]) -> List[WorkerTrace]:
    distinct = len({r["pid"] for r in raw}) > 1
    return [WorkerTrace(label=_label(strategy, i, r["pid"], distinct), pid=r["pid"], thread=r["thread"] or 0,
                        slices=[(int(a), int(b)) for a, b in r["slices"]], cpu_seconds=r.get("cpu_seconds"))
            for i, r in enumerate(raw)]


def _gil_label(enabled: Optional[bool]) -> str:
    return "" if enabled is None else ("on" if enabled else "off")


def python_label(implementation: str, version: str, free_threaded: bool) -> str:
    name = {"cpython": "CPython", "pypy": "PyPy"}.get(implementation, implementation)
    return f"{name} {version}{'t' if free_threaded else ''}"


def _note(best_of: int) -> str:
    from gilcore.gilprobes.external import autogroup_nice

    load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs" if hasattr(os, "getloadavg") else ""
    nice = autogroup_nice()
    weight = f"scheduled with autogroup nice {nice}" if nice else ""
    best = (f"the least disturbed of {best_of} runs (most time running)" if best_of > 1 else "one run")
    return ", ".join(part for part in (best, load, weight) if part)


def best_of(runs: int, take: Any) -> Timeline:
    """``take()`` ``runs`` times; the run whose workers ran the most, i.e. the one other programs on
    the machine disturbed least (the GIL's own turn-taking is the same in every run)."""
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= 20:
        raise UsageError(f"--best-of must be a whole number from 1 to 20, not {runs!r}")
    kept = max((take() for _ in range(runs)), key=lambda t: t.total_running())
    kept.note = _note(runs)
    return kept


def record(strategy: str = "threads", workers: int = 2, duration_ms: float = DEFAULT_DURATION_MS,
           gap_us: float = DEFAULT_GAP_US, timeout: float = 120.0) -> Timeline:
    """One short run of ``strategy`` in this interpreter, every worker's stretches recorded."""
    check_sizes(workers, duration_ms, gap_us)
    reason = timeline_strategy_reason(strategy)
    if reason:
        raise UsageError(f"no timeline for {strategy} here: {reason}")
    chosen = resolve_strategy(strategy)
    with chosen.open(TIMELINE_WORKLOAD, workers) as session:
        start_ns = time.monotonic_ns() + int(LEAD_MS * 1e6)
        stop_ns = start_ns + int(duration_ms * 1e6)
        raw = session.map([(start_ns, stop_ns, int(gap_us * 1000))] * workers, timeout=timeout)
        worker_gil = [g for g in session.worker_gil if g is not None]
    enabled = any(worker_gil) if worker_gil else gil_enabled()
    label = python_label(sys.implementation.name, ".".join(map(str, sys.version_info[:3])), free_threaded_build())
    return Timeline(python=label, strategy=chosen.name, gil=_gil_label(enabled), start_ns=start_ns,
                    stop_ns=stop_ns, gap_ns=int(gap_us * 1000), workers=worker_traces(chosen.name, raw), note=_note(1))


def from_portable(result: Dict[str, Any], strategy: str, gap_us: float) -> Timeline:
    """A Timeline from portable.py's JSON line (run by another interpreter)."""
    gil = {"enabled": "on", "disabled": "off"}.get(result.get("gil", ""), "")
    label = python_label(result.get("implementation", "cpython"), result["version"], result.get("free_threaded", False))
    name = "process pool" if strategy == "processes" else strategy
    return Timeline(python=label, strategy=name, gil=gil, start_ns=int(result["start_ns"]),
                    stop_ns=int(result["stop_ns"]), gap_ns=int(gap_us * 1000), workers=worker_traces(strategy, result["workers"]))


def record_external(python: str, strategy: str = "threads", workers: int = 2,
                    duration_ms: float = DEFAULT_DURATION_MS, gap_us: float = DEFAULT_GAP_US,
                    timeout: float = 60.0) -> Timeline:
    """The same run with another interpreter (CPython 2.7 and up), through portable.py in a subprocess."""
    from gilcore.gilprobes.external import run_portable

    check_sizes(workers, duration_ms, gap_us)
    if strategy not in EXTERNAL_STRATEGIES:
        raise UsageError(f"with --python only {' and '.join(EXTERNAL_STRATEGIES)} run, not {strategy!r}")
    result = run_portable(python, "timeline", {"strategy": strategy, "workers": workers,
                                               "duration_ms": duration_ms, "gap_us": gap_us}, timeout)
    recorded = from_portable(result, strategy, gap_us)
    recorded.note = _note(1)
    return recorded
