"""track_time_ratio: the lower-is-better twin of track_speedup that asv's regression detection reads,
taken from the pairs track_speedup recorded in the same asv session, never measured again."""
import math

import pytest

from benchmarks import bench_cpu, common
from gilcore import cellstore
from gilcore.runner import Pair, Result

from .conftest import as_if_under_asv

SESSION = "asv-1-2-virtualenv-py3.13t"


@pytest.fixture
def asv_env(tmp_path, monkeypatch):
    as_if_under_asv(monkeypatch, tmp_path, "virtualenv-py3.13t")
    monkeypatch.setattr(common, "this_run", lambda: {"id": "later", "session": SESSION})


def _recorded(ratio, limit=4.0, session=SESSION, params=("threads", "2")):
    pairs = [Pair(serial=ratio * (1 + d), parallel=1.0, serial_first=i % 2 == 0)
             for i, d in enumerate((-0.01, 0.0, 0.01, 0.005))]
    result = Result("countdown", "threads", "py", 2, 1000, 0, 0, [1.0] * 4, [ratio] * 4, pairs=pairs,
                    limit=limit, run={"id": "speedup-run", "session": session})
    cellstore.record("benchmarks.bench_cpu.Countdown.track_speedup", list(params), result)
    return result


def test_the_time_ratio_is_the_inverse_of_the_recorded_speedup(asv_env):
    result = _recorded(2.0)
    ratio = bench_cpu.Countdown().track_time_ratio("threads", 2)
    assert ratio == pytest.approx(1 / result.plain_speedup) and ratio == pytest.approx(0.5, rel=0.02)


def test_the_last_cell_of_the_session_counts(asv_env):
    _recorded(2.0)
    _recorded(1.25)
    _recorded(3.0, params=("threads", "4"))  # another cell
    assert bench_cpu.Countdown().track_time_ratio("threads", 2) == pytest.approx(0.8, rel=0.02)


def test_a_flagged_speedup_gives_nan(asv_env):
    _recorded(2.0, limit=1.5)  # beyond what 2 workers can give here
    assert math.isnan(bench_cpu.Countdown().track_time_ratio("threads", 2))


def test_without_this_sessions_speedup_the_pairs_are_measured_here(asv_env, monkeypatch):
    _recorded(2.0, session="another asv run")  # not this session's: never used
    measured = _recorded(3.0, session="another asv run", params=("threads", "9"))  # a Result to hand back
    bench = bench_cpu.Countdown()
    bench.cell = object()
    monkeypatch.setattr(common.gilcore, "measure_cell", lambda cell, **limits: measured)
    assert bench.track_time_ratio("threads", 2) == pytest.approx(1 / 3, rel=0.02)
