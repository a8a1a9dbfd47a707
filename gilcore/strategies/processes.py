"""Process pools: each worker is a whole interpreter with its own GIL.

``multiprocessing.Pool`` with every start method this platform offers, and
``concurrent.futures.ProcessPoolExecutor``. The reference article writes
``with multiprocessing.Pool as pool`` (no call: a TypeError) and its ``with``
block terminates the workers on exit; the right shape, used here, is to
``close()`` then ``join()`` the pool, and ``terminate()`` it only on failure.
Workers are started, initialised and met at a barrier before any work is
timed, so pool start-up is measured apart from warm work.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import multiprocessing.pool
import signal
import time
from typing import Any, Callable, List, Optional, Sequence

from gilcore.strategies import _internals, _warmup
from gilcore.strategies.children import ChildProcessSession, dead_worker, describe_death, kill, terminate_pool
from gilcore.strategies.base import DEFAULT_TIMEOUT, Strategy, WorkerError
from gilcore.workloads import Chunk

POLL_SECONDS = 0.05


def _fresh(error: BaseException) -> BaseException:
    """``error`` without the frames it was raised through, ready to raise again.

    Those frames (a pool's wait loop, its result objects) hold the pool's named
    semaphores; kept alive by a traceback past close(), the resource tracker
    stopped there would report and unlink them under their finalizers. The
    worker's own traceback is kept: it is the chained RemoteTraceback.
    """
    return error.with_traceback(None)


class _PoolSession(ChildProcessSession):
    """multiprocessing.Pool; a dead worker is reported at once instead of hanging map()."""

    method: Optional[str] = None  # None: multiprocessing.Pool() as people write it, the default context
    _pool: Any = None

    def start(self) -> None:
        super().start()
        context = multiprocessing.get_context(self.method)
        # The barrier lives in the pool only (no local): see _fresh.
        self._pool = context.Pool(self.workers, initializer=_warmup.init_worker,
                                  initargs=(self.workload.prepare, self.workload.uses_blas,
                                            context.Barrier(self.workers), self.kernel, self.extra,
                                            self.workload.warm_chunk))
        self._processes = _internals.pool_workers(self._pool)  # the original workers, to watch for deaths

    def warm_up(self, timeout: float) -> List[Optional[bool]]:
        states = self._wait(self._pool.map_async(_warmup.meet, [timeout] * self.workers, chunksize=1), timeout)
        self._clean = True
        return states

    def _wait(self, pending: Any, timeout: float) -> List[Any]:
        deadline = time.monotonic() + timeout
        try:
            while not pending.ready():
                # Only workers the pool's own thread has reaped (and replaced): it read their
                # exit codes, and a second reader of a forkserver child's gets EOF and 255.
                dead = dead_worker([p for p in self._processes if p not in _internals.pool_workers(self._pool)])
                if dead:
                    raise WorkerError(f"{dead}; the pool was terminated")
                if time.monotonic() > deadline:
                    raise WorkerError(f"pool did not finish within {timeout:g} s; its workers were killed")
                pending.wait(POLL_SECONDS)
            return pending.get()
        except BaseException as error:
            del pending
            raise _fresh(error) from error.__cause__

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        try:  # the workers hold the kernel (see _warmup.run_chunk): a task is its chunk alone
            results = self._wait(self._pool.map_async(_warmup.run_chunk, chunks, chunksize=1), timeout)
        except BaseException:
            self._clean = False
            raise
        self._clean = True
        return results

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:  # None: start() failed before the pool existed
            if self._clean:
                pool.close()  # the article's advice, which is right: close, then join
            else:
                terminate_pool(pool)
            pool.join()
        # Drop every reference to the warm-up barrier's semaphores (held by the
        # pool and its Process objects) so they are unlinked before the
        # resource tracker is stopped.
        del pool
        self.finish()


class _ExecutorSession(ChildProcessSession):
    """concurrent.futures.ProcessPoolExecutor: a dead worker raises BrokenProcessPool."""

    _executor: Any = None

    def start(self) -> None:
        super().start()
        context = multiprocessing.get_context()
        self._executor = cf.ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_warmup.init_worker,
            initargs=(self.workload.prepare, self.workload.uses_blas, context.Barrier(self.workers),
                      self.kernel, self.extra, self.workload.warm_chunk))

    def warm_up(self, timeout: float) -> List[Optional[bool]]:
        states = self._gather(lambda: [self._executor.submit(_warmup.meet, timeout) for _ in range(self.workers)],
                              timeout)
        self._processes = list(_internals.executor_processes(self._executor).values())  # to tell how one died
        self._clean = True
        return states

    def _gather(self, submit: Callable[[], List[cf.Future]], timeout: float) -> List[Any]:
        """Submit, wait, and turn a broken pool into a WorkerError saying how a worker died."""
        try:
            futures = submit()  # raises BrokenProcessPool at once if a worker died while idle
            done, pending = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_EXCEPTION)
            errors = [future.exception() for future in done if future.exception() is not None]
        except cf.process.BrokenProcessPool as broken:
            errors, pending = [broken], set()
        for error in errors:
            if isinstance(error, cf.process.BrokenProcessPool):
                raise WorkerError(f"{self._how_one_died()}; the pool was shut down") from error
        if errors:
            raise errors[0]
        if pending:
            raise WorkerError(f"pool did not finish within {timeout:g} s; its workers were killed")
        return [future.result() for future in futures]

    def _how_one_died(self) -> str:
        """The executor SIGTERMs the other workers when one dies: wait briefly for the one that died first."""
        processes = self._processes or list(_internals.executor_processes(self._executor).values())
        deadline = time.monotonic() + 2
        while processes:
            dead = [p for p in processes if p.exitcode not in (None, 0)]
            first = [p for p in dead if p.exitcode != -signal.SIGTERM]
            if first or (dead and (len(dead) == len(processes) or time.monotonic() > deadline)):
                return describe_death((first or dead)[0])
            if time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS / 5)
        return "a worker process died"

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        try:
            results = self._gather(lambda: [self._executor.submit(_warmup.run_chunk, chunk) for chunk in chunks],
                                   timeout)
        except BaseException:
            self._clean = False
            raise
        self._clean = True
        return results

    def worker_pids(self) -> List[int]:
        return list(_internals.executor_processes(self._executor)) if self._executor else []

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:  # None: start() failed before the executor existed
            self._processes = list(_internals.executor_processes(executor).values()) + self._processes
            if not self._clean:
                kill(self._processes)  # hung or failed workers: do not wait for them
            executor.shutdown(wait=True, cancel_futures=True)
        del executor  # see _PoolSession.close: semaphores go before the tracker
        self.finish()


class ProcessPool(Strategy):
    """multiprocessing.Pool with one start method, or with none (``pool-default``).

    ``pool-default`` is ``multiprocessing.Pool()`` as people write it: the
    platform's default start method, which on Linux is fork before 3.14 and
    forkserver from 3.14, so the history shows what the default gives.
    """

    def __init__(self, method: Optional[str]) -> None:
        self.method = method
        self.name = f"pool-{method or 'default'}"
        self.description = (f"multiprocessing.Pool, start method {method!r}, closed and joined" if method else
                            "multiprocessing.Pool() with the default start method, closed and joined")
        self.session = type(f"_PoolSession_{method or 'default'}", (_PoolSession,), {"method": method})

    def unavailable_reason(self) -> Optional[str]:
        if self.method is not None and self.method not in multiprocessing.get_all_start_methods():
            return f"start method {self.method!r} does not exist on this platform"
        return None

    def start_method(self) -> str:
        """The start method this strategy's pools use on this interpreter."""
        # The first of get_all_start_methods() is the platform's default (unless a program set one).
        return self.method or multiprocessing.get_start_method(allow_none=True) or \
            multiprocessing.get_all_start_methods()[0]


class ProcessExecutor(Strategy):
    name = "process-executor"
    description = "concurrent.futures.ProcessPoolExecutor, default start method"

    session = _ExecutorSession
