"""One interpreter name works in every subcommand: the main command's --python, gil's --python,
interpreters --only and compare all resolve through gilcore.pythons.interpreters.resolve."""
import argparse
import subprocess
import sys

import pytest

from gilcore.cli import compare as compare_cli
from gilcore.cli import interpreters as interpreters_cli
from gilcore.cli import multipython
from gilcore.errors import UsageError
from gilcore.gilprobes import external
from gilcore.pythons import interpreters
from gilcore.pythons.interpreters import Interpreter

FREE = Interpreter(name="cpython-3.13.5t", executable=sys.executable, version="3.13.5", free_threaded=True)
GIL = Interpreter(name="cpython-3.13.5", executable=sys.executable, version="3.13.5")
OLD = Interpreter(name="cpython-3.11.7", executable=sys.executable, version="3.11.7")


@pytest.fixture
def found(monkeypatch):
    # discovery as every subcommand sees it: each module reads it through gilcore.pythons.interpreters
    found = [OLD, GIL, FREE]
    monkeypatch.setattr(interpreters, "discover", lambda: found)
    monkeypatch.setattr(multipython, "discover", lambda: found)
    monkeypatch.setattr(interpreters_cli, "discover", lambda: found)
    return found


@pytest.mark.parametrize("spec, name", [("3.13t", "cpython-3.13.5t"), ("3.13", "cpython-3.13.5"),
                                        ("3.13.5t", "cpython-3.13.5t"), ("cpython-3.11.7", "cpython-3.11.7")])
def test_each_subcommand_resolves_the_same_name(found, spec, name):
    assert multipython.resolve_all([spec])[0].name == name  # python -m gilcore --python SPEC
    assert external.resolve_python(spec).name == name  # gil convoy / contention / timeline --python SPEC
    only = argparse.Namespace(count=interpreters.DEFAULT_COUNT, repeats=1, timeout=None, only=[spec])
    assert [i.name for i in interpreters_cli.plan(only)] == [name]  # interpreters --only SPEC
    assert compare_cli._classify(spec) == "interpreter"  # compare SPEC ...: measured now through resolve_all


def test_two_names_of_one_interpreter_are_one_row(found):
    only = argparse.Namespace(count=interpreters.DEFAULT_COUNT, repeats=1, timeout=None,
                              only=["3.13t", "cpython-3.13.5t"])
    assert interpreters_cli.plan(only) == [FREE]


def test_an_unknown_name_says_the_option_and_what_is_here(found):
    with pytest.raises(UsageError, match=r"^--only 3\.99t: no such interpreter here \(found: cpython-3\.11\.7"):
        interpreters_cli.plan(argparse.Namespace(count=interpreters.DEFAULT_COUNT, repeats=1, timeout=None,
                                                 only=["3.99t"]))
    with pytest.raises(UsageError, match=r"^--python 3\.99t: no such interpreter here"):
        external.resolve_python("3.99t")


@pytest.mark.parametrize("argv", [["gil", "contention", "--python", "3.99t"],
                                  ["interpreters", "--only", "3.99t"],
                                  ["compare", "3.99t", "3.11"],
                                  ["--python", "3.99t", "--workload", "countdown"]])
def test_every_subcommand_answers_an_unknown_name_alike(argv):
    done = subprocess.run([sys.executable, "-m", "gilcore", *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "3.99t: no such interpreter here (found: " in lines[0], done.stderr
