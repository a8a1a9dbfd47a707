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
import importlib
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Union

from gilcore.gil import check_gil_state, describe_interpreter
from gilcore.strategies import STRATEGIES, Serial, Strategy
from gilcore.strategies.base import DEFAULT_TIMEOUT
from gilcore.workloads import WORKLOADS, Workload, even_counts

MAX_WORKERS = 512


class UsageError(ValueError):
    """Bad input from a user: one line, nothing started."""


class ChecksumError(RuntimeError):
    """A strategy combined to a value other than the workload's expected one."""


WorkloadSpec = Union[str, Workload]
StrategySpec = Union[str, Strategy]


def workload_from_function(function: Any, name: Optional[str] = None) -> Workload:
    """A user's module-level ``f(n) -> number`` as a workload: n split evenly, results summed.

    The split is only sound when f(a) + f(b) == f(a + b); the serial one-chunk
    run is the reference, so a function that breaks this fails its checksum.
    """
    return Workload(
        name=name or f"{function.__module__}:{function.__qualname__}",
        description=(function.__doc__ or "user workload").strip().splitlines()[0],
        kernels={"python": function},
        split=even_counts,
        default_size=int(getattr(function, "default_size", 1_000_000)),
    )


def resolve_workload(spec: WorkloadSpec) -> Workload:
    """A registered name, a Workload, or 'package.module:name' (a Workload or a function)."""
    if isinstance(spec, Workload):
        return spec
    if spec in WORKLOADS:
        return WORKLOADS[spec]
    if isinstance(spec, str) and ":" in spec:
        module_name, _, attribute = spec.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise UsageError(f"cannot load workload {spec!r}: {error}") from None
        if isinstance(target, Workload):
            return target
        if callable(target):
            return workload_from_function(target, spec)
        raise UsageError(f"{spec!r} is neither a Workload nor a function")
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
class Result:
    """What one cell gave: times in seconds, speedup = median serial / median parallel."""

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

    @property
    def seconds(self) -> float:
        return statistics.median(self.parallel_seconds)

    @property
    def serial_median(self) -> Optional[float]:
        return statistics.median(self.serial_seconds) if self.serial_seconds else None

    @property
    def speedup(self) -> Optional[float]:
        serial = self.serial_median
        return serial / self.seconds if serial else None

    @property
    def speedup_range(self) -> Optional[tuple]:
        """Lowest and highest ratio of one serial run to the parallel run next to it."""
        if not self.serial_seconds:
            return None
        ratios = [s / p for s, p in zip(self.serial_seconds, self.parallel_seconds)]
        return min(ratios), max(ratios)

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data.update(seconds=self.seconds, serial_median=self.serial_median, speedup=self.speedup,
                    speedup_range=self.speedup_range)
        for key in ("value", "expected"):
            if not isinstance(data[key], (int, float, str, type(None))):
                data[key] = repr(data[key])
        return data


def _prepare_cell(workload: WorkloadSpec, strategy: StrategySpec, workers: int,
                  size: Optional[int]) -> tuple:
    wl = resolve_workload(workload)
    st = resolve_strategy(strategy)
    check_positive_int(workers, "workers", MAX_WORKERS)
    reason = applicability(wl, st)
    if reason:
        raise UsageError(f"{st.name} cannot run {wl.name} here: {reason}")
    size = wl.size_for(st.kernel) if size is None else check_positive_int(size, "size")
    return wl, st, size


def _blas_pinned(workload: Workload) -> Any:
    if not workload.uses_blas:
        return contextlib.nullcontext()
    if workload.prepare is not None:
        workload.prepare()  # load numpy's BLAS first, so the limit reaches it
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def measure(workload: WorkloadSpec, strategy: StrategySpec = "serial", workers: int = 1,
            size: Optional[int] = None, *, repeats: int = 3, baseline: bool = True,
            timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Time one cell ``repeats`` times, interleaved with the serial run of the same kernel."""
    wl, st, size = _prepare_cell(workload, strategy, workers, size)
    check_positive_int(repeats, "repeats")
    expected = wl.expected(size)
    chunks = wl.split(size, workers)
    serial_times: List[float] = []
    parallel_times: List[float] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(_blas_pinned(wl))
        extra = stack.enter_context(wl.resource()) if wl.resource else ()
        if wl.prepare is not None:
            wl.prepare()
        serial = stack.enter_context(Serial(st.baseline).open(wl, 1, extra)) if baseline else None
        started = time.perf_counter()
        session = st.open(wl, workers, extra)
        startup = time.perf_counter() - started
        try:
            for _ in range(repeats):
                if serial is not None:
                    serial_times.append(_timed_run(serial, wl, chunks, expected, timeout, "serial"))
                parallel_times.append(_timed_run(session, wl, chunks, expected, timeout, st.name))
            gil = check_gil_state()
        finally:
            started = time.perf_counter()
            session.close()
            teardown = time.perf_counter() - started
    return Result(workload=wl.name, strategy=st.name, kernel=st.kernel, workers=workers, size=size,
                  value=expected, expected=expected, parallel_seconds=parallel_times,
                  serial_seconds=serial_times, startup_seconds=startup, teardown_seconds=teardown,
                  gil_enabled=gil, python=describe_interpreter())


def _timed_run(session: Any, workload: Workload, chunks: list, expected: Any, timeout: float,
               label: str) -> float:
    started = time.perf_counter()
    results = session.map(chunks, timeout)
    elapsed = time.perf_counter() - started
    value = workload.combine(results)
    if value != expected:
        raise ChecksumError(f"{workload.name} via {label}: got {value!r}, expected {expected!r}")
    return elapsed


def run(workload: WorkloadSpec, strategy: StrategySpec = "serial", workers: int = 1,
        size: Optional[int] = None, *, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Run one cell once (no serial baseline): value checked, wall time, start-up, GIL state."""
    return measure(workload, strategy, workers, size, repeats=1, baseline=False, timeout=timeout)
