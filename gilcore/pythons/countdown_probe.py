"""The reference article's countdown, serial vs 2 threads vs Pool(2), on any Python.

    python countdown_probe.py COUNT [REPEATS]

Prints ONE JSON line. gilcore.pythons.interpreters runs this file with every
interpreter it finds, so it must run unchanged on CPython 2.7 and 3.x, PyPy
and Jython 2.7: no f-strings, no type hints, no gilcore import but identity.py beside it, nothing
newer than the 2.7 standard library. Nothing imports it.

What it corrects in the article: COUNT/2 is a float on Python 3 (a slower
loop than the article meant), so the halves are COUNT // 2; and
``with multiprocessing.Pool as pool`` is a TypeError (the class, not an
instance, and Pool has no context manager on 2.7), so the pool is created
once, timed apart from the work, and closed and joined in a finally.
"""
from __future__ import print_function

import os
import sys

# Python puts this file's folder (gilcore/pythons) first on sys.path when it runs the file:
# identity.py, the one identity probe, is imported from there; then the folder leaves, so
# gilcore's other modules (written for 3.9+) shadow nothing these older interpreters import.
import identity  # noqa: E402
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import json  # noqa: E402
import math  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

try:
    import multiprocessing
    NO_POOL_REASON = None
except ImportError as error:  # Jython has no multiprocessing module at all
    multiprocessing = None
    NO_POOL_REASON = "no multiprocessing module on this interpreter (%s)" % (error,)

# perf_counter is 3.3+; on 2.7 and Jython time.time is the best wall clock there is.
clock = getattr(time, "perf_counter", time.time)


def countdown(n):
    """The article's loop, unchanged; returns 0 so a worker's result can be checked."""
    while n > 0:
        n -= 1
    return n


def run_serial(half):
    start = clock()
    countdown(half)
    countdown(half)
    return clock() - start


def run_threads(half):
    results = []

    def work():
        results.append(countdown(half))  # list.append is atomic on every interpreter here

    threads = [threading.Thread(target=work) for _ in range(2)]
    start = clock()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = clock() - start
    if results != [0, 0]:  # checked like every other mode: a thread that died gives no result
        raise RuntimeError("2 threads returned %r, not [0, 0]" % (results,))
    return seconds


def run_pool(pool, half):
    start = clock()
    results = pool.map(countdown, [half, half], 1)
    seconds = clock() - start
    if results != [0, 0]:
        raise RuntimeError("Pool(2) returned %r, not [0, 0]" % (results,))
    return seconds


def start_pool():
    """Pool(2) with both workers up and answering; returns (pool, start-up seconds).

    A trivial round trip is part of start-up because with the spawn and
    forkserver start methods workers are still importing when Pool() returns.
    """
    start = clock()
    pool = multiprocessing.Pool(2)
    try:
        pool.map(countdown, [0, 0], 1)
    except BaseException:
        pool.terminate()
        pool.join()
        raise
    return pool, clock() - start


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def spread(values):
    """(max - min) / median: how far apart the repeats were, as a fraction."""
    middle = median(values)
    return (max(values) - min(values)) / middle if middle > 0 else None


# A timed run shorter than this says more about the clock than about the interpreter (PyPy's JIT
# runs the article's 10,000,000 in a few ms): with GILCORE_PROBE_MIN_SECONDS set (asv's
# bench_interpreters sets 0.2), the count is raised x4 until one serial run takes that long.
MAX_COUNT = 10 ** 11


def calibrate(count):
    """The count given, or more until one serial run lasts GILCORE_PROBE_MIN_SECONDS (JIT warmed first)."""
    try:
        min_seconds = float(os.environ.get("GILCORE_PROBE_MIN_SECONDS", "0"))
    except ValueError:
        min_seconds = 0.0
    while min_seconds > 0:
        countdown(count // 2)  # untimed: a JIT compiles the loop here
        if run_serial(count // 2) >= min_seconds or count * 4 > MAX_COUNT:
            break
        count *= 4
    return count


def measure(count, repeats):
    half = count // 2
    runs = {"serial": [], "threads": [], "pool": []}
    modes = [("serial", run_serial), ("threads", run_threads)]
    pool, startup = None, None
    # CPython 3.11 specialises a function only after 8 calls (its `while` back edge does not count):
    # called here, the parent's countdown is specialised and fork workers inherit it.
    for _ in range(8):
        countdown(0)
    if multiprocessing is not None:
        # Created before any thread is started: forking a process that has
        # running threads is what the fork start method warns about.
        pool, startup = start_pool()
        modes.append(("pool", lambda n: run_pool(pool, n)))
    try:
        # Untimed, every mode once: a JIT (PyPy, Jython's JVM) compiles the loop in each
        # thread and worker during its first run; timing that would measure the compiler.
        for name, run in modes:
            run(half)
        for repeat in range(repeats):
            # Interleaved, and the order rotates, so a slow patch of a shared
            # machine lands on every mode rather than on one.
            shift = repeat % len(modes)
            for name, run in modes[shift:] + modes[:shift]:
                runs[name].append(run(half))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return runs, startup


def pair_ratios(runs, mode):
    """serial / mode for each repeat: the runs of one repeat were interleaved, so each is a pair.
    A run the clock could not resolve (0 s: Jython's millisecond timer, a tiny count) makes no pair."""
    return [s / m for s, m in zip(runs["serial"], runs[mode]) if m > 0 and s > 0]


def geometric_mean(values):
    if not values:
        return None
    total = 0.0
    for value in values:
        total += math.log(value)
    return math.exp(total / len(values))


def report(count, repeats, runs, startup):
    medians = dict((name, median(values) if values else None) for name, values in runs.items())
    ratios = dict((mode, pair_ratios(runs, mode)) for mode in ("threads", "pool") if runs[mode])
    me = identity.facts()  # read after the work: the GIL state it ran under
    return {
        "probe": "countdown",
        "implementation": me["implementation"],
        "version": me["version"],
        "implementation_version": me["implementation_version"],
        "executable": sys.executable,
        "free_threaded": me["free_threaded"],
        "gil": me["gil"],
        "gil_source": me["gil_source"],
        "cpus": cpu_count(),
        "count": count,
        "repeats": repeats,
        "serial_seconds": medians["serial"],
        "threads_seconds": medians["threads"],
        "pool_seconds": medians["pool"],
        "pool_startup_seconds": startup,
        "pool_unavailable": NO_POOL_REASON,
        # The geometric mean of the per-repeat ratios, like gilcore's own speedups.
        "threads_speedup": geometric_mean(ratios.get("threads")),
        "pool_speedup": geometric_mean(ratios.get("pool")),
        "ratios": ratios,
        "spread": dict((name, spread(values) if values else None) for name, values in runs.items()),
        "runs": runs,
    }


def cpu_count():
    if multiprocessing is not None:
        return multiprocessing.cpu_count()
    try:  # Jython: ask the JVM
        from java.lang import Runtime
        return Runtime.getRuntime().availableProcessors()
    except Exception:
        return None


def parse_args(argv):
    try:
        count = int(argv[0])
        repeats = int(argv[1]) if len(argv) > 1 else 3
    except (IndexError, ValueError):
        count = repeats = 0
    if count < 2 or repeats < 1 or len(argv) > 2:
        print("usage: countdown_probe.py COUNT [REPEATS]  (COUNT >= 2, REPEATS >= 1)", file=sys.stderr)
        sys.exit(2)
    return count, repeats


def main(argv):
    count, repeats = parse_args(argv)
    count = calibrate(count)
    runs, startup = measure(count, repeats)
    print(json.dumps(report(count, repeats, runs, startup), sort_keys=True))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
