"""joblib (loky, threading), numba (nogil threads, parallel) and dask.distributed as strategies.

The same rules as the stdlib strategies: the numba kernel gives the Cython
kernel's results, every cell gives the checksum, a fault in a worker is a
clear error within seconds (a killed loky or dask worker a WorkerError, not a
hang: tests/test_faults.py runs those tests with every strategy), and nothing
is left running afterwards. Each test skips, with the strategy's own reason,
where its package is absent or unsupported.
"""
import os
import subprocess
import sys
import tempfile

import psutil
import pytest

import gilcore
from gilcore.strategies.base import WorkerError
from gilcore.workloads import WORKLOADS, count_odd_primes, interleaved_ranges

from .conftest import SMALL_SIZES, applicable
from .test_faults import PROMPTLY, alive, full_text, run_fault, strategies

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARIES = ["joblib-loky", "joblib-threads", "numba-threads", "numba-parallel", "dask-distributed"]
NUMBA = ["numba-threads", "numba-parallel"]


def skip_unless_available(name):
    reason = gilcore.STRATEGIES[name].unavailable_reason()
    if reason:
        pytest.skip(reason)


def next_run_works(strategy):
    workload, size = ("primes", 2_000) if strategy in NUMBA else ("countdown", 10_000)
    assert gilcore.run(workload, strategy, 2, size).value == WORKLOADS[workload].expected(size)


# --- the numba kernel is the Cython kernel --------------------------------------

@pytest.mark.parametrize("start, stop, step", [(0, 5_000, 1), (0, 0, 1), (0, 1, 1), (1, 2, 1), (3, 100_000, 7),
                                               (1, 60_000, 2), (0, 60_000, 3), (5, 1, 2), (49_999, 50_001, 1)])
def test_numba_kernel_gives_the_cython_and_python_results(start, stop, step):
    skip_unless_available("numba-threads")
    from gilcore import _nogil, numba_kernels

    expected = count_odd_primes(start, stop, step)
    assert numba_kernels.count_odd_primes(start, stop, step) == _nogil.count_odd_primes(start, stop, step) == expected


@pytest.mark.parametrize("threads", [1, 2])
def test_numba_parallel_kernel_gives_the_prange_results(threads):
    skip_unless_available("numba-parallel")
    from gilcore import _nogil, numba_kernels

    chunks = interleaved_ranges(50_000, 3)
    assert numba_kernels.count_odd_primes_parallel(chunks, threads) == \
        _nogil.count_odd_primes_prange(chunks, threads) == [count_odd_primes(*chunk) for chunk in chunks]
    assert numba_kernels.count_odd_primes_parallel([], threads) == []


def test_numba_kernels_reject_a_bad_step():
    skip_unless_available("numba-threads")
    from gilcore import numba_kernels

    with pytest.raises(ValueError, match="step must be >= 1"):
        numba_kernels.count_odd_primes(0, 10, 0)
    with pytest.raises(ValueError, match="step must be >= 1"):
        numba_kernels.count_odd_primes_parallel([(0, 10, 0)], 1)


# --- checksums and what is left behind --------------------------------------------

@pytest.mark.parametrize("workload, strategy", applicable("one-worker library cells", [
    (gilcore.applicability(WORKLOADS[workload], gilcore.STRATEGIES[strategy]),
     pytest.param(workload, strategy, id=f"{strategy}-{workload}"))
    for strategy in LIBRARIES for workload in ("countdown", "primes", "numpy-matmul")]))
def test_one_worker_matches_checksum(strategy, workload, no_leaks):
    """Two workers of every workload are in test_checksums; one worker is joblib's in-thread fallback."""
    result = gilcore.run(workload, strategy, 1, SMALL_SIZES[workload])
    assert result.value == result.expected


def test_loky_workers_and_its_reusable_executor_are_gone_after_close(no_leaks):
    skip_unless_available("joblib-loky")
    from joblib.externals.loky import reusable_executor

    cell = gilcore.Cell("countdown", "joblib-loky", 2, 10_000).open()
    try:
        pids = cell.worker_pids()
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        assert cell.worker_gil == [gilcore.gil_enabled()] * 2  # each worker answered the meet
        cell.run_once()
    finally:
        cell.close()
    assert [pid for pid in pids if alive(pid)] == []
    assert reusable_executor._executor is None
    assert psutil.Process().children(recursive=True) == []


def test_dask_workers_and_scheduler_are_gone_after_close(no_leaks):
    skip_unless_available("dask-distributed")
    scratch = os.path.join(tempfile.gettempdir(), "dask-scratch-space")  # dask's default
    existed = os.path.exists(scratch)
    cell = gilcore.Cell("countdown", "dask-distributed", 2, 10_000).open()
    try:
        pids = cell.worker_pids()
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        cell.run_once()
    finally:
        cell.close()
    assert [pid for pid in pids if alive(pid)] == []
    assert psutil.Process().children(recursive=True) == []  # no_leaks checks the scheduler's threads
    assert existed or not os.path.exists(scratch)  # the scratch space was the session's own, now gone


# --- faults: a numba kernel's error (the other fault tests, in tests/test_faults.py, take every strategy) ---

@pytest.mark.parametrize("strategy", strategies(NUMBA))
def test_numba_kernel_error_reaches_the_caller(strategy, no_leaks):
    bad_step = gilcore.Workload(name="bad-step", description="chunks with step 0",
                                kernels=WORKLOADS["primes"].kernels,
                                split=lambda size, parts: [(k, size, 0) for k in range(parts)],
                                default_size=100, checksum=lambda size: 0)
    error, seconds = run_fault(bad_step, strategy)
    assert isinstance(error, ValueError) and "step must be >= 1" in str(error), full_text(error)
    assert seconds < PROMPTLY
    next_run_works(strategy)


# --- numba: compile time apart, threads capped at W, BLAS pins untouched --------------

@pytest.mark.slow
def test_numba_compile_is_start_up_not_work():
    """In a fresh process the first session compiles (start-up), the next one does not."""
    skip_unless_available("numba-threads")
    script = ("import gilcore\nfrom gilcore import numba_kernels\n"
              "first = gilcore.run('primes', 'numba-threads', 1, 1000)\n"
              "second = gilcore.run('primes', 'numba-parallel', 1, 1000)\n"
              "print(first.startup_seconds, second.startup_seconds, numba_kernels.first_compile_seconds())\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    first, second, compile_seconds = map(float, out.stdout.split())
    assert compile_seconds > 0 and first >= compile_seconds > second


def test_numba_parallel_uses_at_most_w_threads(no_leaks):
    skip_unless_available("numba-parallel")
    import numba

    from gilcore import numba_kernels

    numba_kernels.count_odd_primes_parallel([(0, 1000, 1)], 1)
    assert numba.get_num_threads() == 1
    too_many = numba_kernels.max_threads() + 1
    with pytest.raises(WorkerError, match=f"NUMBA_NUM_THREADS={too_many}"):
        gilcore.run("primes", "numba-parallel", too_many, 1000)


def test_numba_leaves_blas_pinning_as_it_was(no_leaks):
    skip_unless_available("numba-parallel")
    pytest.importorskip("numpy")
    from threadpoolctl import threadpool_info

    def threads_by_library():
        return {(info["filepath"], info["user_api"]): info["num_threads"] for info in threadpool_info()}

    gilcore.run("numpy-matmul", "serial", 1, 2)
    before = threads_by_library()
    gilcore.run("primes", "numba-parallel", 2, 2_000)
    after = threads_by_library()
    assert {key: after[key] for key in before} == before  # numba's own OpenMP pool may join; none changed
    result = gilcore.run("numpy-matmul", "threads", 2, 4)  # still pinned to one thread per worker
    assert result.value == result.expected


# --- dask on a cluster it did not start ----------------------------------------------

@pytest.mark.parametrize("how", ["option", "environment"])
def test_dask_runs_on_a_given_scheduler_and_leaves_it_running(how, monkeypatch, tmp_path, no_leaks):
    skip_unless_available("dask-distributed")
    import dask
    from distributed import Client, LocalCluster

    from gilcore.strategies.dask_distributed import SCHEDULER_ENV, DaskDistributed

    # Thread workers in this process: a stand-in for a real cluster, with one worker more than W.
    with dask.config.set({"temporary-directory": str(tmp_path)}), \
            LocalCluster(n_workers=3, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1",
                         dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"}) as cluster:
        if how == "option":
            strategy = DaskDistributed(scheduler=cluster.scheduler_address)
        else:
            monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
            strategy = gilcore.STRATEGIES["dask-distributed"]
        result = gilcore.run("countdown", strategy, 2, 10_000)
        assert result.value == 10_000
        with Client(cluster, set_as_default=False) as client:
            assert len(client.scheduler_info()["workers"]) == 3  # the cluster is the user's: still up
    from gilcore.strategies.dask_distributed import _retire_offload_thread

    _retire_offload_thread()  # the cluster above used distributed's offload thread too


# --- unavailable: one sentence, nothing imported ---------------------------------------

@pytest.mark.parametrize("strategy, package", [("joblib-loky", "joblib"), ("joblib-threads", "joblib"),
                                               ("numba-threads", "numba"), ("numba-parallel", "numba"),
                                               ("dask-distributed", "distributed")])
def test_a_missing_package_is_one_sentence_with_the_install_command(strategy, package, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a))
    reason = gilcore.STRATEGIES[strategy].unavailable_reason()
    assert reason is not None and package in reason and "\n" not in reason, reason
    if not gilcore.gil.free_threaded_build():  # there the reason says which wheels do not exist instead
        assert "is not installed: pip install 'gilcore[extras]'" in reason, reason


def test_dask_says_it_needs_python_3_10(monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    assert "3.10" in gilcore.STRATEGIES["dask-distributed"].unavailable_reason()


def test_gilcore_imports_none_of_the_libraries():
    """Asking every strategy whether it can run imports nothing: on a free-threaded build such an
    import could turn the GIL back on for every other strategy of the run."""
    script = ("import sys, gilcore\n"
              "[s.unavailable_reason() for s in gilcore.STRATEGIES.values()]\n"
              "print(sorted(m for m in ('joblib', 'numba', 'llvmlite', 'dask', 'distributed') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
