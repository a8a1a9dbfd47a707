"""Every private CPython (and joblib, loky, dask) internal gilcore touches, behind one door.

Each function wraps one private attribute or module, says why it is needed, and
is pinned by a canary in tests/test_internals.py that fails loudly when a new
CPython or library release renames or removes it. The callers stay written
against these names only: when a canary fails, this file is the one to change.
"""
from __future__ import annotations

import multiprocessing.pool
import sys
from typing import Any, List, Optional, Tuple

# --------------------------------------------------------------------------- multiprocessing.Pool


def pool_workers(pool: Any) -> List[Any]:
    """The Process objects of a multiprocessing.Pool (``pool._pool``): to watch them die and kill them."""
    return list(pool._pool)


def pool_stop_replacing_workers(pool: Any, timeout: float = 5.0) -> None:
    """Stops a Pool's worker handler, so terminate() does not wait for replaced workers.

    ``_worker_handler._state`` and ``_change_notifier``: the handler thread
    replaces dead workers until it sees TERMINATE, and wakes on the notifier.
    """
    handler = pool._worker_handler
    handler._state = multiprocessing.pool.TERMINATE
    pool._change_notifier.put(None)
    handler.join(timeout)


def pool_queue_locks(pool: Any) -> Tuple[Any, Any]:
    """The two locks a Pool's workers take (the task queue's read lock, the result queue's write lock)."""
    return pool._inqueue._rlock, pool._outqueue._wlock


def lock_count_here(lock: Any) -> int:
    """How often this process holds a multiprocessing lock (``_semlock._count()``); 0 when another did."""
    return lock._semlock._count()


# --------------------------------------------------------------------------- process executors


def executor_processes(executor: Any) -> dict:
    """{pid: Process} of a ProcessPoolExecutor or a loky executor (``_processes``); empty once shut down."""
    return dict(getattr(executor, "_processes", None) or {})


# --------------------------------------------------------------------------- multiprocessing's helper processes


def _helpers() -> dict:
    from multiprocessing import forkserver, resource_tracker

    # name: (the module's singleton, the attribute holding its pid while it runs)
    return {"forkserver": (forkserver._forkserver, "_forkserver_pid"),
            "resource_tracker": (resource_tracker._resource_tracker, "_pid")}


HELPERS = ("forkserver", "resource_tracker")


def helper_running(name: str) -> bool:
    """Whether multiprocessing's forkserver or resource tracker process runs (their private pid attributes)."""
    helper, pid = _helpers()[name]
    return getattr(helper, pid, None) is not None


def stop_helper(name: str) -> None:
    """Stops the forkserver or resource tracker (their private ``_stop``): they outlive every pool otherwise."""
    helper, _ = _helpers()[name]
    stop = getattr(helper, "_stop", None)  # guarded at run time; the canary says when it is gone
    if stop is not None and helper_running(name):
        try:
            stop()
        except (OSError, ChildProcessError):
            pass  # it was ending already


# --------------------------------------------------------------------------- subinterpreters


def subinterpreters_module() -> Tuple[str, Any]:
    """(kind, module): the public ``concurrent.interpreters`` (3.14+), else the private
    ``_interpreters`` (3.13) or ``_xxsubinterpreters`` (3.12). ImportError when there is none."""
    try:
        from concurrent import interpreters

        return "concurrent.interpreters", interpreters
    except ImportError:
        pass
    try:
        import _interpreters

        return "_interpreters", _interpreters
    except ImportError:
        import _xxsubinterpreters

        return "_xxsubinterpreters", _xxsubinterpreters


def interpreter_owns_gil(interpreter_id: Any) -> Optional[bool]:
    """Whether a subinterpreter has its own GIL: ``_interpreters.get_config(id).gil == "own"`` (3.13+;
    3.14's public API does not tell). None before 3.13, where no API says."""
    try:
        import _interpreters
    except ImportError:
        return None
    return getattr(_interpreters.get_config(interpreter_id), "gil", None) == "own"


# --------------------------------------------------------------------------- joblib and loky


def joblib_sequential_backend() -> type:
    """joblib's SequentialBackend class (``joblib._parallel_backends``): what n_jobs=1 falls back to."""
    from joblib._parallel_backends import SequentialBackend

    return SequentialBackend


def joblib_backend(parallel: Any) -> Any:
    """The backend a ``joblib.Parallel`` chose (``_backend``)."""
    return parallel._backend


def joblib_executor(parallel: Any) -> Any:
    """The loky executor behind an entered ``joblib.Parallel`` (``_backend._workers``), None before it has one."""
    return getattr(parallel._backend, "_workers", None)


def joblib_clean_temporary_folders(executor: Any) -> None:
    """Deletes the memmapping folders joblib keeps for its atexit hook (``_temp_folder_manager``)."""
    manager = getattr(executor, "_temp_folder_manager", None)
    if manager is not None:
        manager._clean_temporary_resources(force=True, allow_non_empty=True)


def loky_forget_executor(executor: Any) -> None:
    """Drops the module-level references loky and joblib keep to the last executor and its arguments
    (``reusable_executor._executor``, ``_executor_kwargs``, ``joblib.executor._executor_args``)."""
    from joblib import executor as joblib_executor_module
    from joblib.externals.loky import reusable_executor

    with reusable_executor._executor_lock:
        if executor is None or reusable_executor._executor is executor:
            reusable_executor._executor = None
            reusable_executor._executor_kwargs = None
    joblib_executor_module._executor_args = None


def loky_tracker_pid() -> Optional[int]:
    """The pid of loky's own resource tracker process (``_resource_tracker._pid``), None when it is not running."""
    if "joblib.externals.loky.backend.resource_tracker" not in sys.modules:
        return None
    from joblib.externals.loky.backend import resource_tracker

    return getattr(resource_tracker._resource_tracker, "_pid", None)


def stop_loky_tracker() -> None:
    """loky keeps its resource tracker for the parent's lifetime: stop it (``_resource_tracker._stop``)."""
    from joblib.externals.loky.backend import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)  # guarded; pinned by its canary
    if stop is not None and loky_tracker_pid() is not None:
        try:
            stop()
        except (OSError, ChildProcessError):
            pass


# --------------------------------------------------------------------------- dask.distributed


def dask_offload_executor() -> Any:
    """distributed's process-wide 'Dask-Offload' executor (``distributed.utils._offload_executor``), or None."""
    utils = sys.modules.get("distributed.utils")
    return getattr(utils, "_offload_executor", None) if utils is not None else None


def set_dask_offload_executor(executor: Any) -> None:
    sys.modules["distributed.utils"]._offload_executor = executor
