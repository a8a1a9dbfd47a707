"""The reference article's countdown on every other Python here: CPython 2.7 ... 3.13t, PyPy, Jython.

Each interpreter runs gilcore/countdown_probe.py in a subprocess of its own
(gilcore.interpreters.probe), so these numbers do not depend on the asv
environment that runs this file. The parameter is the interpreter's name from
scripts/setup-interpreters' interpreters.json, or from PATH and pyenv.
"""
import math
import os

from gilcore import cellstore, interpreters, ratios
from gilcore.noise import LoadMeter

# The article's COUNT, so the figures compare with FACTS.md's: 13 interpreters x 5
# interleaved repeats of serial, 2 threads and Pool(2) take 30-60 s on 2 cores, JVM included.
COUNT = 10_000_000  # raised by the probe until a serial run lasts 0.2 s (PyPy's JIT)
REPEATS = 5
MIN_SERIAL_SECONDS = 0.2
NONE_FOUND = "none-found"


def _machine_interpreters():
    """The machine's interpreters, without the one running asv (it differs per environment)."""
    return {i.name: i for i in interpreters.discover() if i.source != interpreters.THIS_PROCESS}


INTERPRETERS = _machine_interpreters()


def _reporting_environment():
    """Only one asv environment runs these probes (they do not depend on it): the newest
    GIL-build CPython found, with no PYTHON_GIL override. None: this one, whatever it is."""
    import os
    import sys

    from gilcore.gil import free_threaded_build

    versions = [tuple(int(p) for p in i.version.split(".")[:2]) for i in INTERPRETERS.values()
                if i.implementation == "cpython" and not i.free_threaded and i.version.startswith("3.")]
    newest = max(versions, default=sys.version_info[:2])
    if free_threaded_build() or os.environ.get("PYTHON_GIL") or sys.version_info[:2] != newest:
        return f"the probes run once, in the Python {newest[0]}.{newest[1]} environment"
    return None


def _within_limit(speedup):
    """2 workers on 2 or more cores give at most x2 (+5 % timer noise); beyond is noise, not a number."""
    if speedup is None or speedup > ratios.physical_limit(2, 2, io_bound=False):
        return math.nan
    return speedup


class Countdown:
    """Serial seconds and 2-thread / Pool(2) speedups of countdown(COUNT), per interpreter."""

    params = [list(INTERPRETERS) or [NONE_FOUND]]
    param_names = ["interpreter"]
    number = 1
    repeat = 1
    rounds = 1
    timeout = 60  # the tracks only read setup_cache's results

    def setup_cache(self):
        """Probes every interpreter once: asv runs each track and parameter in a fresh process,
        so an in-process cache would never be hit, while setup_cache's result reaches them all."""
        results = {}
        elsewhere = _reporting_environment()
        os.environ["GILCORE_PROBE_MIN_SECONDS"] = str(MIN_SERIAL_SECONDS)  # the probes inherit it
        for name, interpreter in INTERPRETERS.items():
            if elsewhere:
                results[name] = NotImplementedError(elsewhere)
                continue
            if not interpreter.exists:
                results[name] = NotImplementedError(f"{interpreter.executable} is not on this machine")
                continue
            try:
                with LoadMeter() as meter:
                    results[name] = interpreters.probe(interpreter, COUNT, REPEATS)
            except interpreters.ProbeError as error:  # one broken interpreter must not sink the others
                results[name] = error
                continue
            results[name]["load"] = meter.load.to_dict()
            for mode in ("threads", "pool"):
                pairs = results[name].get("ratios", {}).get(mode)
                if pairs:
                    cellstore.record(f"bench_interpreters.Countdown.track_{mode}_speedup", [name], {
                        "ratios": pairs, "n": len(pairs), "speedup": results[name][f"{mode}_speedup"],
                        "noisy": not meter.load.quiet, "steal": meter.load.steal,
                        "other_load": meter.load.other_load, "count": results[name]["count"],
                        "limit": ratios.physical_limit(2, 2, io_bound=False), "python": name})
        return results

    # Enough for every probe's own timeout (a JVM's start-up counted generously) to fire first.
    setup_cache.timeout = 60 + sum(i.default_timeout(COUNT, REPEATS) for i in INTERPRETERS.values())

    def setup(self, results, interpreter):
        if interpreter == NONE_FOUND:
            raise NotImplementedError(
                f"no interpreter found: no {interpreters.interpreters_json()} and no python2.7, python3.X, "
                "pypy3 or jython on PATH or in pyenv (run scripts/setup-interpreters)")
        outcome = results[interpreter]
        if isinstance(outcome, Exception):
            raise outcome  # NotImplementedError shows n/a; a failed probe fails loudly
        self.result = outcome

    def track_serial_seconds(self, results, interpreter):
        return self.result["serial_seconds"]

    track_serial_seconds.unit = "s"

    def track_threads_speedup(self, results, interpreter):
        return _within_limit(self.result["threads_speedup"])

    track_threads_speedup.unit = "x"

    def track_pool_speedup(self, results, interpreter):
        # Jython has no multiprocessing: NaN is how asv records n/a
        return _within_limit(self.result["pool_speedup"])

    track_pool_speedup.unit = "x"
