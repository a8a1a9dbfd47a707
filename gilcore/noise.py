"""The noise meter: what else the machine did while a measurement ran.

On a shared 2-vCPU VM a timing can be wrong for reasons that interleaving
cannot cancel: the hypervisor steals CPU (``steal`` in /proc/stat), or another
process takes a core. ``LoadMeter`` reads both around one serial/parallel
pair: the fraction of CPU ticks stolen, and the cores' worth of CPU used by
processes outside this run (all busy ticks minus the CPU time of this process
and its children). ``aa_control`` times the same serial work against itself,
interleaved: its ratio should be 1, and how far it strays is this
environment's noise figure.

The bounds are fixed in gilcore.rules, before any data, and pinned by tests.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Tuple

from gilcore import rules
from gilcore.rules import MAX_AA_BIAS, MAX_AA_SPREAD, MAX_OTHER_LOAD, MAX_STEAL, MIN_JUDGED_SECONDS  # noqa: F401

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_ticks() -> Optional[Tuple[int, int, int]]:
    """(busy, steal, total) ticks of all CPUs from /proc/stat; None where there is no /proc."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    busy = user + nice + system + irq + softirq
    return busy, steal, busy + idle + iowait + steal


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and every live child (pool workers, forkserver...)."""
    try:
        import psutil
    except ImportError:
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system
    me = psutil.Process()
    total = sum(me.cpu_times()[:4])  # user, system, and reaped children's
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass  # exited in between: its time is in children_* of its parent or lost (a few ticks)
    return total


@dataclass
class Load:
    """What the machine did besides this run during one interval."""

    seconds: float
    steal: Optional[float]  # fraction of all CPU ticks stolen by the hypervisor
    other_load: Optional[float]  # cores' worth of CPU used by processes outside this run

    @property
    def judged(self) -> bool:
        return self.steal is not None and self.seconds >= MIN_JUDGED_SECONDS

    @property
    def quiet(self) -> bool:
        """True unless the interval was long enough to judge and steal or other load was too high."""
        return not rules.under_load(self.steal, self.other_load, self.seconds)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


class LoadMeter:
    """``with LoadMeter() as meter: ...`` then ``meter.load``."""

    def __enter__(self) -> "LoadMeter":
        self._ticks = _cpu_ticks()
        self._own = _own_cpu_seconds() if self._ticks is not None else 0.0
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        seconds = time.perf_counter() - self._started
        ticks = _cpu_ticks()
        if self._ticks is None or ticks is None:
            self.load = Load(seconds, None, None)
            return
        busy, steal, total = (after - before for after, before in zip(ticks, self._ticks))
        own = _own_cpu_seconds() - self._own
        other = max(0.0, busy / _TICK - own) / seconds if seconds > 0 else 0.0
        self.load = Load(seconds, steal / total if total > 0 else 0.0, other)


@dataclass
class AAControl:
    """The same serial work timed against itself, interleaved: ratio ~1, spread = the noise."""

    ratios: List[float]
    steal: Optional[float]
    other_load: Optional[float]
    seconds_each: float

    @property
    def ratio(self) -> float:
        from gilcore.ratios import geometric_mean

        return geometric_mean(self.ratios)

    @property
    def spread(self) -> float:
        """The median distance of a per-pair ratio from 1 (0.08 = +-8 %): rules.aa_spread."""
        return rules.aa_spread(self.ratios) or 0.0

    @property
    def in_bounds(self) -> bool:
        return bool(rules.aa_in_bounds({"ratio": self.ratio, "ratios": self.ratios}))

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, spread=self.spread, in_bounds=self.in_bounds)
        return data

    def describe(self) -> str:
        return (f"A/A control (serial countdown against itself, {len(self.ratios)} pairs): x{self.ratio:.3f}, "
                f"spread +-{self.spread * 100:.0f}%, steal {100 * (self.steal or 0):.0f}%, "
                f"other load {self.other_load or 0:.2f} cores"
                + ("" if self.in_bounds else " -- OUT OF BOUNDS: this run's ratios are noisy"))


def aa_control(pairs: int = 8, size: int = 1_500_000) -> AAControl:
    """Serial countdown A against serial countdown B, order rotated (ABBA), ``pairs`` times."""
    from gilcore.workloads import countdown

    ratios: List[float] = []
    loads: List[Load] = []
    countdown(size // 10)  # warm the code path before timing
    for index in range(pairs):
        with LoadMeter() as meter:
            first = _timed(countdown, size)
            second = _timed(countdown, size)
        a, b = (first, second) if index % 2 == 0 else (second, first)
        ratios.append(a / b)
        loads.append(meter.load)
    judged = [load for load in loads if load.steal is not None]
    steal = max((load.steal for load in judged), default=None)  # type: ignore[type-var]
    other = max((load.other_load for load in judged), default=None)  # type: ignore[type-var]
    seconds = sum(load.seconds for load in loads) / (2 * len(loads))
    return AAControl(ratios, steal, other, seconds)


def _timed(function: Any, *args: Any) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started
