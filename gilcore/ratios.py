"""Per-pair ratios: their centre, a confidence interval, and when there are enough.

A speedup is a ratio, so it is averaged on a log scale: the geometric mean of
the per-pair ratios (serial time / parallel time of one interleaved pair), with
a 95 % Student-t interval on the logs. Fixed rules, no tuning after the data.
"""
from __future__ import annotations

import math
import statistics
from typing import Optional, Sequence, Tuple

# Two-sided 95 % Student-t quantiles by degrees of freedom (1..30); beyond 30, ~1.96.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]

# Adaptive repeats stop once the interval's half-width is within this fraction of the estimate.
TARGET_HALF_WIDTH = 0.05
# Fewer values than this make a cell "thin": shown, but marked.
MIN_VALUES = 3


def t95(degrees_of_freedom: int) -> float:
    if degrees_of_freedom < 1:
        return math.inf
    return _T95[degrees_of_freedom - 1] if degrees_of_freedom <= len(_T95) else 1.96


def geometric_mean(ratios: Sequence[float]) -> float:
    if not ratios:
        raise ValueError("no ratios")
    return math.exp(statistics.fmean(math.log(r) for r in ratios))


def interval(ratios: Sequence[float]) -> Optional[Tuple[float, float]]:
    """95 % confidence interval of the geometric mean; None with fewer than 2 ratios."""
    if len(ratios) < 2:
        return None
    logs = [math.log(r) for r in ratios]
    half = t95(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    centre = statistics.fmean(logs)
    return math.exp(centre - half), math.exp(centre + half)


def relative_half_width(ratios: Sequence[float]) -> float:
    """Half the interval's width over the estimate (0.05 = +-5 %); infinite with fewer than 2."""
    bounds = interval(ratios)
    if bounds is None:
        return math.inf
    return (bounds[1] - bounds[0]) / 2 / geometric_mean(ratios)


def tight_enough(ratios: Sequence[float], minimum: int) -> bool:
    """Stop repeating: at least ``minimum`` ratios and an interval within TARGET_HALF_WIDTH."""
    return len(ratios) >= minimum and relative_half_width(ratios) <= TARGET_HALF_WIDTH


def physical_limit(workers: int, cpus: int, io_bound: bool) -> float:
    """The most W workers can gain, with 5 % allowance for timer noise: W on I/O, min(W, cores) on CPU."""
    return 1.05 * (workers if io_bound else min(workers, max(cpus, 1)))
