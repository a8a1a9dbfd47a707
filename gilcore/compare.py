"""Two sets of cell estimates compared: which cells changed beyond their noise, which way, how sure.

A side is every cell of one interpreter, asv commit or environment, or saved
run, each a gilcore.replication.CellEstimate over its runs. For each cell on
both sides the change is B's estimate over A's, tested **run against run**:
each usable run gave one log estimate (``CellEstimate.run_logs``), and the
two sides' run logs are compared by Welch's t (unequal variances, degrees of
freedom rounded down), so the interval is as wide as the runs disagree, not
as narrow as many pairs inside one lucky process would make it. The same is
done for the absolute serial and parallel times, run by run, each run's time
first divided by its session's machine reference (gilcore.machinespeed: the
VM's speed moves between sessions hours apart) where both sides have one.

A cell **changed beyond its noise** only when its 95 % interval excludes no
change *and* the change is at least ``rules.MIN_CHANGE``; a cell flagged on
either side (capacity-limited, A/A out of bounds, noisy, over the limit) or
with fewer than ``rules.MIN_RUNS`` usable runs on either side is
**undecided**: it is never shown as a change. Direction is named in words:
a higher speedup or a lower time is an *improvement*, always (asv's track
benchmarks read higher as worse; that is not followed here).

Reliability: the probability, under the same t model (a flat prior on the
log change), that the true change has the sign shown, i.e. one minus the
one-sided p-value; above 97.5 % exactly when the 95 % interval excludes no
change. faster-cpython's bench_runner (hpt.py) states a reliability across
*all* benchmarks of a build (a Wilcoxon signed-rank test over benchmarks),
and its per-benchmark rank-sum test, as written, rejects nothing; this one is
per cell, and its unit is the run: runs first, then pairs within runs.

Absolute times compare builds as much as releases, so a time change carries
a mark saying what differs between the two builds or machines
(gilcore.provenance), and a speedup one where the machines differ; only
unmarked changes count as regressions for CI.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from gilcore import machinespeed, provenance, ratios, rules, times
from gilcore.replication import CellEstimate

CellId = Tuple[str, Tuple[str, ...]]  # (benchmark or workload, params)
SPEEDUP, SERIAL, PARALLEL = "speedup", "serial time", "parallel time"
HIGHER_IS_BETTER = {SPEEDUP: True, SERIAL: False, PARALLEL: False}


@dataclass
class Side:
    """One set of cells: a label, each cell over its runs, and where it was measured (None: unknown)."""

    label: str
    cells: Dict[CellId, CellEstimate]
    build: Optional[Mapping[str, Any]] = None
    machine: Optional[Mapping[str, Any]] = None
    references: Optional[Dict[str, machinespeed.Reference]] = None  # None: found in the cells' runs

    def machine_references(self) -> Dict[str, machinespeed.Reference]:
        """Each session's machine reference (gilcore.machinespeed), from the reference kernel's cells."""
        if self.references is None:
            self.references = machinespeed.session_references(
                run for cell in self.cells.values() for run in cell.runs)
        return self.references


@dataclass(frozen=True)
class TwoSample:
    """B over A from two samples of log values: ratio, 95 % interval, degrees of freedom, reliability."""

    ratio: float
    interval: Tuple[float, float]
    degrees_of_freedom: int
    reliability: float  # probability the true ratio is on the side of 1 that ``ratio`` is


def t_test(diff: float, terms: Sequence[Tuple[float, int]]) -> TwoSample:
    """A difference of log means whose variance is the sum of ``terms`` (each a mean's variance and its
    degrees of freedom): ratio, 95 % interval (Welch-Satterthwaite degrees of freedom, rounded down) and
    reliability."""
    se = math.sqrt(sum(variance for variance, _ in terms))
    if se == 0:  # runs that agree exactly (a copy of the same data): no spread to judge a change by
        return TwoSample(math.exp(diff), (math.exp(diff), math.exp(diff)), 0, 1.0 if diff else 0.5)
    df = se ** 4 / sum(variance ** 2 / dof for variance, dof in terms if variance and dof > 0)
    dfi = max(1, int(df))  # rounded down: a wider interval, never a narrower one
    half = ratios.t95(dfi) * se
    return TwoSample(math.exp(diff), (math.exp(diff - half), math.exp(diff + half)), dfi,
                     ratios.t_cdf(abs(diff) / se, dfi))


def _mean_term(logs: Sequence[float]) -> Tuple[float, int]:
    return statistics.variance(logs) / len(logs), len(logs) - 1


def welch(a_logs: Sequence[float], b_logs: Sequence[float],
          extra: Sequence[Tuple[float, int]] = ()) -> Optional[TwoSample]:
    """Welch's two-sample t on log values (each one run's estimate), plus any ``extra`` variance terms
    (a machine reference's: gilcore.machinespeed); None with fewer than 2 on a side."""
    if len(a_logs) < 2 or len(b_logs) < 2:
        return None
    return t_test(statistics.fmean(b_logs) - statistics.fmean(a_logs),
                  [_mean_term(a_logs), _mean_term(b_logs), *extra])


RUN_DISAGREEMENT_LEVEL = 0.05  # two-sided, over all pairs of runs of one cell (Bonferroni)


def runs_disagree(cell: CellEstimate) -> Optional[bool]:
    """Whether two usable runs of one cell differ beyond what their pairs allow: Welch's t on the clean
    pairs' log ratios of each two runs, at RUN_DISAGREEMENT_LEVEL over all pairs of runs. None with fewer
    than two runs of two clean pairs. On the old history 17 of 91 cells disagreed (about 5 % would by
    chance): why a cell's interval is taken over runs, not over the pairs of one."""
    logs = [[math.log(r) for r in run.clean_ratios] for run in cell.runs if run.usable]
    logs = [values for values in logs if len(values) >= 2]
    if len(logs) < 2:
        return None
    tests = len(logs) * (len(logs) - 1) // 2
    for i, a in enumerate(logs):
        for b in logs[i + 1:]:
            test = welch(a, b)
            if test is not None and 2 * (1 - test.reliability) < RUN_DISAGREEMENT_LEVEL / tests:
                return True
    return False


@dataclass
class Change:
    """One quantity of one cell, A against B."""

    quantity: str  # SPEEDUP, SERIAL or PARALLEL
    a: float
    b: float
    test: Optional[TwoSample]
    mark: str = ""  # what differs between the builds or machines that matters here; "" when alike
    # a time normalised by each session's machine reference (gilcore.machinespeed): the change over
    # that, and how much the reference itself moved (B over A); None: compared raw
    normalised_ratio: Optional[float] = None
    machine_ratio: Optional[float] = None

    @property
    def ratio(self) -> float:
        return self.b / self.a if self.normalised_ratio is None else self.normalised_ratio

    @property
    def percent(self) -> float:
        return 100 * (self.ratio - 1)

    @property
    def excludes_no_change(self) -> bool:
        return self.test is not None and (self.test.interval[0] > 1 or self.test.interval[1] < 1)

    def beyond_noise(self, min_change: float = rules.MIN_CHANGE) -> bool:
        """The interval excludes no change and the change is at least ``min_change`` (either way,
        on the log scale: +10 % and -9.1 % are equally far)."""
        return self.excludes_no_change and abs(math.log(self.ratio)) >= math.log1p(min_change)

    @property
    def direction(self) -> str:
        if self.ratio == 1:
            return "no change"
        return "improvement" if (self.ratio > 1) == HIGHER_IS_BETTER[self.quantity] else "regression"

    def to_dict(self) -> Dict[str, Any]:
        test = self.test
        return {"quantity": self.quantity, "a": self.a, "b": self.b, "ratio": self.ratio, "percent": self.percent,
                "direction": self.direction, "interval": list(test.interval) if test else None,
                "percent_interval": [100 * (x - 1) for x in test.interval] if test else None,
                "reliability": test.reliability if test else None, "mark": self.mark,
                "machine_ratio": self.machine_ratio}


@dataclass
class CellComparison:
    cell: CellId
    a: Optional[CellEstimate]
    b: Optional[CellEstimate]
    status: str  # "changed", "unchanged", "undecided", "only in A", "only in B"
    reasons: List[str] = field(default_factory=list)  # why undecided
    changes: List[Change] = field(default_factory=list)  # every quantity compared
    min_change: float = rules.MIN_CHANGE

    @property
    def name(self) -> str:
        benchmark, params = self.cell
        return f"{benchmark}({', '.join(params)})" if params else benchmark

    @property
    def changed(self) -> List[Change]:
        return [change for change in self.changes if change.beyond_noise(self.min_change)]

    def to_dict(self) -> Dict[str, Any]:
        return {"cell": self.name, "benchmark": self.cell[0], "params": list(self.cell[1]), "status": self.status,
                "reasons": self.reasons, "evidence": [c.evidence if c else None for c in (self.a, self.b)],
                "changes": [change.to_dict() for change in self.changes],
                "changed": [change.quantity for change in self.changed]}


@dataclass
class Comparison:
    a: str
    b: str
    cells: List[CellComparison]
    build_differences: List[str]
    machine_differences: List[str]
    min_change: float = rules.MIN_CHANGE

    def with_status(self, status: str) -> List[CellComparison]:
        return [cell for cell in self.cells if cell.status == status]

    def regressions(self, percent: float) -> List[Tuple[CellComparison, Change]]:
        """Changes beyond noise that made a cell at least ``percent`` % worse (a speedup lower, a time
        longer, on the log scale); time changes between unlike builds or machines do not count."""
        out = []
        for cell in self.with_status("changed"):
            for change in cell.changes:
                if (change.direction == "regression" and not change.mark and change.excludes_no_change
                        and abs(math.log(change.ratio)) >= math.log1p(percent / 100)):
                    out.append((cell, change))
        return out

    def counts(self) -> Dict[str, int]:
        statuses = ("changed", "unchanged", "undecided", "only in A", "only in B")
        return {status: len(self.with_status(status)) for status in statuses}

    def undecided_reasons(self) -> Dict[str, int]:
        reasons: Dict[str, int] = {}
        for cell in self.with_status("undecided"):
            for reason in cell.reasons:
                reasons[reason] = reasons.get(reason, 0) + 1
        return reasons

    def to_dict(self) -> Dict[str, Any]:
        return {"a": self.a, "b": self.b, "min_change": self.min_change, "counts": self.counts(),
                "undecided_reasons": self.undecided_reasons(), "build_differences": self.build_differences,
                "machine_differences": self.machine_differences,
                "cells": [cell.to_dict() for cell in self.cells]}


def _undecided(cell: CellEstimate, side: str) -> List[str]:
    if cell.estimate is None:
        return [f"no estimate in {side}"]
    reasons = list(cell.flags)
    if cell.runs_used < rules.MIN_RUNS:
        reasons.append(f"too few runs (< {rules.MIN_RUNS})")
    return reasons


def time_change(quantity: str, a: Sequence[Any], b: Sequence[Any], mark: str,
                references: Tuple[Mapping[str, Any], Mapping[str, Any]] = ({}, {})) -> Optional[Change]:
    """One absolute time of a cell, A's runs against B's: normalised by each run's session reference
    where both sides have one for every run (gilcore.machinespeed), raw otherwise; None without times."""
    half = times.SERIAL if quantity == SERIAL else times.PARALLEL
    a_logs, b_logs = times.run_time_logs(a, half), times.run_time_logs(b, half)
    if not a_logs or not b_logs:
        return None
    raw_a, raw_b = math.exp(statistics.fmean(a_logs)), math.exp(statistics.fmean(b_logs))
    a_norm = machinespeed.normalised_time_logs(a, half, references[0])
    b_norm = machinespeed.normalised_time_logs(b, half, references[1])
    if a_norm is None or b_norm is None:
        return Change(quantity, raw_a, raw_b, welch(a_logs, b_logs), mark)
    (a_values, a_terms), (b_values, b_terms) = a_norm, b_norm
    diff = statistics.fmean(b_values) - statistics.fmean(a_values)
    machine = math.exp(math.log(raw_b / raw_a) - diff)  # how much of the raw change the references carry
    return Change(quantity, raw_a, raw_b, welch(a_values, b_values, [*a_terms, *b_terms]), mark,
                  normalised_ratio=math.exp(diff), machine_ratio=machine)


def compare_cell(cell: CellId, a: Optional[CellEstimate], b: Optional[CellEstimate], time_mark: str = "",
                 min_change: float = rules.MIN_CHANGE, speedup_mark: str = "",
                 references: Tuple[Mapping[str, Any], Mapping[str, Any]] = ({}, {})) -> CellComparison:
    """One cell: its speedup and times compared run against run, and its status; the marks say what
    differs between the sides' builds or machines for the times and for the speedup; ``references``
    are each side's machine references by session (times are normalised by them where both have them)."""
    if a is None or b is None:
        return CellComparison(cell, a, b, "only in B" if a is None else "only in A", min_change=min_change)
    reasons = list(dict.fromkeys(_undecided(a, "A") + _undecided(b, "B")))
    changes = []
    if a.estimate is not None and b.estimate is not None:
        changes.append(Change(SPEEDUP, a.estimate, b.estimate, welch(a.run_logs, b.run_logs), speedup_mark))
        for quantity in (SERIAL, PARALLEL):
            change = time_change(quantity, a.runs, b.runs, time_mark, references)
            if change is not None:
                changes.append(change)
    result = CellComparison(cell, a, b, "undecided" if reasons else "unchanged", reasons, changes, min_change)
    if not reasons and result.changed:
        result.status = "changed"
    return result


def compare(a: Side, b: Side, min_change: float = rules.MIN_CHANGE) -> Comparison:
    """Every cell of A and B compared (see the module docstring); cells in table order."""
    build = provenance.build_differences(a.build, b.build)
    machine = provenance.machine_differences(a.machine, b.machine)
    time_mark = "; ".join(build + machine)
    # A speedup is a ratio within one process: other flags or compilers move it little, other hardware
    # (cores, caches) a lot. Marked only where the machines are known to differ, so that runs recorded
    # before machines were cannot silence --fail-on-regression.
    speedup_mark = "; ".join(d for d in machine if d != "machine unknown")
    references = (a.machine_references(), b.machine_references())
    cells = [compare_cell(cell, a.cells.get(cell), b.cells.get(cell), time_mark, min_change, speedup_mark,
                          references) for cell in sorted(set(a.cells) | set(b.cells))]
    return Comparison(a.label, b.label, cells, build, machine, min_change)
