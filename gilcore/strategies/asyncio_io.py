"""asyncio: one thread, W coroutines in flight; the speedup is over blocking calls in turn.

Only for I/O: a coroutine overlaps waiting, never computation.
"""
from __future__ import annotations

from typing import Any, List, Sequence

from gilcore.strategies.base import DEFAULT_TIMEOUT, Session, Strategy, WorkerError
from gilcore.workloads import Chunk


class _AsyncioSession(Session):
    _loop: Any = None

    def start(self) -> None:
        import asyncio  # here, not at import: subinterpreters load this package too

        self._asyncio = asyncio
        self._loop = asyncio.new_event_loop()

    async def _gather(self, chunks: Sequence[Chunk], timeout: float) -> List[Any]:
        gathered = self._asyncio.gather(*(self.kernel(*chunk, *self.extra) for chunk in chunks))
        done, _ = await self._asyncio.wait([gathered], timeout=timeout)
        if not done:
            gathered.cancel()
            await self._asyncio.wait([gathered])  # the coroutines unwind before the loop is closed
            if not gathered.cancelled():
                gathered.exception()  # read, so asyncio does not log it as never retrieved
            raise WorkerError(f"the coroutines did not finish within {timeout:g} s; they were cancelled")
        return list(gathered.result())

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        return self._loop.run_until_complete(self._gather(chunks, timeout))

    def close(self) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        try:
            pending = self._asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(self._asyncio.gather(*pending, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()


class Asyncio(Strategy):
    name = "asyncio"
    description = "asyncio event loop, W coroutines concurrently (I/O workloads)"
    kernel = "async"
    baseline_kernel = "python"

    session = _AsyncioSession
