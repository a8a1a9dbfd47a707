"""results/benchmarks.json lists exactly the benchmarks in benchmarks/ (asv publish shows no others)."""
import json
import os

import pytest

from gilcore.publish.benchmarks_json import differences, discover

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_differences_names_what_is_stale():
    old = {"a.A.time_x": {"param_names": ["w"], "params": [["1"]]}, "gone.B.time_y": {}, "version": 2}
    new = {"a.A.time_x": {"param_names": ["w"], "params": [["1", "2"]]}, "c.C.track_z": {}, "version": 2}
    assert differences(old, new) == ["missing: c.C.track_z", "no longer in benchmarks/: gone.B.time_y",
                                     "params changed: a.A.time_x: [['1']] -> [['1', '2']]"]
    assert differences(new, new) == []


def test_differences_names_a_changed_version_hash():
    """asv files results under a benchmark's version (its code's hash): a change must show."""
    old = {"a.A.time_x": {"version": "1" * 64}, "bench_interpreters.C.track_y": {"version": "a" * 64}}
    new = {"a.A.time_x": {"version": "2" * 64}, "bench_interpreters.C.track_y": {"version": "b" * 64}}
    assert differences(old, new) == [f"version changed: a.A.time_x: {'1' * 64} -> {'2' * 64}",
                                     f"version changed: bench_interpreters.C.track_y: {'a' * 64} -> {'b' * 64}"]


def test_results_benchmarks_json_matches_the_benchmarks():
    pytest.importorskip("asv")
    current = discover(os.path.join(ROOT, "asv.conf.json"))
    with open(os.path.join(ROOT, "results", "benchmarks.json")) as handle:
        stored = json.load(handle)
    stale = differences(stored, current)
    assert not stale, (f"results/benchmarks.json is stale ({len(stale)}: {stale[:3]}); "
                       "refresh it with: .venv/bin/python -m gilcore.benchmarks_json")
