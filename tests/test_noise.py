"""The noise meter and the ratio statistics: fixed bounds, sound arithmetic, adaptive repeats."""
import math

import pytest

import gilcore
from gilcore import capacity, noise, ratios, runner


@pytest.fixture
def full_capacity(monkeypatch):
    """The capacity probe reads every core: these tests are about the load meter, on a shared machine."""
    monkeypatch.setattr(capacity.CapacityProbe, "measure", lambda self: float(self.processes))


def test_bounds_are_pinned():
    assert noise.MAX_STEAL == 0.15 and noise.MAX_OTHER_LOAD == 0.30
    assert noise.MAX_AA_BIAS == 0.05 and noise.MAX_AA_SPREAD == 0.15
    assert ratios.TARGET_HALF_WIDTH == 0.05 and ratios.MIN_VALUES == 3


def test_geometric_mean_and_interval():
    assert ratios.geometric_mean([2.0, 0.5]) == pytest.approx(1.0)
    low, high = ratios.interval([1.9, 2.0, 2.1])
    assert low < ratios.geometric_mean([1.9, 2.0, 2.1]) < high
    assert ratios.interval([2.0]) is None
    assert ratios.tight_enough([2.0, 2.0, 2.0], 3) and not ratios.tight_enough([1.0, 2.0, 1.5], 3)


def test_physical_limit():
    assert ratios.physical_limit(2, 2, io_bound=False) == pytest.approx(2.1)
    assert ratios.physical_limit(4, 2, io_bound=False) == pytest.approx(2.1)  # 4 workers, 2 cores
    assert ratios.physical_limit(4, 2, io_bound=True) == pytest.approx(4.2)  # waiting overlaps


def test_load_meter_sees_another_process_busy():
    import subprocess
    import sys

    busy = subprocess.Popen([sys.executable, "-c", "import time\nt=time.time()\nwhile time.time()-t<3: pass"])
    try:
        import time
        time.sleep(0.3)
        with noise.LoadMeter() as meter:
            time.sleep(0.5)
    finally:
        busy.kill()
        busy.wait()
    # the busy loop is a child of ours, so it is *our* load; what counts is that the meter reads /proc
    assert meter.load.steal is not None and meter.load.seconds >= 0.5


def test_load_outside_the_run_drops_a_pair(monkeypatch):
    loaded = noise.Load(seconds=1.0, steal=0.0, other_load=1.0)
    assert not loaded.quiet
    assert noise.Load(seconds=1.0, steal=0.3, other_load=0.0).quiet is False
    assert noise.Load(seconds=0.01, steal=0.9, other_load=2.0).quiet  # too short to judge


def test_pairs_under_load_are_measured_again(monkeypatch, full_capacity):
    loads = iter([noise.Load(1.0, 0.5, 0.0)] * 2 + [noise.Load(1.0, 0.0, 0.0)] * 20)

    class FakeMeter:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.load = next(loads)

    monkeypatch.setattr(noise, "LoadMeter", FakeMeter)
    result = gilcore.measure("countdown", "threads", 2, 20_000, repeats=3, max_repeats=3)
    assert result.remeasured == 2 and len(result.kept_ratios) == 3 and len(result.pairs) == 5
    # the meter's flag on the loaded pairs; a tiny real pair may also read above the limit (flagged, kept)
    assert all("under-load" in p.flags for p in result.pairs[:2])
    assert not any("under-load" in p.flags for p in result.pairs[2:])
    assert not result.noisy


def test_always_loaded_marks_the_cell_noisy(monkeypatch, full_capacity):
    class LoadedMeter:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.load = noise.Load(1.0, 0.5, 2.0)

    monkeypatch.setattr(noise, "LoadMeter", LoadedMeter)
    result = gilcore.measure("countdown", "threads", 2, 20_000, repeats=3, max_repeats=3)
    assert result.noisy and len(result.pairs) == 3 + runner.EXTRA_PAIRS
    assert result.to_dict()["noisy"] is True
    assert math.isnan(result.plain_speedup)  # asv's graph gets no plain number for it


def test_over_limit_is_flagged_and_never_measured_again():
    result = runner.Result("w", "s", "python", 2, 1, 0, 0, [1.0], pairs=[runner.Pair(2.5, 1.0, True)] * 3,
                           limit=2.1)
    assert result.over_limit and result.speedup == pytest.approx(2.5)
    assert result.to_dict()["flags"][0] == "over limit" and result.remeasured == 0
    assert math.isnan(result.plain_speedup)
    quiet = runner.Result("w", "s", "python", 2, 1, 0, 0, [1.0], pairs=[runner.Pair(1.9, 1.0, True)] * 3, limit=2.1)
    assert quiet.plain_speedup == pytest.approx(1.9)


def test_a_pair_over_the_limit_is_kept_like_a_low_one(full_capacity, monkeypatch):
    """One rule for both tails: the limit flags a pair, it does not replace it by another."""
    times = iter([0.1] + [0.1, 0.01] + [0.1, 0.1] * 20)  # the serial warm-up; a pair at x10 (S P); then x1

    monkeypatch.setattr(runner.Cell, "run_once", lambda self: (setattr(self, "warm", True), next(times))[1])
    cell = runner.Cell("countdown", "threads", 2, 20_000)
    cell.warm = True
    with cell:
        result = runner.measure_cell(cell, repeats=3, max_repeats=3)
    assert len(result.pairs) == 3 and result.pairs[0].flags == ["over-limit"]
    assert result.remeasured == 0 and len(result.kept_ratios) == 3


def test_worker_counts_follow_the_machine():
    assert gilcore.worker_counts(2) == [1, 2]
    assert gilcore.worker_counts(16) == [1, 2, 4, 8, 16]
    assert gilcore.worker_counts(6) == [1, 2, 4, 6]
    assert gilcore.worker_counts(1) == [1]


def test_aa_control_is_near_one():
    control = noise.aa_control(pairs=4, size=200_000)
    assert len(control.ratios) == 4 and all(r > 0 for r in control.ratios)
    assert math.isfinite(control.ratio) and control.spread >= 0
    assert "A/A control" in control.describe()
