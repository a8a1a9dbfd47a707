"""The cross-version report reads asv result files and lays Pythons side by side."""
import json
import os
import subprocess
import sys

import pytest

from gilcore.publish import report, results

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


def test_report_files_without_pairs_mark_thin_cells(results_dir, tmp_path):
    out = tmp_path / "out"
    assert report.main(["--results", str(results_dir), "--out", str(out)]) == 0
    text = (out / "gilcore-report.md").read_text()
    # Only asv's one value per commit: 2 values, a thin cell that decides no claim.
    row = next(line for line in text.splitlines() if line.startswith("| Countdown · threads |"))
    assert "n=2 thin" in row
    claim = next(line for line in text.splitlines() if line.startswith("| \"When using threads"))
    assert "✓" not in claim and "✗" not in claim and "?" in claim
    assert (out / "gilcore-report.html").read_text().startswith("<!doctype html>")
    assert (out / "speedups.svg").read_text().lstrip().startswith("<?xml")


def write_cells(results_dir, commit, env, benchmark, params, pairs, **extra):
    folder = results_dir / "cells"
    folder.mkdir(exist_ok=True)
    line = {"format": 1, "benchmark": benchmark, "params": list(params), "commit": commit, "env": env,
            "measured_at": 0, "limit": 2.1, "noisy": False, "remeasured": 0,
            "pairs": [{"serial": s, "parallel": p, **({} if quiet else {"steal": 0.5, "other_load": 0.0})}
                      for s, p, quiet in pairs], **extra}
    with open(folder / f"{commit[:8]}-{env}.jsonl", "a") as handle:
        handle.write(json.dumps(line) + "\n")


def test_cells_pool_pairs_over_commits_and_claims_follow_the_rules(results_dir, tmp_path):
    bench = "bench_cpu.Countdown.track_speedup"
    for commit in ("a" * 40, "b" * 40):
        write_cells(results_dir, commit, "virtualenv-py3.12", bench, ("threads", "2"),
                    [(1.0, 1.05, True), (1.0, 1.04, True), (1.0, 1.06, True), (1.0, 0.4, False)])
        write_cells(results_dir, commit, "virtualenv-py3.13t-PYTHON_GIL0", bench, ("threads", "2"),
                    [(2.0, 1.02, True), (2.0, 1.03, True), (2.0, 1.01, True)])
        # as the benchmark records it: asv imports benchmarks/ as a package
        write_cells(results_dir, commit, "virtualenv-py3.13t-PYTHON_GIL0", "benchmarks." + bench, ("pool-fork", "2"),
                    [(2.5, 1.0, True), (2.4, 1.0, True), (2.6, 1.0, True)])
    loaded = report.load(str(results_dir))
    threads = loaded.summary(bench, ("threads", "2"), "3.12")
    assert threads.n == 6 and threads.commits == 2  # the pair measured under load is not in it
    assert threads.estimate == pytest.approx(1 / 1.05, rel=0.01)
    out = tmp_path / "out"
    assert report.main(["--results", str(results_dir), "--out", str(out)]) == 0
    text = (out / "gilcore-report.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| Countdown · threads |"))
    assert "x0.95 [" in row and "n=6" in row
    pool = next(line for line in text.splitlines() if line.startswith("| Countdown · pool-fork |"))
    assert "over limit" in pool and "x2.50 [" not in pool  # never a plain number
    claim = next(line for line in text.splitlines() if line.startswith("| \"When using threads"))
    assert "x0.95 ✓" in claim and "x1.96 ✗" in claim and "depends on the Python" in claim
    assert "decided on 2 of 2 Pythons, 12 pairs" in claim
    assert (out / "scaling.svg").exists() or "matplotlib" not in sys.modules


def test_a_run_without_a_clean_pair_is_left_out_where_other_runs_have_clean_ones(results_dir):
    bench = "bench_cpu.Countdown.track_speedup"
    # pool-fork: a quiet commit and one measured wholly under load; threads: only the loaded one.
    write_cells(results_dir, "a" * 40, "virtualenv-py3.12", bench, ("pool-fork", "2"),
                [(1.9, 1.0, True), (1.9, 1.0, True), (1.9, 1.0, True)])
    write_cells(results_dir, "b" * 40, "virtualenv-py3.12", bench, ("pool-fork", "2"),
                [(1.1, 1.0, False), (1.2, 1.0, False)])
    write_cells(results_dir, "b" * 40, "virtualenv-py3.12", bench, ("threads", "2"),
                [(0.9, 1.0, False), (1.0, 1.0, False)])
    loaded = report.load(str(results_dir))
    pool = loaded.summary(bench, ("pool-fork", "2"), "3.12")
    assert pool.n == 3 and pool.commits == 1 and not pool.noisy
    assert pool.estimate == pytest.approx(1.9)
    threads = loaded.summary(bench, ("threads", "2"), "3.12")
    assert threads.n == 2 and threads.noisy


def test_results_of_an_older_benchmark_version_are_left_out(results_dir):
    (results_dir / "benchmarks.json").write_text(json.dumps(
        {"bench_cpu.Countdown.track_speedup": {"version": "new"}, "version": 2}))
    loaded = report.load(str(results_dir))
    assert ("bench_cpu.Countdown.track_speedup", ("threads", "2")) not in loaded.series
    assert ("bench_io.Sleep.track_speedup", ("threads", "2")) in loaded.series
    assert loaded.superseded == 4  # 2 commits x 2 environments


def test_environment_labels():
    assert results.label_from_env_name("virtualenv-py3.13t-PYTHON_GIL0") == "3.13t GIL off"
    assert results.label_from_env_name("virtualenv-py3.14t-PYTHON_GIL1") == "3.14t GIL on"
    assert results.label_from_env_name("virtualenv-py3.14t") == "3.14t default"
    assert results.label_from_env_name("virtualenv-py3.12") == "3.12"
    assert results.environment_label({"python": "3.13t", "env_vars": {}}) == "3.13t default"


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


def test_gil_section_shows_every_runs_absolute_latency_and_applies_the_gil_rules(tmp_path):
    machine = tmp_path / "results" / "box"
    machine.mkdir(parents=True)
    convoy = [["'socket-process'", "'event'"], ["'idle'", "'1 thread'"]]
    switching = [["0.5", "5.0"]]
    quiet = {"bench_noise.NoiseControl.track_aa_ratio": ([1.0], []),
             "bench_noise.NoiseControl.track_aa_spread_percent": ([5.0], []),
             "bench_noise.NoiseControl.track_steal_percent": ([0.0], []),
             "bench_noise.NoiseControl.track_other_load_cores": ([0.1], [])}
    # per run of 3.12: the idle p99s (socket, event) and the 1-thread p99s; the event's idle doubles
    for commit, idle, busy in (("a" * 40, (0.05, 0.05), (21.0, 0.2)), ("b" * 40, (0.06, 0.10), (22.0, 2.5))):
        write_result(machine, commit, "3.12", {}, {
            **quiet,
            "bench_gil_behaviour.Convoy.track_p99": ([idle[0], busy[0], idle[1], busy[1]], convoy),
            "bench_gil_behaviour.Convoy.track_p50": ([0.03, 15.0, 0.03, 0.1], convoy),
            "bench_gil_behaviour.Convoy.track_p99_over_idle": (
                [1.0, busy[0] / idle[0], 1.0, busy[1] / idle[1]], convoy),
            "bench_gil_behaviour.SwitchInterval.track_switches_per_second": ([1500.0, 180.0], switching),
            "bench_gil_behaviour.ConvoyOtherPythons.track_p99_over_idle": (
                [1.5, 2.5], [["'cpython-2.7.18'"], ["'socket-process'", "'event'"]]),
            "bench_gil_behaviour.ConvoyOtherPythons.track_p99": (
                [0.3, 0.5], [["'cpython-2.7.18'"], ["'socket-process'", "'event'"]]),
        })
    # a loaded run of 3.12 (its A/A strayed): left out by the rule, whatever its commit
    write_result(machine, "c" * 40, "3.12", {}, {
        **quiet, "bench_noise.NoiseControl.track_aa_spread_percent": ([28.0], []),
        "bench_gil_behaviour.Convoy.track_p99": ([0.5, 90.0, 0.5, 90.0], convoy),
    })
    for commit in ("a" * 40, "b" * 40):
        write_result(machine, commit, "3.13t", {"PYTHON_GIL": "0"}, {
            "bench_gil_behaviour.SwitchInterval.track_switches_per_second": ([1.7e6, 1.4e6], switching),
        })
    out = tmp_path / "out"
    assert report.main(["--results", str(tmp_path / "results"), "--out", str(out)]) == 0
    lines = (out / "gilcore-report.md").read_text().splitlines()
    assert "## The GIL itself, per Python" in lines
    row = {line.split(" | ")[0]: line for line in lines if line.startswith("| convoy")}
    # stable idle p99 (0.05, 0.06): the ratio over it is printed; absolute values always
    assert row["| convoy: I/O latency (ms), socket to a process, 1 thread"] == (
        "| convoy: I/O latency (ms), socket to a process, 1 thread | p50 15.00 · 15.00, n=2; "
        "p99 21.00 · 22.00, n=2; x393.3 over idle | — |")
    # the event's idle p99 doubled between runs and its 1-thread p99 is bimodal: no ratio
    assert row["| convoy: I/O latency (ms), Event wake-up, 1 thread"] == (
        "| convoy: I/O latency (ms), Event wake-up, 1 thread | p50 0.10 · 0.10, n=2; "
        "p99 0.20 · 2.50 bimodal, n=2 | — |")
    assert "| switching: GIL hand-overs per second, 5 ms interval | 180 · 180, n=2 | no GIL |" in lines
    assert any(line.startswith("Left out as loaded") and "3.12 at ccccccc" in line for line in lines)
    assert "| cpython-2.7.18 | p99 0.30 · 0.30, n=2; x1.5 over idle | p99 0.50 · 0.50, n=2; x2.5 over idle |" in lines
    assert any(line.startswith("- loaded-run (run, exclude): 1 ") for line in lines)
    assert any(line.startswith("- bimodal (cell, flag): 1 ") for line in lines)


def test_no_gil_probe_results_no_gil_section(results_dir, tmp_path):
    out = tmp_path / "out"
    assert report.main(["--results", str(results_dir), "--out", str(out)]) == 0
    assert "The GIL itself" not in (out / "gilcore-report.md").read_text()


@pytest.mark.slow
def test_every_published_number_is_recomputed_from_the_committed_results():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([os.path.join(root, "scripts", "recompute")], capture_output=True, text=True,
                          env=dict(os.environ, PYTHON=sys.executable), timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_the_aa_row_shows_the_runs_behind_the_cells_and_their_cells_decide_nothing_out_of_bounds(tmp_path):
    machine = tmp_path / "results" / "box"
    machine.mkdir(parents=True)
    bench = "bench_cpu.Countdown.track_speedup"
    controls = {"a" * 40: (1.0, 12.0), "b" * 40: (1.0, 28.0)}  # the newest, by hash order, is out of bounds
    for commit, (ratio, spread) in controls.items():
        write_result(machine, commit, "3.12", {}, {"bench_noise.NoiseControl.track_aa_ratio": ([ratio], []),
                                                   "bench_noise.NoiseControl.track_aa_spread_percent": ([spread], [])})
    # threads measured only in the out-of-bounds run; pool-fork in both
    write_cells(tmp_path / "results", "b" * 40, "virtualenv-py3.12", bench, ("threads", "2"),
                [(1.0, 1.05, True), (1.0, 1.04, True), (1.0, 1.06, True)])
    for commit in controls:
        write_cells(tmp_path / "results", commit, "virtualenv-py3.12", bench, ("pool-fork", "2"),
                    [(1.9, 1.0, True), (1.9, 1.0, True), (1.9, 1.0, True)])
    out = tmp_path / "out"
    assert report.main(["--results", str(tmp_path / "results"), "--out", str(out)]) == 0
    lines = (out / "gilcore-report.md").read_text().splitlines()
    aa = next(line for line in lines if line.startswith("| A/A noise"))
    assert "aaaaaaa ±12% (x1.00)" in aa and "bbbbbbb ±28% (x1.00) OUT OF BOUNDS" in aa
    threads = next(line for line in lines if line.startswith("| \"When using threads"))
    assert "x0.95 ? A/A" in threads and "undecided" in threads
    pool = next(line for line in lines if line.startswith("| \"Since each process"))
    assert "x1.90 ✓" in pool and "(decided on 1 of 1 Pythons, 3 pairs)" in pool
    assert any(line.startswith("- aa-out-of-bounds (run, exclude): 2 ") for line in lines)


def test_the_free_threading_patterns_table_is_never_published_empty(results_dir, tmp_path):
    out = tmp_path / "out"
    assert report.main(["--results", str(results_dir), "--out", str(out)]) == 0
    lines = (out / "gilcore-report.md").read_text().splitlines()
    after = lines[next(i for i, line in enumerate(lines) if line.startswith("## Free-threading patterns")) + 2]
    assert after.startswith("No result of bench_ftpatterns' current version")
    write_result(results_dir / "box", "c" * 40, "3.13t", {"PYTHON_GIL": "0"}, {
        "bench_ftpatterns.FreeThreadingPatterns.track_strong_speedup": ([1.9], [["'local-arith'"], ["2"]])})
    assert report.main(["--results", str(results_dir), "--out", str(out)]) == 0
    assert "| local-arith (strong) |" in (out / "gilcore-report.md").read_text()
