"""The primes kernel compiled by numba: the same integer algorithm as gilcore/_nogil.pyx.

``count_odd_primes`` is ``@njit(nogil=True)``: like the Cython kernel it runs
without the GIL, so plain Python threads calling it run in parallel.
``count_odd_primes_parallel`` is ``@njit(parallel=True)``: every chunk in one
``prange`` loop on numba's own thread pool, like Cython's OpenMP prange.

Both are typed for int64 and compiled on first use, in memory only: no cache
on disk (``cache=False``), so each new process pays the compile once —
``compile_kernels`` does it before anything is timed and says how long it took.
Importing this module imports numba; gilcore.workloads reaches it lazily, so
``import gilcore`` never does (on a free-threaded build an extension that is
not declared free-threading compatible re-enables the GIL for the process).
"""
from __future__ import annotations

import threading
import time
from typing import List, Sequence, Tuple

import numba
import numpy as np

# The explicit signatures compile_kernels compiles: what the wrappers below call them with.
SERIAL_SIGNATURE = "int64(int64, int64, int64)"
PARALLEL_SIGNATURE = "int64[::1](int64[::1], int64[::1], int64[::1])"


@numba.njit(nogil=True, cache=False)
def _is_odd_prime(n: int) -> bool:
    if n < 3:
        return False
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


@numba.njit(nogil=True, cache=False)
def _count(start: int, stop: int, step: int) -> int:
    found = 0
    i = start
    while i < stop:
        if _is_odd_prime(2 * i + 1):
            found += 1
        i += step
    return found


@numba.njit(parallel=True, nogil=True, cache=False)
def _count_parallel(starts, stops, steps):  # type: ignore[no-untyped-def]
    counts = np.zeros(starts.shape[0], dtype=np.int64)
    for i in numba.prange(starts.shape[0]):  # one chunk per iteration, like the Cython prange kernel
        counts[i] = _count(starts[i], stops[i], steps[i])
    return counts


_compile_lock = threading.Lock()
_compile_seconds: float = -1.0  # < 0: not compiled in this process yet


def compile_kernels() -> float:
    """JIT-compile both kernels once per process; seconds it took (0.0 when already done)."""
    global _compile_seconds
    with _compile_lock:
        if _compile_seconds >= 0:
            return 0.0
        started = time.perf_counter()
        _count.compile(SERIAL_SIGNATURE)
        _count_parallel.compile(PARALLEL_SIGNATURE)
        _compile_seconds = time.perf_counter() - started
        return _compile_seconds


def first_compile_seconds() -> float:
    """How long this process's compile took (compiling now if it has not happened)."""
    compile_kernels()
    return _compile_seconds


def count_odd_primes(start: int, stop: int, step: int) -> int:
    """Count primes among 2*i+1 for i in range(start, stop, step), GIL released."""
    if step < 1:
        raise ValueError("step must be >= 1")
    return int(_count(start, stop, step))


def max_threads() -> int:
    """The size of numba's thread pool (NUMBA_NUM_THREADS; default the CPU count)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def count_odd_primes_parallel(chunks: Sequence[Tuple[int, int, int]], num_threads: int) -> List[int]:
    """Count odd primes of every (start, stop, step) chunk in one prange loop on ``num_threads`` threads."""
    if not 1 <= num_threads <= max_threads():
        raise ValueError(f"num_threads must be between 1 and numba's pool size {max_threads()} "
                         "(NUMBA_NUM_THREADS, read when numba is first imported)")
    if any(chunk[2] < 1 for chunk in chunks):
        raise ValueError("step must be >= 1")
    if not chunks:
        return []
    starts, stops, steps = (np.array(column, dtype=np.int64) for column in zip(*chunks))
    # Per calling thread: caps this loop at num_threads of the pool, so W means W cores.
    numba.set_num_threads(num_threads)
    return [int(count) for count in _count_parallel(starts, stops, steps)]


def threading_layer() -> str:
    """Which threading layer numba's parallel loops use here (tbb, omp or workqueue); known after a first run."""
    try:
        return str(numba.threading_layer())
    except ValueError:  # no parallel loop has run yet
        return "not yet chosen"
