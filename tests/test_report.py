"""The cross-version report reads asv result files and lays Pythons side by side."""
import json
import os
import subprocess
import sys

import pytest

from gilcore import report

COLUMNS = ["result", "params", "version", "started_at", "duration"]


def write_result(folder, commit, python, env_vars, results):
    path = folder / f"{commit[:8]}-virtualenv-py{python}-{'-'.join(f'{k}{v}' for k, v in env_vars.items())}.json"
    path.write_text(json.dumps({
        "commit_hash": commit, "env_name": f"virtualenv-py{python}", "python": python,
        "env_vars": env_vars, "result_columns": COLUMNS, "version": 2,
        "results": {name: [values, params, "v", 0, 1.0] for name, (values, params) in results.items()},
    }))
    return path


@pytest.fixture
def results_dir(tmp_path):
    machine = tmp_path / "results" / "box"
    machine.mkdir(parents=True)
    (machine / "machine.json").write_text("{}")
    countdown = [["'serial'", "'threads'", "'pool-fork'"], ["1", "2"]]
    for commit, shift in (("a" * 40, 0.0), ("b" * 40, 0.1)):
        write_result(machine, commit, "3.12", {}, {
            "bench_cpu.Countdown.track_speedup": ([1.0, None, 1.0, 0.98 + shift, 1.0, 1.9 + shift], countdown),
            "bench_io.Sleep.track_speedup": ([1.0, None, 1.0, 1.99, 1.0, 1.98], countdown),
        })
        write_result(machine, commit, "3.13t", {"PYTHON_GIL": "0"}, {
            "bench_cpu.Countdown.track_speedup": ([1.0, None, 1.0, 1.95 + shift, 1.0, 1.9], countdown),
        })
    return tmp_path / "results"


def test_environments_and_medians(results_dir):
    loaded = report.load(str(results_dir))
    assert loaded.environments == ["3.12", "3.13t GIL off"]
    assert loaded.commits == 2
    values = loaded.series[("bench_cpu.Countdown.track_speedup", ("threads", "2"))]
    assert sorted(values["3.12"]) == pytest.approx([0.98, 1.08])
    assert sorted(values["3.13t GIL off"]) == pytest.approx([1.95, 2.05])


def test_report_files_and_claims(results_dir, tmp_path):
    out = tmp_path / "out"
    assert report.main(["--results", str(results_dir), "--out", str(out)]) == 0
    text = (out / "gilcore-report.md").read_text()
    assert "| Countdown · threads | x1.03 (0.98–1.08) | x2.00 (1.95–2.05) |" in text
    # The article's claim on threads: confirmed on 3.12, refuted on free-threaded 3.13t.
    claim = next(line for line in text.splitlines() if line.startswith("| \"When using threads"))
    assert "x1.03 ✓" in claim and "x2.00 ✗" in claim and "depends on the Python" in claim
    assert (out / "gilcore-report.html").read_text().startswith("<!doctype html>")
    assert (out / "speedups.svg").read_text().lstrip().startswith("<?xml")


def test_corrupt_file_is_named_and_the_rest_reported(results_dir, tmp_path):
    bad = results_dir / "box" / "cccccccc-virtualenv-py3.11.json"
    bad.write_text("{ not json")
    done = subprocess.run([sys.executable, "-m", "gilcore", "report", "--results", str(results_dir),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0
    assert str(bad) in done.stderr
    assert "3.12" in (tmp_path / "out" / "gilcore-report.md").read_text()


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_no_results_exits_2_and_writes_nothing(tmp_path, make):
    results = tmp_path / "results"
    if make == "empty":
        results.mkdir()
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "gilcore", "report", "--results", str(results),
                           "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and str(results) in done.stderr
    assert not os.path.exists(out)
