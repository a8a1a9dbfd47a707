"""Shared fixtures: small sizes for every workload, and a leak check around a test."""
import glob
import os
import signal
import tempfile
import threading
import time

import psutil
import pytest

import gilcore

# A test run started in the background (`cmd &` in a script, nohup) inherits SIGINT ignored, and so would
# every child it starts: the Ctrl-C tests need children that take SIGINT as a terminal delivers it.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Sizes small enough that the whole grid runs in seconds, large enough to split.
SMALL_SIZES = {
    "countdown": 20_000, "primes": 3_000, "numpy-matmul": 6, "sha256": 6, "zlib": 4,
    "sleep": 6, "socket": 6, "file-read": 4,
}
# The free-threading patterns (gilcore.ftpatterns), strong and weak: a few thousand iterations.
SMALL_SIZES.update({f"ft-{pattern}{suffix}": 3_000
                    for pattern in gilcore.ftpatterns.PATTERNS for suffix in ("", "-weak")})


def snapshot():
    return {
        "children": {p.pid for p in psutil.Process().children(recursive=True)},
        "threads": {t.ident for t in threading.enumerate()},
        "temp_files": set(glob.glob(os.path.join(tempfile.gettempdir(), "gilcore-*"))),
        "shm": set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set(),
    }


def leaks(before, timeout=5.0):
    """What exists now that did not before; waits briefly for exiting processes."""
    deadline = time.monotonic() + timeout
    while True:
        after = snapshot()
        extra = {key: after[key] - before[key] for key in before if after[key] - before[key]}
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.05)


@pytest.fixture
def no_leaks():
    """Fails the test if it leaves a child process, thread, temp file or shm segment behind."""
    before = snapshot()
    yield
    assert leaks(before) == {}


def available_cells(workers=2):
    cells = []
    for workload in gilcore.WORKLOADS.values():
        for strategy in gilcore.STRATEGIES.values():
            reason = gilcore.applicability(workload, strategy)
            cells.append(pytest.param(workload.name, strategy.name, workers, id=f"{workload.name}-{strategy.name}",
                                      marks=pytest.mark.skip(reason=reason) if reason else ()))
    return cells
