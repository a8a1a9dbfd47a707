"""Shared test helpers: small sizes for every workload, a leak check around a test, parameters for
what applies here (the rest counted, not generated), the interpreters and tools a test needs (a skip
where absent, a failure in CI), folders kept between runs, and the closing count of the run."""
import collections
import contextlib
import dataclasses
import fcntl
import functools
import glob
import hashlib
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

import gilcore
from gilcore.pythons import discovery, interpreters, wanted

# A test run started in the background (`cmd &` in a script, nohup) inherits SIGINT ignored, and so would
# every child it starts: the Ctrl-C tests need children that take SIGINT as a terminal delivers it.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Sizes small enough that the whole grid runs in seconds, large enough to split.
SMALL_SIZES = {
    "countdown": 20_000, "primes": 3_000, "numpy-matmul": 6, "sha256": 6, "zlib": 4,
    "sleep": 6, "socket": 6, "file-read": 4,
}
# The free-threading patterns (gilcore.ftpatterns), strong and weak: a few thousand iterations.
SMALL_SIZES.update({f"ft-{pattern}{suffix}": 3_000
                    for pattern in gilcore.ftpatterns.PATTERNS for suffix in ("", "-weak")})

# .ci/run sets GILBENCH_CI=1: there, what scripts/setup-interpreters and scripts/setup-browser were
# run to provide is a promise, and a test that finds it missing fails instead of skipping.
CI = os.environ.get("GILBENCH_CI", "") not in ("", "0")
CACHE = Path(os.environ.get("GILBENCH_CACHE") or Path.home() / ".cache" / "gilbench")
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure():
    """A temp folder of this run's own, inherited by every child: the leak check then counts this run's
    gilcore-* files, not those of another test run on the same machine (pytest's tmp_path stays put)."""
    system_temp = os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
    # Left in place at exit (multiprocessing removes its own folder in it then): removed by a later run.
    for old in glob.glob(os.path.join(system_temp, "gilbench-tests-*-*")):
        pid = re.search(r"-(\d+)-[^-]*$", old)
        if pid and not psutil.pid_exists(int(pid.group(1))):
            shutil.rmtree(old, ignore_errors=True)
    os.environ["TMPDIR"] = tempfile.mkdtemp(prefix=f"gilbench-tests-{os.getpid()}-", dir=system_temp)
    tempfile.tempdir = None  # gettempdir() looks at TMPDIR again


# loky's semaphores and joblib's memmapping folders carry the pid of the process that made them
SHM_PID = re.compile(r"^(?:sem\.loky-|joblib_memmapping_folder_)(\d+)[-_]")


def snapshot():
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    return {
        "children": children,
        "threads": {t.ident for t in threading.enumerate()},
        "temp_files": set(glob.glob(os.path.join(tempfile.gettempdir(), "gilcore-*"))),
        "shm": {name for name in (os.listdir("/dev/shm") if os.path.isdir("/dev/shm") else [])
                if not _another_runs(name, children)},
    }


def _another_runs(shm_name, children):
    """An entry made by a live process outside this run (another test run on the machine), not a leak here."""
    made_by = SHM_PID.match(shm_name)
    if not made_by:
        return False
    pid = int(made_by.group(1))
    return pid != os.getpid() and pid not in children and psutil.pid_exists(pid)


def _in_use_elsewhere(shm_names, ours):
    """The shm entries a live process outside this run has mapped: another test run's, in use. By inode:
    glibc maps a semaphore under a temporary name, then links it to its real one."""
    inodes = {}
    for name in shm_names:
        with contextlib.suppress(OSError):
            inodes[os.stat(f"/dev/shm/{name}").st_ino] = name
    found = set()
    for pid in set(psutil.pids()) - ours:
        try:
            with open(f"/proc/{pid}/maps") as maps:
                lines = [line.split() for line in maps if "/dev/shm/" in line]
        except OSError:
            continue
        found |= {inodes[int(fields[4])] for fields in lines if int(fields[4]) in inodes}
    return found


def leaks(before, timeout=5.0):
    """What exists now that did not before; waits briefly for exiting processes."""
    deadline = time.monotonic() + timeout
    while True:
        after = snapshot()
        if after["shm"] - before["shm"]:
            after["shm"] -= _in_use_elsewhere(after["shm"] - before["shm"], after["children"] | {os.getpid()})
        extra = {key: after[key] - before[key] for key in before if after[key] - before[key]}
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.05)


@pytest.fixture
def no_leaks():
    """Fails the test if it leaves a child process, thread, temp file or shm segment behind."""
    before = snapshot()
    yield
    assert leaks(before) == {}


def as_if_under_asv(monkeypatch, conf_dir, env_name, commit="c" * 40):
    """The environment asv gives a benchmark process (no install-status folder): cell records then go to
    ``conf_dir``/results/cells/ under ``commit``."""
    monkeypatch.setenv("ASV_CONF_DIR", str(conf_dir))
    monkeypatch.setenv("ASV_ENV_NAME", env_name)
    monkeypatch.setenv("ASV_COMMIT", commit)
    monkeypatch.delenv("ASV_ENV_DIR", raising=False)
    monkeypatch.delenv("GILCORE_CELLS_DIR", raising=False)


# ----------------------------------------------------------------- parameters: only what applies here

# (what, reason) -> how many parameters were not generated; the closing summary prints it.
NOT_GENERATED = collections.Counter()


def applicable(what, candidates):
    """pytest.params for the (reason, param) pairs whose reason is None; the others only counted."""
    params = []
    for reason, param in candidates:
        if reason:
            NOT_GENERATED[what, reason] += 1
        else:
            params.append(param)
    return params


def available_cells(workers=2):
    """Every workload x strategy cell that applies on this interpreter."""
    # A reason names its workload ("workload 'ft-shared-list' is only meaningful with ..."): counted
    # without the name, so 20 ft-* workloads make one line of the summary.
    return applicable("workload x strategy cells", [
        (reason and re.sub(r"^workload '[^']+' ", "the workload ", reason),
         pytest.param(workload.name, strategy.name, workers, id=f"{workload.name}-{strategy.name}"))
        for workload in gilcore.WORKLOADS.values() for strategy in gilcore.STRATEGIES.values()
        for reason in [gilcore.applicability(workload, strategy)]])


def available_strategies(what, names, slow=()):
    """The strategies of ``names`` this interpreter can run (``slow`` ones marked), for the test ``what``."""
    return applicable(what, [
        (gilcore.STRATEGIES[name].unavailable_reason(),
         pytest.param(name, marks=[pytest.mark.slow] if name in slow else []))
        for name in names])


# ----------------------------------------------------------------- what a test needs from the machine

def need(what, how):
    """Ends a test whose ``what`` is missing: a skip, but in CI a failure naming it."""
    if CI:
        pytest.fail(f"GILBENCH_CI: missing {what}, which CI was promised ({how})", pytrace=False)
    pytest.skip(f"no {what} here ({how})")


@functools.lru_cache(maxsize=None)
def found_interpreters():
    """gilcore's discovery (interpreters.json, else PATH and pyenv), newest first; only those that exist."""
    found = [i for i in interpreters.discover() if i.exists]
    return sorted(found, key=lambda i: [int(n) for n in re.findall(r"\d+", i.version)[:3]], reverse=True)


def find_interpreter(command):
    """The newest interpreter found here that discovery calls ``command`` (python3.13t, pypy3, jython), or None."""
    return next((i for i in found_interpreters() if discovery.command_name(dataclasses.asdict(i)) == command), None)


def need_interpreter(command):
    """``find_interpreter``'s; without one the test skips, or fails in CI if it was promised."""
    found = find_interpreter(command)
    if found:
        return found
    # the one list of wanted interpreters: what scripts/setup-interpreters makes, installs or reports missing
    promised = {w.command: wanted.how_to_get(w) for w in wanted.WANTED}
    if command in promised:
        need(command, promised[command])
    pytest.skip(f"no {command} here")


def find_cpython(version, free_threaded=False):
    """The newest CPython of that minor version ("3.13") found here, else None."""
    return find_interpreter(f"python{version}{'t' if free_threaded else ''}")


def need_cpython(version, free_threaded=False):
    return need_interpreter(f"python{version}{'t' if free_threaded else ''}")


# ----------------------------------------------------------------- folders kept between runs

def source_key(*paths):
    """A short sha256 of the files (and folders' files) a built thing is made from, wherever the checkout is."""
    digest = hashlib.sha256()
    for path in map(Path, paths):
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(os.path.relpath(file, ROOT).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def _flock(path, blocking=True):
    with open(path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


@contextlib.contextmanager
def kept_folder(name, key):
    """Yields (folder, made_before): a folder under the cache's tests/ named by ``name`` and ``key`` (a hash
    of what it is made from), marked made only when the block ends without an error or a skip, so a later
    run with the same key reuses what the block built. Folders of other keys are removed unless in use."""
    root = CACHE / "tests"
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"{name}-{key}"
    with _flock(f"{folder}.lock"):
        for lock in root.glob(f"{name}-*.lock"):
            old = lock.with_suffix("")
            if old != folder:
                with _flock(lock, blocking=False) as unused:
                    if unused:
                        shutil.rmtree(old, ignore_errors=True)
                        lock.unlink()
        made = folder / ".made"
        before = made.is_file()
        if not before:
            shutil.rmtree(folder, ignore_errors=True)  # half made by a run that failed
            folder.mkdir()
        yield folder, before
        made.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))


# ----------------------------------------------------------------- the closing count

def _skip_reason(report):
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """What ran, what was skipped and why (one line per reason), what was not generated and why."""
    count = {key: len(terminalreporter.stats.get(key, [])) for key in ("passed", "failed", "error", "skipped",
                                                                       "deselected")}
    write = terminalreporter.write_line
    terminalreporter.section("gilbench: what ran")
    if not config.option.collectonly:
        ran = count["passed"] + count["failed"]
        slow_left_out = config.option.markexpr == "not slow" and count["deselected"]
        write(f"ran {ran} test{'' if ran == 1 else 's'}: {count['passed']} passed, {count['failed']} failed; "
              f"{count['error']} errors, {count['skipped']} skipped, {count['deselected']} deselected"
              + (" (marked slow: ./run-tests --slow runs them too)" if slow_left_out else ""))
    skipped = collections.Counter(_skip_reason(r) for r in terminalreporter.stats.get("skipped", []))
    if skipped:
        write("skipped, by reason:")
        for reason, n in sorted(skipped.items(), key=lambda item: (-item[1], item[0])):
            write(f"  {n:4}  {reason}")
    if NOT_GENERATED:
        write(f"not generated, as they do not apply here ({sum(NOT_GENERATED.values())} parameters), by reason:")
        for (what, reason), n in sorted(NOT_GENERATED.items(), key=lambda item: (-item[1], item[0])):
            write(f"  {n:4}  {what}: {reason}")
