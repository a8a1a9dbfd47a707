"""HOW chunks reach workers: the small interface every strategy implements.

Like concurrent.futures' Executor: a strategy opens a session (its pool,
started and warmed, so start-up is never counted as work), the session maps a
kernel over chunks, and closing it always releases every worker, whatever
happened inside.
"""
from __future__ import annotations

import abc
from typing import Any, Callable, List, Optional, Sequence, Tuple

from gilcore.workloads import Chunk, Workload

DEFAULT_TIMEOUT = 600.0


class WorkerError(RuntimeError):
    """A worker failed: it raised, died, or did not answer in time."""


class Session(abc.ABC):
    """Warm workers for one workload; a context manager that always cleans up."""

    def __init__(self, kernel: Callable[..., Any], extra: Tuple[Any, ...], workers: int) -> None:
        self.kernel = kernel
        self.extra = extra
        self.workers = workers

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


class Strategy(abc.ABC):
    """A way to spread chunks over workers."""

    name: str = ""
    description: str = ""
    kernel: str = "python"  # which implementation of a workload it runs
    baseline_kernel: Optional[str] = None  # the serial run its speedup is taken over

    def unavailable_reason(self) -> Optional[str]:
        """None when this interpreter can run the strategy, else one sentence why not."""
        return None

    def unsupported_reason(self, workload: Workload) -> Optional[str]:
        """None when the strategy applies to the workload, else one sentence why not."""
        if workload.only_strategies is not None and self.name not in workload.only_strategies:
            return f"workload {workload.name!r} is only meaningful with {', '.join(workload.only_strategies)}"
        if self.kernel not in workload.kernels:
            return f"workload {workload.name!r} has no {self.kernel} kernel"
        return None

    @property
    def baseline(self) -> str:
        return self.baseline_kernel or self.kernel

    @abc.abstractmethod
    def open(self, workload: Workload, workers: int, extra: Tuple[Any, ...] = ()) -> Session:
        """Start and warm ``workers`` workers; raises WorkerError if they do not come up."""


def call_kernel(kernel: Callable[..., Any], chunk: Chunk, extra: Tuple[Any, ...]) -> Any:
    return kernel(*chunk, *extra)
