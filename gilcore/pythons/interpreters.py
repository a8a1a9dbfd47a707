"""The interpreters gilcore compares, and the reference article's countdown run on each of them.

The rest of gilcore runs inside one interpreter; this module compares
interpreters. ``discover`` lists them (from scripts/setup-interpreters'
interpreters.json, or by looking on PATH and in pyenv), ``resolve`` finds the
one ``--python`` names, and ``probe`` runs ``countdown_probe.py`` with one of
them in a subprocess it always kills on timeout. ``python -m gilcore
interpreters`` (gilcore/cli/interpreters.py) prints the results per interpreter:
CPython 2.7 ... 3.13t, PyPy, Jython.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from gilcore import paths
from gilcore.pythons import discovery, identity, wanted
from gilcore.errors import UsageError

PROBE = Path(__file__).with_name("countdown_probe.py")
DEFAULT_COUNT = 10_000_000  # the article's COUNT
DEFAULT_REPEATS = 3

# Start-up allowance per implementation: a JVM needs seconds before Jython runs a line.
STARTUP_SECONDS = {"jython": 120.0}
DEFAULT_STARTUP_SECONDS = 30.0
# Work allowance: one repeat of the three modes, per million counted, with room for a
# slow interpreter (2.7's threads thrash) on a busy 2-core machine.
SECONDS_PER_MILLION = 1.0

THIS_PROCESS = "sys.executable"  # the source of the entry discover() adds for the running Python


class ProbeError(RuntimeError):
    """An interpreter did not give a countdown result: one line says why."""


class ProbeTimeout(ProbeError):
    """The probe took longer than its timeout; it and its children were killed."""


@dataclass(frozen=True)
class Interpreter:
    """One Python executable, described as interpreters.json describes it."""

    name: str
    executable: str
    version: str = ""
    implementation: str = "cpython"  # "cpython" | "pypy" | "jython"
    free_threaded: bool = False
    gil: str = ""  # what it promises: "enabled" | "disabled" | "none" | "" (unknown)
    source: str = ""
    config_args: str = ""  # sysconfig's CONFIG_ARGS: which columns are built alike

    @property
    def exists(self) -> bool:
        return os.path.isfile(self.executable) and os.access(self.executable, os.X_OK)

    def default_timeout(self, count: int = DEFAULT_COUNT, repeats: int = DEFAULT_REPEATS) -> float:
        startup = STARTUP_SECONDS.get(self.implementation, DEFAULT_STARTUP_SECONDS)
        return startup + SECONDS_PER_MILLION * repeats * count / 1e6


# --------------------------------------------------------------------------- discovery

def interpreters_json() -> Path:
    """Where scripts/setup-interpreters writes its list (its env.sh exports the path)."""
    explicit = os.environ.get("GILBENCH_INTERPRETERS_JSON")
    if explicit:
        return Path(explicit)
    return Path(paths.in_cache("interpreters.json"))


def discover() -> List[Interpreter]:
    """Every interpreter to compare, the running one always among them, in table order."""
    path = interpreters_json()
    found = None
    if path.is_file():
        try:
            found = _read_json(path)
        except (OSError, ValueError) as error:  # a half-written or hand-edited file
            warnings.warn(f"ignoring {path}: {error}; searching PATH and pyenv instead", stacklevel=2)
    if found is None:
        found = _search()
    return sorted(_with_current(found), key=_table_order)


def _read_json(path: Path) -> List[Interpreter]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError("expected a JSON list of interpreters")
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("executable"):
            raise ValueError(f"an entry needs a name and an executable: {entry!r}")
        found.append(Interpreter(
            name=str(entry["name"]), executable=str(entry["executable"]), version=str(entry.get("version", "")),
            implementation=str(entry.get("implementation", "cpython")),
            free_threaded=bool(entry.get("free_threaded", False)), gil=str(entry.get("gil", "")),
            source=str(entry.get("source", "interpreters.json")), config_args=str(entry.get("config_args", ""))))
    return found


def _search() -> List[Interpreter]:
    """Interpreters on PATH and in pyenv's real bin dirs, judged by their names without running any."""
    entries, _ = discovery.discover(os.environ.get("GILBENCH_CACHE"), run=False, current=False)
    return [_from_entry(entry) for entry in entries]


def _from_entry(entry: Dict[str, Any]) -> Interpreter:
    return Interpreter(name=entry["name"], executable=entry["executable"], version=entry["version"],
                       implementation=entry["implementation"], free_threaded=entry["free_threaded"],
                       gil=entry["gil"], source=entry["source"], config_args=entry.get("config_args", ""))


_identity = discovery.file_identity


def current() -> Interpreter:
    """The interpreter running this code, described by itself (discovery's one identity probe)."""
    facts = identity.facts()
    implementation, version, free = facts["implementation"], facts["version"], facts["free_threaded"]
    return Interpreter(name=f"{implementation}-{version}{'t' if free else ''}", executable=sys.executable,
                       version=version, implementation=implementation, free_threaded=free,
                       gil="" if free else facts["gil"],  # PYTHON_GIL may have changed it here: promise nothing
                       source=THIS_PROCESS, config_args=facts["config_args"])


def _with_current(found: List[Interpreter]) -> List[Interpreter]:
    """Adds the running interpreter unless one entry already is that very binary."""
    if not sys.executable:  # embedded Pythons have no executable to run
        return list(found)
    here = _identity(sys.executable)
    if any(_identity(i.executable) == here for i in found):
        return list(found)
    me = current()
    names = {i.name for i in found}
    if me.name in names:  # a different binary of the same version (a copied venv, say)
        me = Interpreter(**{**asdict(me), "name": f"{me.name}-current"})
    return [*found, me]


def version_tuple(version: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


_version_tuple = version_tuple  # its old name: benchmarks/bench_gil_behaviour.py calls it (asv runs old commits)


def _table_order(interpreter: Interpreter) -> Tuple[Any, ...]:
    rank = {"cpython": 0, "pypy": 1, "jython": 2}.get(interpreter.implementation, 3)
    return rank, version_tuple(interpreter.version), interpreter.free_threaded, interpreter.name


def missing(found: Sequence[Interpreter]) -> List[str]:
    """The orientation table's interpreters that are not among ``found``, one line each."""
    lines = []
    for want in wanted.in_table():
        if not any(i.implementation == want.implementation and i.free_threaded == want.free_threaded and i.exists
                   and (i.version == want.version or i.version.startswith(want.version + "."))
                   for i in found):
            lines.append(f"{want.label}: not found (scripts/setup-interpreters installs or builds it)")
    return lines


# --------------------------------------------------------------------------- --python

_VERSION_SPEC = re.compile(r"^(?:cpython-?|python)?(\d+)\.(\d+)(?:\.(\d+))?(t?)$")


def resolve(spec: str, found: Optional[Sequence[Interpreter]] = None, option: str = "--python") -> Interpreter:
    """What an interpreter name on any command line names (the main command's and gil's ``--python``,
    ``interpreters --only``, ``compare``): a path, a version (3.12, 3.13t, 3.12.1) or a name from
    ``discover()``; the newest patch release of a version. Raises UsageError naming ``option``."""
    if os.sep in spec or spec.startswith(".") or os.path.isfile(spec):
        return _resolve_path(spec, found, option)
    usable = [i for i in (discover() if found is None else found) if i.exists]
    exact = [i for i in usable if i.name == spec]
    if exact:
        return exact[0]
    match = _VERSION_SPEC.match(spec)
    if match:
        asked = tuple(int(part) for part in match.groups()[:3] if part is not None)
        free = bool(match.group(4))
        candidates = [i for i in usable if i.implementation == "cpython" and i.free_threaded == free
                      and version_tuple(i.version)[:len(asked)] == asked]
        if candidates:  # the newest patch release, e.g. 3.11.7 before a bare /usr/bin/python3.11
            return max(candidates, key=lambda i: version_tuple(i.version))
    names = ", ".join(i.name for i in usable) or "none"
    raise UsageError(f"{option} {spec}: no such interpreter here (found: {names}; "
                     "scripts/setup-interpreters makes more)")


def _resolve_path(spec: str, found: Optional[Sequence[Interpreter]], option: str) -> Interpreter:
    """A known interpreter at that path keeps its name and promises; another one is run once to say who it is."""
    path = os.path.abspath(os.path.expanduser(spec))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise UsageError(f"{option} {spec}: not an executable file")
    real = os.path.realpath(path)
    known = [i for i in (found or []) if os.path.realpath(i.executable) == real]
    if known:
        return known[0]
    facts = discovery.probe(path, option, timeout=60)
    if facts is None:
        raise UsageError(f"{option} {spec}: does not run as a Python interpreter")
    return Interpreter(name=facts["name"], executable=path, version=facts["version"],
                       implementation=facts["implementation"], free_threaded=facts["free_threaded"],
                       source="--python", config_args=facts["config_args"])


# --------------------------------------------------------------------------- probing

def probe(interpreter: Union[Interpreter, str], count: int = DEFAULT_COUNT, repeats: int = DEFAULT_REPEATS,
          timeout: Optional[float] = None) -> Dict[str, Any]:
    """The countdown on ``interpreter`` in a subprocess: the probe's JSON plus name and wall time.

    Raises ProbeTimeout after ``timeout`` seconds (the child and its pool workers
    are killed first) and ProbeError for anything else: no executable, a crash,
    no result, or a GIL in another state than the interpreter promises.
    """
    if isinstance(interpreter, str):
        interpreter = Interpreter(name=os.path.basename(interpreter), executable=interpreter)
    check_sizes(count, repeats)
    if timeout is None:
        timeout = interpreter.default_timeout(count, repeats)
    if not interpreter.exists:
        raise ProbeError(f"{interpreter.name}: {interpreter.executable} is not an executable file")
    env = discovery.child_env(interpreter.free_threaded)
    started = time.perf_counter()
    returncode, stdout, stderr = run_killable(
        [interpreter.executable, str(PROBE), str(count), str(repeats)], timeout, env, interpreter.name)
    result = _parse(stdout)
    if returncode != 0 or result is None:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        raise ProbeError(f"{interpreter.name}: the probe exited with status {returncode}: {last}")
    result.update(name=interpreter.name, interpreter=interpreter.executable,
                  wall_seconds=time.perf_counter() - started)
    _check_gil(interpreter, result, env)
    return result


def check_sizes(count: int, repeats: int, prefix: str = "") -> None:
    for value, what, least in ((count, prefix + "count", 2), (repeats, prefix + "repeats", 1)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{what} must be a whole number, not {value!r}")
        if value < least:
            raise UsageError(f"{what} must be at least {least}, not {value}"
                             + (" (it is split into two halves)" if what.endswith("count") else ""))


def run_killable(command: List[str], timeout: float, env: Dict[str, str], name: str) -> Tuple[int, str, str]:
    """Runs command in a session of its own, so one signal reaches it and all its children."""
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, text=True, encoding="utf-8", errors="replace", start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(process)
        raise ProbeTimeout(f"{name}: no result within {timeout:g} s; the probe and its workers were killed") from None
    except BaseException:  # Ctrl-C included: nothing may outlive us
        _kill_tree(process)
        raise
    # A probe that exited normally leaves no workers, but one that crashed might have.
    _kill_group(process.pid)
    return process.returncode, stdout, stderr


def _kill_group(pgid: int) -> None:
    killpg = getattr(os, "killpg", None)
    if killpg is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            killpg(pgid, signal.SIGKILL)


def _kill_tree(process: subprocess.Popen) -> None:
    _kill_group(process.pid)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    try:
        process.communicate(timeout=10)
    except subprocess.TimeoutExpired:  # a descendant that left the group still holds a pipe
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait()


def _parse(stdout: str) -> Optional[Dict[str, Any]]:
    """The probe's JSON line; a JVM or a site hook may print other lines first."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                result = json.loads(line)
                if isinstance(result, dict) and result.get("probe") == "countdown":
                    return result
    return None


def _check_gil(interpreter: Interpreter, result: Dict[str, Any], env: Dict[str, str]) -> None:
    """A GIL in another state than promised makes every speedup meaningless: fail loudly."""
    promised = interpreter.gil
    if interpreter.free_threaded and env.get("PYTHON_GIL") in ("0", "1"):
        promised = "enabled" if env["PYTHON_GIL"] == "1" else "disabled"
    if promised and result.get("gil") != promised:
        raise ProbeError(f"{interpreter.name}: GIL {result.get('gil')} during the run, but it promises "
                         f"{promised} (an extension or PYTHON_GIL changed it)")
