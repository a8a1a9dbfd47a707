"""What gilcore writes is written atomically: an interrupted write leaves the old file intact."""
import builtins
import glob
import json
import os
import signal
import subprocess
import sys

import pytest

from gilcore import atomic
from gilcore.publish import render, report

OLD = b"the old report, intact\n" * 1000


def temp_files(folder):
    return glob.glob(os.path.join(folder, ".gilcore-*.part"))


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / "report.md"
    path.write_bytes(OLD)
    return path


def test_write_replaces_and_leaves_no_temp_file(old_file):
    atomic.write_atomic(str(old_file), "new")
    assert old_file.read_text() == "new"
    assert temp_files(old_file.parent) == []


@pytest.mark.parametrize("where, error", [
    ("fsync", KeyboardInterrupt),  # Ctrl-C after the data went to the temp file, before the rename
    ("replace", OSError),  # the rename itself fails
])
def test_interrupted_write_keeps_the_old_file(old_file, monkeypatch, where, error):
    def interrupt(*args):
        raise error("interrupted on purpose")

    monkeypatch.setattr(atomic.os, where, interrupt)
    with pytest.raises(error):
        atomic.write_atomic(str(old_file), b"x" * (len(OLD) * 2))
    assert old_file.read_bytes() == OLD
    assert temp_files(old_file.parent) == []


# A writer that stops for a minute between writing the temp file and renaming it:
# the test interrupts it there, the worst moment.
SLOW_WRITER = """
import os, sys, time
from gilcore import atomic
real_fsync = os.fsync
def slow_fsync(fd):
    print("written", flush=True)
    time.sleep(60)
    real_fsync(fd)
atomic.os.fsync = slow_fsync
atomic.write_atomic(sys.argv[1], b"n" * (64 << 20))
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_killed_writer_leaves_the_old_file(old_file, sig):
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(old_file)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "written\n"
        assert [os.path.getsize(p) for p in temp_files(old_file.parent)] == [64 << 20]
        writer.send_signal(sig)
        writer.wait(30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        writer.stdout.close()
        writer.stderr.close()
    assert old_file.read_bytes() == OLD
    if sig == signal.SIGINT:  # KeyboardInterrupt: write_atomic removes its temp file
        assert temp_files(old_file.parent) == []
    else:  # SIGKILL: nothing can clean up; the stray temp file is never read as the report
        assert len(temp_files(old_file.parent)) == 1


def write_results(folder):
    machine = folder / "box"
    machine.mkdir(parents=True)
    (machine / "machine.json").write_text("{}")
    (machine / "aaaaaaaa-virtualenv-py3.12.json").write_text(json.dumps({
        "commit_hash": "a" * 40, "python": "3.12", "env_vars": {}, "version": 2,
        "result_columns": ["result", "params", "version", "started_at", "duration"],
        "results": {"bench_cpu.Countdown.track_speedup": [[1.0, 1.9], [["'threads'"], ["1", "2"]], "v", 0, 1.0]},
    }))
    return folder


def test_report_writes_only_through_write_atomic(tmp_path, monkeypatch):
    results = write_results(tmp_path / "results")
    out = tmp_path / "out"
    written = []
    real_open, real_write_atomic = builtins.open, report.write_atomic

    try:  # matplotlib writes its own font cache on first use: that is not the report's output
        import matplotlib.font_manager  # noqa: F401
    except ImportError:
        pass

    def read_only_open(file, mode="r", *args, **kwargs):
        assert not set(mode) & set("wax+"), f"report.py opened {file} with mode {mode!r}"
        return real_open(file, mode, *args, **kwargs)

    def spy(path, data):
        written.append(os.path.basename(path))
        real_write_atomic(path, data)

    monkeypatch.setattr(builtins, "open", read_only_open)
    for module in (report, render):  # the pages, and the charts drawn through publish/render.py
        monkeypatch.setattr(module, "write_atomic", spy)
    assert report.main(["--results", str(results), "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == sorted(written)
    assert {"gilcore-report.md", "gilcore-report.html"} <= set(written)


def test_interrupted_report_keeps_the_old_report(tmp_path, monkeypatch):
    results = write_results(tmp_path / "results")
    out = tmp_path / "out"
    assert report.main(["--results", str(results), "--out", str(out)]) == 0
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        report.main(["--results", str(results), "--out", str(out)])
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    assert temp_files(out) == []


@pytest.fixture
def umask():
    """Sets the process's umask for one test, and puts the old one back."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def modes(folder):
    """Every file and folder under ``folder``, with its permission bits."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = os.stat(path).st_mode & 0o777
    return found


@pytest.mark.parametrize("mask, file_mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)],
                         ids=["umask-022", "umask-077", "umask-002"])
def test_written_files_follow_the_umask(tmp_path, umask, mask, file_mode):
    umask(mask)
    new = tmp_path / "new.html"
    atomic.write_atomic(str(new), "<p>served by another user</p>")
    replaced = tmp_path / "old.svg"
    replaced.write_text("old")
    replaced.chmod(0o600)  # written by an older gilcore: the new version gets the umask's mode
    atomic.write_atomic(str(replaced), "<svg/>")
    assert modes(tmp_path) == {"new.html": file_mode, "old.svg": file_mode}


def test_report_and_its_svgs_are_readable_by_others_under_umask_022(tmp_path, umask):
    umask(0o022)
    results = write_results(tmp_path / "results")
    out = tmp_path / "out"
    assert report.main(["--results", str(results), "--out", str(out)]) == 0
    written = modes(out)
    assert {"gilcore-report.md", "gilcore-report.html"} <= set(written)
    assert {mode for mode in written.values()} == {0o644}


def test_a_timeline_svg_is_readable_by_others_under_umask_022(tmp_path, umask):
    from gilcore.gilprobes.timeline import Timeline, WorkerTrace

    umask(0o022)
    worker = WorkerTrace(label="thread 1", pid=os.getpid(), thread=1, slices=[(0, 5_000_000)])
    timeline = Timeline(python="3.x", strategy="threads", gil="on", start_ns=0, stop_ns=10_000_000,
                        gap_ns=100_000, workers=[worker])
    path = timeline.write_svg(tmp_path / "timelines" / "one.svg")
    assert modes(tmp_path) == {"timelines": 0o755, "timelines/one.svg": 0o644}
    assert path.read_text().startswith("<svg")
