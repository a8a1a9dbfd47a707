"""gilcore: every practical way around CPython's GIL, on common workloads, measured.

    >>> import gilcore
    >>> result = gilcore.measure("countdown", "pool-fork", workers=2)
    >>> result.speedup, result.gil_enabled

``run`` runs one cell once; ``measure`` also times the serial run of the same
kernel, interleaved, and gives the speedup. Both check the combined value.
"""
from gilcore.gil import GilStateError, gil_enabled
from gilcore.runner import (ChecksumError, Result, UsageError, applicability, measure,
                            resolve_strategy, resolve_workload, run, workload_from_function)
from gilcore.strategies import STRATEGIES, Strategy, WorkerError
from gilcore.workloads import WORKLOADS, Workload, register

__all__ = [
    "STRATEGIES", "WORKLOADS", "ChecksumError", "GilStateError", "Result", "Strategy", "UsageError",
    "WorkerError", "Workload", "applicability", "gil_enabled", "measure", "register",
    "resolve_strategy", "resolve_workload", "run", "workload_from_function",
]
