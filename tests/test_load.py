"""Load: 64 workers, and 10,000 tiny tasks, for the process and subinterpreter strategies.

Each finishes with the right checksum and leaves nothing behind. About 20 s
on 2 cores (64 spawned interpreters are most of it).
"""
import pytest

import gilcore
from gilcore.overhead import TINY_TASKS

from .conftest import available_strategies

pytestmark = pytest.mark.slow

STRATEGIES = ["pool-fork", "pool-spawn", "pool-forkserver", "process-executor", "subinterpreters",
              "interpreter-pool"]
MANY_WORKERS = 64
TINY_TASK_COUNT = 10_000


@pytest.mark.parametrize("strategy", available_strategies("load-test strategies", STRATEGIES))
def test_64_workers(strategy, no_leaks):
    size = MANY_WORKERS * 1_000
    with gilcore.Cell("countdown", strategy, MANY_WORKERS, size, timeout=120) as cell:
        if strategy.startswith(("pool-", "process-")):
            assert len(set(cell.worker_pids())) == MANY_WORKERS
        cell.run_once()  # checks the value against the checksum
        assert cell.value == size
        assert len(cell.chunks) == MANY_WORKERS


@pytest.mark.parametrize("strategy", available_strategies("load-test strategies", STRATEGIES))
def test_10000_tiny_tasks(strategy, no_leaks):
    result = gilcore.run(TINY_TASKS, strategy, 2, TINY_TASK_COUNT, timeout=120)
    assert result.value == result.expected == TINY_TASK_COUNT
    assert len(TINY_TASKS.chunks(TINY_TASK_COUNT, 2)) == TINY_TASK_COUNT
