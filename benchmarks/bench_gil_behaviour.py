"""What the GIL does to threads, on each Python: switching, the convoy effect, contention, overlap.

Each class measures its whole grid once in ``setup_cache`` (asv runs every
track in a fresh process; setup_cache's result reaches them all) and its
tracks only read it, so a grid costs one run per environment: about 5-10 s.
The probes live in gilcore.gilprobes; ``python -m gilcore gil ...`` prints
the same figures.
"""
import os
import sys
from dataclasses import asdict

from gilcore import interpreters
from gilcore.gilprobes import contention, convoy, switching, timeline

N = convoy.default_workers()


class SwitchInterval:
    """2 CPU-bound threads vs the same countdown serially, at several sys.setswitchinterval values."""

    params = [[0.5, 1.0, 5.0, 20.0, 50.0]]
    param_names = ["interval_ms"]
    number = 1
    repeat = 1
    rounds = 1
    timeout = 60

    def setup_cache(self):
        return {row.interval_ms: asdict(row) for row in switching.run(self.params[0])}

    setup_cache.timeout = 120

    def setup(self, rows, interval_ms):
        self.row = rows[interval_ms]

    def track_threads_over_serial(self, rows, interval_ms):
        return self.row["speedup"]

    track_threads_over_serial.unit = "x"
    track_threads_over_serial.pretty_name = "GIL switch interval: 2 CPU threads, throughput over serial"

    def track_switches_per_second(self, rows, interval_ms):
        return self.row["switches_per_second"]

    track_switches_per_second.unit = "switches/s"
    track_switches_per_second.pretty_name = "GIL switch interval: GIL hand-overs per second"


CONVOY_LOADS = {"idle": ("idle", 0), "1 thread": ("threads", 1), f"{N} threads": ("threads", N),
                f"{N} processes": ("processes", N), f"{N} cython threads": ("cython", N)}


class Convoy:
    """Latency of an I/O thread (loopback socket round trips, Event wake-ups) beside CPU-bound work."""

    params = [list(convoy.KINDS), list(CONVOY_LOADS)]
    param_names = ["io_wait", "cpu_load"]
    number = 1
    repeat = 1
    rounds = 1
    timeout = 60

    def setup_cache(self):
        loads = [load for load in CONVOY_LOADS.values() if load[0] != "cython" or convoy._cython_available()]
        result = convoy.run(loads)
        return {(row.kind, row.load, row.workers): asdict(row) for row in result.rows}

    setup_cache.timeout = 120

    def setup(self, rows, io_wait, cpu_load):
        name, count = CONVOY_LOADS[cpu_load]
        if (io_wait, name, count) not in rows:
            raise NotImplementedError("the cython load needs gilcore._nogil, which is not built here")
        self.row = rows[(io_wait, name, count)]

    def track_p50(self, rows, io_wait, cpu_load):
        return self.row["p50_ms"]

    track_p50.unit = "ms"
    track_p50.pretty_name = "Convoy effect: I/O thread p50 latency"

    def track_p99(self, rows, io_wait, cpu_load):
        return self.row["p99_ms"]

    track_p99.unit = "ms"
    track_p99.pretty_name = "Convoy effect: I/O thread p99 latency"

    def track_p99_over_idle(self, rows, io_wait, cpu_load):
        return self.row["p99_over_idle"]

    track_p99_over_idle.unit = "x"
    track_p99_over_idle.pretty_name = "Convoy effect: I/O p99 over idle p99"

    def track_io_throughput(self, rows, io_wait, cpu_load):
        return self.row["ops_per_second"]

    track_io_throughput.unit = "ops/s"
    track_io_throughput.pretty_name = "Convoy effect: I/O thread operations per second"


class Contention:
    """Share of the time CPU-bound threads wait instead of running (1 thread: the machine's own noise)."""

    params = [list(contention.METHODS), [1, 2]]
    param_names = ["method", "threads"]
    number = 1
    repeat = 1
    rounds = 1
    timeout = 60

    def setup_cache(self):
        return {(row.method, row.workers): asdict(row) for row in contention.run(self.params[0], self.params[1])}

    setup_cache.timeout = 120

    def setup(self, rows, method, threads):
        self.row = rows[(method, threads)]
        if self.row["wait_fraction"] is None:
            raise NotImplementedError(self.row["note"])

    def track_wait_fraction(self, rows, method, threads):
        return self.row["wait_fraction"]

    track_wait_fraction.unit = "fraction"
    track_wait_fraction.pretty_name = "GIL contention: share of time CPU threads wait"


class Overlap:
    """A 150 ms timeline of 2 workers per strategy: how much of it both ran at once (0 under the GIL)."""

    params = [["threads", "cython-threads", "process-executor", "subinterpreters", "interpreter-pool"]]
    param_names = ["strategy"]
    number = 1
    repeat = 1
    rounds = 1
    timeout = 120

    def setup(self, strategy):
        reason = timeline.timeline_strategy_reason(strategy)
        if reason:
            raise NotImplementedError(reason)
        self.recorded = timeline.record(strategy, 2)

    def track_overlap_fraction(self, strategy):
        return self.recorded.overlap_fraction()

    track_overlap_fraction.unit = "fraction"
    track_overlap_fraction.pretty_name = "Timeline: share of time 2 workers ran at once"

    def track_wait_fraction(self, strategy):
        return self.recorded.wait_fraction()

    track_wait_fraction.unit = "fraction"
    track_wait_fraction.pretty_name = "Timeline: share of time workers did not run"


def _cpythons():
    """The machine's CPythons (2.7, 3.9 and newer, free-threaded ones too) by name, asv's own left out."""
    return {i.name: i for i in interpreters.discover()
            if i.implementation == "cpython" and i.source != interpreters.THIS_PROCESS
            and (i.version.startswith("2.7") or interpreters._version_tuple(i.version) >= (3, 9))}


CPYTHONS = _cpythons()
NONE_FOUND = "none-found"
OTHER_LOADS = [("idle", 0), ("threads", 1)]
OTHER_KINDS = ("socket-process", "event")
OTHER_BUDGET_S = 0.3  # per cell: 4 cells and a start-up, about 2 s per interpreter


def _elsewhere():
    """These probes do not depend on the environment running them: one environment runs them
    (the newest GIL-build CPython found, no PYTHON_GIL); the others show n/a with this reason."""
    versions = [tuple(int(p) for p in i.version.split(".")[:2]) for i in CPYTHONS.values()
                if not i.free_threaded and i.version.startswith("3.")]
    newest = max(versions, default=sys.version_info[:2])
    here_free = bool(__import__("sysconfig").get_config_var("Py_GIL_DISABLED"))
    if here_free or os.environ.get("PYTHON_GIL") or sys.version_info[:2] < newest:
        return f"the other interpreters are probed once, in the Python {newest[0]}.{newest[1]} environment"
    return None


class ConvoyOtherPythons:
    """The convoy on every CPython here, 2.7's old GIL included: I/O p99 with 1 CPU thread over idle."""

    params = [list(CPYTHONS) or [NONE_FOUND], list(OTHER_KINDS)]
    param_names = ["interpreter", "io_wait"]
    number = 1
    repeat = 1
    rounds = 1
    timeout = 60

    def setup_cache(self):
        results = {}
        reason = _elsewhere()
        for name, interpreter in CPYTHONS.items():
            if reason or not interpreter.exists:
                results[name] = NotImplementedError(reason or f"{interpreter.executable} is not on this machine")
                continue
            try:
                result = convoy.run_external(interpreter.executable, OTHER_LOADS, OTHER_KINDS, OTHER_BUDGET_S)
                results[name] = {row.kind: asdict(row) for row in result.rows if row.load == "threads"}
            except interpreters.ProbeError as error:  # one broken interpreter must not sink the others
                results[name] = error
        return results

    setup_cache.timeout = 60 + 15 * max(1, len(CPYTHONS))

    def setup(self, results, interpreter, io_wait):
        if interpreter == NONE_FOUND:
            raise NotImplementedError("no other CPython found (run scripts/setup-interpreters)")
        outcome = results[interpreter]
        if isinstance(outcome, Exception):
            raise outcome
        self.row = outcome[io_wait]

    def track_p99_over_idle(self, results, interpreter, io_wait):
        return self.row["p99_over_idle"]

    track_p99_over_idle.unit = "x"
    track_p99_over_idle.pretty_name = "Convoy on every CPython: p99 with 1 CPU thread over idle"

    def track_p99(self, results, interpreter, io_wait):
        return self.row["p99_ms"]

    track_p99.unit = "ms"
    track_p99.pretty_name = "Convoy on every CPython: p99 with 1 CPU thread"
