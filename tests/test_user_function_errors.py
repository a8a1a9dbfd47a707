"""A mistake in the user's own function or module: one line naming it, a non-zero exit, nothing left running.

The functions are in tests/byo_example.py; a module with a syntax error, or one
that fails while it is imported, is written into a temporary folder.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gilcore
from gilcore.pythons import interpreters
from gilcore.cli import multipython
from gilcore.cli import main
from tests.conftest import need
from tests.test_cli_output import ROOT, gilcore_cli

BYO = Path(ROOT, "tests", "byo_example.py")
ON_PATH = dict(os.environ, PYTHONPATH="tests")  # relative, as a user would write it; the CLI runs in ROOT
QUICK = ["--workers", "2", "--size", "2000", "--repeats", "1", "--max-repeats", "1"]


def line_of(text, path=BYO):
    """The line number of the one line of ``path`` that holds ``text``."""
    numbers = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(numbers) == 1, numbers
    return numbers[0]


RAISES = f"byo_example:raises raised ZeroDivisionError: division by zero at tests/byo_example.py:{line_of('/ 0')}"
RETURNS_NONE = "byo_example:returns_none returned None; a number is needed"
IN_WORKERS = ("byo_example:raises_in_workers raised ValueError: no piece may start at 1000 at "
              f"tests/byo_example.py:{line_of('no piece may start')}")
NONE_IN_WORKERS = "byo_example:none_in_workers returned None; a number is needed"


@pytest.fixture
def on_path(monkeypatch):
    """byo_example importable in this process, the current folder ROOT: as for a user in their project."""
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(os.path.join(ROOT, "tests"))


# ------------------------------------------------------------------ the command line

@pytest.mark.parametrize("workload, message", [
    ("byo_example:raises", RAISES),
    ("byo_example:returns_none", RETURNS_NONE),
])
def test_a_broken_function_is_one_line_and_exit_2(workload, message, no_leaks):
    done = gilcore_cli("--workload", workload, "--strategy", "threads", "--strategy", "pool-spawn", *QUICK,
                       env=ON_PATH, cwd=ROOT, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"gilcore: error: {message}\n")


@pytest.mark.parametrize("source, message", [
    ("import math\n\n\ndef work(start, stop)\n    return 1\n", "mymod: syntax error at mymod.py:4: expected ':'"),
    ("def work(n):\n    return n\n\nwork(None + 1)\n",
     "mymod: importing it raised TypeError: unsupported operand type(s) for +: 'NoneType' and 'int' at mymod.py:4"),
], ids=["syntax-error", "raises-on-import"])
def test_a_broken_module_is_one_line_and_exit_2(tmp_path, source, message, no_leaks):
    (tmp_path / "mymod.py").write_text(source)
    done = gilcore_cli("--workload", "mymod:work", *QUICK, env=dict(os.environ, PYTHONPATH="."), cwd=tmp_path,
                       timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"gilcore: error: {message}\n")


def test_a_function_that_fails_only_in_workers_is_one_failure_line_per_cell(no_leaks):
    done = gilcore_cli("--workload", "byo_example:raises_in_workers", "--strategy", "threads", *QUICK,
                       env=ON_PATH, cwd=ROOT, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert f"FAILED: byo_example:raises_in_workers x threads x2: {IN_WORKERS}\n" in done.stdout


def test_failures_in_workers_leave_nothing_running(on_path, capsys, no_leaks):
    """In this process, so that the leak check sees the pools' processes and threads."""
    assert main(["--workload", "byo_example:none_in_workers", "--strategy", "threads", "--strategy", "pool-spawn",
                 *QUICK]) == 1
    out, err = capsys.readouterr()
    for strategy in ("threads", "pool-spawn"):
        assert f"FAILED: byo_example:none_in_workers x {strategy} x2: {NONE_IN_WORKERS}\n" in out
    assert "Traceback" not in out + err


# ------------------------------------------------------------------ from Python

def test_measure_raises_one_clear_error_before_any_pool_starts(on_path, monkeypatch, no_leaks):
    def no_pool(*args, **kwargs):
        raise AssertionError("a pool was started for a function that cannot run")

    monkeypatch.setattr(gilcore.STRATEGIES["pool-spawn"], "open", no_pool)
    for workload, message in (("byo_example:raises", RAISES), ("byo_example:returns_none", RETURNS_NONE)):
        with pytest.raises(gilcore.UserFunctionError) as raised:
            gilcore.measure(workload, "pool-spawn", workers=2, size=2000)
        assert str(raised.value) == message
        assert isinstance(raised.value, gilcore.UsageError)


def user_function_strategies():
    """Every strategy that can run a user's function on this interpreter (none that cannot: not even skipped)."""
    probe = gilcore.workload_from_function(lambda n: n, "probe:f")
    return [pytest.param(name, id=name, marks=[pytest.mark.slow] if name == "dask-distributed" else [])
            for name, strategy in gilcore.STRATEGIES.items() if not gilcore.applicability(probe, strategy)]


@pytest.mark.parametrize("strategy", user_function_strategies())
def test_every_strategy_reports_the_workers_mistake_in_one_line(strategy, on_path, no_leaks):
    for workload, message in (("byo_example:raises_in_workers", IN_WORKERS),
                              ("byo_example:none_in_workers", NONE_IN_WORKERS)):
        with pytest.raises(gilcore.UserFunctionError) as raised:
            gilcore.run(workload, strategy, 2, 2000)
        assert str(raised.value) == message


NEWER = [i for i in interpreters.discover() if i.exists and i.implementation == "cpython" and not i.free_threaded
         and interpreters.version_tuple(i.version)[:2] >= (3, 12)]
IN_A_SUBINTERPRETER = """
import gilcore
for workload in ("byo_example:raises_in_workers", "byo_example:none_in_workers"):
    try:
        gilcore.run(workload, "subinterpreters", 2, 2000)
    except gilcore.UserFunctionError as error:
        print(error)
"""


def test_a_subinterpreter_reports_the_workers_mistake_in_one_line():
    """This checkout's gilcore on a newer CPython (a pure-Python workload needs no build of it)."""
    if not NEWER:
        need("a CPython 3.12 or newer", "scripts/setup-interpreters makes 3.13, 3.14 and 3.15")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, "tests"]))
    done = subprocess.run([NEWER[-1].executable, "-c", IN_A_SUBINTERPRETER], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == f"{IN_WORKERS}\n{NONE_IN_WORKERS}\n"


# ------------------------------------------------------------------ through --python

@pytest.fixture
def this_python_as_child(monkeypatch, on_path):
    """--python runs its child in this very environment: no venv to build, the same source."""
    child = interpreters.Interpreter(name="cpython-child", executable=sys.executable,
                                     version=".".join(map(str, sys.version_info[:3])))
    monkeypatch.setattr(multipython, "resolve_all", lambda specs: [child])
    monkeypatch.setattr(multipython, "ensure_venv", lambda *args, **kwargs: multipython.Venv(Path(sys.prefix), None))
    monkeypatch.setenv("PYTHONPATH", "tests")


def test_through_python_a_broken_function_is_the_same_one_line(this_python_as_child, capsys, no_leaks):
    assert main(["--python", "child", "--workload", "byo_example:raises", *QUICK]) == 2
    assert capsys.readouterr() == ("", f"gilcore: error: {RAISES}\n")  # once: not also as a progress note


def test_through_python_a_mistake_in_workers_is_one_failure_line(this_python_as_child, capsys, no_leaks):
    assert main(["--python", "child", "--workload", "byo_example:raises_in_workers", "--strategy", "threads",
                 *QUICK]) == 1
    out, err = capsys.readouterr()
    label = f"cpython-{sys.version.split()[0]}"  # the child's own name for itself
    assert f"FAILED: {label}: byo_example:raises_in_workers x threads x2: {IN_WORKERS}\n" in out
    assert "Traceback" not in out + err
