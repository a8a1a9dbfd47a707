"""concurrent.futures.InterpreterPoolExecutor (3.14+): the stdlib's pool of subinterpreters.

Each worker thread runs in its own interpreter with its own GIL; kernels and
results travel pickled. gilcore's own ``subinterpreters`` strategy does the
same by hand on 3.12 and 3.13; this one is what a user of 3.14 would write.
"""
from __future__ import annotations

import concurrent.futures as cf
import time
from typing import Any, List, Optional, Sequence

from gilcore.strategies.base import DEFAULT_TIMEOUT, ExecutorSession, WorkerError, call_kernel
from gilcore.strategies.subinterpreters import Subinterpreters
from gilcore.workloads import Chunk


def _prepare(prepare: Any) -> Optional[bool]:
    """Runs in each worker's interpreter: prepare the workload, report the GIL state there."""
    from gilcore.gil import gil_enabled

    if prepare is not None:
        prepare()
    return gil_enabled()


class _InterpreterPoolSession(ExecutorSession):
    def start(self) -> None:
        self._pool = cf.InterpreterPoolExecutor(max_workers=self.workers)  # type: ignore[attr-defined]

    def warm_up(self, timeout: float) -> List[Optional[bool]]:
        # Each submit with no idle worker starts one: W quick submits warm W interpreters.
        warm = [self._pool.submit(call_kernel, _prepare, (self.workload.prepare,), ())
                for _ in range(self.workers)]
        return [future.result(timeout) for future in warm]

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        futures = [self._pool.submit(call_kernel, self.kernel, chunk, self.extra) for chunk in chunks]
        deadline = time.monotonic() + timeout
        try:
            done, pending = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_EXCEPTION)
        except KeyboardInterrupt:
            self._abandoned = True  # running interpreters cannot be stopped: do not wait for them
            raise
        for future in pending:
            future.cancel()
        errors = [future.exception() for future in done if future.exception() is not None]
        if errors:
            # Chunks already running get what is left of the timeout, then are abandoned.
            if cf.wait(futures, max(0.0, deadline - time.monotonic())).not_done:
                self._abandoned = True
            raise errors[0]
        if pending:
            self._abandoned = True
            raise WorkerError(f"an interpreter did not finish within {timeout:g} s; a running interpreter "
                              "cannot be stopped, so it was abandoned and runs on until its kernel returns")
        return [future.result() for future in futures]


class InterpreterPool(Subinterpreters):
    name = "interpreter-pool"
    description = "concurrent.futures.InterpreterPoolExecutor (3.14+)"

    def unavailable_reason(self) -> Optional[str]:
        if not hasattr(cf, "InterpreterPoolExecutor"):
            return "concurrent.futures.InterpreterPoolExecutor needs Python 3.14 or newer"
        return super().unavailable_reason()

    session = _InterpreterPoolSession
