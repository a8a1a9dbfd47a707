"""What a strategy costs per task: gilcore's session next to the stdlib primitive it wraps.

Both sides run the same N no-op tasks on one warm worker (pool started, one
round already done), in the same process, interleaved; each figure is the
median wall time per task in microseconds. One worker, because the question is
what handing one task over and getting its result back costs, not how W
workers overlap. The raw primitives are what a user would write by hand:
``ThreadPoolExecutor.map``, ``multiprocessing.Pool.map(chunksize=1)`` per start
method, ``ProcessPoolExecutor.map``, ``InterpreterPoolExecutor.map``, and for
subinterpreters one ``exec``/``run_string`` of a one-line script calling the
kernel on a pre-created interpreter (no result comes back that way, so
gilcore's figure there includes returning it).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import gc
import multiprocessing
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from gilcore.runner import Cell, resolve_strategy
from gilcore.strategies import children
from gilcore.strategies.subinterpreters import Backend
from gilcore.workloads import Chunk, Workload

DEFAULT_TASKS = 2_000
STRATEGIES = ["threads", "pool-fork", "pool-spawn", "pool-forkserver", "process-executor",
              "subinterpreters", "interpreter-pool"]


def noop(n: int) -> int:
    """The tiny task: nothing but the hand-over and the result."""
    return n


def one_unit_chunks(size: int, parts: int) -> List[Chunk]:
    """``size`` chunks of one unit each, whatever the worker count: many tiny tasks."""
    return [(1,)] * size


TINY_TASKS = Workload(
    name="tiny-tasks",
    description="no-op tasks, one per unit of size: what a strategy costs per task",
    kernels={"python": noop},
    split=one_unit_chunks,
    default_size=10_000,
    checksum=lambda size: size,
)


class _Raw:
    """One stdlib primitive, started and warmed; ``run`` maps noop over the items."""

    def run(self, items: List[int]) -> List[Any]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _RawExecutor(_Raw):
    def __init__(self, make: Callable[[], cf.Executor]) -> None:
        self.executor: Optional[cf.Executor] = make()
        self.run([1, 1])  # executors start their workers on first use

    def run(self, items: List[int]) -> List[Any]:
        return list(self.executor.map(noop, items))  # type: ignore[union-attr]

    def close(self) -> None:
        executor, self.executor = self.executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class _RawPool(_Raw):
    def __init__(self, method: str) -> None:
        self.pool: Any = multiprocessing.get_context(method).Pool(1)
        self.run([1, 1])

    def run(self, items: List[int]) -> List[Any]:
        return self.pool.map(noop, items, chunksize=1)

    def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.close()
            pool.join()


_RAW_SETUP = """\
import sys as _sys
_sys.path[:] = _path.split("\\0")
from gilcore.overhead import noop as _noop
"""


class _RawInterpreter(_Raw):
    def __init__(self) -> None:
        self.backend = Backend()
        self.interp: Any = self.backend.create()
        try:
            self.backend.run(self.interp, _RAW_SETUP, {"_path": "\0".join(sys.path)})
        except BaseException:
            self.close()
            raise

    def run(self, items: List[int]) -> List[Any]:
        for item in items:
            self.backend.run(self.interp, "_noop(_n)", {"_n": item})
        return items

    def close(self) -> None:
        interp, self.interp = self.interp, None
        if interp is not None:
            self.backend.destroy(interp)


def _raw(strategy: str) -> _Raw:
    if strategy == "threads":
        return _RawExecutor(lambda: cf.ThreadPoolExecutor(1))
    if strategy.startswith("pool-"):
        return _RawPool(strategy[len("pool-"):])
    if strategy == "process-executor":
        return _RawExecutor(lambda: cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context()))
    if strategy == "interpreter-pool":
        return _RawExecutor(lambda: cf.InterpreterPoolExecutor(1))  # type: ignore[attr-defined]
    if strategy == "subinterpreters":
        return _RawInterpreter()
    raise ValueError(f"no raw stdlib primitive for {strategy!r}; choose from {', '.join(STRATEGIES)}")


def _seconds(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def per_task_us(strategy: str, tasks: int = DEFAULT_TASKS, repeats: int = 5) -> Dict[str, float]:
    """Median µs per no-op task: gilcore's warm session, the raw primitive, and their ratio.

    Raises gilcore.NotApplicable when the strategy cannot run here.
    """
    cell = Cell(TINY_TASKS, resolve_strategy(strategy), 1, tasks)  # validates, raises NotApplicable
    items = [1] * tasks
    ours: List[float] = []
    theirs: List[float] = []
    helpers = children.register_helpers()
    raw: Optional[_Raw] = None
    try:
        raw = _raw(strategy)
        with cell:
            cell.run_once()  # warm: the first round pays for lazy imports and caches
            raw.run(items)
            for _ in range(repeats):
                ours.append(_seconds(cell.run_once))
                theirs.append(_seconds(lambda: raw.run(items)))  # type: ignore[union-attr]
    finally:
        if raw is not None:
            raw.close()
        del raw
        gc.collect()  # the raw pool's semaphores go before the helpers that track them
        children.release_helpers(helpers)
    gilcore_us = statistics.median(ours) / tasks * 1e6
    stdlib_us = statistics.median(theirs) / tasks * 1e6
    return {"gilcore_us": gilcore_us, "stdlib_us": stdlib_us, "ratio": gilcore_us / stdlib_us}


def main() -> None:  # python -m gilcore.overhead [strategy ...]
    from gilcore.runner import NotApplicable

    print(f"{'strategy':<18} {'gilcore µs':>11} {'stdlib µs':>10} {'ratio':>7}   ({DEFAULT_TASKS} no-op tasks, 1 worker)")
    for strategy in sys.argv[1:] or STRATEGIES:
        try:
            figures = per_task_us(strategy)
        except NotApplicable as reason:
            print(f"{strategy:<18} n/a: {reason}")
            continue
        print(f"{strategy:<18} {figures['gilcore_us']:>11.1f} {figures['stdlib_us']:>10.1f} "
              f"{figures['ratio']:>6.2f}x")


if __name__ == "__main__":
    from gilcore.overhead import main as _main  # this module by its name, so workers can import noop

    with contextlib.suppress(KeyboardInterrupt):
        _main()
