"""One (workload, strategy, workers) cell: run it, time it, check it.

``measure`` opens the strategy's session (start-up timed on its own), opens a
serial session of the same kernel, then alternates serial and parallel runs of
the very same chunks, so each speedup is a ratio taken in one process, one run,
one size. Every combined value is checked against the workload's expected
value, and the GIL state is read after the work and checked against what the
environment promises.
"""
from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

from gilcore import capacity, ratios, replication, rules
from gilcore.errors import UsageError
from gilcore.gil import check_gil_state, describe_interpreter
from gilcore.strategies import STRATEGIES, Serial, Strategy
from gilcore.strategies.base import DEFAULT_TIMEOUT
from gilcore.userworkload import load_workload, workload_from_function
from gilcore.workloads import WORKLOADS, Workload

MAX_WORKERS = 512


def worker_counts(cpus: Optional[int] = None) -> List[int]:
    """1, 2, 4 ... up to the number of cores, and the number of cores itself: a scaling curve."""
    cpus = max(1, cpus or os.cpu_count() or 1)
    counts = [1]
    while counts[-1] * 2 <= cpus:
        counts.append(counts[-1] * 2)
    return counts if counts[-1] == cpus else counts + [cpus]


class ChecksumError(RuntimeError):
    """A strategy combined to a value other than the workload's expected one."""


WorkloadSpec = Union[str, Workload]
StrategySpec = Union[str, Strategy]


def resolve_workload(spec: WorkloadSpec) -> Workload:
    """A registered name, a Workload, or 'package.module:name' (a Workload or a function)."""
    if isinstance(spec, Workload):
        return spec
    if spec in WORKLOADS:
        return WORKLOADS[spec]
    if isinstance(spec, str) and ":" in spec:
        return load_workload(spec)
    raise UsageError(f"unknown workload {spec!r}; choose from {', '.join(WORKLOADS)} or give module:function")


def resolve_strategy(spec: StrategySpec) -> Strategy:
    if isinstance(spec, Strategy):
        return spec
    if spec in STRATEGIES:
        return STRATEGIES[spec]
    raise UsageError(f"unknown strategy {spec!r}; choose from {', '.join(STRATEGIES)}")


def check_positive_int(value: Any, what: str, upper: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{what} must be a whole number, not {value!r}")
    if value < 1:
        raise UsageError(f"{what} must be at least 1, not {value}")
    if upper is not None and value > upper:
        raise UsageError(f"{what} must be at most {upper}, not {value}")
    return value


def applicability(workload: Workload, strategy: Strategy) -> Optional[str]:
    """None when the cell can run here, else why not (unavailable or not applicable)."""
    return strategy.unavailable_reason() or strategy.unsupported_reason(workload)


@dataclass
class Pair:
    """One interleaved serial/parallel pair and what the meters saw meanwhile (flags: gilcore.rules)."""

    serial: float
    parallel: float
    serial_first: bool
    steal: Optional[float] = None
    other_load: Optional[float] = None
    seconds: Optional[float] = None  # the load meter's interval
    capacity: Optional[float] = None  # cores the capacity probe found around this pair's run
    capacity_needed: Optional[int] = None  # cores the cell needs: min(W, CPUs); None: not probed
    flags: List[str] = field(default_factory=list)  # "under-load", "capacity-limited", "over-limit"

    @property
    def ratio(self) -> float:
        return self.serial / self.parallel

    @property
    def clean(self) -> bool:
        return rules.is_clean(self.flags)


@dataclass
class Result:
    """What one cell gave in one run: times in seconds; speedup = this run's estimate from its clean
    pairs (gilcore.replication: Hodges-Lehmann of the log ratios); every pair is kept, flagged."""

    workload: str
    strategy: str
    kernel: str
    workers: int
    size: int
    value: Any
    expected: Any
    parallel_seconds: List[float]
    serial_seconds: List[float] = field(default_factory=list)
    startup_seconds: float = 0.0
    teardown_seconds: float = 0.0
    gil_enabled: Optional[bool] = None
    python: str = ""
    pairs: List[Pair] = field(default_factory=list)  # every pair measured, flagged ones included
    limit: Optional[float] = None  # the physical limit of the speedup at this worker count
    worker_gil: List[Optional[bool]] = field(default_factory=list)  # as each worker saw it
    run: Dict[str, Any] = field(default_factory=dict)  # the process it was measured in (gilcore.replication)

    @property
    def seconds(self) -> float:
        return statistics.median(self.parallel_seconds)

    @property
    def serial_median(self) -> Optional[float]:
        return statistics.median(self.serial_seconds) if self.serial_seconds else None

    @property
    def kept_ratios(self) -> List[float]:
        """The clean pairs' ratios (no meter flag): what the estimate stands on."""
        return [pair.ratio for pair in self.pairs if pair.clean]

    @property
    def ratios(self) -> List[float]:
        """The ratios the speedup stands on: the clean pairs, or every pair when none is clean."""
        return self.kept_ratios or [pair.ratio for pair in self.pairs]

    def estimate(self) -> "replication.CellEstimate":
        """This run alone as a cell estimate: the same rules and flags as a cell over many runs."""
        run = replication.RunMeasurement(self.run.get("id", ""), self.run.get("session", ""), 0.0,
                                         replication.flagged_pairs([asdict(p) for p in self.pairs], self.limit),
                                         self.limit)
        return replication.estimate_cell([run], self.limit)

    @property
    def speedup(self) -> Optional[float]:
        return self.estimate().estimate if self.pairs else None

    @property
    def speedup_interval(self) -> Optional[Tuple[float, float]]:
        """95 % confidence interval of this run's speedup (its pairs); None with fewer than 2 pairs."""
        return self.estimate().interval if self.pairs else None

    @property
    def speedup_range(self) -> Optional[Tuple[float, float]]:
        """Lowest and highest ratio among the pairs the speedup stands on."""
        return (min(self.ratios), max(self.ratios)) if self.pairs else None

    @property
    def remeasured(self) -> int:
        """Pairs measured under load, each replaced by another pair."""
        return sum("under-load" in pair.flags for pair in self.pairs)

    @property
    def noisy(self) -> bool:
        """Too few clean pairs could be had: the speedup stands on pairs a meter flagged."""
        return bool(self.pairs) and len(self.kept_ratios) < min(ratios.MIN_VALUES, len(self.pairs))

    @property
    def capacity_limited(self) -> bool:
        """The capacity probe found fewer cores than the cell needs: never a plain number."""
        return "capacity-limited" in self.estimate().flags if self.pairs else False

    @property
    def over_limit(self) -> bool:
        """Above what W workers can physically give: noise, never a plain number."""
        return self.speedup is not None and self.limit is not None and self.speedup > self.limit

    @property
    def plain_speedup(self) -> float:
        """The value a graph may show (asv's track_speedup): NaN wherever the rules flag the cell (over
        the physical limit, capacity-limited, too few pairs free of load): never a plain number; the
        cell store keeps every pair and the flags."""
        if not self.pairs:
            return math.nan
        estimate = self.estimate()
        return estimate.estimate if estimate.decided else math.nan  # type: ignore[return-value]

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        estimate = self.estimate() if self.pairs else None
        data.update(seconds=self.seconds, serial_median=self.serial_median, speedup=self.speedup,
                    speedup_range=self.speedup_range, speedup_interval=self.speedup_interval,
                    n=len(self.ratios), remeasured=self.remeasured, noisy=self.noisy, over_limit=self.over_limit,
                    capacity_limited=self.capacity_limited, flags=estimate.flags if estimate else [],
                    evidence=estimate.evidence if estimate else "")
        for key in ("value", "expected"):
            if not isinstance(data[key], (int, float, str, type(None))):
                data[key] = repr(data[key])
        return data


class NotApplicable(UsageError):
    """The strategy cannot run here, or not on this workload; the message says why."""


def _blas_pinned(workload: Workload) -> Any:
    if not workload.uses_blas:
        return contextlib.nullcontext()
    if workload.prepare is not None:
        workload.prepare()  # load numpy's BLAS first, so the limit reaches it
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


class Cell:
    """One (workload, strategy, workers, size), opened once and run many times.

    Opening starts the strategy's workers, warms them and checks the GIL state
    (start-up is timed apart); each ``run_once`` is warm work, checked against
    the expected value; closing releases everything, whatever happened.
    """

    def __init__(self, workload: WorkloadSpec, strategy: StrategySpec = "serial", workers: int = 1,
                 size: Optional[int] = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.workload = resolve_workload(workload)
        self.strategy = resolve_strategy(strategy)
        self.workers = check_positive_int(workers, "workers", MAX_WORKERS)
        reason = applicability(self.workload, self.strategy)
        if reason:
            raise NotApplicable(f"{self.strategy.name} cannot run {self.workload.name} here: {reason}")
        self.size = self.workload.size_for(self.strategy.kernel) if size is None else check_positive_int(size, "size")
        self.timeout = timeout
        self.chunks = self.workload.chunks(self.size, self.workers)
        self.expected: Any = None
        self.value: Any = None
        self.startup_seconds = 0.0
        self.teardown_seconds = 0.0
        self.gil_enabled: Optional[bool] = None
        self.worker_gil: List[Optional[bool]] = []
        self.warm = False  # True once a run has paid for first-call costs (page faults, caches)
        self._stack: Optional[contextlib.ExitStack] = None
        self._session: Any = None

    def baseline(self) -> "Cell":
        """The serial cell of the kernel this cell's speedup is taken over: the very same chunks
        in turn (for weak scaling that is W x the work of one worker, so T1 x W / TW falls out)."""
        return Cell(self.workload, Serial(self.strategy.baseline), self.workers, self.size, timeout=self.timeout)

    def open(self) -> "Cell":
        self.expected = self.workload.expected(self.size, self.workers)
        with contextlib.ExitStack() as stack:
            stack.enter_context(_blas_pinned(self.workload))
            extra = stack.enter_context(self.workload.resource()) if self.workload.resource else ()
            if self.workload.prepare is not None:
                self.workload.prepare()
            started = time.perf_counter()
            self._session = self.strategy.open(self.workload, self.workers, extra)
            self.startup_seconds = time.perf_counter() - started
            stack.callback(self._close_session)
            self.gil_enabled = check_gil_state()
            # Where the work runs: each worker process, thread or interpreter reports its own state.
            self.worker_gil = list(getattr(self._session, "worker_gil", []))
            for observed in self.worker_gil:
                check_gil_state(observed)
            self._stack = stack.pop_all()
        return self

    def _close_session(self) -> None:
        started = time.perf_counter()
        self._session.close()
        self.teardown_seconds = time.perf_counter() - started

    def run_once(self) -> float:
        """Warm work on every chunk: wall seconds; raises ChecksumError on a wrong value."""
        if self._session is None or self._stack is None:
            raise RuntimeError("open the cell before running it")
        started = time.perf_counter()
        results = self._session.map(self.chunks, self.timeout)
        elapsed = time.perf_counter() - started
        self.warm = True
        value = self.value = self.workload.combine(results)
        if value != self.expected:
            raise ChecksumError(f"{self.workload.name} via {self.strategy.name} x{self.workers}: "
                                f"got {value!r}, expected {self.expected!r}")
        return elapsed

    def worker_pids(self) -> List[int]:
        return list(self._session.worker_pids()) if self._session is not None else []

    def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def __enter__(self) -> "Cell":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


MIN_PAIRS = 3  # the fewest pairs a speedup stands on (more when the ratios spread)
MAX_PAIRS = 10  # the cap of adaptive repeats
# Pairs that may replace ones flagged by a meter (load, capacity), beyond the cap. 2, not 6: the run,
# not the pair, is the unit of replication now (>= 3 runs a cell), and on a VM whose vCPUs lose speed
# in spells, 6 more pairs mostly measured the same spell again (set before the 2026-12-02 re-measure).
EXTRA_PAIRS = 2


def measure(workload: WorkloadSpec, strategy: StrategySpec = "serial", workers: int = 1,
            size: Optional[int] = None, *, repeats: int = MIN_PAIRS, max_repeats: Optional[int] = None,
            baseline: bool = True, timeout: float = DEFAULT_TIMEOUT, extra_pairs: int = EXTRA_PAIRS,
            probe_before: bool = True) -> Result:
    """Open one cell and measure it: see ``measure_cell``."""
    cell = Cell(workload, strategy, workers, size, timeout=timeout)
    with cell:
        return measure_cell(cell, repeats=repeats, max_repeats=max_repeats, baseline=baseline,
                            extra_pairs=extra_pairs, probe_before=probe_before)


def measure_cell(cell: "Cell", *, repeats: int = MIN_PAIRS, max_repeats: Optional[int] = None,
                 baseline: bool = True, extra_pairs: int = EXTRA_PAIRS, probe_before: bool = True) -> Result:
    """Time an open cell against the serial run of the same kernel, pair by pair: one run's measurement.

    Each pair is one serial and one parallel run, their order rotated (ABBA:
    S P, P S, S P ...) so that a drift favours neither. The load meter watches
    every pair; one measured under CPU steal or another process's load is
    flagged and measured again (at most ``extra_pairs`` times): that depends
    on the meter, not on the ratio. A ratio beyond what W workers can give is
    flagged, never dropped (gilcore.rules). The capacity probe measures the
    cores the process tree gets between pairs: a pair whose reading just before or just after it
    found too few is flagged capacity-limited and measured again, like a pair under load (a VM's
    vCPU here ran at full speed or at ~60 % in spells of seconds, so the probe next to a pair tells
    of that pair; ``probe_before=False``: no reading before the first pair). Pairs continue past
    ``repeats`` until the 95 % interval of the clean ratios is within +-5 %
    or ``max_repeats`` clean pairs are had. Without a baseline, ``repeats``
    plain runs.
    """
    from gilcore.noise import LoadMeter

    check_positive_int(repeats, "repeats")
    cap = max(repeats, MAX_PAIRS if max_repeats is None else check_positive_int(max_repeats, "max_repeats"))
    if not baseline:
        cap = repeats
    cpus = os.cpu_count() or 1
    io_bound = cell.workload.kind == "io"
    limit = ratios.physical_limit(cell.workers, cpus, io_bound)
    needed = capacity.needed_cores(cell.workers, cpus, io_bound) if baseline else None
    pairs: List[Pair] = []
    parallel_times: List[float] = []
    with contextlib.ExitStack() as stack:
        serial = stack.enter_context(cell.baseline()) if baseline else None
        # One untimed run each first (unless already done, e.g. by asv's setup): first calls
        # pay for page faults, lazy imports and caches.
        for warm in (serial, cell):
            if warm is not None and not warm.warm:
                warm.run_once()
        probe = stack.enter_context(capacity.CapacityProbe(needed)) if needed else None
        last_reading = probe.measure() if probe and probe_before else None
        attempts = 0
        while True:
            if serial is None:
                parallel_times.append(cell.run_once())
                if len(parallel_times) >= cap:
                    break
                continue
            serial_first = attempts % 2 == 0
            attempts += 1
            with LoadMeter() as meter:
                if serial_first:
                    s, p = serial.run_once(), cell.run_once()
                else:
                    p, s = cell.run_once(), serial.run_once()
            pair = Pair(s, p, serial_first, meter.load.steal, meter.load.other_load, meter.load.seconds)
            if probe:  # the readings just before and just after this pair: the lower one is its capacity
                reading = probe.measure()
                known = [value for value in (last_reading, reading) if value is not None]
                pair.capacity, pair.capacity_needed = (min(known) if known else None), needed
                last_reading = reading
            pair.flags = rules.pair_flags(asdict(pair), limit)
            pairs.append(pair)
            clean = [x.ratio for x in pairs if x.clean]
            if len(clean) >= cap or ratios.tight_enough(clean, repeats) or attempts >= cap + extra_pairs:
                break
        gil = check_gil_state()
    chosen = [x for x in pairs if x.clean] or pairs
    return Result(workload=cell.workload.name, strategy=cell.strategy.name, kernel=cell.strategy.kernel,
                  workers=cell.workers, size=cell.size, value=cell.value, expected=cell.expected,
                  parallel_seconds=parallel_times or [x.parallel for x in chosen],
                  serial_seconds=[x.serial for x in chosen], startup_seconds=cell.startup_seconds,
                  teardown_seconds=cell.teardown_seconds, gil_enabled=gil, python=describe_interpreter(),
                  pairs=pairs, limit=limit if baseline else None, worker_gil=cell.worker_gil,
                  run=replication.this_run())


def kernel_seconds(workload: WorkloadSpec, size: Optional[int] = None, *, repeats: int = 3) -> Dict[str, float]:
    """Median serial seconds of each plain kernel (python, cython) of one workload at one size."""
    wl = resolve_workload(workload)
    size = wl.default_size if size is None else check_positive_int(size, "size")
    seconds = {}
    for kernel in ("python", "cython"):
        strategy = Serial(kernel)
        if kernel in wl.kernels and not strategy.unavailable_reason():
            seconds[kernel] = measure(wl, strategy, 1, size, repeats=repeats, baseline=False).seconds
    return seconds


def run(workload: WorkloadSpec, strategy: StrategySpec = "serial", workers: int = 1,
        size: Optional[int] = None, *, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Run one cell once (no serial baseline): value checked, wall time, start-up, GIL state."""
    return measure(workload, strategy, workers, size, repeats=1, baseline=False, timeout=timeout)
