"""The child processes of process-based strategies: how one died, killing what is left, and
multiprocessing's helper processes (forkserver, resource tracker), stopped when the last session ends.

Shared by the process pools, joblib's loky backend, dask's LocalCluster and the
overhead benchmark, so no child process outlives a run.
"""
from __future__ import annotations

import gc
import signal
import threading
from typing import Any, Dict, List, Optional, Sequence

from gilcore.strategies import _internals
from gilcore.strategies.base import Session


def signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"


def describe_death(process: Any) -> str:
    code = process.exitcode
    how = f"was killed by {signal_name(-code)}" if code < 0 else f"exited with status {code}"
    return f"worker process {process.pid} {how}"


def dead_worker(processes: Sequence[Any]) -> Optional[str]:
    """How a worker that died died; one the pool itself terminated (SIGTERM) comes last."""
    dead = [p for p in processes if p.exitcode not in (None, 0)]
    dead.sort(key=lambda p: p.exitcode == -signal.SIGTERM)
    return describe_death(dead[0]) if dead else None


def kill(processes: Sequence[Any]) -> None:
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(5)


def terminate_pool(pool: Any) -> None:
    """Pool.terminate() that cannot hang on a lock a dead worker took with it.

    An idle worker waits for tasks holding the task queue's read lock; one
    SIGKILLed there (or while sending a result) never releases it, and
    terminate() waits for that lock for ever. So: stop the pool replacing
    workers, kill every worker, free the two locks workers take, then
    terminate, which now only joins.
    """
    _internals.pool_stop_replacing_workers(pool)
    kill(_internals.pool_workers(pool))
    for lock in _internals.pool_queue_locks(pool):
        _release_if_held_by_the_dead(lock)
    pool.terminate()


def _release_if_held_by_the_dead(lock: Any) -> None:
    """Every worker is dead: a lock held by no thread of this process was held by one of them."""
    if lock.acquire(False):
        lock.release()
    elif _internals.lock_count_here(lock) == 0:  # this process's holds (the pool's task handler takes _wlock)
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


def register_helpers() -> Dict[str, bool]:
    """Register a session that may start multiprocessing's helpers (forkserver, resource tracker);
    returns which of them were up before the first open session. Pair with release_helpers."""
    global _sessions_open, _running_before_first
    with _sessions_lock:
        if _sessions_open == 0:
            _running_before_first = {name: _internals.helper_running(name) for name in _internals.HELPERS}
        _sessions_open += 1
        return {**_running_before_first, "_registered": True}


def release_helpers(were_running: Dict[str, bool]) -> None:
    """Unregister a session; the last one to close stops the helpers the sessions started, so no
    child process outlives a run. Calling it twice with the same dict is harmless.

    multiprocessing keeps its forkserver and resource tracker alive until the
    parent exits; they are private, so each stop is guarded.
    """
    global _sessions_open
    if not were_running.pop("_registered", False):
        return
    with _sessions_lock:
        _sessions_open = max(0, _sessions_open - 1)
        if _sessions_open:
            return
        before = dict(_running_before_first)
    for name in _internals.HELPERS:
        if not before.get(name, True):
            _internals.stop_helper(name)


class ChildProcessSession(Session):
    """A session whose workers are child processes: it registers multiprocessing's helpers in start()
    and, in close(), leaves no worker, no helper and no semaphore behind (``finish``)."""

    _processes: List[Any] = []  # the workers, to tell how one died and to kill what is left
    _clean = False  # the last call ended normally: the workers may be shut down gracefully
    _helpers: Dict[str, bool] = {}

    def start(self) -> None:
        self._helpers = register_helpers()

    def worker_pids(self) -> List[int]:
        return [process.pid for process in self._processes]

    def finish(self) -> None:
        """Kills the workers still alive, then stops the helpers once nothing holds the workers'
        semaphores (the caller dropped its pool or executor first): otherwise the resource tracker,
        stopped under their finalizers, would report and unlink them."""
        processes, self._processes = self._processes, []
        kill(processes)
        del processes
        gc.collect()
        release_helpers(self._helpers)
