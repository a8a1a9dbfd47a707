"""Every asv benchmark has an explicit timeout, and a cell that cannot run here is n/a, not a failure."""
import importlib
import inspect
import itertools
import os
import pkgutil

import pytest

import gilcore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARK_PREFIXES = ("time_", "timeraw_", "track_", "mem_", "peakmem_")


def benchmark_classes():
    """What asv collects: classes (not _private) with a time_/track_/mem_/peakmem_ method, per module."""
    found = []
    for module_info in pkgutil.iter_modules([os.path.join(ROOT, "benchmarks")]):
        module = importlib.import_module(f"benchmarks.{module_info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and not name.startswith("_") and any(
                    attribute.startswith(BENCHMARK_PREFIXES) for attribute in dir(cls)):
                found.append(pytest.param(cls, id=f"{module_info.name}.{name}"))
    return found


@pytest.mark.parametrize("cls", benchmark_classes())
def test_every_benchmark_has_an_explicit_timeout(cls):
    # asv's default (60 s) is an accident waiting to happen for a pool that hangs; each class says its own.
    timeout = getattr(cls, "timeout", None)
    assert isinstance(timeout, (int, float)) and timeout > 0, \
        f"{cls.__module__}.{cls.__name__} has no explicit `timeout` attribute"
    if hasattr(cls, "setup_cache"):
        assert isinstance(getattr(cls.setup_cache, "timeout", None), (int, float)), \
            f"{cls.__module__}.{cls.__name__}.setup_cache has no explicit timeout"


def not_applicable_cells():
    """Every (class, strategy, workers) of the strategy x workers grids that cannot run on this Python."""
    from benchmarks import common

    cells = []
    for param in benchmark_classes():
        cls = param.values[0]
        if not issubclass(cls, common._Cell):
            continue
        workload = gilcore.WORKLOADS[cls.workload]
        for strategy, workers in itertools.product(*cls.params):
            if (strategy == "serial" and workers != 1) or gilcore.applicability(workload, gilcore.STRATEGIES[strategy]):
                cells.append(pytest.param(cls, strategy, workers, id=f"{cls.__name__}-{strategy}-{workers}"))
    return cells


@pytest.mark.parametrize("cls, strategy, workers", not_applicable_cells())
def test_setup_of_a_cell_that_cannot_run_raises_not_implemented(cls, strategy, workers, no_leaks):
    with pytest.raises(NotImplementedError) as info:
        cls().setup(strategy, workers)
    assert str(info.value)  # the reason asv shows


def test_the_named_examples():
    from benchmarks import bench_cpu

    with pytest.raises(NotImplementedError, match="serial runs one worker"):
        bench_cpu.Countdown().setup("serial", 2)
    reason = gilcore.STRATEGIES["subinterpreters"].unavailable_reason()
    if reason:
        with pytest.raises(NotImplementedError, match="need CPython 3.12 or newer"):
            bench_cpu.Primes().setup("subinterpreters", 2)


def test_overhead_benchmark_is_na_where_the_strategy_is_unavailable():
    from benchmarks import bench_overhead

    unavailable = [s for s in bench_overhead.PerTaskOverhead.params[0]
                   if gilcore.STRATEGIES[s].unavailable_reason()]
    if not unavailable:
        pytest.skip("every strategy is available here")
    figures = {s: NotImplementedError(gilcore.STRATEGIES[s].unavailable_reason()) for s in unavailable}
    for strategy in unavailable:
        with pytest.raises(NotImplementedError):
            bench_overhead.PerTaskOverhead().setup(figures, strategy)
