"""The countdown on other interpreters: the probe's JSON, discovery, timeouts, bad input."""
import json
import math
import os
import subprocess
import sys
import time

import psutil
import pytest

from gilcore.pythons import interpreters

from .conftest import need_cpython, need_interpreter

SMALL = 20_000


def check_result(result, implementation, version):
    assert result["probe"] == "countdown"
    assert result["implementation"] == implementation
    assert result["version"] == version
    assert result["gil"] in ("enabled", "disabled", "none")
    assert result["count"] == SMALL and result["repeats"] == 2
    for mode in ("serial", "threads", "pool"):
        assert len(result["runs"][mode]) == 2
        assert result[f"{mode}_seconds"] > 0
    for mode in ("threads", "pool"):  # the geometric mean of the per-repeat (interleaved) pairs
        pairs = [s / m for s, m in zip(result["runs"]["serial"], result["runs"][mode])]
        assert result["ratios"][mode] == pytest.approx(pairs)
        assert result[f"{mode}_speedup"] == pytest.approx(math.exp(sum(map(math.log, pairs)) / len(pairs)))
    assert result["pool_startup_seconds"] > 0 and result["pool_unavailable"] is None
    assert all(spread >= 0 for spread in result["spread"].values())


def test_probe_prints_one_json_line(no_leaks):
    done = subprocess.run([sys.executable, str(interpreters.PROBE), str(SMALL), "2"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    check_result(json.loads(lines[0]), sys.implementation.name, "%d.%d.%d" % sys.version_info[:3])


def test_probe_on_the_current_interpreter(no_leaks):
    result = interpreters.probe(interpreters.current(), SMALL, 2, timeout=60)
    check_result(result, sys.implementation.name, "%d.%d.%d" % sys.version_info[:3])
    assert result["name"] == interpreters.current().name and result["wall_seconds"] > 0


def test_probe_on_python27(no_leaks):
    python27 = need_cpython("2.7")
    result = interpreters.probe(python27.executable, SMALL, 2, timeout=60)
    check_result(result, "cpython", python27.version)
    assert result["gil"] == "enabled" and result["gil_source"] == "implementation"


@pytest.mark.parametrize("command, implementation, gil", [("pypy3", "pypy", "enabled"), ("jython", "jython", "none")])
def test_probe_on_pypy_and_jython(command, implementation, gil, no_leaks):
    """`python -m gilcore interpreters` compares them too; Jython has no multiprocessing and says so."""
    found = need_interpreter(command)
    # a JIT runs 20,000 iterations in well under Jython's millisecond clock: 2 million take ~40 ms there
    result = interpreters.probe(found.executable, 2_000_000, 2, timeout=180)
    assert result["implementation"] == implementation and result["gil"] == gil
    assert result["serial_seconds"] > 0 and result["threads_speedup"] > 0
    if implementation == "jython":
        assert result["pool_unavailable"].startswith("no multiprocessing module") and result["pool_speedup"] is None
    else:
        assert result["pool_unavailable"] is None and result["pool_speedup"] > 0


def test_probe_rejects_bad_arguments():
    done = subprocess.run([sys.executable, str(interpreters.PROBE), "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "" and "usage:" in done.stderr


def test_discovery_includes_the_current_interpreter():
    here = os.path.realpath(sys.executable)
    found = interpreters.discover()
    assert any(os.path.realpath(i.executable) == here for i in found)
    assert len({i.name for i in found}) == len(found)


def test_discovery_reads_interpreters_json(tmp_path, monkeypatch):
    listing = [{"name": "old-python", "executable": str(tmp_path / "gone"), "version": "3.1.0",
                "implementation": "cpython", "free_threaded": False, "gil": "enabled"}]
    (tmp_path / "interpreters.json").write_text(json.dumps(listing))
    monkeypatch.setenv("GILBENCH_INTERPRETERS_JSON", str(tmp_path / "interpreters.json"))
    found = {i.name: i for i in interpreters.discover()}
    assert not found["old-python"].exists
    assert interpreters.current().name in found  # added: the file does not list this binary


def test_interpreters_json_carries_where_each_came_from_and_its_build_flags(tmp_path, monkeypatch):
    listing = [{"name": "cpython-3.98.1t", "executable": sys.executable, "version": "3.98.1",
                "implementation": "cpython", "free_threaded": True, "gil": "disabled", "source": "gilbench-build",
                "config_args": "'--disable-gil' '--prefix=/x'", "implementation_version": "3.98.1"}]
    (tmp_path / "interpreters.json").write_text(json.dumps(listing))
    monkeypatch.setenv("GILBENCH_INTERPRETERS_JSON", str(tmp_path / "interpreters.json"))
    found = {i.name: i for i in interpreters.discover()}["cpython-3.98.1t"]
    assert found.source == "gilbench-build" and "--disable-gil" in found.config_args


def test_discovery_without_json_looks_in_the_cache_bin_first(tmp_path, monkeypatch):
    (tmp_path / "cache" / "bin").mkdir(parents=True)
    os.symlink(sys.executable, tmp_path / "cache" / "bin" / "python3.95")
    monkeypatch.setenv("GILBENCH_INTERPRETERS_JSON", str(tmp_path / "absent.json"))
    monkeypatch.setenv("GILBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found = {i.name: i for i in interpreters.discover()}
    assert found["cpython-3.95"].source == "gilbench-build"


def test_discovery_without_json_uses_path_and_pyenv_bin_dirs(tmp_path, monkeypatch):
    def executable(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\nexit 1\n")
        path.chmod(0o755)

    executable(tmp_path / "bin" / "python3.98t")
    os.link(tmp_path / "bin" / "python3.98t", tmp_path / "bin" / "python3.98")  # as `make install` leaves it
    executable(tmp_path / "bin" / "python3")  # unversioned: whichever is selected, left out
    executable(tmp_path / "pyenv" / "versions" / "3.97.1" / "bin" / "python3.97")
    executable(tmp_path / "pyenv" / "shims" / "python3.96")  # a shim refuses unselected versions
    monkeypatch.setenv("GILBENCH_INTERPRETERS_JSON", str(tmp_path / "absent.json"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{tmp_path / 'pyenv' / 'shims'}")
    found = {i.name: i for i in interpreters.discover()}
    assert set(found) == {"cpython-3.98t", "cpython-3.97.1", interpreters.current().name}
    assert found["cpython-3.98t"].free_threaded and found["cpython-3.98t"].gil == "disabled"


def probe_processes(marker):
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if marker in (process.info["cmdline"] or []):
            found.append(process)
    return found


def test_timeout_kills_the_probe_and_its_pool(no_leaks):
    count = 987_654_321_012  # hours of counting, and a marker in every process's command line
    started = time.monotonic()
    with pytest.raises(interpreters.ProbeTimeout, match="no result within 1.5 s"):
        interpreters.probe(sys.executable, count, 1, timeout=1.5)
    assert time.monotonic() - started < 15
    deadline = time.monotonic() + 5  # SIGKILL is sure but not instant
    while probe_processes(str(count)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert probe_processes(str(count)) == []


def gilcore_interpreters(*args):
    return subprocess.run([sys.executable, "-m", "gilcore", "interpreters", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--count", "0"], "--count must be at least 2"),
    (["--count", "-3"], "--count must be at least 2"),
    (["--repeats", "0"], "--repeats must be at least 1"),
    (["--only", "no-such-python"], "--only no-such-python: no such interpreter here (found: "),
    (["--timeout", "0"], "--timeout must be positive"),
    (["--timeout", "nan"], "--timeout must be positive"),
    (["--count", "1"], "--count must be at least 2"),
    (["--count", "abc"], "argument --count: invalid int value: 'abc'"),
    (["--count", "1e6"], "argument --count: invalid int value: '1e6'"),
    (["--repeats", "1.5"], "argument --repeats: invalid int value: '1.5'"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_bad_input_exits_2_with_one_line(args, message):
    done = gilcore_interpreters(*args)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gilcore: error: ") and message in lines[0], done.stderr


def test_table_and_json_for_one_interpreter(no_leaks):
    here = os.path.realpath(sys.executable)
    name = next(i.name for i in interpreters.discover() if os.path.realpath(i.executable) == here)
    table = gilcore_interpreters("--only", name, "--count", str(SMALL), "--repeats", "2")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split()[:2] == ["interpreter", "version"]
    assert lines[2].split()[0] == name and "missing:" not in table.stdout
    assert f"[1/1] {name}" in table.stderr  # progress goes to stderr
    report = json.loads(gilcore_interpreters("--only", name, "--count", str(SMALL), "--repeats", "2",
                                             "--json").stdout)
    assert [r["name"] for r in report["results"]] == [name] and report["failures"] == []
