"""Threads: a ThreadPoolExecutor of W threads, each taking chunks of the kernel.

Under the GIL this only helps where the kernel releases it (C code, I/O); on a
free-threaded build with the GIL off it is the workaround itself.

A thread cannot be killed: a kernel that hangs past the timeout gives the
caller a WorkerError at the timeout and is abandoned, running on until it
returns (and the interpreter waits for it at exit).
"""
from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from typing import Any, List, Optional, Sequence

from gilcore.strategies.base import DEFAULT_TIMEOUT, ExecutorSession, Strategy, WorkerError, call_kernel, observed_gil
from gilcore.workloads import Chunk


def meet_at_barrier(barrier: threading.Barrier, timeout: float) -> Optional[bool]:
    barrier.wait(timeout)
    return observed_gil()


class ThreadSession(ExecutorSession):
    def start(self) -> None:
        self._pool = cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gilcore")
        if self.workload.prepare is not None:
            self.workload.prepare()

    def warm_up(self, timeout: float) -> List[Optional[bool]]:
        # ThreadPoolExecutor starts threads lazily: a barrier of W parties
        # makes all W threads exist before anything is timed.
        barrier = threading.Barrier(self.workers)
        warm = [self._pool.submit(meet_at_barrier, barrier, timeout) for _ in range(self.workers)]
        return [future.result(timeout) for future in warm]

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        futures = [self._pool.submit(call_kernel, self.kernel, chunk, self.extra) for chunk in chunks]
        deadline = time.monotonic() + timeout
        results = []
        try:
            # In order, like Executor.map: on many tiny tasks cf.wait's waiter on
            # every future costs more than the tasks themselves.
            for future in futures:
                try:
                    results.append(future.result(max(0.0, deadline - time.monotonic())))
                except cf.TimeoutError:
                    if future.done():
                        raise  # the kernel's own TimeoutError
                    self._abandoned = True
                    raise WorkerError(f"a thread did not finish within {timeout:g} s; a thread cannot be killed, "
                                      "so it was abandoned and runs on until its kernel returns") from None
        except BaseException as error:
            for future in futures:
                future.cancel()
            # Chunks already running cannot be cancelled: after an error they get
            # what is left of the timeout (none after Ctrl-C), then are abandoned.
            left = 0.0 if isinstance(error, KeyboardInterrupt) else max(0.0, deadline - time.monotonic())
            if cf.wait(futures, left).not_done:
                self._abandoned = True
            raise
        return results


class Threads(Strategy):
    name = "threads"
    description = "ThreadPoolExecutor of W threads running the Python kernel"
    session = ThreadSession
