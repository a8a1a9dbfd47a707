"""gilcore on the other CPythons here: subinterpreters on 3.12/3.13, free-threading on 3.13t.

Each check builds gilcore into a fresh venv of that Python (about a minute each),
so they are slow; CI runs them. An interpreter this machine lacks is skipped with
the command that provides it (scripts/setup-interpreters).
"""
import json
import os
import subprocess
import sys

import pytest

from gilcore import interpreters

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find(version, free_threaded=False):
    for interpreter in interpreters.discover():
        if (interpreter.implementation == "cpython" and interpreter.version.startswith(version + ".")
                and interpreter.free_threaded == free_threaded and os.path.exists(interpreter.executable)):
            return interpreter.executable
    pytest.skip(f"no CPython {version}{'t' if free_threaded else ''} here (run scripts/setup-interpreters)")


def venv_with_gilcore(python, folder):
    subprocess.run([python, "-m", "venv", str(folder)], check=True, timeout=300)
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run(pip + [ROOT], check=True, timeout=900, cwd=str(folder))
    return str(folder / "bin" / "python")


def gilcore_json(python, *args, env=None):
    done = subprocess.run([python, "-m", "gilcore", "--json", "--repeats", "1", *args], capture_output=True,
                          text=True, timeout=600, cwd="/", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_subinterpreters_give_the_checksum_and_their_own_gil(version, tmp_path):
    python = venv_with_gilcore(find(version), tmp_path / "venv")
    report = gilcore_json(python, "--strategy", "subinterpreters", "--workers", "1,2,3", "--size", "4000",
                          "--workload", "countdown", "--workload", "primes", "--workload", "sleep")
    assert report["failures"] == [] and len(report["cells"]) == 9
    assert all(cell["value"] == cell["expected"] for cell in report["cells"])


def test_free_threaded_build_keeps_its_gil_off(tmp_path):
    python = venv_with_gilcore(find("3.13", free_threaded=True), tmp_path / "venv")
    env = dict(os.environ, PYTHON_GIL="0")
    report = gilcore_json(python, "--strategy", "threads", "--strategy", "cython-threads", "--workers", "2",
                          "--size", "20000", "--workload", "countdown", "--workload", "primes", env=env)
    assert report["gil_enabled"] is False  # the Cython extension is declared free-threading compatible
    assert all(cell["gil_enabled"] is False for cell in report["cells"])
    forced = gilcore_json(python, "--strategy", "threads", "--workers", "2", "--size", "20000",
                          "--workload", "countdown", env=dict(os.environ, PYTHON_GIL="1"))
    assert forced["gil_enabled"] is True
