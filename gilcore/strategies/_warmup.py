"""Runs inside each worker before any chunk is timed: pin BLAS, build caches, meet."""
from __future__ import annotations

from typing import Any, Callable, Optional

_barrier: Any = None
_BLAS_LIMITER: Any = None


def pin_blas_to_one_thread() -> None:
    """Limit BLAS/OpenMP pools in this process to one thread: one worker = one core."""
    global _BLAS_LIMITER
    from threadpoolctl import threadpool_limits

    _BLAS_LIMITER = threadpool_limits(limits=1)  # kept alive for the worker's lifetime


def init_worker(prepare: Optional[Callable[[], None]], uses_blas: bool, barrier: Any) -> None:
    """Pool initializer: prepare this worker and keep the barrier for the warm-up."""
    global _barrier
    import signal

    # Ctrl-C reaches the whole process group: the parent turns it into a clean
    # shutdown of the pool, and a worker's own KeyboardInterrupt would only
    # print a traceback per worker on the way out.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if prepare is not None:
        prepare()  # imports numpy etc. before pinning, so the pin reaches its BLAS
    if uses_blas:
        pin_blas_to_one_thread()
    _barrier = barrier


def meet(timeout: float) -> int:
    """Warm-up task: returns only when every worker runs one, so all W are up."""
    import os

    _barrier.wait(timeout)
    return os.getpid()
