"""Which cells a ``python -m gilcore`` run measures, decided (and checked) before anything starts.

The default run answers "which workaround wins here" in about two minutes on
2 cores (each cell in 3 or more runs, gilcore.cli.rounds): the main workloads at sizes where one serial run takes ~50 ms, one
strategy of each family, 1 worker and all cores. ``--full`` measures
everything: every workload at its own (asv) size, every strategy, the worker
counts 1, 2, 4 ... up to the cores. The free-threading patterns join by
default only on free-threaded builds: under a GIL they show only noise.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from gilcore.gil import free_threaded_build
from gilcore.cli.optional import missing_reason
from gilcore.cli.rounds import MAX_RUNS, PAIRS_PER_RUN
from gilcore.errors import UsageError
from gilcore.runner import MAX_WORKERS, applicability, check_positive_int, resolve_strategy, resolve_workload, worker_counts
from gilcore.strategies import STRATEGIES, Strategy
from gilcore.workloads import WORKLOADS, Workload

# The default run's workloads: pure Python, Cython/numba, BLAS, a C library, waiting, a socket.
DEFAULT_WORKLOADS = ("countdown", "primes", "numpy-matmul", "sha256", "sleep", "socket")
# Left to --full: serial against serial (the A/A control measures that), the start methods one by one
# (pool-default is the one `multiprocessing.Pool()` gives), joblib's threads (plain threads underneath),
# and dask.distributed (a cluster: 2-4 s of start-up per cell, a quarter of the default run's time).
FULL_ONLY_STRATEGIES = ("serial", "pool-fork", "pool-spawn", "pool-forkserver", "joblib-threads",
                        "dask-distributed")
# Default-run size = own size x this: one serial run of ~50-80 ms on this kind of machine (measured
# with 3.11), long enough for the noise meter (pairs under 50 ms cannot be judged), short enough for
# ~60 cells in under two minutes. primes costs ~n^1.5, hence its larger fraction.
QUICK_FRACTION: Dict[str, float] = {
    "countdown": 0.2, "primes": 0.35, "numpy-matmul": 0.25, "sha256": 0.4, "zlib": 0.1,
    "sleep": 0.15, "socket": 0.25, "file-read": 0.25,
}
# --full's cap of pairs per cell and run (the default run takes gilcore.cli.rounds.PAIRS_PER_RUN): pairs
# measured under load are measured again, and the cap is what bounds a run's time.
QUICK_MAX_PAIRS = 6
FT_QUICK_FRACTION = 0.15  # the ft-* patterns take ~0.15 s at their own size on 3.11, ~2x that on 3.13t


@dataclass(frozen=True)
class PlannedCell:
    workload: Workload
    strategy: Strategy
    workers: int
    size: Optional[int]  # None: the workload's own size for the strategy's kernel

    @property
    def key(self) -> Tuple[str, str, int]:
        return self.workload.name, self.strategy.name, self.workers

    @property
    def label(self) -> str:
        return f"{self.workload.name} {self.strategy.name} x{self.workers}"


@dataclass
class Plan:
    cells: List[PlannedCell]
    unavailable: Dict[str, str] = field(default_factory=dict)  # strategy or workload -> why not here
    not_applicable: List[str] = field(default_factory=list)  # "workload x strategy: why"
    # Those of them whose strategy the user named: each is shown with its reason, never only counted.
    requested_not_applicable: List[str] = field(default_factory=list)

    @property
    def keys(self) -> List[Tuple[str, str, int]]:
        return [cell.key for cell in self.cells]


def parse_workers(text: Optional[str]) -> Optional[List[int]]:
    if text is None:
        return None
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--workers takes whole numbers separated by commas, not {text!r}") from None
    if not counts:  # an empty --workers is a mistake to report, not a request for the default
        raise UsageError("--workers needs at least one number")
    for count in counts:
        check_positive_int(count, "workers", MAX_WORKERS)
    return list(dict.fromkeys(counts))


def parse_size(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    try:
        size = int(text.replace("_", ""))
    except ValueError:
        raise UsageError(f"--size must be a whole number, not {text!r}") from None
    return check_positive_int(size, "size")


def default_workloads(full: bool) -> List[str]:
    free = free_threaded_build()
    if full:
        return [name for name, w in WORKLOADS.items() if w.kind != "ft-pattern" or free]
    names = [name for name in DEFAULT_WORKLOADS if name in WORKLOADS]
    if free:  # strong scaling only: weak scaling is in --full
        names += [name for name, w in WORKLOADS.items() if w.kind == "ft-pattern" and not w.weak_scaling]
    return names


def default_workers(full: bool, cpus: Optional[int] = None) -> List[int]:
    cpus = max(1, cpus or os.cpu_count() or 1)
    return worker_counts(cpus) if full else sorted({1, cpus})


def quick_size(workload: Workload, strategy: Strategy) -> Optional[int]:
    """The default run's size for a cell; None (the own size) for workloads it has no figure for."""
    fraction = FT_QUICK_FRACTION if workload.kind == "ft-pattern" else QUICK_FRACTION.get(workload.name)
    if fraction is None:
        return None
    return max(1, round(workload.size_for(strategy.kernel) * fraction))


def make_plan(workloads: Optional[Sequence[str]] = None, strategies: Optional[Sequence[str]] = None,
              workers: Optional[Sequence[int]] = None, size: Optional[int] = None, *, full: bool = False,
              strict: bool = True) -> Plan:
    """Resolve names, drop what cannot run here (saying why), list the cells; raises UsageError.

    Names the user gave and that cannot run here are errors when ``strict``
    (one line, exit 2), else listed as unavailable (a comparison of
    interpreters: another interpreter may run them).
    """
    chosen_workloads = [resolve_workload(name) for name in (workloads or default_workloads(full))]
    if strategies:
        chosen_strategies = [resolve_strategy(name) for name in strategies]
    else:
        chosen_strategies = [s for s in STRATEGIES.values() if full or s.name not in FULL_ONLY_STRATEGIES]
    counts = list(workers) if workers else default_workers(full)
    unavailable = {s.name: reason for s in chosen_strategies if (reason := s.unavailable_reason())}
    if strict and strategies and unavailable:
        name, reason = next(iter(unavailable.items()))
        raise UsageError(f"strategy {name} is unavailable here: {reason}")
    for workload in chosen_workloads:
        reason = missing_reason(workload)
        if reason:
            unavailable[workload.name] = reason
    cells: List[PlannedCell] = []
    skipped: List[str] = []
    requested: List[str] = []
    for workload in chosen_workloads:
        if workload.name in unavailable:
            continue
        for strategy in chosen_strategies:
            if strategy.name in unavailable:
                continue
            reason = applicability(workload, strategy)
            if reason:
                skipped.append(f"{workload.name} x {strategy.name}: {reason}")
                if strategies and strategy.name in strategies:
                    requested.append(skipped[-1])
                continue
            cell_size = size if size is not None else (None if full else quick_size(workload, strategy))
            for count in counts:
                if strategy.name == "serial" and count != 1 and not strategies:
                    continue  # serial at W>1 is serial again: shown once
                cells.append(PlannedCell(workload, strategy, count, cell_size))
    if not cells:
        raise UsageError("no cell to run: " + _why_nothing(chosen_workloads, unavailable, skipped))
    return Plan(cells, unavailable, skipped, requested)


def _why_nothing(workloads: Sequence[Workload], unavailable: Dict[str, str], skipped: List[str]) -> str:
    """The reasons that explain an empty plan, the workloads' first (a missing package says it all)."""
    missing = [f"{w.name} is unavailable: {unavailable[w.name]}" for w in workloads if w.name in unavailable]
    if len(missing) == len(workloads):
        return "; ".join(missing)
    strategies = [f"{name} is unavailable: {reason}" for name, reason in unavailable.items()
                  if name not in {w.name for w in workloads}]
    return "; ".join(missing + strategies + skipped) or "nothing was chosen"


def check_run_options(args: argparse.Namespace) -> None:
    """The options every run takes, checked before anything starts."""
    check_positive_int(args.repeats, "--repeats")
    if args.max_repeats is None:
        args.max_repeats = QUICK_MAX_PAIRS if args.full else PAIRS_PER_RUN
    check_positive_int(args.max_repeats, "--max-repeats")
    check_positive_int(args.runs, "--runs")
    if args.max_runs is None:
        args.max_runs = max(MAX_RUNS, args.runs)
    check_positive_int(args.max_runs, "--max-runs")
    if not args.timeout > 0:  # also NaN
        raise UsageError(f"--timeout must be positive, not {args.timeout}")
