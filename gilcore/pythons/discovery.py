"""The one interpreter discovery: which Pythons are here, found by name and then run.

scripts/setup-interpreters (gilcore/pythons/provision.py) imports it with
whatever python3 the machine has, before gilcore is built, so it imports only
the standard library and gilcore's stdlib-only modules, in Python 3.7 syntax; it
writes interpreters.json and the bin dirs env.sh puts on PATH.
gilcore.pythons.interpreters imports it to look on PATH when there is no such file.

Where it looks, first found wins a name:
  1. the cache's bin/ (the symlinks setup-interpreters makes: its CPython builds
     and Debian's newer CPythons);
  2. pyenv's versions, each by its real bin dir (the shims refuse any version
     that is not selected);
  3. every other dir on PATH (python3.X / python3.Xt of uv, python.org builds,
     /usr/bin's pypy3 and jython ...);
  4. the python3 that runs this.

    python3 gilcore/pythons discovery --cache DIR [--json FILE] [--path-dirs FILE] [--no-run]
"""
import argparse
import inspect
import json
import os
import re
import shutil
import subprocess
import sys

from gilcore.pythons import identity, wanted

# python2.7, python3.13, python3.13t, pypy, pypy3, pypy3.9, jython: versioned names only, never
# bare python/python3 (those are whichever version happens to be selected).
NAME = re.compile(r"^(?:python(?P<cpython>2\.7|3\.\d+t?)|(?P<pypy>pypy(?:\d(?:\.\d+)?)?)|(?P<jython>jython))$")


# Runs on every interpreter (CPython 2.7+, PyPy, Jython): one JSON line about itself.
PROBE = inspect.getsource(identity) + "import json\nprint('GILBENCH_PROBE ' + json.dumps(facts()))\n"
PROBE_SECONDS = {"jython": 120.0}  # a JVM needs seconds before the first line
DEFAULT_PROBE_SECONDS = 30.0
# Environment a child interpreter must not inherit: PYTHONPATH/PYTHONHOME of this (3.x, maybe asv's)
# environment break a 2.7 or PyPy child outright; PYTHON_GIL=0 is a fatal error on every GIL build.
UNINHERITED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__")


def child_env(free_threaded=False, environ=None):
    """The environment to run another interpreter in: this one's, less what would break it.

    PYTHON_GIL (asv's matrix sets it) is kept for a free-threaded child only: it is a
    switch of free-threaded builds, and a fatal error on every GIL build.
    """
    environ = os.environ if environ is None else environ
    drop = UNINHERITED if free_threaded else UNINHERITED + ("PYTHON_GIL",)
    return {k: v for k, v in environ.items() if k not in drop}


def pyenv_root():
    """pyenv's root folder when it has versions/, else None."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        try:
            root = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  universal_newlines=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            root = None
    if not root:
        root = os.path.expanduser("~/.pyenv")
    return root if os.path.isdir(os.path.join(root, "versions")) else None


def _inside(path, folder):
    return folder is not None and os.path.abspath(path).startswith(os.path.abspath(folder) + os.sep)


def _pyenv_bin_dirs(root):
    """Selected versions first (they keep what bare python3 means), then GIL builds newest first."""
    versions = os.path.join(root, "versions")
    selected = []
    if shutil.which("pyenv"):
        try:
            selected = subprocess.run(["pyenv", "version-name"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      universal_newlines=True, timeout=10).stdout.strip().split(":")
        except (OSError, subprocess.SubprocessError):
            selected = []
    names = [n for n in os.listdir(versions) if not os.path.islink(os.path.join(versions, n))]
    names.sort(key=lambda n: (n.endswith("t"), [-int(x) for x in re.findall(r"\d+", n)[:3]], n))
    ordered = [n for n in selected if n in names and not n.endswith("t")] + names
    dirs = []
    for name in ordered:
        d = os.path.join(versions, name, "bin")
        if os.path.isdir(d) and d not in dirs:
            dirs.append(d)
    return dirs


def candidates(cache=None):
    """(executable, source, bin dir) for every versioned Python name, in discovery order; nothing run."""
    pyenv = pyenv_root()
    cache_bin = os.path.join(cache, "bin") if cache else None
    dirs = []
    if cache_bin:
        dirs.append((cache_bin, "cache"))
    if pyenv:
        dirs += [(d, "pyenv") for d in _pyenv_bin_dirs(pyenv)]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or os.path.basename(os.path.normpath(d)) == "shims" or _inside(d, pyenv):
            continue  # pyenv's shims refuse versions that are not selected
        if cache and (_inside(d, cache) or os.path.abspath(d) == os.path.abspath(cache)):
            continue
        dirs.append((d, "system" if d in ("/usr/bin", "/bin") else "PATH"))
    found, seen = [], set()
    for directory, source in dirs:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        # in a pyenv folder of a free-threaded version, python3.13 is a link to python3.13t: take the t name
        names.sort(key=lambda name: not name.endswith("t"))
        for name in names:
            path = os.path.join(directory, name)
            if not NAME.match(name) or not os.path.isfile(path) or not os.access(path, os.X_OK):
                continue
            identity = file_identity(path)
            if identity in seen:
                continue
            seen.add(identity)
            found.append((path, _source(path, source, cache), directory))
    return found


def _source(path, source, cache):
    """Where an interpreter came from, for the report: the cache's links say which route made it."""
    if source != "cache":
        return source
    real = os.path.realpath(path)
    if "/debian-python" in real:
        return "debian-unstable"
    return "gilbench-build"


def file_identity(path):
    """The file itself, whatever symlinks or hard links lead to it."""
    try:
        status = os.stat(path)
    except OSError:
        return (os.path.realpath(path),)
    return status.st_dev, status.st_ino


def describe_by_name(path, source, pyenv=None):
    """What a file name (and a pyenv version folder) tell about an interpreter, unrun."""
    name = os.path.basename(path)
    match = NAME.match(name)
    if match is None:
        raise ValueError("not a versioned Python name: %s" % name)
    parent = os.path.dirname(os.path.dirname(path))
    folder = os.path.basename(parent) if pyenv and os.path.dirname(parent) == os.path.join(pyenv, "versions") else ""
    if match.group("jython"):
        implementation, version, free = "jython", "2.7", True
    elif match.group("pypy"):  # a bare "pypy" may be PyPy 2: no version promised
        implementation, version, free = "pypy", name[len("pypy"):], False
    else:
        implementation = "cpython"
        version = match.group("cpython").rstrip("t")
        free = name.endswith("t") or folder.endswith("t")
        if re.match(r"^\d+\.\d+\.\d+t?$", folder) and folder.startswith(version + "."):
            version = folder.rstrip("t")
    gil = "none" if implementation == "jython" else ("disabled" if free else "enabled")
    if implementation == "cpython":
        label = "cpython-%s%s" % (version, "t" if free else "")
    else:
        label = folder or name  # pyenv's pypy3.9-7.3.11, or pypy3, jython
    return {"name": label, "executable": path, "version": version, "implementation": implementation,
            "implementation_version": version, "free_threaded": free, "gil": gil, "source": source,
            "config_args": ""}


def probe(path, source, timeout=None):
    """Runs the interpreter once: the probe's facts plus name, source and executable; None if it does not run."""
    env = child_env()
    if timeout is None:
        timeout = PROBE_SECONDS.get("jython" if "jython" in os.path.basename(path) else "", DEFAULT_PROBE_SECONDS)
    try:
        done = subprocess.run([path, "-c", PROBE], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=env, cwd="/", timeout=timeout,
                              universal_newlines=True)
    except (OSError, subprocess.SubprocessError):
        return None
    facts = None
    for line in done.stdout.splitlines():
        if line.startswith("GILBENCH_PROBE "):
            try:
                facts = json.loads(line[len("GILBENCH_PROBE "):])
            except ValueError:
                facts = None
    if done.returncode != 0 or not isinstance(facts, dict):
        return None
    facts.pop("gil_source", None)  # interpreters.json says what each promises, not how it was read
    implementation, version = facts["implementation"], facts["version"]
    if implementation == "cpython":
        name = "cpython-%s%s" % (version, "t" if facts["free_threaded"] else "")
    elif implementation == "pypy":
        name = "pypy%s-%s" % (version.rsplit(".", 1)[0], facts["implementation_version"])
    else:
        name = "%s-%s" % (implementation, version)
    facts.update(name=name, executable=path, source=source, runs=facts["executable"])
    return facts


def command_name(entry):
    """The command asv and env.sh know it by: python3.13, python3.13t, pypy3 ..."""
    if entry["implementation"] == "cpython":
        return "python%s%s" % (".".join(entry["version"].split(".")[:2]), "t" if entry["free_threaded"] else "")
    return "pypy3" if entry["implementation"] == "pypy" else entry["implementation"]


def discover(cache=None, run=True, current=True):
    """(entries, bin dirs): every interpreter once, named uniquely; with run=False judged by name only."""
    pyenv = pyenv_root()
    entries, dirs, reals = [], [], set()
    found = candidates(cache)
    if current and run:  # bare python3 says nothing by its name: only a run tells what it is
        me = shutil.which("python3") or sys.executable
        if me:
            found.append((me, "current", None))
    for path, source, directory in found:
        entry = probe(path, source) if run else describe_by_name(path, source, pyenv)
        if entry is None:
            print("[gilbench] could not run %s; left out" % path, file=sys.stderr)
            continue
        runs = entry.pop("runs", "")
        if source == "current" and runs and os.path.isfile(runs):
            entry["executable"] = runs  # bare python3 may be a pyenv shim: the binary it runs
        real = os.path.realpath(entry["executable"])
        if real in reals:
            continue
        reals.add(real)
        taken = {e["name"] for e in entries}
        if entry["name"] in taken:  # e.g. pyenv's 3.13.0 and a python3.13 3.13.0 in /usr/local/bin
            n = 2
            while "%s-%d" % (entry["name"], n) in taken:
                n += 1
            entry["name"] = "%s-%d" % (entry["name"], n)
        entries.append(entry)
        # env.sh puts these first on PATH: the cache's links and pyenv's real bin dirs only
        # (a dir already on PATH keeps its place, so nothing else it holds changes meaning)
        if source in ("gilbench-build", "debian-unstable", "pyenv") and directory not in dirs:
            dirs.append(directory)
    return entries, dirs


def missing(entries, explained=()):
    """One line per wanted interpreter that is absent (unless the caller already said why)."""
    have = {command_name(e) for e in entries}
    return ["%s: not found (%s)" % (w.command, wanted.how_to_get(w))
            for w in wanted.WANTED if w.command not in have and w.command not in explained]


def _write(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 gilcore/pythons discovery", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="setup-interpreters' cache folder (its bin/ is looked at first)")
    parser.add_argument("--json", metavar="FILE", help="write the interpreters here (interpreters.json)")
    parser.add_argument("--path-dirs", metavar="FILE", help="write the bin dirs to put on PATH here, one a line")
    parser.add_argument("--no-run", action="store_true", help="judge by file names only; run nothing")
    parser.add_argument("--commands", action="store_true",
                        help="print only the command names found outside the cache (python3.14 ...), one a line")
    parser.add_argument("--explained", action="append", default=[], metavar="COMMAND",
                        help="a missing command the caller already reported (not repeated)")
    args = parser.parse_args(argv)
    if args.commands:
        entries, _ = discover(None, run=not args.no_run, current=False)
        for name in sorted({command_name(e) for e in entries}):
            print(name)
        return 0
    entries, dirs = discover(args.cache, run=not args.no_run)
    if args.json:
        _write(args.json, json.dumps(entries, indent=1) + "\n")
    if args.path_dirs:
        _write(args.path_dirs, "".join(d + "\n" for d in dirs))
    for e in entries:
        print("  %-22s %s  [%s, GIL %s]" % (e["name"], e["executable"], e["source"], e["gil"]))
    for line in missing(entries, args.explained):
        print("  missing: " + line)
    return 0 if any(e["source"] == "current" or e["implementation"] == "cpython" for e in entries) else 1


if __name__ == "__main__":
    sys.exit(main())
