"""Every available strategy x workload gives the serial checksum and leaves nothing behind."""
import math

import pytest

import gilcore
from gilcore.workloads import WORKLOADS, count_odd_primes, odd_primes_below

from .conftest import SMALL_SIZES, available_cells


@pytest.mark.parametrize("workload, strategy, workers", available_cells(workers=2))
def test_strategy_matches_checksum(workload, strategy, workers, no_leaks):
    result = gilcore.run(workload, strategy, workers, SMALL_SIZES[workload])
    assert result.value == result.expected == WORKLOADS[workload].expected(SMALL_SIZES[workload], workers)
    assert result.seconds > 0
    assert result.gil_enabled == gilcore.gil_enabled()


@pytest.mark.parametrize("workers", [1, 3, 5])
def test_uneven_splits_still_match(workers, no_leaks):
    for name in ("countdown", "primes", "sha256", "sleep"):
        assert gilcore.run(name, "threads", workers, 7 if name != "countdown" else 1001).value == \
            WORKLOADS[name].expected(7 if name != "countdown" else 1001)


def test_prime_kernels_agree_with_sieve():
    assert count_odd_primes(0, 5_000, 1) == odd_primes_below(10_000) == 1228
    from gilcore import _nogil

    assert _nogil.count_odd_primes(0, 5_000, 1) == 1228
    assert sum(_nogil.count_odd_primes_prange([(k, 5_000, 3) for k in range(3)], 2)) == 1228


def test_measure_gives_interleaved_speedup(no_leaks):
    result = gilcore.measure("sleep", "threads", 2, 8, repeats=2, max_repeats=2)
    assert len(result.serial_seconds) == len(result.parallel_seconds) >= 2
    # pairs dropped under load (a busy machine) are measured again, so there may be more than 2
    assert [pair.serial_first for pair in result.pairs] == [i % 2 == 0 for i in range(len(result.pairs))]  # ABBA
    kept = result.ratios  # one run: the Hodges-Lehmann centre of its clean pairs' log ratios
    assert result.speedup == pytest.approx(math.exp(gilcore.ratios.hodges_lehmann([math.log(r) for r in kept])))
    low, high = result.speedup_range
    assert low <= high


def test_wrong_value_is_caught(no_leaks):
    bad = gilcore.Workload(name="bad", description="claims the wrong sum",
                           kernels={"python": gilcore.workloads.countdown},
                           split=gilcore.workloads.even_counts, default_size=10,
                           checksum=lambda size: size + 1)
    with pytest.raises(gilcore.ChecksumError, match="expected 11"):
        gilcore.run(bad, "threads", 2)
