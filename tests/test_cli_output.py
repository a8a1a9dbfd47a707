"""What the CLI shows and keeps: the default plan, the table, the progress, --output and `show FILE`."""
import io
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

import gilcore
from gilcore.cli import optional, plan, table
from gilcore.cli import main
from gilcore.gil import free_threaded_build
from gilcore.cli.progress import Estimator, Progress, clock
from gilcore.cli.runlog import Run, RunFileError, parse_lines, read_runs
from gilcore.errors import UsageError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--size", "2000", "--repeats", "1", "--max-repeats", "1"]


def gilcore_cli(*args, env=None, timeout=300, cwd=None):
    return subprocess.run([sys.executable, "-m", "gilcore", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


def cell(workload="countdown", strategy="threads", workers=2, speedup=1.97, interval=(1.95, 1.99), n=4,
         remeasured=0, noisy=False, over_limit=False, limit=2.1, pairs=None):
    return {"workload": workload, "strategy": strategy, "workers": workers, "speedup": speedup,
            "speedup_interval": list(interval) if interval else None, "n": n, "remeasured": remeasured,
            "noisy": noisy, "over_limit": over_limit, "limit": limit, "pairs": pairs or [],
            "serial_median": 0.1, "seconds": 0.05, "startup_seconds": 0.01, "gil_enabled": True, "size": 10}


# ------------------------------------------------------------------------- the default plan

def test_default_plan_is_the_quick_one():
    chosen = plan.make_plan()
    cpus = os.cpu_count() or 1
    workloads = {c.workload.name for c in chosen.cells}
    expected = {w for w in plan.DEFAULT_WORKLOADS if not optional.missing_reason(gilcore.WORKLOADS[w])}
    if free_threaded_build():
        expected |= {w.name for w in gilcore.WORKLOADS.values() if w.kind == "ft-pattern" and not w.weak_scaling}
    assert workloads == expected
    assert {c.workers for c in chosen.cells} == {1, cpus}
    assert not {c.strategy.name for c in chosen.cells} & set(plan.FULL_ONLY_STRATEGIES)
    for planned in chosen.cells:  # quick sizes: a fraction of each kernel's own size
        assert planned.size is not None and planned.size < planned.workload.size_for(planned.strategy.kernel)


def test_full_plan_has_everything_and_ft_patterns_only_on_free_threaded_builds():
    full = plan.make_plan(full=True)
    assert {c.workers for c in full.cells} == set(gilcore.worker_counts())
    assert all(c.size is None for c in full.cells)  # each workload's own size
    has_ft = any(c.workload.kind == "ft-pattern" for c in full.cells)
    assert has_ft == free_threaded_build()
    available = {s.name for s in gilcore.STRATEGIES.values() if not s.unavailable_reason()}
    assert {c.strategy.name for c in full.cells} == available


def test_explicit_ft_pattern_runs_on_any_build():
    chosen = plan.make_plan(["ft-local-arith"], ["threads"], [2])
    assert [c.key for c in chosen.cells] == [("ft-local-arith", "threads", 2)]


def test_missing_numpy_is_reported_with_its_install_command(monkeypatch, capsys):
    real = optional.module_missing
    monkeypatch.setattr(optional, "module_missing", lambda name: name == "numpy" or real(name))
    chosen = plan.make_plan(["numpy-matmul", "countdown"], ["threads"], [1])
    assert [c.workload.name for c in chosen.cells] == ["countdown"]
    assert chosen.unavailable["numpy-matmul"].endswith("pip install 'gilcore[numpy]'")
    assert main(["--workload", "numpy-matmul", "--workers", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "numpy-matmul is unavailable: needs numpy" in err and "pip install 'gilcore[numpy]'" in err


def test_import_error_while_running_is_unavailable_not_a_traceback(capsys, tmp_path):
    log = tmp_path / "run.jsonl"
    assert main(["--workload", "tests.faults:IMPORT_FAILS_WHEN_RUN", "--strategy", "threads", "--workers", "1,2",
                 "--output", str(log)]) == 0
    out, _ = capsys.readouterr()
    assert "unavailable: tests.faults:IMPORT_FAILS_WHEN_RUN: needs numpy, which is not installed: pip install" in out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["record"] for r in records].count("unavailable") >= 1


# ------------------------------------------------------------------------- the table

@pytest.mark.parametrize("values, text", [
    ({}, "1.97x [1.95-1.99] n=4"),
    ({"interval": None, "n": 1}, "1.97x n=1"),
    ({"remeasured": 2}, "1.97x [1.95-1.99] n=4 (2 re-measured)"),
    ({"remeasured": 2, "noisy": True, "n": 2}, "1.97x [1.95-1.99] n=2 (2 re-measured, noisy)"),
    ({"over_limit": True, "speedup": 2.23}, "over limit (2.23x > 2.10x): noise"),
    ({"noisy": True, "n": 3, "pairs": [{"kept": False, "why_dropped": "under load"}] * 3},
     "1.97x [1.95-1.99] n=3 (noisy: no quiet pair)"),
    ({"noisy": True, "n": 2, "pairs": [{"kept": False, "why_dropped": "beyond the physical limit"}] * 2},
     "1.97x [1.95-1.99] n=2 (noisy: every pair over the limit)"),
])
def test_speedup_text(values, text):
    assert table.speedup_text(cell(**values)) == text


def test_best_strategy_and_ties_are_marked():
    cells = [cell(strategy="threads", speedup=1.0, interval=(0.97, 1.03)),
             cell(strategy="pool-fork", speedup=1.9, interval=(1.85, 1.95)),
             cell(strategy="process-executor", speedup=1.88, interval=(1.80, 1.96)),
             cell(strategy="pool-spawn", speedup=2.3, over_limit=True)]  # never a winner
    verdict = table.verdicts(cells)["countdown"]
    assert verdict.best["strategy"] == "pool-fork"
    assert [c["strategy"] for c in verdict.ties] == ["process-executor"]
    assert verdict.text().startswith("countdown: pool-fork x2 1.90x [1.85-1.95] n=4; tied within the intervals: "
                                     "process-executor x2")
    run = Run(header={"python": "cpython-3.11.7", "executable": "python", "cpus": 2, "gil_enabled": True},
              cells=cells, footer={"seconds": 3.0})
    out = io.StringIO()
    table.print_run(run, out)
    lines = out.getvalue().splitlines()
    assert any("pool-fork" in line and "* best" in line for line in lines)  # StringIO: no UTF-8 declared
    assert any("process-executor" in line and "~ tie" in line for line in lines)
    assert any("over limit (2.30x > 2.10x): noise" in line for line in lines)
    assert "4 cells in 3 s" in out.getvalue()


def test_nothing_beats_serial_is_said():
    verdict = table.verdicts([cell(speedup=1.01, interval=(0.9, 1.1))])["countdown"]
    assert not verdict.beats_serial
    assert "nothing measured beats serial" in verdict.text()


def test_comparison_has_one_column_per_interpreter():
    header = {"cpus": 2, "gil_enabled": True, "aa_control": {"describe": "A/A control (...): x1.001"}}
    runs = [Run(header={**header, "python": "cpython-3.11.7"}, cells=[cell(speedup=1.0, interval=(0.9, 1.1))],
                footer={"seconds": 1}),
            Run(header={**header, "python": "cpython-3.13.5t"}, cells=[cell()], footer={"seconds": 1},
                unavailable={"subinterpreters": "needs 3.12"})]
    out = io.StringIO()
    table.print_comparison(runs, out)
    text = out.getvalue()
    head = next(line for line in text.splitlines() if "workload" in line)
    assert "cpython-3.11.7" in head and "cpython-3.13.5t" in head
    assert "1.97x [1.95-1.99] n=4; 0.050 s = 2.00x vs cpython-3.11.7 serial" in text  # tests/test_wall_time.py
    assert "cpython-3.11.7 (None, GIL on): A/A control (...): x1.001" in text
    assert "unavailable: cpython-3.13.5t: subinterpreters: needs 3.12" in text


def test_a_named_strategy_that_cannot_apply_is_listed_with_its_reason():
    chosen = plan.make_plan(["countdown", "primes"], ["threads", "cython-threads"], [2])
    assert chosen.requested_not_applicable == ["countdown x cython-threads: workload 'countdown' has no cython kernel"]
    defaults = plan.make_plan(["countdown"], None, [2])  # the defaults that do not apply stay counted only
    assert defaults.not_applicable and defaults.requested_not_applicable == []


def test_the_table_names_each_requested_pair_and_counts_the_others():
    asked = "mymod:work x cython-threads: workload 'mymod:work' has no cython kernel"
    others = ["mymod:work x asyncio: workload 'mymod:work' has no async kernel",
              "mymod:work x cython-prange: workload 'mymod:work' has no prange kernel"]
    lines = []
    for records in ([asked], [asked] + others, others[:1]):
        run = Run(header={"python": "cpython-3.11.7"}, footer={"seconds": 1})
        for text in records:
            run.add({"record": "not_applicable", "text": text, "requested": text == asked})
        out = io.StringIO()
        table.print_run(run, out)
        lines.append([line for line in out.getvalue().splitlines() if "appl" in line])
    assert lines == [[f"not applicable: {asked}"],
                     [f"not applicable: {asked}", "2 other workload x strategy pairs do not apply (--json lists them)"],
                     ["1 workload x strategy pair does not apply (--json lists them)"]]


def test_a_named_strategy_that_cannot_run_a_users_function_says_why(tmp_path, no_leaks):
    log = tmp_path / "run.jsonl"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
    done = gilcore_cli("--workload", "byo_example:sum_of_squares", "--strategy", "threads", "--strategy",
                       "cython-threads", "--workers", "2", *TINY, "--output", str(log), env=env)
    assert done.returncode == 0, done.stderr
    reason = ("not applicable: byo_example:sum_of_squares x cython-threads: "
              "workload 'byo_example:sum_of_squares' has no cython kernel")
    assert reason in done.stdout.splitlines() and "do not apply" not in done.stdout
    assert reason in gilcore_cli("show", str(log)).stdout.splitlines()  # kept in the run file too
    listed = gilcore_cli("--workload", "byo_example:sum_of_squares", "--strategy", "threads", "--strategy",
                         "cython-threads", "--workers", "2", "--list", env=env)
    assert listed.stdout.splitlines()[-2:] == [reason, "1 cells planned"]


# ------------------------------------------------------------------------- progress

def test_estimator_uses_the_most_similar_cells():
    estimator = Estimator()
    assert estimator.remaining([("a", "x", 1)]) is None
    estimator.record(("a", "threads", 1), 1.0)
    estimator.record(("a", "pool", 1), 3.0)
    estimator.record(("b", "pool", 1), 5.0)
    assert estimator.estimate(("a", "threads", 2)) == 1.0  # same workload and strategy
    assert estimator.estimate(("a", "asyncio", 2)) == 2.0  # same workload
    assert estimator.estimate(("c", "x", 1)) == 3.0  # anything
    assert clock(75) == "1:15" and clock(3725) == "1:02:05" and clock(None) == "?"


def test_plain_progress_lines_say_elapsed_and_left():
    stream = io.StringIO()
    keys = [("a", "threads", 1), ("a", "threads", 2), ("b", "pool", 1)]
    with Progress(keys, stream=stream) as progress:
        for key in keys:
            progress.begin(" ".join(map(str, key)))
            progress.end(key, "1.00x")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[1/3] a threads 1 1.00x (0:00 elapsed, ~0:00 left)")
    assert lines[-1].startswith("[3/3] b pool 1")


def test_live_progress_bar_on_a_terminal(no_leaks):
    """The CLI under a pseudo-terminal draws a bar (ANSI, redrawn) with the time elapsed and left."""
    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "gilcore", "--workload", "sleep", "--strategy", "threads",
                                "--workers", "1,2", *TINY[2:], "--size", "20"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=child_fd)
    os.close(child_fd)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([main_fd], [], [], 60)
            if not ready:
                break
            try:
                data = os.read(main_fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            seen += data
    finally:
        out, _ = process.communicate(timeout=60)
        os.close(main_fd)
    assert process.returncode == 0
    text = seen.decode("utf-8", "replace")
    assert "\x1b[" in text and "elapsed" in text and "left" in text
    assert "[1/" not in text  # not the plain lines
    assert b"Which wins here" in out


# ------------------------------------------------------------------------- --output and show

def test_output_keeps_every_cell_and_show_prints_the_table(tmp_path, no_leaks):
    log = tmp_path / "run.jsonl"
    done = gilcore_cli("--workload", "countdown", "--strategy", "threads", "--strategy", "pool-fork",
                       "--workers", "1,2", *TINY, "--output", str(log))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [r["record"] for r in records]
    assert kinds[0] == "header" and kinds[-1] == "footer" and kinds.count("cell") == 4
    # each cell in 3 runs (fresh processes), each run with its own A/A control
    assert kinds.count("aa") >= 3 and kinds.count("cell_run") >= 12
    assert all(r["aa"]["describe"].startswith("A/A control") for r in records if r["record"] == "aa")
    runs = {r["run"]["id"] for r in records if r["record"] == "cell_run"}
    assert len(runs) >= 3 and runs == {r["run"]["id"] for r in records if r["record"] == "aa"}
    assert all(len(r["run_measurements"]) >= 3 for r in records if r["record"] == "cell")
    assert records[0]["plan"] == [["countdown", s, w] for s in ("threads", "pool-fork") for w in (1, 2)]
    shown = gilcore_cli("show", str(log))
    assert shown.returncode == 0, shown.stderr
    for line in done.stdout.splitlines()[2:]:  # the same table as the run printed, header aside
        assert line.rstrip() in shown.stdout
    as_json = json.loads(gilcore_cli("show", str(log), "--json").stdout)
    assert len(as_json["cells"]) == 4 and as_json["complete"] is True


def test_interrupted_run_keeps_what_it_measured(tmp_path, no_leaks):
    log = tmp_path / "run.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "gilcore", "--workload", "sleep", "--strategy", "threads",
                                "--strategy", "pool-fork", "--strategy", "asyncio", "--workers", "1,2",
                                "--size", "40", "--output", str(log)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and '"record": "cell_run"' not in (log.read_text() if log.exists() else ""):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "gilcore: interrupted" in err and "Traceback" not in err
    runs = read_runs(str(log))
    assert len(runs) == 1 and runs[0].cells and not runs[0].complete
    assert runs[0].footer["interrupted"] is True
    shown = gilcore_cli("show", str(log))
    assert shown.returncode == 0 and "incomplete" in shown.stdout
    assert "sleep" in out  # the interrupted run still printed what it had


def test_a_failing_cell_is_kept_as_a_failure(tmp_path, no_leaks):
    log = tmp_path / "run.jsonl"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
    done = gilcore_cli("--workload", "byo_example:not_additive", "--workload", "countdown", "--strategy", "threads",
                       "--workers", "2", *TINY, "--output", str(log), env=env)
    assert done.returncode == 1
    run = read_runs(str(log))[0]
    assert [c["workload"] for c in run.cells] == ["countdown"]
    assert run.failures and "byo_example:not_additive x threads x2: " in run.failures[0]
    assert "FAILED: byo_example:not_additive" in done.stdout


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ("", "no gilcore run in it"),
    ("not json\n", "line 1 is not JSON"),
    ('[1, 2]\n', "line 1 is not a gilcore run record"),
    ('{"record": "cell", "workload": "x"}\n', "line 1 comes before any header line"),
    ('{"record": "header"}\n{"record": "nope"}\n', "line 2 is not a gilcore run record"),
    ('{"record": "header"}\n{oops\n{"record": "footer"}\n', "line 2 is not JSON"),
])
def test_show_bad_file_exits_2_with_one_line(tmp_path, content, message):
    path = tmp_path / "run.jsonl"
    if content is not None:
        path.write_text(content)
    done = gilcore_cli("show", str(path))
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gilcore: error: ") and message in lines[0], done.stderr


def test_a_write_cut_off_by_a_kill_is_ignored():
    runs = parse_lines(['{"record": "header", "python": "x"}\n', '{"record": "cell", "workload": "a"}\n',
                        '{"record": "ce'], "f")
    assert len(runs[0].cells) == 1 and not runs[0].complete
    with pytest.raises(RunFileError):
        parse_lines(['{"record": "header"}\n', '{"record": "ce\n'], "f")
    assert issubclass(RunFileError, UsageError)
