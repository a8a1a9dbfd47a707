"""Kernels that go wrong on purpose, and workloads wrapping them, for tests/test_faults.py.

Every kernel is module-level, so a worker process or a subinterpreter can
import it by name (``tests.faults``). Each workload has a closed-form checksum:
the reference value is never computed by running a faulty kernel in the test
process itself.
"""
from __future__ import annotations

import functools
import os
import signal
import time
from typing import List

from gilcore.workloads import Chunk, Workload, even_counts

MESSAGE = "gilcore-fault: the kernel raised on purpose"

# A hung kernel polls for its release file and gives up after this long by
# itself, so a broken strategy can never block the test session for ever.
HANG_SECONDS = 120.0


def raise_value_error(n: int) -> int:
    raise ValueError(f"{MESSAGE} (chunk of {n})")


async def raise_value_error_async(n: int) -> int:
    raise ValueError(f"{MESSAGE} (chunk of {n})")


def sigkill_self(n: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # never reached: SIGKILL cannot be caught
    return n


def segfault(n: int) -> int:
    import ctypes
    import faulthandler

    faulthandler.disable()  # pytest's handler, inherited by forked workers, would print every stack
    ctypes.string_at(0)  # reads address 0: SIGSEGV
    return n


def hang(release: str) -> int:
    """Does nothing until ``release`` exists: a worker that stopped answering.

    A process running it must be killed by the strategy; a thread or a
    subinterpreter cannot be, so the test creates ``release`` to let it end.
    """
    deadline = time.monotonic() + HANG_SECONDS
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.01)
    return 1


async def hang_async(release: str) -> int:
    import asyncio

    deadline = time.monotonic() + HANG_SECONDS
    while not os.path.exists(release) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return 1


def hang_or_raise(release: str, index: int) -> int:
    """Chunk 0 raises, the others hang: an error while a chunk that cannot be stopped runs on."""
    if index == 0:
        raise_value_error(index)
    return hang(release)


def sleep_in_worker_processes(n: int) -> int:
    """Returns at once in the process that started the run, after HANG_SECONDS in a worker process:
    the serial baseline is instant, and the workers are busy when the test interrupts the run."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        time.sleep(HANG_SECONDS)
    return n


def _fault(name: str, python, asynchronous=None) -> Workload:
    kernels = {"python": python}
    if asynchronous is not None:
        kernels["async"] = asynchronous
    return Workload(name=f"fault-{name}", description=f"a kernel that {name}s", kernels=kernels,
                    split=even_counts, default_size=2, checksum=lambda size: size)


RAISES = _fault("raise", raise_value_error, raise_value_error_async)
SIGKILL = _fault("sigkill", sigkill_self)
SEGFAULT = _fault("segfault", segfault)


def _release_chunks(release: str, size: int, parts: int) -> List[Chunk]:
    return [(release,) for _ in range(parts)]


def hang_workload(release: str) -> Workload:
    """Every worker hangs until ``release`` exists (each chunk counts 1)."""
    return Workload(name="fault-hang", description="a kernel that never answers",
                    kernels={"python": hang, "async": hang_async},
                    split=functools.partial(_release_chunks, release), default_size=2,
                    checksum=lambda size: size)


BUSY_WORKERS = Workload(name="busy-workers", description="instant serially, long in a worker process",
                        kernels={"python": sleep_in_worker_processes}, split=even_counts, default_size=2,
                        checksum=lambda size: size)


def _numpy_went_missing() -> None:
    raise ModuleNotFoundError("No module named 'numpy'", name="numpy")


# A package that goes missing only when the cell runs (a kernel's lazy import): unavailable, not a failure.
IMPORT_FAILS_WHEN_RUN = Workload(name="import-fails-when-run", description="its preparation imports a missing package",
                                 kernels={"python": functools.partial(time.sleep, 0)}, split=even_counts,
                                 default_size=2, checksum=lambda size: size, prepare=_numpy_went_missing)
