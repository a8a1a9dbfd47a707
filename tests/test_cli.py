"""The command line: bad input exits 2 with one line; --json holds every cell."""
import json
import os
import subprocess
import sys

import pytest

import gilcore
import gilcore.gil
from gilcore.cli.optional import missing_reason
from gilcore.cli.plan import make_plan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gilcore_cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "gilcore", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("args, message", [
    (["--workload", "nope"], "unknown workload 'nope'; choose from countdown"),
    (["--strategy", "teleport"], "unknown strategy 'teleport'; choose from serial"),
    (["--workers", "0"], "workers must be at least 1"),
    (["--workers", "1,x"], "--workers takes whole numbers"),
    (["--workers", "100000"], "workers must be at most"),
    (["--size", "0"], "size must be at least 1"),
    (["--size", "-5"], "size must be at least 1"),
    (["--size", "1.5"], "--size must be a whole number"),
    (["--repeats", "0"], "--repeats must be at least 1"),
    (["--max-repeats", "0"], "--max-repeats must be at least 1"),
    (["--output", "/nonexistent-dir/run.jsonl"], "cannot write --output /nonexistent-dir/run.jsonl"),
    (["--python", "9.99"], "--python 9.99: no such interpreter here"),
    (["--python", "/nonexistent/python3"], "--python /nonexistent/python3: not an executable file"),
    (["--python", "/etc/hostname"], "--python /etc/hostname: "),  # not executable, or not Python
    (["--python", "3.12", "--workload", "nope"], "unknown workload 'nope'"),
    (["--python", "3.12", "--strategy", "teleport"], "unknown strategy 'teleport'"),
    (["--python", "3.12", "--workers", "0"], "workers must be at least 1"),
    (["--workload", "json:nothing_here"], "cannot load workload 'json:nothing_here'"),
    (["--workload", "json:dumps"], "must take (n) or (start, stop)"),
    (["--no-such-flag"], "unrecognized arguments"),
    (["--workload", "sleep", "--strategy", "cython-prange"], "no cell to run"),
])
def test_bad_input_exits_2_with_one_line(args, message, no_leaks):
    done = gilcore_cli(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gilcore: error: ") and message in lines[0], done.stderr


UNAVAILABLE = {name: s.unavailable_reason() for name, s in gilcore.STRATEGIES.items() if s.unavailable_reason()}


@pytest.mark.parametrize("args, message", [
    (["--workers", ""], "--workers needs at least one number"),  # not "no choice given": the whole grid
    (["--workers", "-1"], "workers must be at least 1"),
    (["--workers", "2.5"], "--workers takes whole numbers"),
    (["--workers", "513"], "workers must be at most 512"),
    (["--size", "abc"], "--size must be a whole number"),
    (["--size", ""], "--size must be a whole number"),
    (["--timeout", "0"], "--timeout must be positive"),
    (["--timeout", "-1"], "--timeout must be positive"),
    (["--timeout", "nan"], "--timeout must be positive"),
    (["--repeats", "x"], "argument --repeats: invalid int value"),
    (["--max-repeats", "-2"], "--max-repeats must be at least 1"),
    (["--workload", ""], "unknown workload ''; choose from countdown"),
    *[(["--strategy", name], f"strategy {name} is unavailable here: {reason}") for name, reason in UNAVAILABLE.items()],
])
def test_bad_input_starts_nothing(args, message, monkeypatch, capsys, no_leaks):
    """In-process, with the runner replaced: a usage error must come before anything is started."""
    import gilcore.cli
    import gilcore.cli.rounds

    def must_not_run(*args, **kwargs):
        raise AssertionError("a cell was started despite bad input")

    monkeypatch.setattr(gilcore.cli.rounds, "run_child_round", must_not_run)
    assert gilcore.cli.main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gilcore: error: ") and message in lines[0], err


@pytest.mark.skipif(not UNAVAILABLE, reason="every strategy is available on this interpreter")
def test_unavailable_strategy_by_name_exits_2_with_the_reason(no_leaks):
    name, reason = next(iter(UNAVAILABLE.items()))
    done = gilcore_cli("--strategy", name, "--workload", "countdown", "--size", "1000", timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"gilcore: error: strategy {name} is unavailable here: {reason}"


def test_report_with_only_corrupt_results_exits_2_naming_the_file(tmp_path, no_leaks):
    machine = tmp_path / "results" / "box"
    machine.mkdir(parents=True)
    (machine / "machine.json").write_text("{}")
    truncated = machine / "aaaaaaaa-virtualenv-py3.12.json"
    truncated.write_text('{"commit_hash": "aaaa", "results": {')  # a write cut off half-way
    not_asv = machine / "bbbbbbbb-virtualenv-py3.13.json"
    not_asv.write_text("[1, 2, 3]")
    out = tmp_path / "out"
    done = gilcore_cli("report", "--results", str(tmp_path / "results"), "--out", str(out), timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gilcore: error: no readable results"), done.stderr
    assert str(truncated) in lines[0] and str(not_asv) in lines[0]
    assert not out.exists()  # nothing written


def test_default_json_contains_every_planned_cell(no_leaks):
    done = gilcore_cli("--json", "--workload", "sleep", "--size", "6", "--repeats", "1", "--max-repeats", "1")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    planned = make_plan(["sleep"])
    assert [(c["workload"], c["strategy"], c["workers"]) for c in report["cells"]] == planned.keys
    assert report["complete"] and report["planned"] == len(planned.cells)
    assert report["unavailable"] == planned.unavailable


@pytest.mark.slow  # every strategy, dask's and loky's start-ups included: about half a minute at W=2 alone
def test_full_json_contains_every_cell(no_leaks):
    # W=2 only: the parallel path of every cell; the 1-worker cells of the default run are checked elsewhere
    done = gilcore_cli("--full", "--json", "--size", "6", "--repeats", "1", "--max-repeats", "1", "--workers", "2",
                       "--runs", "1", "--max-runs", "1", timeout=900)  # one run: a busy shared machine, minutes
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    cells = {(c["workload"], c["strategy"], c["workers"]) for c in report["cells"]}
    expected = set()
    for workload in gilcore.WORKLOADS.values():
        if workload.kind == "ft-pattern" and not gilcore.gil.free_threaded_build():
            continue  # --full takes them only on free-threaded builds
        if missing_reason(workload):
            continue
        for strategy in gilcore.STRATEGIES.values():
            if gilcore.applicability(workload, strategy):
                continue
            if strategy.name != "serial":  # serial at W=2 is not a cell
                expected.add((workload.name, strategy.name, 2))
    assert cells == expected
    assert report["failures"] == []
    for cell in report["cells"]:
        assert cell["value"] == cell["expected"]
        assert cell["speedup"] > 0
    assert report["aa_control"]["describe"].startswith("A/A control")
    assert "[1/" in done.stderr and "elapsed" in done.stderr  # progress is shown while it runs


def test_table_lists_unavailable_strategies_and_speedups(no_leaks):
    done = gilcore_cli("--full", "--workload", "sleep", "--workers", "2", "--size", "8", "--repeats", "1",
                       "--max-repeats", "1")
    assert done.returncode == 0, done.stderr
    assert "sleep" in done.stdout and "asyncio" in done.stdout and "x" in done.stdout
    assert "Which wins here:" in done.stdout and "A/A control" in done.stdout
    for name, strategy in gilcore.STRATEGIES.items():
        if strategy.unavailable_reason():
            assert f"unavailable: {name}" in done.stdout


def test_bring_your_own_workload(no_leaks):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
    done = gilcore_cli("--workload", "byo_example:sum_of_squares", "--strategy", "threads",
                       "--strategy", "pool-spawn", "--workers", "2", "--size", "5000", "--json", env=env)
    assert done.returncode == 0, done.stderr
    cells = json.loads(done.stdout)["cells"]
    assert {c["strategy"] for c in cells} == {"threads", "pool-spawn"}
    assert all(c["value"] == sum(i * i for i in range(5000)) for c in cells)


def test_bring_your_own_workload_object(no_leaks):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    try:
        result = gilcore.run("byo_example:SQUARES", "pool-fork", 2, 3000)
    finally:
        sys.path.remove(os.path.join(ROOT, "tests"))
    assert result.value == sum(i * i for i in range(3000))


def test_byo_function_of_n_and_a_non_additive_one(no_leaks):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    try:
        assert gilcore.run("byo_example:spin", "threads", 3, 1000).value == 1000
        with pytest.raises(gilcore.ChecksumError):
            gilcore.run("byo_example:not_additive", "threads", 2, 10)
    finally:
        sys.path.remove(os.path.join(ROOT, "tests"))
