"""HOW chunks reach workers: the small interface every strategy implements.

Like concurrent.futures' Executor: a strategy opens a session (its pool,
started and warmed, so start-up is never counted as work), the session maps a
kernel over chunks, and closing it always releases every worker, whatever
happened inside.

``Session`` is the one template every strategy's session follows:

    __init__  ->  start()            create the workers (pool, threads, interpreters)
              ->  warm_up(timeout)   block until every worker is up and prepared;
                                     returns each worker's GIL state, read *in* the worker
              any failure on the way: close(), then the error goes to the caller
    map(chunks, timeout)             warm work, results in chunk order
    close()                          release everything; safe to call twice, and
                                     after a start() that failed half-way

So a new strategy writes ``start``, ``warm_up``, ``map`` and ``close`` and
nothing else: no start-up try/except of its own, no timeout of its own.
"""
from __future__ import annotations

import abc
from typing import Any, Callable, List, Optional, Sequence, Tuple

from gilcore.strategies._warmup import specialise
from gilcore.workloads import Chunk, Workload

DEFAULT_TIMEOUT = 600.0
# How long workers may take to start and warm (imports, caches, a barrier): the same
# for every strategy, generous for spawn on a busy 2-core machine.
WARMUP_TIMEOUT = 120.0


class WorkerError(RuntimeError):
    """A worker failed: it raised, died, or did not answer in time."""


class Session(abc.ABC):
    """Warm workers for one workload; a context manager that always cleans up."""

    def __init__(self, workload: Workload, kernel: str, workers: int, extra: Tuple[Any, ...] = ()) -> None:
        self.workload = workload
        self.kernel: Callable[..., Any] = workload.kernels[kernel]
        self.extra = extra
        self.workers = workers
        # The GIL state each worker saw where it runs (None: it cannot tell, e.g. 3.12's interpreters).
        self.worker_gil: List[Optional[bool]] = []
        specialise(self.kernel, workload.warm_chunk, extra)  # here: serial, threads, and what fork copies
        try:
            self.start()
            self.worker_gil = list(self.warm_up(WARMUP_TIMEOUT) or [])
        except BaseException:
            self.close()
            raise

    def start(self) -> None:
        """Create the workers. Set every attribute close() reads before anything that can fail."""

    def warm_up(self, timeout: float) -> Optional[Sequence[Optional[bool]]]:
        """Block until every worker is up and the workload prepared in it (raise WorkerError past
        ``timeout``); return the GIL state each worker observed, or None where it is this process's."""
        return None

    @abc.abstractmethod
    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        """Run the kernel on every chunk; results in chunk order."""

    def worker_pids(self) -> List[int]:
        """Process ids of the worker processes (none when workers are threads)."""
        return []

    def close(self) -> None:
        """Release every worker; safe to call twice."""

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OneCallSession(Session):
    """A kernel that spreads every chunk over W threads itself (an OpenMP team, numba's pool): one call.

    A running parallel region cannot be interrupted, so ``timeout`` cannot apply.
    """

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        return list(self.kernel(list(chunks), self.workers))


class ExecutorSession(Session):
    """A concurrent.futures pool of threads (or of interpreters, each in a thread) in this process.

    A thread cannot be killed: after a timeout its kernel is abandoned (``_abandoned``) and
    close() does not wait for it, or the caller would hang too.
    """

    _pool: Any = None
    _abandoned = False

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not self._abandoned, cancel_futures=True)


class Strategy(abc.ABC):
    """A way to spread chunks over workers."""

    name: str = ""
    description: str = ""
    kernel: str = "python"  # which implementation of a workload it runs
    baseline_kernel: Optional[str] = None  # the serial run its speedup is taken over
    session: Optional[Callable[..., Session]] = None  # the Session class; open() passes it the cell
    # What the strategy needs (a package, a built extension): a function saying why it is missing, or None.
    # Set it with staticmethod(...): strategies of one library share that library's function.
    requirement: Optional[Callable[[], Optional[str]]] = None

    def unavailable_reason(self) -> Optional[str]:
        """None when this interpreter can run the strategy, else one sentence why not."""
        return self.requirement() if self.requirement is not None else None

    def unsupported_reason(self, workload: Workload) -> Optional[str]:
        """None when the strategy applies to the workload, else one sentence why not."""
        if workload.only_strategies is not None and self.name not in workload.only_strategies:
            return f"workload {workload.name!r} is only meaningful with {', '.join(workload.only_strategies)}"
        if self.kernel not in workload.kernels:
            return f"workload {workload.name!r} has no {self.kernel} kernel"
        if self.baseline not in workload.kernels:
            return f"workload {workload.name!r} has no {self.baseline} kernel to compare {self.name} with"
        return None

    @property
    def baseline(self) -> str:
        return self.baseline_kernel or self.kernel

    def open(self, workload: Workload, workers: int, extra: Tuple[Any, ...] = ()) -> Session:
        """Start and warm ``workers`` workers; raises WorkerError if they do not come up."""
        if self.session is None:
            raise NotImplementedError(f"{type(self).__name__} names no session class")
        return self.session(workload, self.kernel, workers, extra)


def call_kernel(kernel: Callable[..., Any], chunk: Chunk, extra: Tuple[Any, ...]) -> Any:
    return kernel(*chunk, *extra)


def observed_gil() -> Optional[bool]:
    """The GIL state where this runs (a worker thread, process or interpreter): a warm-up task."""
    from gilcore.gil import gil_enabled

    return gil_enabled()
