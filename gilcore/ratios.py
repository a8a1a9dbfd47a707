"""Ratios on a log scale: the centre of one run's pairs, the mean over runs, a 95 % interval.

A speedup is a ratio, so everything is done on its logarithm, where x2 and
x0.5 are equally far from x1. Within one run the centre of the per-pair ratios
(serial time / parallel time of one interleaved pair) is the Hodges-Lehmann
estimate of their logs: the median of all pairwise means. It treats both tails
alike (a symmetric estimator: no value is dropped for being high or low), it
ignores up to 29 % wild pairs, and with well-behaved pairs it is nearly as
precise as the mean (95 % efficiency), where the plain median of 2-6 pairs
wastes a third of them. Over runs the run estimates are averaged (they are
robust already) and the interval is a Student-t one on their spread: the run,
not the pair, is the unit of replication (gilcore.replication). Fixed rules,
no tuning after the data.
"""
from __future__ import annotations

import math
import statistics
from typing import List, Optional, Sequence, Tuple

from gilcore import rules

# Two-sided 95 % Student-t quantiles by degrees of freedom (1..30); beyond 30, ~1.96.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]

# Adaptive repeats stop once the interval's half-width is within this fraction of the estimate.
TARGET_HALF_WIDTH = 0.05
# Fewer values than this make a cell "thin": shown, but marked.
MIN_VALUES = rules.MIN_CLEAN_PAIRS


def t95(degrees_of_freedom: int) -> float:
    if degrees_of_freedom < 1:
        return math.inf
    return _T95[degrees_of_freedom - 1] if degrees_of_freedom <= len(_T95) else 1.96


def t_cdf(t: float, degrees_of_freedom: int) -> float:
    """P(T <= t) for Student's t with an integer number of degrees of freedom (>= 1), from the closed
    forms in theta = atan(t / sqrt(df)) (Abramowitz & Stegun 26.7.3-4): no SciPy in the core."""
    df = max(1, int(degrees_of_freedom))
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    theta = math.atan(abs(t) / math.sqrt(df))
    cos2, term, total = math.cos(theta) ** 2, 1.0, 1.0
    if df % 2:  # odd: (2/pi) (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...))
        for k in range(1, (df - 1) // 2):
            term *= cos2 * (2 * k) / (2 * k + 1)
            total += term
        inside = (2 / math.pi) * (theta + (math.sin(theta) * math.cos(theta) * total if df > 1 else 0.0))
    else:  # even: sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...)
        for k in range(1, df // 2):
            term *= cos2 * (2 * k - 1) / (2 * k)
            total += term
        inside = math.sin(theta) * total
    return 0.5 + math.copysign(inside / 2, t)


def geometric_mean(ratios: Sequence[float]) -> float:
    if not ratios:
        raise ValueError("no ratios")
    return math.exp(statistics.fmean(math.log(r) for r in ratios))


def hodges_lehmann(values: Sequence[float]) -> float:
    """The median of the Walsh averages (x_i + x_j) / 2, i <= j: a symmetric, robust centre."""
    if not values:
        raise ValueError("no values")
    walsh = [(a + b) / 2 for i, a in enumerate(values) for b in values[i:]]
    return statistics.median(walsh)


def run_centre(ratios: Sequence[float]) -> float:
    """One run's speedup from its pairs' ratios: exp(Hodges-Lehmann of the log ratios)."""
    return math.exp(hodges_lehmann([math.log(r) for r in ratios]))


def mean_interval(logs: Sequence[float]) -> Optional[Tuple[float, float]]:
    """95 % Student-t interval of the mean of log values, as ratios; None with fewer than 2."""
    if len(logs) < 2:
        return None
    half = t95(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    centre = statistics.fmean(logs)
    return math.exp(centre - half), math.exp(centre + half)


def logs_of(ratios: Sequence[float]) -> List[float]:
    return [math.log(r) for r in ratios]


def interval(ratios: Sequence[float]) -> Optional[Tuple[float, float]]:
    """95 % confidence interval of the geometric mean; None with fewer than 2 ratios."""
    return mean_interval(logs_of(ratios))


def relative_half_width(ratios: Sequence[float]) -> float:
    """Half the interval's width over the estimate (0.05 = +-5 %); infinite with fewer than 2."""
    bounds = interval(ratios)
    if bounds is None:
        return math.inf
    return (bounds[1] - bounds[0]) / 2 / geometric_mean(ratios)


def tight_enough(ratios: Sequence[float], minimum: int) -> bool:
    """Stop repeating: at least ``minimum`` ratios and an interval within TARGET_HALF_WIDTH."""
    return len(ratios) >= minimum and relative_half_width(ratios) <= TARGET_HALF_WIDTH


physical_limit = rules.physical_limit
