"""Canaries: every private internal in gilcore/strategies/_internals.py, checked on real objects.

A new CPython (or joblib, loky, dask) that renames or drops one fails here,
loudly and by name, instead of a strategy hanging or leaking a process. The
CPython canaries also run with every other CPython 3.12+ found here (the
subinterpreter internals exist only there), loading _internals.py by its path.
"""
import concurrent.futures as cf
import multiprocessing
import os
import subprocess
import sys

import pytest

from gilcore.pythons import interpreters
from gilcore.strategies import _internals, children

from .conftest import need

INTERNALS = _internals.__file__


def _square(x):
    return x * x


@pytest.fixture
def helpers_stopped_after():
    """The resource tracker a spawn pool starts is stopped afterwards (through _internals.stop_helper)."""
    registered = children.register_helpers()
    yield
    children.release_helpers(registered)
    assert not any(_internals.helper_running(name) and not registered.get(name) for name in _internals.HELPERS)


def test_pool_internals(helpers_stopped_after):
    pool = multiprocessing.get_context("spawn").Pool(1)
    try:
        assert pool.map(_square, [3]) == [9]
        workers = _internals.pool_workers(pool)
        assert len(workers) == 1 and workers[0].is_alive()
        locks = _internals.pool_queue_locks(pool)
        assert len(locks) == 2 and all(_internals.lock_count_here(lock) == 0 for lock in locks)
        _internals.pool_stop_replacing_workers(pool)
        assert not pool._worker_handler.is_alive()
    finally:
        pool.terminate()
        pool.join()


def test_executor_processes(helpers_stopped_after):
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as executor:
        assert executor.submit(_square, 4).result(timeout=60) == 16
        processes = _internals.executor_processes(executor)
        assert len(processes) == 1 and all(p.pid == pid for pid, p in processes.items())
    assert _internals.executor_processes(executor) == {}


def test_multiprocessing_helpers():
    from multiprocessing import forkserver, resource_tracker

    for singleton, pid in ((forkserver._forkserver, "_forkserver_pid"), (resource_tracker._resource_tracker, "_pid")):
        assert hasattr(singleton, pid) and callable(singleton._stop), singleton
    assert _internals.HELPERS == ("forkserver", "resource_tracker")
    assert all(isinstance(_internals.helper_running(name), bool) for name in _internals.HELPERS)


CANARY = r"""
import importlib.util, multiprocessing, sys
spec = importlib.util.spec_from_file_location("_internals", sys.argv[1])
internals = importlib.util.module_from_spec(spec)
spec.loader.exec_module(internals)
for name in internals.HELPERS:
    internals.helper_running(name)
kind, module = internals.subinterpreters_module()
expected = {(3, 12): "_xxsubinterpreters", (3, 13): "_interpreters"}.get(sys.version_info[:2], "concurrent.interpreters")
assert kind == expected, (kind, expected)
if kind == "concurrent.interpreters":
    interp = module.create()
    assert internals.interpreter_owns_gil(interp.id) is True
    interp.close()
elif kind == "_interpreters":
    interp = module.create()
    assert internals.interpreter_owns_gil(interp) is True
    module.destroy(interp)
print("canaries ok", kind)
"""


def _cpythons_312_and_newer():
    found = [i for i in interpreters.discover() if i.implementation == "cpython" and i.exists
             and interpreters.version_tuple(i.version)[:2] >= (3, 12)]
    return {i.name: i for i in found}


@pytest.mark.parametrize("name", sorted(_cpythons_312_and_newer()) or ["none"])
def test_subinterpreter_internals_on_every_cpython_here(name):
    if name == "none":
        need("a CPython 3.12 or newer", "scripts/setup-interpreters makes 3.13, 3.14 and 3.15")
    interpreter = _cpythons_312_and_newer()[name]
    done = subprocess.run([interpreter.executable, "-c", CANARY, INTERNALS], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=""), stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and "canaries ok" in done.stdout, done.stderr


def test_joblib_and_loky_internals():
    pytest.importorskip("joblib")
    import joblib
    from joblib import executor as joblib_executor
    from joblib.externals.loky import reusable_executor
    from joblib.externals.loky.backend import resource_tracker

    with joblib.Parallel(n_jobs=1) as parallel:  # one job: joblib runs the tasks in this thread
        assert isinstance(_internals.joblib_backend(parallel), _internals.joblib_sequential_backend())
    assert hasattr(reusable_executor, "_executor_lock") and hasattr(reusable_executor, "_executor")
    assert hasattr(reusable_executor, "_executor_kwargs") and hasattr(joblib_executor, "_executor_args")
    assert hasattr(resource_tracker._resource_tracker, "_pid") and callable(resource_tracker._resource_tracker._stop)


def test_loky_executor_internals(no_leaks):
    pytest.importorskip("joblib")
    import gilcore

    cell = gilcore.Cell("countdown", "joblib-loky", 2, 10_000).open()
    try:
        executor = _internals.joblib_executor(cell._session._parallel)
        assert executor is not None and len(_internals.executor_processes(executor)) == 2
        assert hasattr(executor, "_temp_folder_manager")
        assert callable(executor._temp_folder_manager._clean_temporary_resources)
    finally:
        cell.close()


def test_dask_offload_executor():
    pytest.importorskip("distributed")
    if sys.version_info < (3, 10):
        pytest.skip("dask.distributed needs 3.10+")
    import distributed.utils  # noqa: F401  (sets up the executor)

    assert isinstance(_internals.dask_offload_executor(), cf.ThreadPoolExecutor)
