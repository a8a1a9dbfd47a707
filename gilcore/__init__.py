"""gilcore: every practical way around CPython's GIL, on common workloads, measured.

    >>> import gilcore
    >>> result = gilcore.measure("countdown", "pool-fork", workers=2)
    >>> result.speedup, result.gil_enabled

``run`` runs one cell once; ``measure`` also times the serial run of the same
kernel, interleaved, and gives the speedup. Both check the combined value.
"""
from gilcore.gil import GilStateError, gil_enabled
from gilcore.memory import peak_rss_mib
from gilcore.runner import (Cell, ChecksumError, NotApplicable, Result, kernel_seconds, UsageError, applicability, measure,
                            measure_cell, resolve_strategy, resolve_workload, run, worker_counts, workload_from_function)
from gilcore.strategies import STRATEGIES, Strategy, WorkerError
from gilcore.userworkload import UserFunctionError
from gilcore.workloads import WORKLOADS, Workload, register
from gilcore import ftpatterns  # registers the ft-* workloads

__all__ = [
    "STRATEGIES", "WORKLOADS", "Cell", "ChecksumError", "NotApplicable", "GilStateError", "Result", "Strategy", "UsageError",
    "UserFunctionError", "WorkerError", "Workload", "applicability", "gil_enabled", "kernel_seconds", "peak_rss_mib", "measure", "measure_cell", "register",
    "resolve_strategy", "resolve_workload", "run", "worker_counts", "workload_from_function",
]
