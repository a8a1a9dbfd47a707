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
import gc
import multiprocessing
import multiprocessing.pool
import signal
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from gilcore.strategies import _warmup
from gilcore.strategies.base import DEFAULT_TIMEOUT, Session, Strategy, WorkerError
from gilcore.workloads import Chunk, Workload

POLL_SECONDS = 0.05


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


def _describe_death(process: Any) -> str:
    code = process.exitcode
    how = f"was killed by {_signal_name(-code)}" if code < 0 else f"exited with status {code}"
    return f"worker process {process.pid} {how}"


def _dead_worker(processes: Sequence[Any]) -> Optional[str]:
    """How a worker that died died; one the pool itself terminated (SIGTERM) comes last."""
    dead = [p for p in processes if p.exitcode not in (None, 0)]
    dead.sort(key=lambda p: p.exitcode == -signal.SIGTERM)
    return _describe_death(dead[0]) if dead else None


def _fresh(error: BaseException) -> BaseException:
    """``error`` without the frames it was raised through, ready to raise again.

    Those frames (a pool's wait loop, its result objects) hold the pool's named
    semaphores; kept alive by a traceback past close(), the resource tracker
    stopped there would report and unlink them under their finalizers. The
    worker's own traceback is kept: it is the chained RemoteTraceback.
    """
    return error.with_traceback(None)


def _kill(processes: Sequence[Any]) -> None:
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(5)


def _terminate(pool: Any) -> None:
    """Pool.terminate() that cannot hang on a lock a dead worker took with it.

    An idle worker waits for tasks holding the task queue's read lock; one
    SIGKILLed there (or while sending a result) never releases it, and
    terminate() waits for that lock for ever. So: stop the pool replacing
    workers, kill every worker, free the two locks workers take, then
    terminate, which now only joins.
    """
    handler = pool._worker_handler
    handler._state = multiprocessing.pool.TERMINATE
    pool._change_notifier.put(None)  # wakes the handler, which then stops replacing workers
    handler.join(5)
    _kill(list(pool._pool))
    for lock in (pool._inqueue._rlock, pool._outqueue._wlock):
        _release_if_held_by_the_dead(lock)
    pool.terminate()


def _release_if_held_by_the_dead(lock: Any) -> None:
    """Every worker is dead: a lock held by no thread of this process was held by one of them."""
    if lock.acquire(False):
        lock.release()
    elif lock._semlock._count() == 0:  # this process's holds (the pool's task handler takes _wlock)
        try:
            lock.release()
        except ValueError:
            pass  # a thread here released it in between: it was free


# Sessions that use multiprocessing's helpers, open in this process now, and whether the helpers
# were up before the first of them: the helpers are stopped when the last one closes, never under
# another session that still needs them (stopping the resource tracker under it hangs that session).
_sessions_lock = threading.Lock()
_sessions_open = 0
_running_before_first: Dict[str, bool] = {}


def _helper_processes_running() -> Dict[str, bool]:
    """Register a session that may start multiprocessing's helpers (forkserver, resource tracker);
    returns which of them were up before the first open session. Pair with _stop_helper_processes."""
    global _sessions_open, _running_before_first
    from multiprocessing import forkserver, resource_tracker

    with _sessions_lock:
        if _sessions_open == 0:
            _running_before_first = {
                "forkserver": getattr(forkserver._forkserver, "_forkserver_pid", None) is not None,
                "resource_tracker": getattr(resource_tracker._resource_tracker, "_pid", None) is not None,
            }
        _sessions_open += 1
        return {**_running_before_first, "_registered": True}


def _stop_helper_processes(were_running: Dict[str, bool]) -> None:
    """Unregister a session; the last one to close stops the helpers the sessions started, so no
    child process outlives a run. Calling it twice with the same dict is harmless.

    multiprocessing keeps its forkserver and resource tracker alive until the
    parent exits; they are private, so each stop is guarded.
    """
    global _sessions_open
    from multiprocessing import forkserver, resource_tracker

    if not were_running.pop("_registered", False):
        return
    with _sessions_lock:
        _sessions_open = max(0, _sessions_open - 1)
        if _sessions_open:
            return
        before = dict(_running_before_first)
    helpers = {"forkserver": (forkserver._forkserver, "_forkserver_pid"),
               "resource_tracker": (resource_tracker._resource_tracker, "_pid")}
    for name, (helper, pid) in helpers.items():
        stop = getattr(helper, "_stop", None)
        running = getattr(helper, pid, None) is not None
        if running and not before.get(name, True) and stop is not None:
            try:
                stop()
            except (OSError, ChildProcessError):
                pass


class _PoolSession(Session):
    """multiprocessing.Pool; a dead worker is reported at once instead of hanging map()."""

    method: Optional[str] = None  # None: multiprocessing.Pool() as people write it, the default context
    _pool: Any = None
    _processes: List[Any] = []
    _clean = False
    _helpers: Dict[str, bool] = {}

    def start(self) -> None:
        self._helpers = _helper_processes_running()
        context = multiprocessing.get_context(self.method)
        # The barrier lives in the pool only (no local): see _fresh.
        self._pool = context.Pool(self.workers, initializer=_warmup.init_worker,
                                  initargs=(self.workload.prepare, self.workload.uses_blas,
                                            context.Barrier(self.workers), self.kernel, self.extra,
                                            self.workload.warm_chunk))
        self._processes = list(self._pool._pool)  # the original workers, to watch for deaths

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
                dead = _dead_worker([p for p in self._processes if p not in self._pool._pool])
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

    def worker_pids(self) -> List[int]:
        return [process.pid for process in self._processes]

    def close(self) -> None:
        if self._pool is None:
            _stop_helper_processes(self._helpers)  # start() failed before the pool existed
            return
        pool, self._pool = self._pool, None
        if self._clean:
            pool.close()  # the article's advice, which is right: close, then join
        else:
            _terminate(pool)
        pool.join()
        _kill(self._processes)
        # Drop every reference to the warm-up barrier's semaphores (held by the
        # pool and its Process objects) so they are unlinked before the
        # resource tracker is stopped.
        del pool
        self._processes = []
        gc.collect()
        _stop_helper_processes(self._helpers)


class _ExecutorSession(Session):
    """concurrent.futures.ProcessPoolExecutor: a dead worker raises BrokenProcessPool."""

    _executor: Any = None
    _processes: List[Any] = []
    _clean = False
    _helpers: Dict[str, bool] = {}

    def start(self) -> None:
        self._helpers = _helper_processes_running()
        context = multiprocessing.get_context()
        self._executor = cf.ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_warmup.init_worker,
            initargs=(self.workload.prepare, self.workload.uses_blas, context.Barrier(self.workers),
                      self.kernel, self.extra, self.workload.warm_chunk))

    def warm_up(self, timeout: float) -> List[Optional[bool]]:
        states = self._gather(lambda: [self._executor.submit(_warmup.meet, timeout) for _ in range(self.workers)],
                              timeout)
        self._processes = list(self._executor._processes.values())  # to tell how one died
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
        processes = self._processes or list((getattr(self._executor, "_processes", None) or {}).values())
        deadline = time.monotonic() + 2
        while processes:
            dead = [p for p in processes if p.exitcode not in (None, 0)]
            first = [p for p in dead if p.exitcode != -signal.SIGTERM]
            if first or (dead and (len(dead) == len(processes) or time.monotonic() > deadline)):
                return _describe_death((first or dead)[0])
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
        return list((self._executor._processes or {}).keys()) if self._executor else []

    def close(self) -> None:
        if self._executor is None:
            _stop_helper_processes(self._helpers)  # start() failed before the executor existed
            return
        executor, self._executor = self._executor, None
        processes = list((executor._processes or {}).values()) + self._processes
        self._processes = []
        if not self._clean:
            _kill(processes)  # hung or failed workers: do not wait for them
        executor.shutdown(wait=True, cancel_futures=True)
        _kill(processes)
        del executor, processes  # see _PoolSession.close: semaphores go before the tracker
        gc.collect()
        _stop_helper_processes(self._helpers)


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
