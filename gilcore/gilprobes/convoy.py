"""The convoy effect: how late an I/O-bound thread gets going while CPU-bound work runs.

An I/O thread makes round trips over a real loopback TCP socket (to an echo
server served by a thread of this process, which needs the GIL too, and to one
in a child process) and waits on a ``threading.Event`` that another thread
sets every millisecond. It does that with the CPU idle, then beside 1 and N
CPU-bound threads, then with the same CPU work moved to a process pool or to
threads running a Cython kernel with the GIL released: which workaround gives
the I/O thread its latency back. p50 and p99 are in milliseconds; ops/s is the
I/O thread's throughput. The loops themselves live in portable.py, so CPython
2.7 runs the very same ones (``run_external``).
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from gilcore.gil import check_gil_state, free_threaded_build, gil_enabled
from gilcore.gilprobes import portable
from gilcore.gilprobes.timeline import python_label
from gilcore.errors import UsageError

KINDS = portable.KINDS
LOAD_NAMES = ("idle", "threads", "processes", "cython")
DEFAULT_BUDGET_S = 0.5  # per cell: the I/O thread stops after this long ...
DEFAULT_MAX_OPS = 2000  # ... or after this many operations, whichever comes first
CYTHON_SPAN = 500  # odd numbers tested per kernel call: about 0.4 ms with the GIL released


def default_workers() -> int:
    """N: as many CPU-bound workers as CPUs, at least 2."""
    return max(2, os.cpu_count() or 1)


class CythonLoad:
    """N threads calling a Cython kernel that releases the GIL, in short calls so stop() is prompt."""

    def __init__(self, count: int) -> None:
        from gilcore import _nogil  # ImportError when the extension is not built: the caller says why

        self.kernel = _nogil.count_odd_primes
        self.count = count
        self.running = False
        self.threads: List[threading.Thread] = []

    def start(self) -> None:
        self.running = True
        self.threads = [threading.Thread(target=self._spin, name="gilprobes-cython") for _ in range(self.count)]
        for thread in self.threads:
            thread.start()

    def _spin(self) -> None:
        while self.running:
            self.kernel(1_000_000, 1_000_000 + CYTHON_SPAN)

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join()
        self.threads = []

    def close(self) -> None:
        self.stop()


def _make_load(name: str, count: int) -> Optional[Any]:
    return CythonLoad(count) if name == "cython" and count > 0 else None


@dataclass
class ConvoyRow:
    kind: str
    load: str
    workers: int
    ops: int
    seconds: float
    ops_per_second: Optional[float]
    p50_ms: Optional[float]
    p99_ms: Optional[float]
    max_ms: Optional[float]
    p99_over_idle: Optional[float] = None


@dataclass
class ConvoyResult:
    python: str
    gil: str
    rows: List[ConvoyRow]
    cpus: Optional[int] = None

    def row(self, kind: str, load: str, workers: Optional[int] = None) -> ConvoyRow:
        for row in self.rows:
            if row.kind == kind and row.load == load and (workers is None or row.workers == workers):
                return row
        raise KeyError(f"no row for {kind} under {load} x{workers}")


def default_loads(workers: int, cython: bool = True) -> List[Tuple[str, int]]:
    loads = [("idle", 0), ("threads", 1), ("threads", workers), ("processes", workers)]
    if cython:
        loads.append(("cython", workers))
    return loads


def parse_loads(text: str) -> List[Tuple[str, int]]:
    """'idle,threads:1,threads:2,processes:2' -> [(name, count), ...]; UsageError on anything else."""
    loads = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, count_text = part.partition(":")
        if name not in LOAD_NAMES:
            raise UsageError(f"unknown load {name!r}; choose from {', '.join(LOAD_NAMES)} (e.g. threads:2)")
        if name == "idle":
            loads.append(("idle", 0))
            continue
        try:
            count = int(count_text) if count_text else default_workers()
        except ValueError:
            raise UsageError(f"load {part!r}: the count after ':' must be a whole number") from None
        if not 1 <= count <= 64:
            raise UsageError(f"load {part!r}: the count must be from 1 to 64")
        loads.append((name, count))
    if not loads:
        raise UsageError("--loads needs at least one load, e.g. idle,threads:1")
    return loads


def parse_kinds(text: str) -> Tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise UsageError(f"unknown wait kind {unknown[0] if unknown else text!r}; choose from {', '.join(KINDS)}")
    return kinds


def check_budget(budget_s: float, max_ops: int) -> None:
    if not 0.01 <= budget_s <= 5.0:  # also NaN
        raise UsageError(f"--budget must be from 0.01 to 5 seconds per cell, not {budget_s}")
    if isinstance(max_ops, bool) or not isinstance(max_ops, int) or not 1 <= max_ops <= 1_000_000:
        raise UsageError(f"--max-ops must be a whole number from 1 to 1000000, not {max_ops!r}")


def _with_ratios(rows: Sequence[Dict[str, Any]]) -> List[ConvoyRow]:
    idle = {r["kind"]: r["p99_ms"] for r in rows if r["load"] == "idle"}
    result = []
    for raw in rows:
        row = ConvoyRow(**{k: raw.get(k) for k in ConvoyRow.__dataclass_fields__ if k != "p99_over_idle"})
        base = idle.get(row.kind)
        if base and row.p99_ms is not None:
            row.p99_over_idle = row.p99_ms / base
        result.append(row)
    return result


def run(loads: Optional[Sequence[Tuple[str, int]]] = None, kinds: Sequence[str] = KINDS,
        budget_s: float = DEFAULT_BUDGET_S, max_ops: int = DEFAULT_MAX_OPS) -> ConvoyResult:
    """Every (load, kind) cell in this interpreter; every thread, process and socket closed after."""
    check_budget(budget_s, max_ops)
    if loads is None:
        loads = default_loads(default_workers(), cython=_cython_available())
    for name, _ in loads:
        if name == "cython" and not _cython_available():
            raise UsageError("the cython load needs the extension gilcore._nogil, which is not built here")
    rows = portable.convoy(list(loads), tuple(kinds), budget_s, max_ops, make_load=_make_load)
    check_gil_state()  # an extension that turned the GIL back on would make every row meaningless
    enabled = gil_enabled()
    label = python_label(sys.implementation.name, ".".join(map(str, sys.version_info[:3])), free_threaded_build())
    return ConvoyResult(python=label, gil="" if enabled is None else ("on" if enabled else "off"),
                        rows=_with_ratios(rows), cpus=os.cpu_count())


def run_external(python: str, loads: Optional[Sequence[Tuple[str, int]]] = None, kinds: Sequence[str] = KINDS,
                 budget_s: float = DEFAULT_BUDGET_S, max_ops: int = DEFAULT_MAX_OPS) -> ConvoyResult:
    """The same probe with another interpreter (CPython 2.7 and up) through portable.py."""
    from gilcore.gilprobes.external import run_portable

    check_budget(budget_s, max_ops)
    if loads is None:
        loads = default_loads(default_workers(), cython=False)
    if any(name == "cython" for name, _ in loads):
        raise UsageError("the cython load runs only in this interpreter, not with --python")
    timeout = 10.0 + len(loads) * len(kinds) * (budget_s + 1.0)
    result = run_portable(python, "convoy", {"loads": [list(load) for load in loads], "kinds": list(kinds),
                                             "budget_s": budget_s, "max_ops": max_ops}, timeout)
    gil = {"enabled": "on", "disabled": "off"}.get(result.get("gil", ""), "")
    label = python_label(result.get("implementation", "cpython"), result["version"], result.get("free_threaded", False))
    return ConvoyResult(python=label, gil=gil, rows=_with_ratios(result["rows"]), cpus=result.get("cpus"))


def _cython_available() -> bool:
    try:
        from gilcore import _nogil  # noqa: F401
    except ImportError:
        return False
    return True


def _ms(value: Optional[float]) -> str:
    return f"{value:.3f}" if value is not None else "n/a"


def format_table(result: ConvoyResult) -> str:
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    lines = [f"convoy effect on {result.python} (GIL {result.gil or 'unknown'}), {result.cpus} CPUs{load}",
             f"{'I/O wait':<15} {'CPU load':<14} {'p50 ms':>8} {'p99 ms':>8} {'p99/idle':>9} {'ops/s':>8}"]
    for row in result.rows:
        load_text = "idle" if row.load == "idle" else f"{row.workers} {row.load}"
        ratio = f"x{row.p99_over_idle:.1f}" if row.p99_over_idle is not None else "n/a"
        ops = f"{row.ops_per_second:.0f}" if row.ops_per_second is not None else "n/a"
        lines.append(f"{row.kind:<15} {load_text:<14} {_ms(row.p50_ms):>8} {_ms(row.p99_ms):>8} {ratio:>9} {ops:>8}")
    lines.append("socket-thread: echo server in a thread of this process; socket-process: in a child process; "
                 "event: threading.Event set every 1 ms. cython: threads in a nogil Cython kernel.")
    return "\n".join(lines)
