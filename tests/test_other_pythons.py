"""gilcore on the other CPythons here: subinterpreters on 3.12-3.15, free-threading on 3.13t.

Each check runs gilcore in that Python's venv, the one `--python` uses (gilcore/cli/multipython.py:
made once per source version under ~/.cache/gilbench/venvs, about a minute, then reused), so
they are slow; CI runs them. An interpreter this machine lacks is skipped with the command that
provides it (scripts/setup-interpreters); in CI (GILBENCH_CI=1) it fails the test instead.
"""
import json
import os
import subprocess

import pytest

from gilcore.cli import multipython

from .conftest import need_cpython

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def venv_with_gilcore(interpreter):
    """The python of the interpreter's venv with this checkout's gilcore installed (made once per source)."""
    tree = multipython.source_tree()
    return str(multipython.ensure_venv(interpreter, tree, multipython.source_hash(tree)).python)


def gilcore_json(python, *args, env=None):
    # one run of one pair per cell: these check values and GIL states, not speedups
    done = subprocess.run([python, "-m", "gilcore", "--json", "--runs", "1", "--max-runs", "1", "--repeats", "1",
                           "--max-repeats", "1", *args],
                          capture_output=True, text=True, timeout=600, cwd="/", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("version", ["3.12", "3.13", "3.14", "3.15"])
def test_subinterpreters_give_the_checksum_and_their_own_gil(version):
    python = venv_with_gilcore(need_cpython(version))
    # concurrent.interpreters and InterpreterPoolExecutor are public from 3.14
    strategies = ["subinterpreters"] + (["interpreter-pool"] if version >= "3.14" else [])
    chosen = [a for s in strategies for a in ("--strategy", s)]
    cells = []
    # sleep at size 40: 5 ms each, enough to split over 3 workers
    for size, workloads in (("4000", ("countdown", "primes")), ("40", ("sleep",))):
        report = gilcore_json(python, *chosen, "--workers", "1,2,3", "--size", size,
                              *[a for w in workloads for a in ("--workload", w)])
        assert report["failures"] == []
        cells += report["cells"]
    assert len(cells) == 9 * len(strategies)
    assert all(cell["value"] == cell["expected"] for cell in cells)


SPAWN_CHECK = """
import multiprocessing, os, ssl, sqlite3, ctypes, subprocess, sys, sysconfig

def square(x):
    return x * x, sys.executable

if __name__ == "__main__":
    for method in ("spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            assert pool.map(square, [3, 4]) == [(9, sys.executable), (16, sys.executable)], method
    child = subprocess.run([sys.executable, "-c", "import ssl, sys; print(sys.prefix)"], capture_output=True, text=True)
    assert child.returncode == 0 and child.stdout.strip() == sys.prefix, child.stderr
    assert os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
    print(multiprocessing.get_start_method(), ssl.OPENSSL_VERSION, sqlite3.sqlite_version)
"""


@pytest.mark.parametrize("version", ["3.14", "3.15"])
def test_a_newer_cpython_runs_venv_pip_spawn_and_forkserver(version, tmp_path):
    """Debian unstable's binaries run from a private root with their own glibc: a venv of one
    (its python is a symlink), pip inside it, and multiprocessing's fresh interpreters all work."""
    base = need_cpython(version).executable
    subprocess.run([base, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=600)
    python = str(tmp_path / "venv" / "bin" / "python")
    pip = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, timeout=120)
    assert pip.returncode == 0 and f"(python {version})" in pip.stdout, pip.stderr
    (tmp_path / "check.py").write_text(SPAWN_CHECK)
    done = subprocess.run([python, str(tmp_path / "check.py")], capture_output=True, text=True, timeout=300,
                          cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "forkserver"  # Linux's default start method from 3.14


def test_free_threaded_build_keeps_its_gil_off():
    python = venv_with_gilcore(need_cpython("3.13", free_threaded=True))
    env = dict(os.environ, PYTHON_GIL="0")
    report = gilcore_json(python, "--strategy", "threads", "--strategy", "cython-threads", "--workers", "2",
                          "--size", "20000", "--workload", "countdown", "--workload", "primes", env=env)
    assert report["gil_enabled"] is False  # the Cython extension is declared free-threading compatible
    assert all(cell["gil_enabled"] is False for cell in report["cells"])
    forced = gilcore_json(python, "--strategy", "threads", "--workers", "2", "--size", "20000",
                          "--workload", "countdown", env=dict(os.environ, PYTHON_GIL="1"))
    assert forced["gil_enabled"] is True


@pytest.mark.parametrize("version", ["3.14"])
def test_interpreter_strategies_pass_the_fault_and_load_tests_on_a_newer_cpython(version):
    """The fault table (exception, hang) and the load test (64 workers, 10,000 tiny tasks) for
    subinterpreters and InterpreterPoolExecutor, run by this very test suite on that Python."""
    python = venv_with_gilcore(need_cpython(version))
    subprocess.run([python, "-m", "pip", "install", "--quiet", "pytest", "psutil"], check=True, timeout=600)
    done = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "",
                           "tests/test_faults.py", "tests/test_load.py", "-k", "interpreter-pool or subinterpreters"],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    tail = done.stdout.strip().splitlines()[-1:] or [done.stderr[-300:]]
    assert done.returncode == 0, "\n".join(done.stdout.splitlines()[-30:]) + done.stderr[-2000:]
    assert " passed" in tail[0] and "skipped" not in tail[0].split(" passed")[0], tail
