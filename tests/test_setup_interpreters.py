"""scripts/setup-interpreters: bad input, tarball checks, missing sources, discovery on PATH.

Each run gets a cache of its own (GILBENCH_CACHE in tmp_path) and only the targets it is about
(--only); tarballs come from a loopback `python -m http.server`, never from the internet.
The one check that builds CPython (a few minutes) is marked slow, and keeps its build between
runs until the script or the discovery changes.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from .conftest import CACHE, kept_folder, need, source_key

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "setup-interpreters")
PYTHONS = os.path.join(ROOT, "gilcore", "pythons")  # run as a folder: python3 gilcore/pythons discovery ...
SHA_3135 = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"


def setup(cache, *args, env=None, timeout=300):
    """Runs the script on its own cache; no apt lists, no internet: only the sources a test names."""
    full = dict(os.environ, GILBENCH_CACHE=str(cache), GILBENCH_CPYTHON_SOURCES="tarball",
                GILBENCH_CPYTHON_URL="http://127.0.0.1:9/nothing-here")
    full.pop("GILBENCH_CPYTHON_TARBALLS", None)
    full.update(env or {})
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=timeout, env=full,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def http_server(tmp_path):
    """A loopback HTTP server over a folder: (folder, base URL); stopped after the test."""
    folder = tmp_path / "www"
    folder.mkdir()
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1",
                               "--directory", str(folder), "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 43567 (http://...) ..."
        port = re.search(r"port (\d+)", line)
        assert port, line
        yield folder, f"http://127.0.0.1:{port.group(1)}"
    finally:
        server.kill()
        server.wait(timeout=10)
        server.stdout.close()


def report_lines(done, prefix):
    return [line.strip() for line in done.stdout.splitlines() if line.strip().startswith(prefix)]


@pytest.mark.parametrize("args, message", [
    (["--no-such-flag"], "unknown option '--no-such-flag'"),
    (["--only", "3.99"], "unknown target '3.99' for --only"),
    (["--only"], "--only needs a value"),
    (["--tarball", "/no/such/file.tar.xz"], "--tarball: no readable file '/no/such/file.tar.xz'"),
])
def test_bad_usage_exits_2_with_one_line(tmp_path, args, message):
    done = setup(tmp_path / "cache", *args, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("setup-interpreters: ") and message in lines[0], done.stderr


def test_bad_environment_exits_2(tmp_path):
    done = setup(tmp_path / "cache", env={"GILBENCH_CPYTHON_SOURCES": "tarball floppy"}, timeout=60)
    assert done.returncode == 2 and "unknown source 'floppy'" in done.stderr
    done = setup(tmp_path / "cache", env={"GILBENCH_JOBS": "0"}, timeout=60)
    assert done.returncode == 2 and "GILBENCH_JOBS must be a positive whole number" in done.stderr


def test_help_names_every_target_and_source():
    done = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for word in ("3.13t", "3.14t", "3.15t", "3.14", "3.15", "--tarball", "GILBENCH_CPYTHON_URL", "3.14.10", "3.15.2"):
        assert word in done.stdout


def test_missing_tarball_is_one_line_saying_how_to_provide_it(tmp_path, http_server):
    _, url = http_server  # serves nothing
    done = setup(tmp_path / "cache", "--only", "3.14t",
                 env={"GILBENCH_CPYTHON_SOURCES": "tarball url", "GILBENCH_CPYTHON_URL": url})
    assert done.returncode in (0, 1), done.stderr
    lines = [line for line in report_lines(done, "missing: ") if "python3.14t" in line]
    assert len(lines) == 1, done.stdout
    assert "Python-3.14.10.tar.xz" in lines[0] and "--tarball" in lines[0]
    assert "sha256 de414a57119abef52784d8993e341d53aed635fc2b05c2607d9f98a2c5b72032" in lines[0]
    assert f"{url}/3.14.10/Python-3.14.10.tar.xz" in done.stdout  # it did try the URL
    assert not (tmp_path / "cache" / "cpython-3.14.10t").exists()
    assert not list((tmp_path / "cache").glob("tmp.*"))  # its temporary folders are gone


def test_a_tarball_with_the_wrong_sha256_is_refused(tmp_path, http_server):
    folder, url = http_server
    (folder / "3.13.5").mkdir()
    (folder / "3.13.5" / "Python-3.13.5.tar.xz").write_bytes(b"not CPython" * 1000)
    given = tmp_path / "Python-3.13.5.tar.xz"
    given.write_bytes(b"not CPython either")
    done = setup(tmp_path / "cache", "--only", "3.13t", "--tarball", str(given),
                 env={"GILBENCH_CPYTHON_SOURCES": "tarball url", "GILBENCH_CPYTHON_URL": url})
    mismatches = [line for line in done.stdout.splitlines() if "sha256 mismatch" in line]
    assert len(mismatches) == 2, done.stdout  # the file given and the download
    assert all(f"pinned {SHA_3135}" in line for line in mismatches)
    assert [line for line in report_lines(done, "missing: ") if line.startswith("missing: python3.13t ")]
    assert not (tmp_path / "cache" / "cpython-3.13.5t").exists()
    assert not (tmp_path / "cache" / "src" / "Python-3.13.5.tar.xz").exists()  # a bad download is not kept


def fake_python(folder, name):
    """A python3.X that is really the Python running the tests, as a uv or python.org one would be."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    path.chmod(0o755)
    return path


def test_a_python_already_on_path_is_found_and_used(tmp_path):
    user_bin = tmp_path / "user-bin"
    found = fake_python(user_bin, "python3.14")
    cache = tmp_path / "cache"
    done = setup(cache, "--only", "3.14", env={"PATH": f"{user_bin}{os.pathsep}{os.environ['PATH']}"})
    assert "python3.14: already on PATH or in pyenv; used as it is" in done.stdout, done.stdout
    assert not (cache / "debian-python3.14").exists() and not (cache / "bin" / "python3.14").exists()
    entries = json.loads((cache / "interpreters.json").read_text())
    mine = [e for e in entries if e["executable"] == str(found)]
    assert len(mine) == 1 and mine[0]["source"] == "PATH"
    assert mine[0]["version"] == "%d.%d.%d" % sys.version_info[:3]  # measured by running it, not by its name


def test_discovery_runs_each_python_once_and_writes_the_path_dirs(tmp_path):
    user_bin = tmp_path / "user-bin"
    fake_python(user_bin, "python3.98")
    (user_bin / "python3.97").write_text("#!/bin/sh\nexit 3\n")  # does not run: left out, said so
    (user_bin / "python3.97").chmod(0o755)
    cache = tmp_path / "cache"
    (cache / "bin").mkdir(parents=True)
    os.symlink(sys.executable, cache / "bin" / "python3.96")  # one of the script's links
    env = dict(os.environ, PATH=f"{user_bin}{os.pathsep}{os.environ['PATH']}", PYENV_ROOT=str(tmp_path / "none"))
    done = subprocess.run([sys.executable, PYTHONS, "discovery", "--cache", str(cache), "--json", str(tmp_path / "i.json"),
                           "--path-dirs", str(tmp_path / "dirs")], capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 0, done.stderr
    entries = json.loads((tmp_path / "i.json").read_text())
    by_exe = {e["executable"]: e for e in entries}
    assert by_exe[str(cache / "bin" / "python3.96")]["source"] == "gilbench-build"
    assert by_exe[str(user_bin / "python3.98")]["source"] == "PATH"
    assert str(user_bin / "python3.97") not in by_exe and "could not run" in done.stderr
    assert len({e["name"] for e in entries}) == len(entries)
    assert all(e["config_args"] is not None and e["gil"] in ("enabled", "disabled", "none") for e in entries)
    # only the cache's bin dir (and pyenv's, none here) go first on PATH; user-bin keeps its place
    assert (tmp_path / "dirs").read_text().splitlines() == [str(cache / "bin")]


def test_no_build_writes_env_sh_that_puts_the_cache_first(tmp_path):
    cache = tmp_path / "cache"
    done = setup(cache, "--no-build", "--only", "pypy3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== gilbench interpreters" in done.stdout
    shell = f". {cache / 'env.sh'}; . {cache / 'env.sh'}; printf '%s\\n' \"$PATH\" \"$GILBENCH_INTERPRETERS_JSON\""
    path, listing = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, timeout=60,
                                   env=dict(os.environ, PATH="/usr/bin:/bin")).stdout.splitlines()
    assert path.split(":")[0] == str(cache / "bin") and path.count(str(cache / "bin")) == 1
    assert listing == str(cache / "interpreters.json") and os.path.isfile(listing)


def cached_3135_tarball():
    for name in ("Python-3.13.5.tar.xz", "python3.13_3.13.5.orig.tar.xz"):
        path = CACHE / "src" / name
        if path.is_file():
            return path
    need(f"CPython 3.13.5's tarball in {CACHE}/src", "scripts/setup-interpreters downloads it to build python3.13t")


@pytest.mark.slow
def test_builds_free_threaded_cpython_from_a_loopback_tarball_and_reuses_it(http_server):
    """The build (a few minutes) happens once per version of the script: its cache is kept between
    runs (conftest.kept_folder), and a later run checks the kept build and its reuse."""
    folder, url = http_server
    (folder / "3.13.5").mkdir()
    shutil.copy(cached_3135_tarball(), folder / "3.13.5" / "Python-3.13.5.tar.xz")
    env = {"GILBENCH_CPYTHON_SOURCES": "url", "GILBENCH_CPYTHON_URL": url}
    made_from = source_key(SCRIPT, PYTHONS, os.path.join(ROOT, "gilcore", "paths.py"))
    with kept_folder("setup-interpreters-3.13t", made_from) as (cache, built_before):
        if not built_before:
            done = setup(cache, "--only", "3.13t", env=env, timeout=3600)
            assert done.returncode == 0, done.stdout[-3000:]
            assert f"download {url}/3.13.5/Python-3.13.5.tar.xz ... ok" in done.stdout
            assert "./configure --disable-gil --prefix=" in done.stdout and "FAILED" not in done.stdout, done.stdout
        python = cache / "bin" / "python3.13t"
        gil = subprocess.run([str(python), "-c", "import sys; print(sys._is_gil_enabled())"], capture_output=True,
                             text=True, timeout=60, env={k: v for k, v in os.environ.items() if k != "PYTHON_GIL"})
        assert gil.stdout.strip() == "False"
        # a second run reuses the build and the checked tarball: no download, no make
        started = time.monotonic()
        again = setup(cache, "--only", "3.13t", env=dict(env, GILBENCH_CPYTHON_URL="http://127.0.0.1:9/gone"))
        assert again.returncode == 0 and "already built" in again.stdout and "make -j" not in again.stdout
        assert time.monotonic() - started < 120
        entries = {e["name"]: e for e in json.loads((cache / "interpreters.json").read_text())}
        assert entries["cpython-3.13.5t"]["source"] == "gilbench-build"
        assert "--disable-gil" in entries["cpython-3.13.5t"]["config_args"]


def test_every_provisioned_cpython_has_its_standard_library_byte_compiled():
    """A Debian root unpacked with `dpkg -x` has no .pyc, and with PYTHONDONTWRITEBYTECODE=1 none is
    written later: each process and subinterpreter then compiles its imports (start-ups 5-7x too long
    on 3.14 and 3.15 on 2026-12-02). setup-interpreters byte-compiles them; this checks every CPython it lists."""
    from gilcore.pythons import interpreters, provision

    path = interpreters.interpreters_json()
    if not path.is_file():
        need(str(path), "scripts/setup-interpreters writes it")
    cpythons = [found for found in interpreters.discover()
                if found.implementation == "cpython" and found.version.startswith("3") and found.exists]
    assert cpythons, f"{path} lists no CPython"
    missing = [found.name for found in cpythons if not provision.stdlib_compiled(found.executable)]
    assert not missing, f"standard library without bytecode: {missing}"
