"""The reference article's claims, each next to the measurement that confirms or refutes it.

The article is ../shared/reference/gil-article.md ("Working around the Global
Interpreter Lock"). Each claim names the benchmark that tests it and a rule
turning a speedup into a verdict; the report prints one row per claim with
the measured value on every Python.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple


@dataclass(frozen=True)
class Claim:
    words: str  # the article's own words, shortened
    measured_by: str
    benchmark: str
    params: Tuple[str, ...]
    holds: Callable[[float], bool]  # does this speedup confirm the claim?
    correction: str = ""  # where the article is wrong, what is right


CLAIMS: List[Claim] = [
    Claim("\"When using threads against the GIL, you will likely have worse performance with the threads "
          "than if you ran in a single thread.\"",
          "countdown (COUNT=10M), 2 threads vs serial (✓: no gain, x <= 1.15)", "bench_cpu.Countdown.track_speedup",
          ("threads", "2"), lambda x: x <= 1.15,
          "On GIL builds threads give no gain (about x1; clearly worse only on CPython 2.7 and PyPy, see "
          "below); on a free-threaded build with the GIL off they scale."),
    Claim("\"CPython automatically releases the GIL when a thread performs an I/O operation.\"",
          "time.sleep calls, 2 threads", "bench_io.Sleep.track_speedup", ("threads", "2"),
          lambda x: x >= 1.8),
    Claim("(same claim, real sockets)", "loopback socket round trips, 2 threads",
          "bench_io.Socket.track_speedup", ("threads", "2"), lambda x: x >= 1.6),
    Claim("\"numpy number crunching operations release the GIL before doing their processing.\"",
          "256x256 matmul, BLAS pinned to 1 thread, 2 threads", "bench_c_code.NumpyMatmul.track_speedup",
          ("threads", "2"), lambda x: x >= 1.6),
    Claim("\"Since each process is its own interpreter, there are no GIL collisions.\"",
          "countdown, warm multiprocessing.Pool(2) (fork)", "bench_cpu.Countdown.track_speedup",
          ("pool-fork", "2"), lambda x: x >= 1.6,
          "True for warm work; pool start-up is extra (bench_pools.PoolStartup) and `with "
          "multiprocessing.Pool as pool` in the article is a TypeError: call Pool(), close() and join()."),
    Claim("Cython: \"It's that simple\" (`with nogil:` around Python threads)",
          "prime counting in a `cdef ... nogil` loop, 2 threads calling its def wrapper",
          "bench_cpu.Primes.track_speedup", ("cython-threads", "2"), lambda x: x >= 1.8,
          "The idea holds, the code does not: Cython rejects `with nogil:` around code that touches Python "
          "objects. Release the GIL inside a compiled kernel (gilcore/_nogil.pyx) and call it from threads."),
    Claim("\"Interpreters that have a GIL: CPython, PyPy\"", "countdown, 2 threads, PyPy 3",
          "bench_interpreters.Countdown.track_threads_speedup", ("pypy3",), lambda x: x <= 1.2),
    Claim("\"Interpreters that do not have a GIL: Jython\"", "countdown, 2 threads, Jython 2.7",
          "bench_interpreters.Countdown.track_threads_speedup", ("jython",), lambda x: x >= 1.5),
    Claim("\"CPython ... has a GIL\"", "countdown, 2 threads, free-threaded build",
          "bench_cpu.Countdown.track_speedup", ("threads", "2"), lambda x: x <= 1.2,
          "Not any more: CPython 3.13t (--disable-gil) runs threads in parallel when PYTHON_GIL=0."),
    Claim("\"before version 3.2 ... thread starvation\"; since 3.2 \"can still result in drastically longer "
          "execution times\"", "countdown, 2 threads, CPython 2.7 (old GIL)",
          "bench_interpreters.Countdown.track_threads_speedup", ("cpython-2.7",), lambda x: x < 0.9),
]


def _values(loaded: Any, claim: Claim, env: str) -> List[float]:
    """The claim's measurements in one environment; interpreter names match by prefix."""
    found: List[float] = []
    for (name, params), by_env in loaded.series.items():
        if name != claim.benchmark:
            continue
        if params == claim.params or (len(claim.params) == 1 and params and params[0].startswith(claim.params[0])):
            found += by_env.get(env, [])
    return found


def verdicts(loaded: Any, claim: Claim) -> List[Optional[Tuple[float, bool]]]:
    out: List[Optional[Tuple[float, bool]]] = []
    for env in loaded.environments:
        values = _values(loaded, claim, env)
        if values:
            speedup = statistics.median(values)
            out.append((speedup, claim.holds(speedup)))
        else:
            out.append(None)
    return out


def claims_table(loaded: Any) -> str:
    header = ["the article says", "measured by"] + list(loaded.environments) + ["verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for claim in CLAIMS:
        results = verdicts(loaded, claim)
        cells = ["—" if r is None else f"x{r[0]:.2f} {'✓' if r[1] else '✗'}" for r in results]
        measured = [r for r in results if r is not None]
        if not measured:
            verdict = "not measured here"
        elif all(ok for _, ok in measured):
            verdict = "confirmed"
        elif not any(ok for _, ok in measured):
            verdict = "refuted"
        else:
            verdict = "depends on the Python"
        if claim.correction:
            verdict += ". " + claim.correction
        lines.append("| " + " | ".join([claim.words, claim.measured_by] + cells + [verdict]) + " |")
    return "\n".join(lines)
