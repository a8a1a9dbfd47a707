"""Faults inside a worker: a clear error within seconds, never a hang, nothing left behind.

For each strategy where a fault can happen (tests/faults.py has the kernels):
an exception comes back to the caller with the worker's traceback; a worker
process killed by SIGKILL or a segfault gives a WorkerError naming the signal;
a hung worker gives a WorkerError at the timeout and, if it is a process, is
killed. A thread or a subinterpreter cannot be killed: it is abandoned, and the
test lets it end (its release file) before the leak check. After every fault
``no_leaks`` holds and a normal run in the same process works. Ctrl-C during a
CLI run shuts everything down and exits 130.
"""
import gc
import os
import signal
import subprocess
import sys
import threading
import time
import traceback

import psutil
import pytest

import gilcore
from gilcore.strategies.base import WorkerError

from . import faults
from .conftest import available_strategies

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROCESSES = ["pool-fork", "pool-spawn", "pool-forkserver", "process-executor"]
INTERPRETERS = ["subinterpreters", "interpreter-pool"]
# The libraries' strategies (tests/test_libraries.py has the rest of their tests): left out where absent.
LIBRARY_PYTHON = ["joblib-loky", "joblib-threads", "dask-distributed"]  # they run any workload's Python kernel
LIBRARY_PROCESSES = ["joblib-loky", "dask-distributed"]
PROMPTLY = 20.0  # seconds: generous on a busy 2-core machine; a hang would take HANG_SECONDS
HANG_TIMEOUT = 1.0


def strategies(names, slow=()):
    """The strategies this interpreter can run (the others counted by conftest), ``slow`` ones marked."""
    return available_strategies("fault-test strategies", names, slow)


def next_run_works(strategy):
    workload, size = ("sleep", 4) if strategy == "asyncio" else ("countdown", 10_000)
    assert gilcore.run(workload, strategy, 2, size).value == size


def run_fault(workload, strategy, timeout=60.0):
    """Opens the cell (start-up not timed), then times the failing run and the clean-up after it."""
    cell = gilcore.Cell(workload, strategy, 2, 2, timeout=timeout).open()
    started = time.monotonic()
    try:
        with pytest.raises(Exception) as info:
            cell.run_once()
    finally:
        cell.close()
    return info.value, time.monotonic() - started


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def full_text(error):
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


@pytest.mark.parametrize("strategy", strategies(["serial", "threads", *PROCESSES, "asyncio", *INTERPRETERS,
                                                 *LIBRARY_PYTHON]))
def test_exception_reaches_the_caller_with_the_worker_traceback(strategy, no_leaks):
    error, seconds = run_fault(faults.RAISES, strategy)
    # Processes send the exception itself back (its remote traceback chained); an
    # interpreter can only send text, so it comes as a WorkerError holding the traceback.
    assert isinstance(error, (ValueError, WorkerError)), full_text(error)
    if strategy not in INTERPRETERS:
        assert isinstance(error, ValueError)
    text = full_text(error)
    assert faults.MESSAGE in text and "raise_value_error" in text and "faults.py" in text, text
    assert seconds < PROMPTLY
    next_run_works(strategy)


@pytest.mark.parametrize("strategy", strategies([*PROCESSES, *LIBRARY_PROCESSES]))
@pytest.mark.parametrize("fault, signal_name", [(faults.SIGKILL, "SIGKILL"), (faults.SEGFAULT, "SIGSEGV")])
def test_worker_process_death_is_a_clear_error(strategy, fault, signal_name, no_leaks):
    error, seconds = run_fault(fault, strategy)
    assert isinstance(error, WorkerError), full_text(error)
    if strategy == "dask-distributed":  # the scheduler knows that a worker died, not how
        assert "died running a task" in str(error) and "allowed_failures=0" in str(error)
    else:
        assert f"was killed by {signal_name}" in str(error)
    assert seconds < PROMPTLY
    next_run_works(strategy)


@pytest.mark.parametrize("strategy", strategies([*PROCESSES, *LIBRARY_PROCESSES]))
def test_idle_worker_killed_from_outside(strategy, no_leaks):
    # An idle Pool worker holds the task queue's lock: Pool.terminate() used to wait for it for ever.
    cell = gilcore.Cell("countdown", strategy, 2, 10_000).open()
    started = time.monotonic()
    try:
        for pid in cell.worker_pids():
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        if strategy == "dask-distributed":  # its nanny restarts the worker, and the run goes on
            cell.run_once()  # checks the value
        else:
            with pytest.raises(WorkerError, match="was killed by SIGKILL"):
                cell.run_once()
    finally:
        cell.close()
    assert time.monotonic() - started < PROMPTLY
    next_run_works(strategy)


@pytest.mark.parametrize("strategy", strategies(["threads", *PROCESSES, "asyncio", *INTERPRETERS, *LIBRARY_PYTHON]))
def test_hung_worker_times_out(strategy, tmp_path, no_leaks):
    release = tmp_path / "release"
    pids = []
    try:
        cell = gilcore.Cell(faults.hang_workload(str(release)), strategy, 2, 2, timeout=HANG_TIMEOUT).open()
        pids = cell.worker_pids()
        started = time.monotonic()
        try:
            with pytest.raises(WorkerError, match=f"did not finish within {HANG_TIMEOUT:g} s") as raised:
                cell.run_once()
        finally:
            cell.close()
        assert time.monotonic() - started < HANG_TIMEOUT + PROMPTLY
        del raised
        gc.collect()  # what the error kept alive goes now, after close(): it must not start a helper process
        # A process is killed; a thread or an interpreter cannot be, and is abandoned until released.
        assert [pid for pid in pids if alive(pid)] == []
    finally:
        release.touch()
    wait_for_abandoned_threads()
    next_run_works(strategy)


def wait_for_abandoned_threads():
    """A released worker thread ends within moments; one that does not is a leak."""
    deadline = time.monotonic() + PROMPTLY
    while any(t.name.startswith("gilcore") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "an abandoned worker did not end after its release"
        time.sleep(0.05)


@pytest.mark.parametrize("strategy", strategies(["threads", *INTERPRETERS]))
def test_error_while_another_chunk_hangs(strategy, tmp_path, no_leaks):
    """The error comes back, and closing does not wait for ever for the chunk that cannot be stopped."""
    release = tmp_path / "release"
    mixed = gilcore.Workload(name="mixed", description="chunk 0 raises, chunk 1 hangs",
                             kernels={"python": faults.hang_or_raise},
                             split=lambda size, parts: [(str(release), k) for k in range(parts)],
                             default_size=2, checksum=lambda size: size)
    try:
        error, seconds = run_fault(mixed, strategy, timeout=HANG_TIMEOUT)
        assert faults.MESSAGE in full_text(error)
        assert seconds < HANG_TIMEOUT + PROMPTLY
    finally:
        release.touch()
    wait_for_abandoned_threads()
    next_run_works(strategy)


def process_tree(pid):
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("strategy", strategies([*PROCESSES, *LIBRARY_PROCESSES], slow=LIBRARY_PROCESSES))
def test_ctrl_c_during_a_cli_run_shuts_everything_down(strategy):
    command = [sys.executable, "-m", "gilcore", "--workload", "tests.faults:BUSY_WORKERS", "--strategy", strategy,
               "--workers", "2", "--repeats", "1"]
    # Its own session: Ctrl-C in a terminal goes to the whole foreground process group, so does this.
    cli = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while len(process_tree(cli.pid)) < 3:  # the CLI and at least its two workers
            assert cli.poll() is None and time.monotonic() < deadline, cli.communicate()
            time.sleep(0.05)
        # Past the warm-up (a library's start-up takes longer) and the instant serial run: the workers are busy.
        time.sleep(3.0 if strategy in LIBRARY_PROCESSES else 1.0)
        tree = process_tree(cli.pid)
        os.killpg(cli.pid, signal.SIGINT)
        started = time.monotonic()
        stdout, stderr = cli.communicate(timeout=PROMPTLY)
        assert time.monotonic() - started < PROMPTLY
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait()
    assert cli.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "gilcore: interrupted; every worker was shut down"
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 5
    while [p for p in tree if alive(p.pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.pid for p in tree if alive(p.pid)] == []
    with pytest.raises(ProcessLookupError):
        os.killpg(cli.pid, 0)  # nobody is left in its process group
