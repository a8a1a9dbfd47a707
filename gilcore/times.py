"""Absolute times over runs: a cell's serial and parallel time, estimated the way its speedup is.

A speedup is estimated per run, then over runs (gilcore.replication); a time
shown beside it, or set against another interpreter's time, must be too, or
the two disagree: one run's median beside an interval over five runs, or a
serial time pooled from another cell's noisy run. So a time here is, per
usable run (a clean pair, its A/A control in bounds), the centre of that
run's clean pairs' times (exp of the Hodges-Lehmann of their logs, as for
ratios); over runs, the geometric mean of those centres with a 95 % Student-t
interval over runs; with one run, the interval of its pairs. A cell with no
usable run falls back to every pair of every run, as its speedup does (and
is flagged there).

An interpreter's serial time of one kernel pools, per run, the serial halves
of every cell of that kernel measured in that run (one process, one size),
then goes over runs the same way: more halves per run, the same unit of
replication.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from gilcore import ratios, rules
from gilcore.replication import RunMeasurement

SERIAL, PARALLEL = "serial", "parallel"  # the two halves of a pair


@dataclass(frozen=True)
class TimeEstimate:
    """Seconds over runs: the geometric mean of the runs' centres, its 95 % interval, how many runs."""

    seconds: float
    interval: Optional[Tuple[float, float]]  # None: one run of one pair
    runs: int

    @property
    def bounds(self) -> Tuple[float, float]:
        """The interval, or the value itself where there is none."""
        return self.interval if self.interval else (self.seconds, self.seconds)

    def to_dict(self) -> Dict[str, Any]:
        return {"seconds": self.seconds, "interval": list(self.interval) if self.interval else None,
                "runs": self.runs}

    @classmethod
    def from_dict(cls, data: Optional[Dict[str, Any]]) -> Optional["TimeEstimate"]:
        if not data or not data.get("seconds"):
            return None
        interval = data.get("interval")
        return cls(float(data["seconds"]), (float(interval[0]), float(interval[1])) if interval else None,
                   int(data.get("runs") or 0))


def _times(run: RunMeasurement, half: str, clean_only: bool) -> List[float]:
    """One run's serial or parallel times; pairs rebuilt from ratios alone (old records) carry none."""
    return [pair[half] for pair in run.pairs
            if not pair.get("ratio_only") and (not clean_only or rules.is_clean(pair["flags"]))]


def run_time_log(run: RunMeasurement, half: str) -> Optional[float]:
    """A usable run's serial or parallel time (the centre of its clean pairs' times) as a log; None for
    a run that is not usable or timed no clean pair."""
    times = _times(run, half, True) if run.usable else []
    return math.log(ratios.run_centre(times)) if times else None


def run_time_logs(runs: Iterable[RunMeasurement], half: str) -> List[float]:
    """Each usable run's serial or parallel time, as logs: what a comparison of two cells tests, run
    against run (gilcore.compare)."""
    return [log for log in (run_time_log(run, half) for run in runs) if log is not None]


def over_runs(per_run: Sequence[Sequence[float]]) -> Optional[TimeEstimate]:
    """Times grouped by run -> the estimate over runs (module docstring); None without a time."""
    per_run = [times for times in per_run if times]
    if not per_run:
        return None
    logs = [math.log(ratios.run_centre(times)) for times in per_run]
    interval = ratios.mean_interval(logs) if len(logs) >= 2 else ratios.interval(per_run[0])
    return TimeEstimate(math.exp(statistics.fmean(logs)), interval, len(logs))


def cell_time(runs: Sequence[RunMeasurement], half: str) -> Optional[TimeEstimate]:
    """One cell's serial or parallel time over its usable runs; with none, over every pair of every run."""
    usable = [_times(run, half, True) for run in runs if run.usable]
    return over_runs(usable) or over_runs([_times(run, half, False) for run in runs])


def pooled_serial_time(cells: Iterable[Sequence[RunMeasurement]]) -> Optional[TimeEstimate]:
    """The serial time of one kernel at one size in one interpreter: per run the serial halves of every
    cell given (their runs), then over runs; with no usable run anywhere, every pair."""
    cells = [list(runs) for runs in cells]
    for clean_only in (True, False):
        by_run: Dict[str, List[float]] = {}
        for runs in cells:
            for run in runs:
                if run.usable or not clean_only:
                    by_run.setdefault(run.run_id, []).extend(_times(run, SERIAL, clean_only))
        estimate = over_runs(list(by_run.values()))
        if estimate is not None:
            return estimate
    return None
