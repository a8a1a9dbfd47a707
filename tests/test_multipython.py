"""--python: which interpreter a name means, the child's process group, and a real comparison (slow)."""
import os
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from gilcore.cli import multipython
from gilcore.pythons.interpreters import Interpreter
from gilcore.errors import UsageError

from .conftest import find_cpython, need

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fake(name, version, free=False, executable=sys.executable):
    return Interpreter(name=name, executable=executable, version=version, free_threaded=free)


def test_a_version_means_the_newest_matching_interpreter():
    found = [fake("cpython-3.11", "3.11"), fake("cpython-3.11.7", "3.11.7"), fake("cpython-3.13.5t", "3.13.5", True),
             fake("cpython-3.13.0", "3.13.0")]
    assert multipython.resolve("3.11", found).name == "cpython-3.11.7"
    assert multipython.resolve("3.13t", found).name == "cpython-3.13.5t"
    assert multipython.resolve("3.13", found).name == "cpython-3.13.0"  # a GIL build for a plain version
    assert multipython.resolve("cpython-3.11", found).name == "cpython-3.11"  # a name from discover()
    assert multipython.resolve("3.11.7", found).name == "cpython-3.11.7"


@pytest.mark.parametrize("spec, message", [
    ("3.99", "--python 3.99: no such interpreter here (found: cpython-3.8.18"),
    ("3.8", "--python 3.8: cpython-3.8.18 is too old; gilcore needs Python 3.9 or newer"),
    ("/nonexistent/python", "--python /nonexistent/python: not an executable file"),
    ("./nope", "--python ./nope: not an executable file"),
    ("/bin/true", "--python /bin/true: does not run as a Python interpreter"),
])
def test_bad_python_is_a_usage_error(spec, message):
    found = [fake("cpython-3.8.18", "3.8.18")]
    with pytest.raises(UsageError) as error:
        multipython.resolve(spec, found)
    assert str(error.value).startswith(message)


def test_a_path_is_asked_what_it_is():
    interpreter = multipython.resolve(sys.executable, [])
    assert interpreter.version == ".".join(map(str, sys.version_info[:3]))
    assert interpreter.executable == os.path.abspath(sys.executable)


def test_the_same_binary_twice_runs_once():
    me = os.path.realpath(sys.executable)
    assert len(multipython.resolve_all([me, me])) == 1


def test_the_venv_key_follows_the_source(tmp_path):
    tree = tmp_path / "tree"
    (tree / "gilcore").mkdir(parents=True)
    (tree / "pyproject.toml").write_text("[project]\n")
    (tree / "gilcore" / "a.py").write_text("x = 1\n")
    (tree / "gilcore" / "__pycache__").mkdir()
    (tree / "gilcore" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (tree / "gilcore" / "_k.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\0")
    first = multipython.source_hash(tree)
    assert [p.name for p in multipython.source_files(tree)] == ["pyproject.toml", "a.py"]
    (tree / "README.md").write_text("words\n")  # copied for the metadata, changes no behaviour
    assert multipython.source_hash(tree) == first
    (tree / "gilcore" / "a.py").write_text("x = 2\n")
    assert multipython.source_hash(tree) != first


def test_child_arguments_forward_the_cells_and_never_the_python_list(tmp_path):
    from gilcore.cli import build_parser, check_run_options

    args = build_parser().parse_args(["--python", "3.12", "--workload", "mymod:f", "--workload", "countdown",
                                      "--workers", "1,2", "--size", "10", "--full", "--json"])
    check_run_options(args)
    argv = multipython.child_arguments(args, tmp_path / "out.jsonl")
    assert argv == ["--workload", "mymod:f", "--workload", "countdown", "--workers", "1,2", "--size", "10",
                    "--runs", "3", "--max-runs", "5", "--repeats", "2", "--max-repeats", "6", "--timeout", "300.0",
                    "--full", "--skip-unavailable",
                    "--json", "--output", str(tmp_path / "out.jsonl")]


def test_child_env_puts_the_callers_modules_after_the_venvs_own(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", "tests")
    monkeypatch.setenv("PYTHON_GIL", "0")
    monkeypatch.chdir(tmp_path)
    env = multipython.child_env(fake("cpython-3.12.1", "3.12.1"))
    assert "PYTHONPATH" not in env and "PYTHON_GIL" not in env  # PYTHON_GIL=0 is fatal on a GIL build
    assert env[multipython.CHILD_PATH].split(os.pathsep) == [str(tmp_path), str(tmp_path / "tests")]
    assert multipython.child_env(fake("cpython-3.13.5t", "3.13.5", True))["PYTHON_GIL"] == "0"


GRANDCHILD = textwrap.dedent("""
    import subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    open(sys.argv[1], "w").write("started")
    time.sleep(600)
""")


def _group_members(pgid, wait=5.0):
    """Live processes of the group (zombies are dead: their new parent reaps them when it gets to it)."""
    deadline = time.monotonic() + wait
    while True:
        alive = [p for p in psutil.process_iter(["pid", "status"])
                 if _pgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None


@pytest.mark.parametrize("how", ["stall", "ctrl-c"])
def test_a_stalled_or_interrupted_child_leaves_nothing(tmp_path, how, no_leaks):
    marker = tmp_path / "started"
    seen = {"pid": None}

    def on_output():
        if how == "ctrl-c" and marker.exists():
            raise KeyboardInterrupt
        return False

    command = [sys.executable, "-c", GRANDCHILD, str(marker)]
    original = subprocess.Popen

    def remember(*args, **kwargs):
        process = original(*args, **kwargs)
        seen["pid"] = process.pid
        return process

    expected = KeyboardInterrupt if how == "ctrl-c" else multipython.ChildStalled
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(multipython.subprocess, "Popen", remember)
        with pytest.raises(expected):
            multipython.run_child(command, env=dict(os.environ), on_output=on_output, stall_seconds=2,
                                  poll_seconds=0.05)
    assert time.monotonic() - started < 30
    assert seen["pid"] and not _group_members(seen["pid"])  # the child and its own child are gone


# ------------------------------------------------------------------------- the real thing (slow)

CANDIDATES = ("3.11", "3.12", "3.13")


def cpythons(least):
    """Those of CPython 3.11, 3.12, 3.13 found here, when at least ``least`` are; else the test skips
    (fails in CI, which scripts/setup-interpreters promised them), naming the missing ones."""
    found = [v for v in CANDIDATES if find_cpython(v)]
    if len(found) < least:
        need(" and ".join(f"python{v}" for v in CANDIDATES if v not in found) + f" (needs {least} of the three)",
             "scripts/setup-interpreters finds pyenv's and makes 3.13")
    return found


@pytest.mark.slow
def test_compare_interpreters_on_a_users_workload(tmp_path, no_leaks):
    """Each interpreter in its venv (made once under the cache, then reused), the user's module found
    through PYTHONPATH, one column each; the run file holds one run per interpreter."""
    two = cpythons(2)[:2]
    log = tmp_path / "compare.jsonl"
    env = dict(os.environ, PYTHONPATH="tests")  # relative, as a user would write it
    args = [a for v in two for a in ("--python", v)]
    command = [sys.executable, "-m", "gilcore", *args, "--workload", "byo_example:sum_of_squares",
               "--strategy", "threads", "--strategy", "pool-spawn", "--workers", "2", "--size", "20000",
               "--runs", "1", "--max-runs", "1", "--repeats", "1", "--max-repeats", "1", "--output", str(log)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    head = next(line for line in done.stdout.splitlines() if line.lstrip().startswith("workload"))
    for version in two:
        assert f"cpython-{find_cpython(version).version}" in head
    assert "Traceback" not in done.stderr
    from gilcore.cli.runlog import read_runs

    runs = read_runs(str(log))
    assert [r.header["python"] for r in runs] == [f"cpython-{find_cpython(v).version}" for v in two]
    for run in runs:
        assert {c["strategy"] for c in run.cells} == {"threads", "pool-spawn"}
        assert all(c["value"] == sum(i * i for i in range(20000)) for c in run.cells)
        # the venv's own gilcore ran (its Cython extension matches), not the checkout in the cwd
        assert run.header["executable"].startswith(str(multipython.venvs_dir()))
    # as wide as the live table (cells now carry runs x pairs and flags, wider than 80 columns)
    shown = subprocess.run([sys.executable, "-m", "gilcore", "show", str(log)], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, COLUMNS="1000"))
    assert shown.returncode == 0 and head.strip() in shown.stdout


@pytest.mark.slow
def test_a_usage_error_in_every_child_is_one_line_exit_2(tmp_path):
    python = cpythons(1)[0]
    done = subprocess.run([sys.executable, "-m", "gilcore", "--python", python, "--workload", "no_such_mod:f"],
                          capture_output=True, text=True, timeout=1800, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == "gilcore: error: cannot load workload 'no_such_mod:f': No module named 'no_such_mod'"
    assert "Traceback" not in done.stderr


def test_an_interpreter_without_a_venv_is_a_line_in_the_table_not_a_traceback(monkeypatch, tmp_path, capsys):
    from gilcore.cli import main

    broken = Interpreter(name="cpython-3.99.0", executable="/bin/false", version="3.99.0")
    monkeypatch.setenv("GILBENCH_VENVS", str(tmp_path / "venvs"))
    monkeypatch.setattr(multipython, "resolve_all", lambda specs: [broken])
    assert main(["--python", "3.99", "--workload", "countdown", "--strategy", "threads", "--workers", "2"]) == 1
    out, err = capsys.readouterr()
    assert "cpython-3.99.0: no result: no venv: python -m venv failed" in out
    assert "Traceback" not in out + err
    assert [p.name for p in (tmp_path / "venvs").iterdir() if not p.name.endswith((".lock", ".log"))] == []


def test_a_venv_is_named_by_its_build_inputs_and_takes_new_modules_by_copy(tmp_path):
    tree = tmp_path / "tree"
    (tree / "gilcore" / "sub").mkdir(parents=True)
    (tree / "pyproject.toml").write_text("[project]\n")
    (tree / "gilcore" / "_k.pyx").write_text("# kernel\n")
    (tree / "gilcore" / "a.py").write_text("x = 1\n")
    build = multipython.source_hash(tree, only_build_inputs=True)
    (tree / "gilcore" / "a.py").write_text("x = 2\n")  # a module changed: same venv
    assert multipython.source_hash(tree, only_build_inputs=True) == build
    (tree / "gilcore" / "_k.pyx").write_text("# kernel 2\n")  # the kernel changed: another venv
    assert multipython.source_hash(tree, only_build_inputs=True) != build
    # a venv made from an older source: a.py old, old.py since removed, sub/b.py not there yet
    package = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "gilcore"
    package.mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "old.py").write_text("gone = True\n")
    (package / "_k.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\0")
    (tree / "gilcore" / "sub" / "b.py").write_text("y = 3\n")
    digest = multipython.source_hash(tree)
    multipython._sync_modules(tmp_path / "venv", tree, digest)
    assert (package / "a.py").read_text() == "x = 2\n" and (package / "sub" / "b.py").read_text() == "y = 3\n"
    assert not (package / "old.py").exists() and (package / "_k.cpython-311-x86_64-linux-gnu.so").exists()
    assert (tmp_path / "venv" / multipython.VENV_SOURCE).read_text() == digest
