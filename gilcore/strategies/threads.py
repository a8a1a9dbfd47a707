"""Threads: a ThreadPoolExecutor of W threads, each taking chunks of the kernel.

Under the GIL this only helps where the kernel releases it (C code, I/O); on a
free-threaded build with the GIL off it is the workaround itself.
"""
from __future__ import annotations

import concurrent.futures as cf
import threading
from typing import Any, List, Sequence, Tuple

from gilcore.strategies.base import DEFAULT_TIMEOUT, Session, Strategy, WorkerError, call_kernel
from gilcore.workloads import Chunk, Workload

WARMUP_TIMEOUT = 60.0


class _ThreadSession(Session):
    def __init__(self, workload: Workload, kernel_name: str, workers: int, extra: Tuple[Any, ...]) -> None:
        super().__init__(workload.kernels[kernel_name], extra, workers)
        self._abandoned = False
        self._pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gilcore")
        try:
            if workload.prepare is not None:
                workload.prepare()
            # ThreadPoolExecutor starts threads lazily: a barrier of W parties
            # makes all W threads exist before anything is timed.
            barrier = threading.Barrier(workers)
            warm = [self._pool.submit(barrier.wait, WARMUP_TIMEOUT) for _ in range(workers)]
            for future in warm:
                future.result(WARMUP_TIMEOUT)
        except BaseException:
            self.close()
            raise

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        futures = [self._pool.submit(call_kernel, self.kernel, chunk, self.extra) for chunk in chunks]
        done, pending = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                for other in pending:
                    other.cancel()
                raise future.exception()  # type: ignore[misc]
        if pending:
            for other in pending:
                other.cancel()
            self._abandoned = True
            raise WorkerError(f"a thread did not finish within {timeout:g} s (threads cannot be killed)")
        return [future.result() for future in futures]

    def close(self) -> None:
        # A hung thread cannot be stopped; waiting for it would hang the caller too.
        self._pool.shutdown(wait=not self._abandoned, cancel_futures=True)


class Threads(Strategy):
    name = "threads"
    description = "ThreadPoolExecutor of W threads running the Python kernel"

    def open(self, workload: Workload, workers: int, extra: Tuple[Any, ...] = ()) -> Session:
        return _ThreadSession(workload, self.kernel, workers, extra)
