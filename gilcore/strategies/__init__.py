"""The strategy registry: one module per workaround, one entry each here."""
from __future__ import annotations

from typing import Dict

from gilcore.strategies.asyncio_io import Asyncio
from gilcore.strategies.base import Session, Strategy, WorkerError
from gilcore.strategies.cython_nogil import CythonThreads
from gilcore.strategies.dask_distributed import DaskDistributed
from gilcore.strategies.interpreter_pool import InterpreterPool
from gilcore.strategies.joblib_backends import Joblib
from gilcore.strategies.numba_jit import NumbaParallel, NumbaThreads
from gilcore.strategies.prange import Prange
from gilcore.strategies.processes import ProcessExecutor, ProcessPool
from gilcore.strategies.serial import Serial
from gilcore.strategies.subinterpreters import Subinterpreters
from gilcore.strategies.threads import Threads

STRATEGIES: Dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (
        Serial(),
        Threads(),
        ProcessPool("fork"),
        ProcessPool("spawn"),
        ProcessPool("forkserver"),
        ProcessPool(None),
        ProcessExecutor(),
        CythonThreads(),
        Prange(),
        Asyncio(),
        Subinterpreters(),
        InterpreterPool(),
        Joblib("loky"),
        Joblib("threading"),
        NumbaThreads(),
        NumbaParallel(),
        DaskDistributed(),
    )
}

__all__ = ["STRATEGIES", "Session", "Strategy", "WorkerError", "Serial"]
