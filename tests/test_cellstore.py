"""The cell store: one JSON line per cell measured under asv, named by the commit really installed."""
import json

import pytest

from gilcore import cellstore

INSTALLED = "b" * 40
STALE = "a" * 40


@pytest.fixture
def asv_env(tmp_path, monkeypatch):
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    monkeypatch.setenv("ASV_CONF_DIR", str(tmp_path))
    monkeypatch.setenv("ASV_ENV_NAME", "virtualenv-py3.13t-PYTHON_GIL1")
    monkeypatch.setenv("ASV_ENV_DIR", str(env_dir))
    monkeypatch.setenv("ASV_COMMIT", STALE)
    monkeypatch.delenv("GILCORE_CELLS_DIR", raising=False)
    return env_dir


def test_outside_asv_nothing_is_written(tmp_path, monkeypatch):
    for name in ("ASV_CONF_DIR", "ASV_COMMIT", "ASV_ENV_NAME", "ASV_ENV_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    cellstore.record("bench_cpu.Countdown.track_speedup", ["threads", 2], {"ratios": [1.0]})
    assert list(tmp_path.iterdir()) == []


def test_the_installed_commit_names_the_file_not_a_stale_asv_commit(asv_env, tmp_path):
    # asv's env_nobuild variants share one install; their ASV_COMMIT may name the one before.
    (asv_env / "asv-install-status.json").write_text(json.dumps({"commit_hash": INSTALLED, "install_checksum": []}))
    cellstore.record("benchmarks.bench_cpu.Countdown.track_speedup", ["threads", 2], {"ratios": [1.9, 2.0]})
    path = tmp_path / "results" / "cells" / f"{INSTALLED[:8]}-virtualenv-py3.13t-PYTHON_GIL1.jsonl"
    line = json.loads(path.read_text())
    assert line["commit"] == INSTALLED and line["benchmark"] == "bench_cpu.Countdown.track_speedup"
    assert line["params"] == ["threads", "2"] and line["ratios"] == [1.9, 2.0]
    assert [cell["ratios"] for cell in cellstore.load(str(tmp_path / "results"))] == [[1.9, 2.0]]


@pytest.mark.parametrize("status", [None, "not json", json.dumps({"commit_hash": None})])
def test_without_a_readable_install_status_asv_commit_is_used(asv_env, tmp_path, status):
    if status is not None:
        (asv_env / "asv-install-status.json").write_text(status)
    cellstore.record("bench_io.Sleep.track_speedup", ["threads", "2"], {"ratios": [2.0]})
    assert [p.name for p in (tmp_path / "results" / "cells").iterdir()] == [
        f"{STALE[:8]}-virtualenv-py3.13t-PYTHON_GIL1.jsonl"]


def test_a_cut_line_and_other_formats_are_skipped(tmp_path):
    folder = tmp_path / "cells"
    folder.mkdir()
    good = {"format": cellstore.FORMAT, "benchmark": "benchmarks.bench_x.X.track_speedup", "measured_at": 2}
    (folder / "c-env.jsonl").write_text(json.dumps(good) + "\n" + json.dumps({"format": 0, "benchmark": "y"})
                                        + "\n" + '{"format": 1, "bench')
    assert [line["benchmark"] for line in cellstore.load(str(tmp_path))] == ["bench_x.X.track_speedup"]


def test_asv_rounds_are_runs_of_one_session_each_tied_to_its_aa(asv_env, tmp_path):
    """asv starts every benchmark process (each round, and NoiseControl's setup_cache) from one process:
    each is a run of its own, all of one session, whose A/A every cell of the session is tied to."""
    import os
    import subprocess
    import sys

    from gilcore import replication

    aa = ("from gilcore import cellstore\n"
          "cellstore.record_aa('bench_noise.NoiseControl', {'ratio': 1.01, 'spread': 0.04})")
    cell = ("from gilcore import cellstore\n"
            "cellstore.record('bench_cpu.Countdown.track_speedup', ['pool-fork', '2'],"
            " {'limit': 2.1, 'pairs': [{'serial': 1.9, 'parallel': 1.0}, {'serial': 2.0, 'parallel': 1.0}]})")
    for code in (aa, cell, cell, cell):  # setup_cache, then three rounds
        subprocess.run([sys.executable, "-c", code], env=dict(os.environ), check=True)
    records = list(cellstore.load(str(tmp_path / "results")))
    assert len({r["run"]["id"] for r in records}) == 4 and len({r["run"]["session"] for r in records}) == 1
    (runs,) = replication.group_records(records).values()
    assert len(runs) == 3 and all(run.aa_in_bounds is True for run in runs)
    assert replication.estimate_cell(runs, 2.1).evidence == "3x2"
