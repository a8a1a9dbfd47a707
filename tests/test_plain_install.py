"""A plain `pip install .` (no extras, so no numpy) gives a CLI that says what is missing, never a traceback."""
import os
import shutil
import subprocess
import sys

import pytest

from gilcore.cli.multipython import source_files, source_hash, source_tree

from .conftest import kept_folder


@pytest.fixture(scope="module")
def plain_venv():
    """A venv with `pip install <copy of this checkout>`: gilcore and its hard dependencies only. Made once
    per source version and Python (kept in the cache: conftest.kept_folder), then reused."""
    tree = source_tree()
    name = "plain-install-py%d.%d" % sys.version_info[:2]
    with kept_folder(name, source_hash(tree)) as (root, made_before):
        if not made_before:
            install_plain(tree, root)
        yield str(root / "venv" / "bin" / "python"), root


def install_plain(tree, root):
    copy = root / "src"
    for source in source_files(tree):  # a copy: pip builds in the tree it is given
        target = copy / source.relative_to(tree)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    venv = root / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300)
    if made.returncode != 0:
        pytest.skip(f"python -m venv does not work here: {made.stderr.strip().splitlines()[-1:]}")
    python = str(venv / "bin" / "python")
    installed = subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", str(copy)],
                               capture_output=True, text=True, timeout=1800)
    assert installed.returncode == 0, installed.stderr[-3000:]
    shutil.rmtree(copy)
    has_numpy = subprocess.run([python, "-c", "import numpy"], capture_output=True, timeout=60).returncode == 0
    assert not has_numpy, "numpy came with a plain install: it must stay optional"


def run(python, cwd, *args):
    # Not from the checkout: `python -m` would import ./gilcore instead of the installed one.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([python, "-m", "gilcore", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd, env=env)


HINT = "numpy-matmul is unavailable: needs numpy, which is not installed: pip install 'gilcore[numpy]'"


@pytest.mark.slow
def test_numpy_workload_alone_is_one_line_with_the_install_command(plain_venv):
    python, cwd = plain_venv
    done = run(python, cwd, "--workload", "numpy-matmul", "--workers", "1")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"gilcore: error: no cell to run: {HINT}"


@pytest.mark.slow
def test_default_run_plans_without_numpy(plain_venv):
    python, cwd = plain_venv
    planned = run(python, cwd, "--list")
    assert planned.returncode == 0, planned.stderr
    assert "unavailable: numpy-matmul: needs numpy, which is not installed: pip install 'gilcore[numpy]'" \
        in planned.stdout
    assert "countdown" in planned.stdout and "Traceback" not in planned.stderr + planned.stdout


@pytest.mark.slow
def test_a_run_with_numpy_missing_measures_the_rest(plain_venv):
    python, cwd = plain_venv
    done = run(python, cwd, "--workload", "countdown", "--workload", "numpy-matmul", "--strategy", "threads",
               "--workers", "1", "--size", "2000", "--runs", "1", "--max-runs", "1", "--repeats", "1",
               "--max-repeats", "1")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "unavailable: numpy-matmul: needs numpy" in done.stdout and "Which wins here:" in done.stdout
