"""numba: ``@njit(nogil=True)`` kernels called from W threads, and ``@njit(parallel=True)`` with prange.

Both are what numeric code reaches for instead of Cython. The kernel is the
primes workload's trial division, the same integer algorithm as the Cython one
(gilcore/numba_kernels.py), so Cython nogil, numba nogil and numba parallel
are one table; each speedup is taken over the numba kernel run serially.

Compilation is start-up, never work: ``start()`` JIT-compiles both kernels
(in memory, no cache on disk) before anything is timed, once per process, and
keeps the seconds it took in ``compile_seconds``. A cold compile in a fresh
process is measured on its own by bench_libraries.NumbaCompile.

numba is imported only when a session starts: on a free-threaded build an
import that re-enables the GIL then shows up in that cell's GIL check (a loud
GilStateError), not in every other strategy of the run.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any, Optional

from gilcore.gil import free_threaded_build
from gilcore.strategies.base import OneCallSession, Strategy, WorkerError
from gilcore.strategies.threads import ThreadSession

INSTALL_HINT = "pip install 'gilcore[extras]'"


def numba_unavailable_reason() -> Optional[str]:
    """Why numba cannot run here, in one sentence; found without importing it."""
    if sys.implementation.name != "cpython":
        return "numba compiles for CPython only"
    if importlib.util.find_spec("numba") is None:
        if free_threaded_build() and sys.version_info[:2] == (3, 13):
            return "numba has no build for free-threaded Python 3.13 (its free-threading support starts with 3.14t)"
        return f"numba is not installed: {INSTALL_HINT}"
    return None


def _compile() -> Any:
    """Import numba and compile the kernels; the kernels module, with ``compile_seconds`` set."""
    try:
        kernels = importlib.import_module("gilcore.numba_kernels")
        kernels.compile_kernels()
    except ImportError as error:
        raise WorkerError(f"numba is installed but does not import here: {error}") from error
    return kernels


class _NumbaThreadSession(ThreadSession):
    """W threads calling the nogil kernel; compiled first, in the calling thread."""

    compile_seconds = 0.0

    def start(self) -> None:
        self.compile_seconds = _compile().first_compile_seconds()
        super().start()


class _NumbaParallelSession(OneCallSession):
    """One prange loop over all chunks on numba's thread pool, capped at W threads."""

    compile_seconds = 0.0

    def start(self) -> None:
        kernels = _compile()
        self.compile_seconds = kernels.first_compile_seconds()
        if self.workers > kernels.max_threads():
            raise WorkerError(f"numba's thread pool has {kernels.max_threads()} threads: set NUMBA_NUM_THREADS="
                              f"{self.workers} before Python starts to run {self.workers} workers")

    def warm_up(self, timeout: float) -> None:
        # The pool starts on the first parallel loop: start it now, so start-up is not timed as work.
        self.kernel([(0, 1, 1)] * self.workers, self.workers)
        return None  # the pool's threads run in this process: its GIL state is theirs


class NumbaThreads(Strategy):
    name = "numba-threads"
    description = "W threads calling an @njit(nogil=True) numba kernel"
    kernel = "numba"
    requirement = staticmethod(numba_unavailable_reason)
    session = _NumbaThreadSession


class NumbaParallel(Strategy):
    name = "numba-parallel"
    description = "@njit(parallel=True) prange over every chunk, numba.set_num_threads(W)"
    kernel = "numba-parallel"
    baseline_kernel = "numba"
    requirement = staticmethod(numba_unavailable_reason)
    session = _NumbaParallelSession
