"""joblib: ``Parallel(n_jobs=W)`` as scikit-learn users reach it, with the loky and threading backends.

Each chunk is one ``delayed(kernel)(*chunk)`` task, one task per batch
(``batch_size=1``, every chunk dispatched at once), as every other strategy
sends them. The ``Parallel`` object is entered as a context manager, joblib's
way to keep its workers between calls, so start-up is paid once per session
and measured apart: W workers meet at a barrier before anything is timed.

joblib runs ``n_jobs=1`` in the calling thread, without any worker: so does
this strategy at one worker (no start-up, no task overhead), as joblib's users
get it.

loky keeps its *reusable executor* (a process-wide pool, what ``Parallel``
runs on) alive after a call, for the next one; ``close()`` shuts it down — its
workers killed after a fault — and stops loky's resource tracker if the
session started it, so no child process outlives the session. A worker that
dies makes loky raise TerminatedWorkerError, and a call past its timeout
raises TimeoutError after joblib killed every worker: both come back as a
WorkerError saying what happened.
"""
from __future__ import annotations

import gc
import importlib
import importlib.util
import multiprocessing
import re
import tempfile
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from gilcore.strategies import _warmup
from gilcore.strategies.base import DEFAULT_TIMEOUT, Session, Strategy, WorkerError, call_kernel
from gilcore.strategies import _internals
from gilcore.strategies.children import kill, register_helpers, release_helpers, signal_name
from gilcore.strategies.threads import meet_at_barrier
from gilcore.workloads import Chunk

INSTALL_HINT = "pip install 'gilcore[extras]'"
THREAD_EXIT_TIMEOUT = 5.0  # s: how long close() waits for loky's threads to end
LOKY_THREADS = ("QueueFeederThread", "ExecutorManagerThread")  # what loky names the threads it starts


def joblib_unavailable_reason() -> Optional[str]:
    """Why joblib cannot run here, in one sentence; found without importing it."""
    if importlib.util.find_spec("joblib") is None:
        return f"joblib is not installed: {INSTALL_HINT}"
    return None


def _how_a_worker_died(error: BaseException) -> str:
    """loky's TerminatedWorkerError names the exit codes it saw, e.g. '{SIGKILL(-9)}'."""
    codes = re.search(r"exit codes of the workers are \{([^}]*)\}", str(error))
    numbers = [int(code) for code in re.findall(r"\((-?\d+)\)", codes.group(1))] if codes else []
    if not numbers:
        return "a loky worker process died"
    code = numbers[0]
    how = f"was killed by {signal_name(-code)}" if code < 0 else f"exited with status {code}"
    return f"a loky worker process {how}"


class _JoblibSession(Session):
    """A managed ``joblib.Parallel``: entered in start(), exited in close()."""

    backend = ""
    after_timeout = ""  # what joblib did about the workers when a call timed out
    _parallel: Any = None
    _clean = False
    _sequential = False  # joblib fell back to running the tasks in this thread (n_jobs=1)

    def backend_kwargs(self) -> Dict[str, Any]:
        return {}

    def start(self) -> None:
        try:
            import joblib
        except ImportError as error:
            raise WorkerError(f"joblib is installed but does not import here: {error}") from error
        self._delayed = joblib.delayed
        self._parallel = joblib.Parallel(n_jobs=self.workers, backend=self.backend, batch_size=1,
                                         pre_dispatch="all", **self.backend_kwargs())
        self._parallel.__enter__()
        self._sequential = isinstance(_internals.joblib_backend(self._parallel), _internals.joblib_sequential_backend())

    def _call(self, function: Callable[..., Any], calls: Iterable[Tuple[Any, ...]], timeout: float) -> List[Any]:
        self._parallel.timeout = timeout
        self._clean = False
        try:
            results = self._parallel(self._delayed(function)(*args) for args in calls)
        except multiprocessing.TimeoutError:
            raise WorkerError(f"joblib did not finish within {timeout:g} s; {self.after_timeout}") from None
        except Exception as error:
            if type(error).__name__ in ("TerminatedWorkerError", "BrokenProcessPool"):
                raise WorkerError(f"{_how_a_worker_died(error)}; joblib shut its workers down") from error
            raise
        self._clean = True
        return list(results)

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        return self._call(call_kernel, [(self.kernel, chunk, self.extra) for chunk in chunks], timeout)


def _meet_in_folder(folder: str, workers: int, timeout: float) -> Optional[bool]:
    """Warm-up task: returns once ``workers`` tasks run at once, so all W workers are up; then the
    GIL state this worker sees. A barrier of files: loky cannot send a multiprocessing.Barrier."""
    import os
    import time

    from gilcore.gil import gil_enabled

    open(os.path.join(folder, str(os.getpid())), "w").close()
    deadline = time.monotonic() + timeout
    while len(os.listdir(folder)) < workers:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(os.listdir(folder))} of {workers} workers met within {timeout:g} s")
        time.sleep(0.001)
    return gil_enabled()


class _LokySession(_JoblibSession):
    backend = "loky"
    after_timeout = "it killed every worker"
    _processes: List[Any] = []
    _tracker_was_running = True
    _threads_before: Set[threading.Thread] = set()
    _helpers: Dict[str, bool] = {}

    def backend_kwargs(self) -> Dict[str, Any]:
        self._tracker_was_running = _internals.loky_tracker_pid() is not None
        self._threads_before = set(threading.enumerate())
        self._helpers = register_helpers()  # multiprocessing's tracker, which loky's workers also start
        # Each worker prepares the workload (imports, caches) and pins BLAS before any task.
        return {"initializer": _warmup.init_worker, "initargs": (self.workload.prepare, self.workload.uses_blas, None),
                "idle_worker_timeout": 3600}

    def warm_up(self, timeout: float) -> Optional[List[Optional[bool]]]:
        if self._sequential:
            return None
        with tempfile.TemporaryDirectory(prefix="gilcore-") as folder:
            try:
                states = self._call(_meet_in_folder, [(folder, self.workers, timeout)] * self.workers, timeout)
            except TimeoutError as error:  # raised by a worker that waited for the others in vain
                raise WorkerError(f"loky's workers did not all start: {error}") from None
        self._processes = list(_internals.executor_processes(self._executor()).values())
        return states

    def _executor(self) -> Any:
        return _internals.joblib_executor(self._parallel) if self._parallel is not None else None

    def worker_pids(self) -> List[int]:
        return [process.pid for process in self._processes]

    def close(self) -> None:
        if self._parallel is None:
            return
        executor = self._executor()
        processes = list(_internals.executor_processes(executor).values()) if executor is not None else []
        processes += self._processes
        parallel, self._parallel = self._parallel, None
        parallel.__exit__(None, None, None)  # joblib's own clean-up of this call's temporary folder
        if executor is not None:
            # Graceful after clean work; killed after a fault (a hung or half-dead pool).
            # joblib's terminate() also removes the executor's temporary folders.
            executor.terminate(kill_workers=not self._clean)
        kill(processes)  # whatever loky left: no child outlives the session
        if executor is not None:
            # joblib keeps a folder it could not delete yet (/dev/shm/joblib_memmapping_folder_*) for
            # its atexit hook; every worker is gone now, so it can go at once.
            _internals.joblib_clean_temporary_folders(executor)
        _internals.loky_forget_executor(executor)
        del parallel, executor, processes
        self._processes = []
        # loky's threads (the queues' feeder threads) hold the queues' semaphores until they end:
        # a semaphore freed after loky's tracker stopped would start a new tracker to unregister it.
        _join_new_threads(self._threads_before, THREAD_EXIT_TIMEOUT)
        gc.collect()  # the executor's queues' semaphores are unlinked before loky's tracker stops
        if not self._tracker_was_running:
            _internals.stop_loky_tracker()
        release_helpers(self._helpers)


def _join_new_threads(before: Set[threading.Thread], timeout: float) -> None:
    """Waits, up to ``timeout`` in all, for loky's threads started since ``before`` to end (not
    any other thread that came meanwhile, such as an abandoned worker or a Ctrl-C watchdog)."""
    deadline = time.monotonic() + timeout
    for thread in set(threading.enumerate()) - before:
        if thread.name in LOKY_THREADS and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


class _ThreadingSession(_JoblibSession):
    backend = "threading"
    after_timeout = "a thread cannot be killed, so it was abandoned and runs on until its kernel returns"

    def start(self) -> None:
        super().start()
        if self.workload.prepare is not None:
            self.workload.prepare()

    def warm_up(self, timeout: float) -> Optional[List[Optional[bool]]]:
        if self._sequential:
            return None
        # joblib's thread pool starts its threads lazily: meeting makes all W exist.
        return self._call(meet_at_barrier, [(threading.Barrier(self.workers), timeout)] * self.workers, timeout)

    def close(self) -> None:
        parallel, self._parallel = self._parallel, None
        if parallel is not None:
            parallel.__exit__(None, None, None)  # closes joblib's ThreadPool; a hung thread is abandoned


class Joblib(Strategy):
    """``joblib.Parallel(n_jobs=W)`` with one backend: loky (its reusable process executor) or threading."""

    requirement = staticmethod(joblib_unavailable_reason)

    def __init__(self, backend: str) -> None:
        self.session = {"loky": _LokySession, "threading": _ThreadingSession}[backend]
        self.name = "joblib-loky" if backend == "loky" else "joblib-threads"
        self.description = (f"joblib.Parallel(n_jobs=W), {backend} backend"
                            + (" (its reusable process executor)" if backend == "loky" else ""))
