"""``python -m gilcore --python 3.12 --python 3.13t ...``: the same cells on several interpreters.

Each interpreter named (a version found by ``gilcore.pythons.interpreters.discover()``,
or a path) gets a venv of its own with gilcore installed from this source
tree, made once and reused while the source is unchanged
(~/.cache/gilbench/venvs/<name>-<binary>-<source hash>), with numpy where a
wheel exists for it. The run itself is ``python -m gilcore --output FILE``
in that venv, in a process group of its own: every cell it writes to FILE is
copied to this run's own --output the moment it appears, Ctrl-C or a stall
stops the whole group (nothing outlives the run), and the cells come back as
one table with one speedup column per interpreter, the interpreter this command
runs with included (a column of its own unless it is named); across
interpreters, least wall time decides (gilcore.cli.table.wall_verdicts).

The child runs in the caller's directory and finds the caller's modules
(``--workload mymod:func``) through the directory and PYTHONPATH, added
*after* its own site-packages: a checkout of gilcore in the current directory
must not shadow the venv's build of it (whose Cython extension matches the
child's Python).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from gilcore import paths
from gilcore.pythons import discovery, interpreters
from gilcore.pythons.interpreters import Interpreter, discover
from gilcore.cli.plan import check_run_options, parse_size, parse_workers
from gilcore.cli.runlog import Run, RunLog
from gilcore.errors import UsageError
from gilcore.runner import EXTRA_PAIRS, resolve_strategy
from gilcore.strategies.base import WARMUP_TIMEOUT
from gilcore.workloads import WORKLOADS

MIN_VERSION = (3, 9)
VENV_READY = "gilbench-venv.json"  # written last: a venv without it is a half-made one
CHILD_PATH = "GILCORE_CHILD_PATH"
# Sets sys.path before gilcore is imported: the venv's gilcore first, the caller's modules after it.
CHILD_CODE = (
    "import os, sys\n"
    "sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != os.getcwd()]\n"
    f"sys.path += [p for p in os.environ.get({CHILD_PATH!r}, '').split(os.pathsep) if p]\n"
    "from gilcore.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
SOURCE_SUFFIXES = (".py", ".pyx", ".pxd")
SOURCE_TOP_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md")
UNHASHED = ("README.md",)
VENV_SOURCE = ".gilcore-source"  # in a venv: the hash of the whole source its gilcore package holds
INSTALL_TIMEOUT = 1800.0  # a first Cython build and downloads on a busy 2-core machine
STOP_GRACE = 10.0  # seconds a child has to shut its workers down after SIGINT


class VenvError(RuntimeError):
    """A venv could not be made for an interpreter: one line says why."""


class ChildStalled(RuntimeError):
    """A child wrote nothing for longer than any cell may take; its group was killed."""


# --------------------------------------------------------------------------- which interpreters

def resolve(spec: str, found: Optional[Sequence[Interpreter]] = None) -> Interpreter:
    """A path, a version (3.12, 3.13t, 3.12.1) or a name from ``discover()`` that gilcore runs on; raises UsageError."""
    return _check_version(interpreters.resolve(spec, found), spec)


def resolve_all(specs: Sequence[str]) -> List[Interpreter]:
    found = discover()
    chosen: List[Interpreter] = []
    for spec in specs:
        interpreter = resolve(spec, found)
        if not any(os.path.samefile(interpreter.executable, other.executable) for other in chosen):
            chosen.append(interpreter)
    return chosen


def _check_version(interpreter: Interpreter, spec: str) -> Interpreter:
    if interpreter.implementation == "cpython" and interpreters.version_tuple(interpreter.version)[:2] < MIN_VERSION:
        raise UsageError(f"--python {spec}: {interpreter.name} is too old; gilcore needs Python 3.9 or newer")
    return interpreter


# --------------------------------------------------------------------------- venvs

def venvs_dir() -> Path:
    explicit = os.environ.get("GILBENCH_VENVS")
    if explicit:
        return Path(explicit)
    return Path(paths.in_cache("venvs"))


def source_tree() -> Path:
    """The checkout gilcore runs from: what the venvs install."""
    tree = Path(__file__).resolve().parents[2]
    if not ((tree / "pyproject.toml").is_file() and (tree / "setup.py").is_file()):
        raise UsageError("--python installs gilcore from its source tree, and this gilcore was installed "
                         f"without one ({tree}); run it from a checkout (pip install -e .)")
    return tree


def source_files(tree: Path) -> List[Path]:
    """The files a build reads: the package's sources and the top-level build files, sorted."""
    files = [tree / name for name in SOURCE_TOP_FILES if (tree / name).is_file()]
    for path in sorted((tree / "gilcore").rglob("*")):
        if path.suffix in SOURCE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
            files.append(path)
    return files


def source_hash(tree: Path, only_build_inputs: bool = False) -> str:
    """The code a venv holds (the README is copied for the metadata, not hashed); ``only_build_inputs``:
    what a build compiles or configures (everything but the package's .py files), which names a venv."""
    digest = hashlib.sha256()
    for path in source_files(tree):
        if path.relative_to(tree).as_posix() in UNHASHED or (only_build_inputs and _is_module(tree, path)):
            continue
        digest.update(str(path.relative_to(tree)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _is_module(tree: Path, path: Path) -> bool:
    """A pure-Python file of the package: copied into a venv as it is, no build needed."""
    return path.suffix == ".py" and path.relative_to(tree).parts[0] == "gilcore"


@dataclass
class Venv:
    path: Path
    numpy: Optional[str]  # the numpy version installed, None without one

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def venv_path(interpreter: Interpreter, digest: str) -> Path:
    binary = hashlib.sha256(os.path.realpath(interpreter.executable).encode()).hexdigest()[:8]
    return venvs_dir() / f"{interpreter.name}-{binary}-{digest}"


@contextlib.contextmanager
def _locked(path: Path, exclusive: bool, block: bool = True) -> Iterator[bool]:
    """A flock on ``<path>.lock``: exclusive while a venv is made or removed, shared while it is used."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as lock:
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if block else fcntl.LOCK_NB)
        try:
            fcntl.flock(lock, flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_venv(interpreter: Interpreter, tree: Path, digest: str,
                say: Callable[[str], None] = lambda text: None) -> Venv:
    """The interpreter's venv with this source installed, made now if needed; raises VenvError.

    A venv is named by the build inputs (the Cython kernels, the build files), not by every module: a
    change to the package's .py files alone is copied into it (``digest``, the whole source's hash, is
    kept beside it), so a new commit does not rebuild every interpreter's venv."""
    path = venv_path(interpreter, source_hash(tree, only_build_inputs=True))
    try:
        with _locked(path, exclusive=True):
            ready = path / VENV_READY
            if not ready.is_file():
                say(f"{interpreter.name}: making its venv with gilcore and numpy (once per build version) ...")
                started = time.perf_counter()
                _make_venv(interpreter, tree, path)
                (path / VENV_SOURCE).write_text(digest, encoding="utf-8")
                say(f"{interpreter.name}: venv ready in {time.perf_counter() - started:.0f} s: {path}")
            _sync_modules(path, tree, digest)
            info = json.loads(ready.read_text(encoding="utf-8"))
        _prune_siblings(path)
    except (OSError, ValueError) as error:  # an unwritable cache, a damaged marker file
        raise VenvError(f"{path}: {error}") from None
    return Venv(path, info.get("numpy") if isinstance(info, dict) else None)


def _sync_modules(path: Path, tree: Path, digest: str) -> None:
    """Make the venv's installed package hold this source's .py files (under the venv's exclusive lock)."""
    marker = path / VENV_SOURCE
    if marker.is_file() and marker.read_text(encoding="utf-8") == digest:
        return
    installed = sorted(path.glob("lib/python*/site-packages/gilcore"))
    if len(installed) != 1:
        raise OSError(f"no single installed gilcore package in {path}")
    package = installed[0]
    wanted = {source.relative_to(tree / "gilcore"): source for source in source_files(tree) if _is_module(tree, source)}
    for stale in package.rglob("*.py"):  # a module moved or removed since the venv was made
        if "__pycache__" not in stale.parts and stale.relative_to(package) not in wanted:
            stale.unlink()
    for relative, source in wanted.items():
        target = package / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)  # a new mtime: Python recompiles it
    marker.write_text(digest, encoding="utf-8")


def _make_venv(interpreter: Interpreter, tree: Path, path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)  # a half-made one from a run that was killed
    log_path = Path(f"{path}.log")
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            _step([interpreter.executable, "-m", "venv", str(path)], log, log_path, "python -m venv", 300)
            python = str(path / "bin" / "python")
            pip = [python, "-m", "pip", "--disable-pip-version-check", "--no-input", "install"]
            # Built from a copy: pip builds in the tree it is given, and the checkout must stay clean.
            with tempfile.TemporaryDirectory(prefix="gilcore-src-") as copy:
                for source in source_files(tree):
                    target = Path(copy) / source.relative_to(tree)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target)
                _step([*pip, copy], log, log_path, "pip install gilcore", INSTALL_TIMEOUT)
            numpy = None
            try:  # wheels only: a numpy built from source has no OpenBLAS, and may not build at all
                _step([*pip, "--only-binary=:all:", "numpy"], log, log_path, "pip install numpy", 600)
                numpy = subprocess.run([python, "-c", "import numpy; print(numpy.__version__)"], text=True,
                                       capture_output=True, timeout=120, env=_clean_env(False)).stdout.strip()
            except VenvError:
                pass  # numpy-matmul is then reported as unavailable in that column
        (path / VENV_READY).write_text(json.dumps({"numpy": numpy or None, "python": interpreter.executable,
                                                   "created": time.time()}), encoding="utf-8")
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    log_path.unlink()


def _step(command: List[str], log: Any, log_path: Path, what: str, timeout: float) -> None:
    """One install step in a process group of its own: a timeout or Ctrl-C kills pip and its builds too."""
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env=_clean_env(False), start_new_session=True)
    except OSError as error:
        raise VenvError(f"{what}: {error}") from None
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise VenvError(f"{what} took longer than {timeout:.0f} s (log: {log_path})") from None
    except BaseException:
        kill_group(process)
        raise
    kill_group(process)  # nothing of a finished step may linger (a build's compiler, say)
    if returncode != 0:
        log.flush()
        raise VenvError(f"{what} failed: {_last_line(log_path)} (log: {log_path})")


def _prune_siblings(path: Path) -> None:
    """Venvs of the same interpreter for older sources: removed unless in use (a shared lock)."""
    prefix = path.name[: -len(path.name.rsplit("-", 1)[1])]
    for sibling in path.parent.glob(prefix + "*"):
        if sibling == path or not sibling.is_dir():
            continue
        with _locked(sibling, exclusive=True, block=False) as mine:
            if mine:
                shutil.rmtree(sibling, ignore_errors=True)
        with contextlib.suppress(OSError):
            if not sibling.exists():
                Path(f"{sibling}.lock").unlink()


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return "no output"
    lines = [line for line in lines if line and not line.startswith("$ ")]
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines or ["no output"])[-1]


def _clean_env(free_threaded: bool) -> Dict[str, str]:
    """This environment less what would mislead another interpreter (its PYTHONPATH, this venv)."""
    env = discovery.child_env(free_threaded)
    env.pop("VIRTUAL_ENV", None)
    return env


# --------------------------------------------------------------------------- running one child

def child_env(interpreter: Interpreter) -> Dict[str, str]:
    env = _clean_env(interpreter.free_threaded)
    paths = [os.getcwd()] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env[CHILD_PATH] = os.pathsep.join(os.path.abspath(p) for p in paths)
    return env


def stop_group(process: "subprocess.Popen[Any]", grace: float = STOP_GRACE) -> None:
    """SIGINT to the child's whole group (it shuts its workers down), SIGKILL after ``grace`` s."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    kill_group(process)


def kill_group(process: "subprocess.Popen[Any]") -> None:
    """SIGKILL whatever is left in the child's group (orphaned workers included), then reap the child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def run_child(command: Sequence[str], *, env: Dict[str, str], on_output: Callable[[], bool],
              stall_seconds: float, poll_seconds: float = 0.2) -> "subprocess.CompletedProcess[str]":
    """Run ``command`` in a session of its own; call ``on_output`` every poll (True: it wrote something).

    Raises ChildStalled after ``stall_seconds`` without output; on any exception
    (Ctrl-C included) the group is stopped before it propagates.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        process = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=stderr, env=env, start_new_session=True)
        try:
            quiet_since = time.monotonic()
            while process.poll() is None:
                if on_output():
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > stall_seconds:
                    raise ChildStalled(f"no result for {stall_seconds:.0f} s; it and its workers were stopped")
                time.sleep(poll_seconds)
            on_output()
        except BaseException:
            stop_group(process)
            with contextlib.suppress(Exception):
                on_output()  # what it wrote while stopping: its last cells and its footer
            raise
        kill_group(process)  # a child that exited leaves nothing; one that crashed may leave workers
        stderr.seek(0)
        return subprocess.CompletedProcess(list(command), process.returncode, "", stderr.read())


class _Tail:
    """New complete lines of a file that another process appends to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.buffer = ""

    def lines(self) -> List[str]:
        try:
            with open(self.path, encoding="utf-8", errors="replace", newline="") as file:
                file.seek(self.offset)
                data = file.read()
                self.offset = file.tell()
        except OSError:
            return []
        self.buffer += data
        *complete, self.buffer = self.buffer.split("\n")
        return [line + "\n" for line in complete if line.strip()]


# --------------------------------------------------------------------------- the comparison

CHILD_OPTIONS = ("workload", "strategy", "workers", "size", "runs", "max_runs", "repeats", "max_repeats", "timeout")


def child_arguments(args: argparse.Namespace, output: Path) -> List[str]:
    argv: List[str] = []
    for name in CHILD_OPTIONS:
        value = getattr(args, name)
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                argv += [f"--{name.replace('_', '-')}", str(item)]
    if args.full:
        argv.append("--full")
    return [*argv, "--skip-unavailable", "--json", "--output", str(output)]


def _validate(args: argparse.Namespace) -> None:
    """What can be checked here, before any venv is made; each child checks the rest."""

    parse_workers(args.workers)
    parse_size(args.size)
    check_run_options(args)
    for name in args.workload or []:
        if ":" not in name and name not in WORKLOADS:
            raise UsageError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)} or give module:function")
    for name in args.strategy or []:
        resolve_strategy(name)
    if args.list:
        raise UsageError("--list lists one interpreter's cells: run it without --python")


def stall_limit(args: argparse.Namespace) -> float:
    """The longest a cell may run within its own timeouts: warm-up, then every pair's two runs."""
    return WARMUP_TIMEOUT + 120.0 + args.timeout * 2 * (max(args.repeats, args.max_repeats) + EXTRA_PAIRS + 1)


def main_compare(args: argparse.Namespace) -> int:
    """Run the cells on every --python interpreter in turn; one table (or --json) with all of them."""
    from gilcore.cli import table

    runs, interrupted = run_interpreters(args, with_this_one=True)
    if args.json:
        print(json.dumps({"interpreters": [dict(run.to_json(), venv=run.header.get("venv"),
                                                error=run.header.get("error")) for run in runs]},
                         indent=1, default=repr))
    else:
        table.print_comparison(runs)
    if interrupted:
        raise KeyboardInterrupt
    return 1 if any(run.failures or run.header.get("error") for run in runs) else 0


def running_interpreter() -> str:
    """The interpreter this command runs with, as --python takes it: the build its venv was made from."""
    return getattr(sys, "_base_executable", "") or sys.executable


def run_interpreters(args: argparse.Namespace, with_this_one: bool = False) -> Tuple[List[Run], bool]:
    """Every --python interpreter's run, in turn (``args`` as the main command parses them), and whether
    a Ctrl-C stopped them; raises UsageError when every interpreter refused the input alike.
    ``with_this_one``: the interpreter this command runs with gets a column of its own unless named."""
    from gilcore.cli.progress import Progress

    _validate(args)
    interpreters = resolve_all([*args.python, *([running_interpreter()] if with_this_one else [])])
    this = os.path.realpath(running_interpreter())
    tree = source_tree()
    digest = source_hash(tree)
    runs: List[Run] = []
    interrupted = False
    with RunLog(args.output) as log, tempfile.TemporaryDirectory(prefix="gilcore-compare-") as scratch:
        progress = Progress([])
        try:
            for index, interpreter in enumerate(interpreters):
                later = len(interpreters) - index - 1
                _run_one(interpreter, args, tree, digest, Path(scratch), log, progress, later, runs)
                runs[-1].header["this_command"] = os.path.realpath(interpreter.executable) == this
        except KeyboardInterrupt:
            interrupted = True
        finally:
            progress.close()
    if runs and not interrupted and all(run.header.get("usage_error") for run in runs):
        errors = {run.header["error"] for run in runs}
        if len(errors) == 1:  # every interpreter refused the input the same way: the input is wrong
            raise UsageError(errors.pop())
    return runs, interrupted


def _run_one(interpreter: Interpreter, args: argparse.Namespace, tree: Path, digest: str, scratch: Path,
             log: RunLog, progress: Any, later: int, runs: List[Run]) -> None:
    """One interpreter's run, appended to ``runs`` at once and filled in as its lines arrive."""
    from gilcore.cli.table import speedup_text

    run = Run(header={"python": interpreter.name, "executable": interpreter.executable})
    runs.append(run)
    progress.begin(f"{interpreter.name}: preparing its venv")
    try:
        venv = ensure_venv(interpreter, tree, digest, progress.note)
    except VenvError as error:
        run.header["error"] = f"no venv: {error}"
        progress.note(f"{interpreter.name}: {run.header['error']}")
        return
    progress.idle()  # a venv made now is not the first cell's time
    output = scratch / f"{interpreter.name}.jsonl"
    output.write_text("")
    tail = _Tail(output)
    counted = {"planned": 0, "ended": 0}

    def read_lines() -> bool:
        lines = tail.lines()
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # not a record: the child's file is checked by show, not here
            kind = record.get("record")
            if kind == "header":
                record.update(venv={"path": str(venv.path), "numpy": venv.numpy}, interpreter=interpreter.executable)
                run.header = {k: v for k, v in record.items() if k != "record"}
                planned = [tuple(key) for key in record.get("plan") or []] * args.runs  # each cell in runs
                counted["planned"] = len(planned)
                progress.replan(planned * (later + 1))  # later interpreters: assume the same cells
                log.write_line(json.dumps(record))
                continue
            run.add(record)
            log.write_line(line)
            if kind in ("cell_run", "failure") and record.get("workload"):  # one cell measured in one run
                key = (record["workload"], record["strategy"], record["workers"])
                counted["ended"] += 1
                progress.begin(f"{run.label}: {' '.join(map(str, key[:2]))} x{key[2]}")
                progress.end(key, speedup_text(record) if kind == "cell_run" else "FAILED")
        return bool(lines)

    command = [str(venv.python), "-c", CHILD_CODE, *child_arguments(args, output)]
    progress.begin(f"{interpreter.name}: A/A control")
    try:
        done = run_child(command, env=child_env(interpreter), on_output=read_lines, stall_seconds=stall_limit(args))
    except ChildStalled as error:
        run.header["error"] = str(error)
        progress.note(f"{interpreter.name}: {error}")
        return
    finally:  # its cells that did not come (skipped, or the run stopped) are no longer pending
        progress.replan(progress.pending[max(0, counted["planned"] - counted["ended"]):])
        run.settle()  # its runs' A/A controls into one line; cells over runs if no "cell" line came
    if done.returncode not in (0, 1):
        last = [line for line in done.stderr.splitlines() if line.strip()]
        message = (last or [f"exited with status {done.returncode}"])[-1]
        run.header["error"] = message.replace("gilcore: error: ", "", 1)
        run.header["usage_error"] = done.returncode == 2 and message.startswith("gilcore: error: ")
        if not run.header["usage_error"]:  # a usage error is said once, at the end (see main_compare)
            progress.note(f"{interpreter.name}: {run.header['error']}")
