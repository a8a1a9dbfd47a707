"""dask.distributed: a LocalCluster of W worker processes on loopback, or a real cluster.

Each chunk is one ``client.submit`` task, as dask users send work; each
worker is a process with one thread (``processes=True, threads_per_worker=1``),
so W workers are W cores. Cluster start-up (scheduler, nannies, worker
processes, imports, the workload prepared in every worker) is measured apart
from warm work.

The same strategy runs on a real cluster: give a scheduler address
(``DaskDistributed(scheduler="tcp://host:8786")``, or the environment variable
GILBENCH_DASK_SCHEDULER for the CLI and asv) and it connects to that scheduler
instead of starting one, and uses W of its workers. The cluster is then
yours: closing the session closes only its client.

Faults: dask retries a task whose worker died on another worker (3 times by
default); the LocalCluster's scheduler is told not to (``allowed_failures=0``),
so a worker killed mid-task gives a WorkerError at once. A run past its
timeout gives a WorkerError and the LocalCluster is torn down, worker
processes killed if they do not stop. After every session, also after a
fault, no worker process and no scheduler is left.
"""
from __future__ import annotations

import gc
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from gilcore.gil import free_threaded_build
from gilcore.strategies import _warmup
from gilcore.strategies.base import DEFAULT_TIMEOUT, WARMUP_TIMEOUT, Session, Strategy, WorkerError, call_kernel
from gilcore.strategies import _internals
from gilcore.strategies.children import register_helpers, release_helpers
from gilcore.workloads import Chunk

SCHEDULER_ENV = "GILBENCH_DASK_SCHEDULER"
INSTALL_HINT = "pip install 'gilcore[extras]'"
CLOSE_SECONDS = 10  # for a LocalCluster to stop; worker processes still up after it are killed


def dask_unavailable_reason() -> Optional[str]:
    """Why dask.distributed cannot run here, in one sentence; found without importing it."""
    if sys.version_info < (3, 10):
        return "dask.distributed supports Python 3.10 or newer (its releases for 3.9 ended in 2024)"
    if importlib.util.find_spec("distributed") is None:
        if free_threaded_build() and sys.version_info[:2] == (3, 13):
            return ("dask.distributed is not installed: msgpack, PyYAML and tornado, which it needs, ship no "
                    "free-threaded 3.13 wheels (pip install builds them with a compiler)")
        return f"dask.distributed is not installed: {INSTALL_HINT}"
    return None


def _prepare_worker(prepare: Any, uses_blas: bool) -> Tuple[Optional[bool], int]:
    """Runs in every chosen worker before any chunk is timed: caches built, BLAS pinned to one
    thread (dask already sets OMP/MKL/OPENBLAS_NUM_THREADS=1); answers its GIL state and pid."""
    from gilcore.gil import gil_enabled

    if prepare is not None:
        prepare()
    if uses_blas:
        _warmup.pin_blas_to_one_thread()
    return gil_enabled(), os.getpid()


def _kill_pids(pids: Sequence[int]) -> None:
    import psutil

    survivors = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            process.kill()
            survivors.append(process)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(survivors, timeout=5)


def _retire_offload_thread() -> None:
    """distributed keeps one process-wide 'Dask-Offload' thread (it (de)serialises big messages) for
    the process's lifetime; swap in a fresh executor, whose thread starts only when next used."""
    from concurrent.futures import ThreadPoolExecutor

    retired = _internals.dask_offload_executor()
    if isinstance(retired, ThreadPoolExecutor):
        _internals.set_dask_offload_executor(ThreadPoolExecutor(max_workers=1, thread_name_prefix="Dask-Offload"))
        retired.shutdown(wait=True)


class _DaskSession(Session):
    scheduler: Optional[str] = None  # set per strategy instance (DaskDistributed builds a subclass)
    _client: Any = None
    _cluster: Any = None
    _chosen: Optional[List[str]] = None  # the workers tasks go to on a bigger cluster; None: any
    _pids: List[int] = []  # LocalCluster worker processes (a remote cluster's are not ours)
    _scratch: Optional[str] = None  # the LocalCluster workers' local directory
    _helpers: Dict[str, bool] = {}

    def start(self) -> None:
        self._helpers = register_helpers()  # spawned workers start multiprocessing's tracker
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as error:
            raise WorkerError(f"dask.distributed is installed but does not import here: {error}") from error
        address = self.scheduler or os.environ.get(SCHEDULER_ENV) or None
        if address:
            self._client = Client(address, timeout=WARMUP_TIMEOUT, set_as_default=False)
            return
        # The scheduler's and workers' scratch space (dask's default, /tmp/dask-scratch-space, stays
        # behind) is a directory of the session's own, removed in close().
        self._scratch = tempfile.mkdtemp(prefix="gilcore-dask-")
        with dask.config.set({"temporary-directory": self._scratch}):
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                         host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                                         local_directory=self._scratch,
                                         # no retries; its HTTP endpoint on a free loopback port, not 8787
                                         scheduler_kwargs={"allowed_failures": 0, "dashboard_address": ":0"})
        self._client = Client(self._cluster, set_as_default=False)

    def warm_up(self, timeout: float) -> List[Optional[bool]]:
        try:
            self._client.wait_for_workers(self.workers, timeout=timeout)
        except TimeoutError:
            raise WorkerError(f"{self.workers} dask workers did not start within {timeout:g} s") from None
        # On a bigger cluster, tasks go to the same W workers (a restriction, so only there: a
        # restarted worker has a new address, and tasks restricted to gone workers wait for ever).
        every = sorted(self._client.run(os.getpid))
        self._chosen = every[:self.workers] if len(every) > self.workers else None
        answers = self._client.run(_prepare_worker, self.workload.prepare, self.workload.uses_blas,
                                   workers=self._chosen or every)
        if self._cluster is not None:
            self._pids = [pid for _, pid in answers.values()]
        return [gil for gil, _ in answers.values()]

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        from distributed.scheduler import KilledWorker

        futures = [self._client.submit(call_kernel, self.kernel, chunk, self.extra, pure=False,
                                       workers=self._chosen) for chunk in chunks]
        try:
            self._wait_for_all_or_an_error(futures, timeout)
            try:
                results = self._client.gather(futures)
            except KilledWorker as error:
                worker = getattr(getattr(error, "last_worker", None), "address", "a worker")
                raise WorkerError(f"dask worker process {worker} died running a task, which dask does not "
                                  "retry here (allowed_failures=0)") from error
        finally:
            self._client.cancel([future for future in futures if not future.done()], force=True)
            del futures
        return list(results)

    def _wait_for_all_or_an_error(self, futures: List[Any], timeout: float) -> None:
        """Like concurrent.futures' FIRST_EXCEPTION, which distributed.wait does not offer."""
        from distributed import wait

        deadline = time.monotonic() + timeout
        pending = set(futures)
        with self._client.as_current():  # wait() uses the current client; this one is no default
            while pending:
                try:
                    done, pending = wait(pending, timeout=max(0.0, deadline - time.monotonic()),
                                         return_when="FIRST_COMPLETED")
                except TimeoutError:
                    after = "the cluster was torn down" if self._cluster is not None else "its tasks were cancelled"
                    raise WorkerError(f"dask did not finish within {timeout:g} s; {after}") from None
                if any(future.status != "finished" for future in done):
                    return  # gather raises the task's error

    def worker_pids(self) -> List[int]:
        return list(self._pids)

    def close(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        try:
            if client is not None:
                client.close(timeout=CLOSE_SECONDS)
            if cluster is not None:
                cluster.close(timeout=CLOSE_SECONDS)
        finally:
            _kill_pids(self._pids)  # a worker stuck in its kernel does not stop when asked
            self._pids = []
            # The nannies' queues hold semaphores multiprocessing's tracker knows: unlinked before it
            # stops, or their finalizers would start a new tracker to unregister them.
            del client, cluster
            gc.collect()
            release_helpers(self._helpers)
            _retire_offload_thread()
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)
                self._scratch = None


class DaskDistributed(Strategy):
    """dask.distributed on a LocalCluster of W one-thread worker processes, or on ``scheduler``."""

    name = "dask-distributed"
    description = "dask.distributed: LocalCluster of W worker processes (1 thread each) on loopback"

    def __init__(self, scheduler: Optional[str] = None) -> None:
        self.scheduler = scheduler  # None: GILBENCH_DASK_SCHEDULER if set, else a LocalCluster
        self.session = type("_DaskSession", (_DaskSession,), {"scheduler": scheduler})

    requirement = staticmethod(dask_unavailable_reason)
