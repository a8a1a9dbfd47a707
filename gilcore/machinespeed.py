"""The machine's own speed per session: what absolute times of two sessions are judged against.

A speedup is a ratio within one process and carries the machine's speed in
both halves; an absolute time does not. Between asv sessions hours apart this
VM's speed moved by more than the releases' differences: from 3.13's sessions
to 3.14's (2026-12-02) the Cython and numba kernels' serial times -- the
same C code on both Pythons -- rose 21-26 %, which a comparison read as two
regressions of 3.14.

So each session carries a reference: the serial time of rules.REFERENCE_KERNEL
(the Cython primes kernel, a loop that calls no Python API), over that
session's usable runs. A CPU-bound run's time (not sleep, socket or file
waits, which do not scale with the machine) is divided by its own session's
reference, and a change between two sides is the change of those normalised
times; its variance adds the references' own (the variance of their mean,
weighted by the share of the side's runs each session holds), with
Welch-Satterthwaite degrees of freedom. The reference kernel itself, and
anything the machine alone moved, then reads as unchanged.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from gilcore import rules, times, workloads
from gilcore.replication import RunMeasurement

Term = Tuple[float, int]  # (variance of a mean, its degrees of freedom)


@dataclass(frozen=True)
class Reference:
    """One session's machine speed: the mean log of its reference runs' serial times, and its spread."""

    mean_log: float
    variance_of_mean: float
    runs: int

    @property
    def seconds(self) -> float:
        return math.exp(self.mean_log)


def is_reference(run: RunMeasurement) -> bool:
    return run.kernel[:2] == rules.REFERENCE_KERNEL


def session_references(runs: Iterable[RunMeasurement]) -> Dict[str, Reference]:
    """session -> its Reference, from the usable runs of the reference kernel; a session measured at
    several sizes keeps the size with most runs; fewer than rules.MIN_REFERENCE_RUNS runs: none."""
    by_session: Dict[str, Dict[object, List[float]]] = {}
    for run in runs:
        log = times.run_time_log(run, times.SERIAL) if is_reference(run) else None
        if log is not None:
            by_session.setdefault(run.session, {}).setdefault(run.kernel[2], []).append(log)
    found = {}
    for session, by_size in by_session.items():
        logs = max(by_size.values(), key=len)
        if len(logs) >= rules.MIN_REFERENCE_RUNS:
            found[session] = Reference(statistics.fmean(logs), statistics.variance(logs) / len(logs), len(logs))
    return found


def cpu_bound(run: RunMeasurement) -> bool:
    """Whether the run's workload is a registered one whose time scales with the machine's speed: not
    waiting on sleep, a socket or a file (workloads of kind "io"), not a user's function of unknown kind."""
    workload = workloads.WORKLOADS.get(run.kernel[0])
    return workload is not None and workload.kind != "io"


def normalised_time_logs(runs: Sequence[RunMeasurement], half: str, references: Mapping[str, Reference]
                         ) -> Optional[Tuple[List[float], List[Term]]]:
    """Each usable run's time as a log over its session's reference, and the terms (variance of the
    mean, degrees of freedom) the references add to the mean of those logs; None (compared raw) when
    a run's session has no reference, its workload is not CPU-bound (cpu_bound) or no run is timed."""
    logs, sessions = [], []
    for run in runs:
        if not cpu_bound(run):
            return None
        log = times.run_time_log(run, half)
        if log is None:
            continue
        if run.session not in references:
            return None
        logs.append(log - references[run.session].mean_log)
        sessions.append(run.session)
    if not logs:
        return None
    shares = Counter(sessions)
    terms = [((count / len(logs)) ** 2 * references[session].variance_of_mean, references[session].runs - 1)
             for session, count in shares.items()]
    return logs, terms


def mean_seconds(references: Mapping[str, Reference]) -> Optional[float]:
    """The geometric mean of the sessions' references (seconds): what a page shows as a side's machine
    speed; None without one."""
    logs = [reference.mean_log for reference in references.values()]
    return math.exp(statistics.fmean(logs)) if logs else None
