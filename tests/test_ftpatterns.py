"""The free-threading patterns: every one, strong and weak, gives its analytic checksum."""
import json
import subprocess
import sys
import types

import pytest

import gilcore
from gilcore import ftpatterns
from gilcore.ftpatterns import PATTERNS

SIZE = 3_001  # odd, so a split over 3 threads is uneven
NAMES = [f"ft-{pattern}{suffix}" for pattern in PATTERNS for suffix in ("", "-weak")]


def test_every_pattern_is_registered_twice():
    assert len(PATTERNS) == len(set(PATTERNS)) >= 9
    for pattern in PATTERNS:
        strong, weak = gilcore.WORKLOADS[f"ft-{pattern}"], gilcore.WORKLOADS[f"ft-{pattern}-weak"]
        assert (strong.weak_scaling, weak.weak_scaling) == (False, True)
        for workload in (strong, weak):
            assert workload.kind == "ft-pattern"
            assert workload.only_strategies == ("serial", "threads")
            assert gilcore.applicability(workload, gilcore.STRATEGIES["pool-fork"])  # processes share nothing


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("strategy", ["serial", "threads"])
@pytest.mark.parametrize("name", NAMES)
def test_pattern_gives_its_checksum(name, strategy, workers, no_leaks):
    result = gilcore.run(name, strategy, workers, SIZE)
    done = SIZE * workers if name.endswith("-weak") else SIZE
    assert result.value == result.expected == done
    assert result.gil_enabled == gilcore.gil_enabled()


def _constants(code):
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _constants(const)
        else:
            yield const


@pytest.mark.parametrize("pattern", PATTERNS)
def test_kernel_constants_are_immortal_everywhere(pattern):
    # A large int, float or tuple literal is one more object every thread shares
    # on free-threaded 3.13 (see the note in gilcore.ftpatterns): keep them out.
    kernel = gilcore.WORKLOADS[f"ft-{pattern}"].kernels["python"]
    for const in _constants(kernel.__code__):
        small_int = type(const) is int and -5 <= const <= 256
        assert const is None or type(const) in (bool, str) or small_int, f"{pattern}: constant {const!r}"


def test_shared_list_is_left_empty(no_leaks):
    gilcore.run("ft-shared-list-weak", "threads", 3, SIZE)
    assert ftpatterns.SHARED_LIST == []


def test_locked_counter_loses_no_increment(no_leaks):
    with gilcore.Cell("ft-locked-counter-weak", "threads", 3, SIZE) as cell:
        before = ftpatterns.SHARED_COUNTER.value
        cell.run_once()  # exactly one pass: 3 threads x SIZE increments
        assert ftpatterns.SHARED_COUNTER.value - before == 3 * SIZE


def test_cli_runs_a_pattern(no_leaks):
    done = subprocess.run([sys.executable, "-m", "gilcore", "--workload", "ft-create-dict", "--strategy", "threads",
                           "--workers", "2", "--size", "1000", "--runs", "1", "--max-runs", "1", "--repeats", "1",
                           "--max-repeats", "1", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (cell,) = json.loads(done.stdout)["cells"]
    assert (cell["workload"], cell["strategy"], cell["workers"]) == ("ft-create-dict", "threads", 2)
    assert cell["value"] == cell["expected"] == 1000
