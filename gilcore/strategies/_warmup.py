"""Runs inside each worker before any chunk is timed: pin BLAS, build caches, meet.

The initializer also leaves the session's kernel and extra arguments in the
worker, so each task sends only its chunk (see ``run_chunk``).
"""
from __future__ import annotations

import inspect
import sys
from typing import Any, Callable, Optional, Tuple

_barrier: Any = None
_BLAS_LIMITER: Any = None
_kernel: Any = None
_extra: Tuple[Any, ...] = ()


def pin_blas_to_one_thread() -> None:
    """Limit BLAS/OpenMP pools in this process to one thread: one worker = one core."""
    global _BLAS_LIMITER
    from threadpoolctl import threadpool_limits

    _BLAS_LIMITER = threadpool_limits(limits=1)  # kept alive for the worker's lifetime


def specialise(kernel: Any, warm_chunk: Optional[Tuple[Any, ...]], extra: Tuple[Any, ...] = ()) -> None:
    """CPython 3.11 specialises a code object only after 8 calls or 8 JUMP_BACKWARDs, and a `while cond:`
    loop's back edge is a POP_JUMP_BACKWARD_IF_TRUE that does not count: a kernel called once per task runs
    its first 7 calls unspecialised (~30 % slower). 8 calls on a chunk that does no work, where it runs."""
    if sys.version_info[:2] == (3, 11) and warm_chunk is not None and inspect.isfunction(kernel):
        for _ in range(8):
            kernel(*warm_chunk, *extra)


def init_worker(prepare: Optional[Callable[[], None]], uses_blas: bool, barrier: Any,
                kernel: Any = None, extra: Tuple[Any, ...] = (), warm_chunk: Optional[Tuple[Any, ...]] = None) -> None:
    """Pool initializer: prepare this worker, keep the barrier for the warm-up and the kernel for the tasks."""
    global _barrier, _kernel, _extra
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
    _kernel, _extra = kernel, extra
    specialise(kernel, warm_chunk, extra)  # a spawned worker's own copy of the kernel


def meet(timeout: float) -> Optional[bool]:
    """Warm-up task: returns only when every worker runs one, so all W are up; then the GIL
    state this worker process sees (an extension its imports loaded may have turned it on)."""
    from gilcore.gil import gil_enabled

    _barrier.wait(timeout)
    return gil_enabled()


def run_chunk(chunk: Tuple[Any, ...]) -> Any:
    """A task: the kernel sent once by the initializer, on this chunk."""
    return _kernel(*chunk, *_extra)
