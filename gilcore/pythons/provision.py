"""scripts/setup-interpreters: make every Python interpreter gilbench measures available.

* CPython 3.13.5 built twice from one source tarball (free-threaded python3.13t and the
  GIL build python3.13 of the very same release), and the free-threaded python3.14t and
  python3.15t, each from a tarball checked against a pinned sha256: a tarball you give,
  Debian's source package, or python.org;
* Debian unstable's binary python3.14 and python3.15, unpacked into a private root in the
  cache and patched to run with that root's own glibc (see install_debian_python);
* Debian's pypy3 and jython packages;
* then discovery (the one discovery, shared with gilcore) finds every python3.X /
  python3.Xt here -- the cache's, pyenv's, any on PATH -- runs each once and writes
  $CACHE/interpreters.json; this module writes $CACHE/env.sh.

Unattended: no standard input needed; every failing step prints one line and the run
goes on. Standard library only, Python 3.7 syntax: it runs with the machine's python3
before gilcore is built (scripts/setup-interpreters runs ``python3 gilcore/pythons provision``).
"""
import fcntl
import glob
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.request

from gilcore import paths
from gilcore.pythons import discovery, wanted
from gilcore.pythons.apt import Apt
from gilcore.pythons.steps import Step, have, last_line, output, read_lines, run, say, sha256_of

PROG = "setup-interpreters"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_URL = "https://www.python.org/ftp/python"
DEFAULT_SOURCES = "tarball cache debian url"
SOURCES = ("tarball", "cache", "debian", "url")
TARGETS = wanted.targets()  # 3.13t 3.13 3.14 3.15 3.14t 3.15t pypy3 jython

# The CPython releases built from source, one per minor version: the upstream tarball's sha256
# and size. Debian's python3.X_V.orig.tar.xz is upstream's Python-V.tar.xz byte for byte
# (checked for 3.13.5); the 3.14/3.15 pins come from Debian unstable's signed Sources index
# and match the versions of its binary python3.14/python3.15.
PINS = {
    "3.13": ("3.13.5", "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640", 22856016),
    "3.14": ("3.14.10", "de414a57119abef52784d8993e341d53aed635fc2b05c2607d9f98a2c5b72032", 24240392),
    "3.15": ("3.15.2", "8b5536d280142ecf6cdfe15d12a21ba1c65e300bbf7b28a8d0cdb849575797de", 27960396),
}
BUILD_DEPS = ["build-essential", "pkg-config", "xz-utils", "libssl-dev", "libffi-dev", "zlib1g-dev",
              "libbz2-dev", "liblzma-dev", "libsqlite3-dev", "libreadline-dev", "libncurses-dev", "uuid-dev",
              "libgdbm-dev", "libgdbm-compat-dev"]
BUILD_DEPS_OPTIONAL = ["tk-dev"]
CHECKED_MODULES = ("ssl", "ctypes", "sqlite3", "zlib", "bz2", "lzma", "readline", "_uuid", "dbm.gnu", "curses",
                   "decimal", "tkinter")


def stdlib_compiled(exe):
    """Whether ``exe``'s standard library has its bytecode (the .pyc of enum, which every process imports)."""
    # importlib.util rather than a module's __cached__, which 3.15 no longer sets
    check = "import enum, importlib.util, os; print(os.path.isfile(importlib.util.cache_from_source(enum.__file__)))"
    return output([exe, "-c", check], env=discovery.child_env()) == "True"


def debian_suite_for(minor):
    """The Debian suite publishing each minor's source package (and, for 3.14/3.15, the binaries)."""
    return "trixie" if minor == "3.13" else "unstable"


def usage(cache, url, sources):
    pins = ", ".join(pin[0] for pin in PINS.values())
    return """Usage: scripts/setup-interpreters [--no-build] [--only TARGETS] [--tarball FILE]... [--help]

Makes the Python interpreters gilbench compares available, unattended, into the cache:
  3.13t 3.13   CPython 3.13.5 built from source twice: free-threaded (--disable-gil) and with
               the GIL, so both columns are the same release built alike
  3.14t 3.15t  free-threaded CPython 3.14.10 / 3.15.2 built from source the same way
  3.14  3.15   Debian unstable's binary python3.14 / python3.15 in a private root (with its
               own glibc), patched to run on this system
  pypy3 jython Debian's packages (apt-get install)
Sources for a build, tried in this order (each checked against the pinned sha256):
  tarball  a file given with --tarball or GILBENCH_CPYTHON_TARBALLS
  cache    $CACHE/src/, from an earlier run
  debian   Debian's source package (trixie for 3.13, unstable for 3.14/3.15)
  url      $GILBENCH_CPYTHON_URL/V/Python-V.tar.xz (default {url})
A python3.14, python3.15, python3.14t or python3.15t already on PATH or in pyenv is used as it
is and not installed again.  Then every interpreter is found and run once
(gilcore/pythons/discovery.py), and $CACHE/interpreters.json and $CACHE/env.sh are written.

Options:
  --no-build       only discover: no build, no download, no apt-get install
  --only TARGETS   comma-separated subset of: {targets}
  --tarball FILE   a CPython source tarball (Python-V.tar.xz); repeatable
  -h, --help       show this help

Environment:
  GILBENCH_CACHE             cache folder (now: {cache})
  GILBENCH_JOBS              make -j value (default 2)
  GILBENCH_CPYTHON_TARBALLS  colon-separated tarball files, like --tarball
  GILBENCH_CPYTHON_URL       where Python-V.tar.xz are served (V/Python-V.tar.xz below it)
  GILBENCH_CPYTHON_SOURCES   which sources to try, in order (default: {sources})

Pinned releases: {pins}.  Logs go to $CACHE/logs/.
Missing Debian packages are installed with apt-get (as root, or through 'sudo -n').  Exit
status: 0 when at least the current python3 was found, 2 for bad usage.""".format(
        url=url, targets=",".join(TARGETS), cache=cache, sources=sources, pins=pins)


class UsageProblem(Exception):
    """Bad options or environment: one line on stderr, exit 2."""


class Options(object):
    def __init__(self, argv, environ):
        self.cache = environ.get(paths.CACHE_ENV) or paths.cache_dir()
        self.jobs = environ.get("GILBENCH_JOBS", "2")
        self.url = environ.get("GILBENCH_CPYTHON_URL", DEFAULT_URL)
        self.sources = environ.get("GILBENCH_CPYTHON_SOURCES", DEFAULT_SOURCES).split()
        self.build = True
        self.targets = list(TARGETS)
        self.tarballs = [t for t in environ.get("GILBENCH_CPYTHON_TARBALLS", "").split(":") if t]
        self.help = False
        self._parse(list(argv))

    def _parse(self, argv):
        while argv:
            arg = argv.pop(0)
            if arg == "--no-build":
                self.build = False
            elif arg == "--only" or arg.startswith("--only="):
                value = self._value(arg, argv, "--only needs a value (e.g. --only 3.14t,3.15)")
                self.targets = []
                for target in value.replace(",", " ").split():
                    if target not in TARGETS:
                        raise UsageProblem("unknown target '%s' for --only; choose from %s" % (target, ",".join(TARGETS)))
                    self.targets.append(target)
                if not self.targets:
                    raise UsageProblem("--only needs at least one target")
            elif arg == "--tarball" or arg.startswith("--tarball="):
                value = self._value(arg, argv, "--tarball needs a file")
                if not (os.path.isfile(value) and os.access(value, os.R_OK)):
                    raise UsageProblem("--tarball: no readable file '%s'" % value)
                self.tarballs.append(os.path.join(os.path.realpath(os.path.dirname(value) or "."),
                                                  os.path.basename(value)))
            elif arg in ("-h", "--help"):
                self.help = True
                return
            else:
                raise UsageProblem("unknown option '%s' (see --help)" % arg)
        for source in self.sources:
            if source not in SOURCES:
                raise UsageProblem("GILBENCH_CPYTHON_SOURCES: unknown source '%s' (tarball, cache, debian, url)" % source)
        if not self.jobs.isdigit() or int(self.jobs) == 0:
            raise UsageProblem("GILBENCH_JOBS must be a positive whole number, not '%s'" % self.jobs)

    @staticmethod
    def _value(arg, argv, missing):
        if "=" in arg:
            return arg.split("=", 1)[1]
        if not argv:
            raise UsageProblem(missing)
        return argv.pop(0)


class Setup(object):
    def __init__(self, options):
        self.options = options
        self.cache = options.cache
        self.missing_lines = []  # for the final report
        self.explained = []  # commands those lines are about (discovery does not repeat them)
        self.tmpdirs = []
        self.patchelf = None
        self.deps_done = False
        self.logs = self.bin = ""
        self.apt = None

    def missing(self, command, line):
        self.missing_lines.append(line)
        self.explained.append(command)

    def mktmp(self, prefix):
        folder = tempfile.mkdtemp(prefix="tmp.%s." % prefix, dir=self.cache)
        self.tmpdirs.append(folder)
        return folder

    def cleanup(self):
        for folder in self.tmpdirs:
            shutil.rmtree(folder, ignore_errors=True)

    def link(self, target, command):
        path = os.path.join(self.bin, command)
        if os.path.lexists(path):
            os.remove(path)
        os.symlink(target, path)

    # ----------------------------------------------------------------- sources

    def tarball_ok(self, path, version, sha):
        got = sha256_of(path)
        if got == sha:
            return True
        say("%s: sha256 mismatch for CPython %s (got %s, pinned %s); not used"
            % (os.path.basename(path), version, got or "nothing", sha))
        return False

    def find_tarball(self, version, sha, minor):
        """(tarball path or None, what was tried)."""
        tried = []
        src = os.path.join(self.cache, "src")
        os.makedirs(src, exist_ok=True)
        kept = os.path.join(src, "Python-%s.tar.xz" % version)
        for source in self.options.sources:
            if source == "tarball":
                names = ("Python-%s.tar.xz" % version, "Python-%s.tgz" % version,
                         "python%s_%s.orig.tar.xz" % (minor, version))
                for path in self.options.tarballs:
                    if os.path.basename(path) not in names and sha256_of(path) != sha:
                        continue
                    if self.tarball_ok(path, version, sha):
                        say("source: %s (sha256 checked)" % path)
                        return path, tried
                tried.append("no --tarball given for it")
            elif source == "cache":
                for path in (kept, os.path.join(src, "python%s_%s.orig.tar.xz" % (minor, version))):
                    if os.path.isfile(path):
                        if self.tarball_ok(path, version, sha):
                            say("source: reusing %s (sha256 checked)" % path)
                            return path, tried
                        os.remove(path)
            elif source == "debian":
                found = self._debian_source(version, sha, minor, kept, tried)
                if found:
                    return found, tried
            elif source == "url":
                found = self._download(version, sha, kept, tried)
                if found:
                    return found, tried
        return None, tried

    def _debian_source(self, version, sha, minor, kept, tried):
        suite = debian_suite_for(minor)
        if not self.apt.private(suite):
            tried.append("Debian %s: no package list" % suite)
            return None
        folder = self.mktmp("debsrc")
        log = os.path.join(self.logs, "source-python%s-download.log" % minor)
        step = Step("source: apt-get source --download-only python%s (Debian %s)" % (minor, suite))
        if not run(["apt-get", "-q"] + self.apt.private_options(suite) + ["source", "--download-only", "python" + minor],
                   log, cwd=folder):
            if any("404" in line for line in read_lines(log)):
                step.failed("Debian %s lists it, but its mirror does not serve the files (404)" % suite)
                tried.append("Debian %s's source is not served (404)" % suite)
            else:
                step.failed("see " + log)
                tried.append("Debian %s's source did not download" % suite)
            return None
        found = sorted(glob.glob(os.path.join(folder, "python%s_*.orig.tar.xz" % minor)))
        expected = "python%s_%s.orig.tar.xz" % (minor, version)
        if not found or os.path.basename(found[0]) != expected:
            step.failed("Debian %s has %s, not CPython %s" % (
                suite, os.path.basename(found[0]) if found else "no orig tarball", version))
            tried.append("Debian %s has another release" % suite)
            return None
        step.ok(os.path.basename(found[0]))
        if self.tarball_ok(found[0], version, sha):
            shutil.move(found[0], kept)
            return kept
        tried.append("Debian %s's tarball failed its sha256 check" % suite)
        return None

    def _download(self, version, sha, kept, tried):
        url = "%s/%s/Python-%s.tar.xz" % (self.options.url, version, version)
        target = os.path.join(self.mktmp("download"), "t.tar.xz")
        log = os.path.join(self.logs, "source-%s-url.log" % version)
        step = Step("source: download " + url)
        try:
            with urllib.request.urlopen(url, timeout=10) as response, open(target, "wb") as handle:
                shutil.copyfileobj(response, handle)
        except Exception as error:  # noqa: BLE001  any failure: unreachable, 404, reset, a bad URL
            with open(log, "w") as handle:
                handle.write("%s: %s\n" % (url, error))
            step.failed("not reachable (%s)" % last_line(log))
            tried.append("%s not reachable" % self.options.url)
            return None
        step.ok()
        if self.tarball_ok(target, version, sha):
            shutil.move(target, kept)
            return kept
        tried.append("the download from %s failed its sha256 check" % self.options.url)
        return None

    # ----------------------------------------------------------------- CPython from source

    def ensure_build_deps(self):
        if not self.deps_done:
            self.deps_done = True
            self.apt.ensure("builddeps", BUILD_DEPS)
            if not self.apt.ensure("builddeps-optional", BUILD_DEPS_OPTIONAL):
                say("(tk-dev is optional: only tkinter is left out without it)")
        return have("make") and have("gcc") and have("xz")

    @staticmethod
    def gil_enabled(exe):
        """What sys._is_gil_enabled() prints there ("True"/"False"), None when it does not run."""
        return output([exe, "-c", "import sys; print(sys._is_gil_enabled())"], env=discovery.child_env())

    def prefix_ok(self, exe, variant):
        """The install runs, has the right GIL state and pip."""
        if not os.access(exe, os.X_OK) or self.gil_enabled(exe) != ("False" if variant == "t" else "True"):
            return False
        return output([exe, "-m", "pip", "--version"], env=discovery.child_env(free_threaded=True)) is not None

    def build_cpython(self, minor, variant):
        """Builds CPython MINOR ("t" = free-threaded, "" = GIL build); links $BIN/pythonMINOR[t]."""
        version, sha, _ = PINS[minor]
        command = "python" + minor + variant
        name = "cpython-" + version + variant
        prefix = os.path.join(self.cache, name)
        exe = os.path.join(prefix, "bin", command)
        what = "%s (CPython %s%s)" % (command, version, variant)
        if self.prefix_ok(exe, variant):
            say("%s: already built in %s, reused" % (name, prefix))
            self.link(exe, command)
            return
        if not self.options.build:
            self.missing(command, "%s: not built yet (scripts/setup-interpreters without --no-build builds it; "
                                  "offline, give it Python-%s.tar.xz with --tarball)" % (what, version))
            return
        tarball, tried = self.find_tarball(version, sha, minor)
        if tarball is None:
            say("%s: no source tarball (%s)" % (name, "; ".join(tried) or "no source tried"))
            self.missing(command, "%s: no source: give Python-%s.tar.xz (sha256 %s) with --tarball FILE or "
                                  "GILBENCH_CPYTHON_TARBALLS, or run where %s is reachable"
                         % (what, version, sha, self.options.url))
            return
        if not self.ensure_build_deps():
            self.missing(command, "%s: no compiler, make or xz (apt-get install %s)" % (what, " ".join(BUILD_DEPS)))
            return
        work = self.mktmp("build-" + name)
        log = os.path.join(self.logs, name)
        built = self._build_into(work, tarball, prefix, variant, log, name, command)
        shutil.rmtree(work, ignore_errors=True)
        if not built:
            self.missing(command, "%s: the build did not work (logs: %s-*.log)" % (what, log))
            return
        self.check_python(exe, variant, name, "%s (delete it to rebuild)" % prefix)
        self.link(exe, command)

    def _build_into(self, work, tarball, prefix, variant, log, name, command):
        step = Step("%s: unpack %s" % (name, os.path.basename(tarball)))
        if not run(["tar", "-xf", tarball, "-C", work], log + "-unpack.log"):
            return step.failed("see %s-unpack.log" % log)
        folders = sorted(d for d in glob.glob(os.path.join(work, "*")) if os.path.isdir(d))
        source = folders[0] if folders else ""
        if not os.access(os.path.join(source, "configure"), os.X_OK):
            return step.failed("no configure script in the tarball")
        step.ok()
        # the same flags for every build, so the columns are built alike
        flags = (["--disable-gil"] if variant == "t" else []) + ["--prefix=" + prefix]
        step = Step("%s: ./configure %s" % (name, " ".join(flags)))
        if not run(["./configure"] + flags, log + "-configure.log", cwd=source):
            return step.failed("see %s-configure.log" % log)
        step.ok()
        step = Step("%s: make -j%s (log: %s-make.log)" % (name, self.options.jobs, log))
        if not run(["make", "-j" + self.options.jobs], log + "-make.log", cwd=source):
            return step.failed("see %s-make.log" % log)
        step.ok(self._not_built(log + "-make.log"))
        # altinstall: python3.X[t], pip3.X ... only, no bare python3/pip3
        destdir = os.path.join(work, "destdir")
        step = Step("%s: make altinstall DESTDIR=<temporary folder>" % name)
        if not run(["make", "altinstall", "DESTDIR=" + destdir], log + "-install.log", cwd=source):
            return step.failed("see %s-install.log" % log)
        staged = destdir + prefix
        if not os.access(os.path.join(staged, "bin", command), os.X_OK):
            return step.failed("no bin/%s in the staged install (log: %s-install.log)" % (command, log))
        step.ok()
        # atomic: the prefix appears only complete; a broken old one is moved away first
        step = Step("%s: move into %s" % (name, prefix))
        try:
            if os.path.lexists(prefix):
                os.rename(prefix, os.path.join(work, "old-prefix"))
        except OSError:
            return step.failed("cannot move the old %s away" % prefix)
        try:
            shutil.move(staged, prefix)
        except OSError:
            return step.failed("mv into %s did not work" % prefix)
        return step.ok()

    @staticmethod
    def _not_built(make_log):
        """make's note on the modules it could not build, one line of at most 200 characters."""
        lines = read_lines(make_log)
        pattern = re.compile(r"modules? (were|was) not found|Failed to build these modules|could not be built")
        picked = []
        for index, line in enumerate(lines):
            if pattern.search(line):
                picked += lines[index:index + 4]
        return "note: " + " ".join(" ".join(picked).split())[:200] if picked else ""

    def check_python(self, exe, variant, name, where):
        """GIL state, stdlib modules, pip, venv with pip: one line each."""
        log = os.path.join(self.logs, name + "-check.log")
        open(log, "w").close()
        want = "False" if variant == "t" else "True"
        step = Step("%s: check sys._is_gil_enabled()" % name)
        got = output([exe, "-c", "import sys; print(sys._is_gil_enabled())"], env=discovery.child_env(), log=log)
        if got == want:
            step.ok(got)
        else:
            step.failed("printed '%s', expected %s (log: %s)" % (got or "", want, log))
        step = Step("%s: check stdlib modules" % name)
        code = ("import importlib\nmiss = []\nfor m in %r:\n    try:\n        importlib.import_module(m)\n"
                "    except Exception:\n        miss.append(m)\nprint(' '.join(miss))" % (CHECKED_MODULES,))
        absent = output([exe, "-c", code], log=log)
        if absent is None:
            step.failed("see " + log)
        elif not absent:
            step.ok("all present")
        elif absent in ("tkinter", "dbm.gnu tkinter"):
            step.ok("all but %s (optional)" % absent)
        else:
            step.failed("missing modules: %s (%s)" % (absent, where))
        step = Step("%s: check venv with pip" % name)
        folder = self.mktmp("venv")
        env_python = os.path.join(folder, "env", "bin", "python")
        pip = None
        if run([exe, "-m", "venv", os.path.join(folder, "env")], log, timeout=600, append=True):
            pip = output([env_python, "-m", "pip", "--version"], log=log)
        if pip:
            step.ok(pip.split(" from ")[0])
        else:
            step.failed("'%s -m venv' or pip inside it does not work (log: %s)" % (exe, log))
        shutil.rmtree(folder, ignore_errors=True)

    # ----------------------------------------------------------------- Debian's binary CPython in a private root
    # Why this route: the binaries need glibc >= 2.38 (Debian 12 has 2.36). apt resolves their
    # whole dependency closure from Debian's metadata (an empty dpkg status), `dpkg -x` unpacks it
    # into $CACHE/debian-pythonX, and patchelf points the python binary at that root's own
    # dynamic loader and libraries (an absolute RPATH, inherited by every extension module it
    # loads). The binary stays in ROOT/usr/bin, so Python finds its stdlib relative to itself,
    # and it is a plain executable: venvs (a symlink to it), pip, subprocesses and multiprocessing
    # spawn/forkserver (sys.executable) all run it directly, with no chroot, no bind mounts, no
    # root and no wrapper. Host programs it starts (gcc for an extension, ...) are untouched.

    def ensure_patchelf(self):
        if self.patchelf is None:
            if not have("patchelf"):
                self.apt.ensure("patchelf", ["patchelf"])
            self.patchelf = shutil.which("patchelf")
        if self.patchelf is None:  # no root: Debian's patchelf for this system, unpacked into the cache
            tools = os.path.join(self.cache, "tools")
            unpacked = os.path.join(tools, "usr", "bin", "patchelf")
            if not os.access(unpacked, os.X_OK):
                folder = self.mktmp("patchelf")
                log = os.path.join(self.logs, "patchelf.log")
                if run(["apt-get", "-q", "download", "patchelf"], log, cwd=folder):
                    for deb in glob.glob(os.path.join(folder, "patchelf_*.deb")):
                        run(["dpkg", "-x", deb, tools], log, append=True)
            if os.access(unpacked, os.X_OK):
                self.patchelf = unpacked
        return self.patchelf is not None

    @staticmethod
    def debian_root_ok(root, minor):
        """Complete, and it runs with its stdlib."""
        exe = os.path.join(root, "usr", "bin", "python" + minor)
        if not (os.path.isfile(os.path.join(root, ".gilbench-complete")) and os.access(exe, os.X_OK)):
            return False
        prefix = output([exe, "-c", "import sys, ssl, ctypes, venv; print(sys.prefix)"], env=discovery.child_env())
        return prefix == os.path.join(root, "usr")

    def install_debian_python(self, minor):
        """Debian's binary pythonMINOR in $CACHE/debian-pythonMINOR; links $BIN/pythonMINOR."""
        suite = debian_suite_for(minor)
        root = os.path.join(self.cache, "debian-python" + minor)
        command = "python" + minor
        exe = os.path.join(root, "usr", "bin", command)
        stamp = os.path.join(root, ".gilbench-complete")
        if self.debian_root_ok(root, minor):
            with open(stamp) as handle:
                say("%s: Debian %s's %s in %s, reused" % (command, suite, handle.read().strip(), root))
            if not stdlib_compiled(exe) and not self._compile_stdlib(root, minor):
                return self.missing(command, "%s: its standard library did not byte-compile (log: %s)"
                                    % (command, self.compileall_log(minor)))
            self.link(exe, command)
            return
        if not self.options.build:
            return self.missing(command, "%s: Debian %s's binary not installed yet (run scripts/setup-interpreters "
                                         "without --no-build)" % (command, suite))
        if not self.ensure_patchelf():
            return self.missing(command, "%s: needs patchelf (apt-get install patchelf)" % command)
        if not self.apt.private(suite):
            return self.missing(command, "%s: no Debian %s package list (log: %s/apt-%s-update.log)"
                                % (command, suite, self.logs, suite))
        folder = os.path.join(self.cache, "apt-" + suite)
        log = os.path.join(self.logs, "debian-%s.log" % command)
        options = self.apt.private_options(suite)
        # the closure, from apt's metadata: "Inst NAME (VERSION ..." lines of a simulated install
        step = Step("%s: resolve %s %s-dev %s-venv from Debian %s" % (command, command, command, command, suite))
        simulated = output(["apt-get", "-q", "-s"] + options + ["install", command, command + "-dev", command + "-venv"],
                           log=log) or ""
        closure = [(w[1], w[2].lstrip("(")) for w in (line.split() for line in simulated.splitlines())
                   if len(w) > 2 and w[0] == "Inst"]
        if not closure:
            step.failed("Debian %s has no %s (log: %s)" % (suite, command, log))
            return self.missing(command, "%s: not in Debian %s (log: %s)" % (command, suite, log))
        version = dict(closure).get(command + "-minimal", "")
        step.ok("%d packages, %s %s" % (len(closure), command, version))
        step = Step("%s: apt-get download (into %s/debs; apt checks each file's hash)" % (command, folder))
        debs = os.path.join(folder, "debs")
        if not run(["apt-get", "-q"] + options + ["download"] + ["%s=%s" % p for p in closure], log,
                   cwd=debs, append=True):
            step.failed("see " + log)
            return self.missing(command, "%s: Debian %s's packages did not download (log: %s)" % (command, suite, log))
        step.ok()
        step = Step("%s: unpack into %s" % (command, root))
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        for name, package_version in closure:
            found = sorted(glob.glob(os.path.join(debs, "%s_%s_*.deb" % (name, package_version.replace(":", "%3a")))))
            if not found or not run(["dpkg", "-x", found[0], root], log, append=True):
                step.failed("%s %s (log: %s)" % (name, package_version, log))
                return self.missing(command, "%s: could not unpack %s (log: %s)" % (command, name, log))
        step.ok()
        if not self._patch_debian_root(root, minor, log):
            return self.missing(command, "%s: could not make Debian's binary run here (log: %s)" % (command, log))
        if not self._compile_stdlib(root, minor):
            return self.missing(command, "%s: its standard library did not byte-compile (log: %s)"
                                % (command, self.compileall_log(minor)))
        self.check_python(exe, "", "debian-" + command, "Debian %s's %s %s" % (suite, command, version))
        with open(stamp, "w") as handle:
            handle.write(version + "\n")
        if not self.debian_root_ok(root, minor):
            os.remove(stamp)
            return self.missing(command, "%s: Debian's binary does not run with its root (log: %s)" % (command, log))
        self.link(exe, command)

    def compileall_log(self, minor):
        return os.path.join(self.logs, "debian-python%s-compileall.log" % minor)

    def _compile_stdlib(self, root, minor):
        """Byte-compile the unpacked standard library, as Debian's postinst (py3compile) would have.
        `dpkg -x` unpacks sources only, and with PYTHONDONTWRITEBYTECODE=1 (set on these machines)
        nothing writes the .pyc files later: every process, every spawned pool worker and every
        subinterpreter then compiled each module it imported. On 2026-12-02 a subinterpreter's
        start-up took 0.56-0.76 s on 3.14 and 3.15 against 0.08-0.11 s on 3.12 and 3.13, and
        `import gilcore, numpy` 1.1-1.2 s against 0.25-0.7 s."""
        exe = os.path.join(root, "usr", "bin", "python" + minor)
        log = self.compileall_log(minor)
        step = Step("python%s: byte-compile its standard library (compileall)" % minor)
        # compileall exits 1 when any file fails (a few test fixtures are not valid Python): the check
        # that counts is that the modules every process imports now have their .pyc
        run([exe, "-m", "compileall", "-q", "-j", "0", os.path.join(root, "usr", "lib", "python" + minor)], log,
            env=discovery.child_env())
        if not stdlib_compiled(exe):
            return step.failed("no .pyc for its standard library (log: %s)" % log)
        return step.ok()

    def _patch_debian_root(self, root, minor, log):
        exe = os.path.join(root, "usr", "bin", "python" + minor)
        step = Step("python%s: patch the binary to use %s's glibc" % (minor, root))
        libcs = [os.path.join(d, "libc.so.6") for d, _, files in os.walk(root) if "libc.so.6" in files]
        if not libcs or not os.path.isfile(exe):
            return step.failed("no libc.so.6 or no python%s in %s" % (minor, root))
        libdir = os.path.dirname(libcs[0])
        triplet = os.path.basename(libdir)
        interpreter = output([self.patchelf, "--print-interpreter", exe], log=log) or ""
        loaders = [root + interpreter, root + "/usr" + interpreter, os.path.join(libdir, os.path.basename(interpreter))]
        loader = next((os.path.realpath(f) for f in loaders if interpreter and os.path.exists(f)), "")
        if not loader:
            return step.failed("no %s in %s" % (os.path.basename(interpreter), root))
        rpath = ":".join(d for d in (os.path.join(root, "usr", "lib", triplet), os.path.join(root, "lib", triplet),
                                     os.path.join(root, "usr", "lib")) if os.path.isdir(d) and not os.path.islink(d))
        if not run([self.patchelf, "--set-interpreter", loader, "--force-rpath", "--set-rpath", rpath, exe], log,
                   append=True):
            return step.failed("patchelf (log: %s)" % log)
        # Debian's pyconfig.h only includes <TRIPLET/pythonX/pyconfig.h> from the system's
        # /usr/include, where this root is not: put the real one in its place.
        real = os.path.join(root, "usr", "include", triplet, "python" + minor, "pyconfig.h")
        if os.path.isfile(real):
            shutil.copyfile(real, os.path.join(root, "usr", "include", "python" + minor, "pyconfig.h"))
        # ensurepip looks for its wheels in WHEEL_PKG_DIR, an absolute /usr/share/python-wheels
        # baked in at build time: the system's (an old pip, or none), not this root's.
        for path in glob.glob(os.path.join(root, "usr", "lib", "python" + minor, "_sysconfigdata_*.py")):
            with open(path) as handle:
                text = handle.read()
            fixed = re.sub(r"'WHEEL_PKG_DIR': '/usr/share/python-wheels/*'",
                           "'WHEEL_PKG_DIR': '%s/usr/share/python-wheels/'" % root, text)
            if fixed != text:
                with open(path, "w") as handle:
                    handle.write(fixed)
        return step.ok(loader)

    # ----------------------------------------------------------------- all of it

    def make(self, target, own_commands):
        command = "python" + target if target[0].isdigit() else target
        minor = target.rstrip("t")
        if target.startswith("3.13"):
            self.build_cpython("3.13", target[len("3.13"):])
        elif target[0].isdigit():
            if command in own_commands:
                say("%s: already on PATH or in pyenv; used as it is" % command)
                path = os.path.join(self.bin, command)
                if os.path.lexists(path):
                    os.remove(path)
            elif target == minor:
                self.install_debian_python(minor)
            else:
                self.build_cpython(minor, "t")
        elif self.options.build and not self.apt.installed(target) and not have(target):
            if not self.apt.ensure(target, [target]):
                self.missing(target, "%s: not installed (apt-get install %s; log: %s/apt-install-%s.log)"
                             % (target, target, self.logs, target))

    def main(self):
        started = time.time()
        self.logs = os.path.join(self.cache, "logs")
        try:
            for folder in (self.cache, self.logs, os.path.join(self.cache, "bin")):
                os.makedirs(folder, exist_ok=True)
        except OSError:
            print("[gilbench] cannot create the cache folder %s: set GILBENCH_CACHE to a writable folder" % self.cache)
            return 1
        self.cache = os.path.realpath(self.cache)
        self.logs = os.path.join(self.cache, "logs")
        self.bin = os.path.join(self.cache, "bin")
        lock = open(os.path.join(self.cache, ".lock"), "w")  # one run at a time on one cache
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            say("another setup-interpreters run holds %s/.lock; waiting for it" % self.cache)
            fcntl.flock(lock, fcntl.LOCK_EX)
        # leftovers of an interrupted run (never trusted, never reused)
        for leftover in glob.glob(os.path.join(self.cache, "tmp.*")) + [os.path.join(self.cache, "probe.py")]:
            if os.path.isdir(leftover) and not os.path.islink(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
            elif os.path.lexists(leftover):
                os.remove(leftover)
        self.apt = Apt(self.cache, self.logs)
        say(describe_system(self.cache, self.options.targets))
        # Commands a user already has outside the cache (pyenv, uv, python.org builds): used as they are.
        entries, _ = discovery.discover(None, run=False, current=False)
        own_commands = {discovery.command_name(e) for e in entries}
        for target in self.options.targets:
            self.make(target, own_commands)
        for link in glob.glob(os.path.join(self.bin, "*")):
            if os.path.islink(link) and not os.path.exists(link):  # its interpreter has gone
                os.remove(link)
        return self.discover_and_write(started)

    def discover_and_write(self, started):
        json_path = os.path.join(self.cache, "interpreters.json")
        path_dirs = os.path.join(self.cache, "path-dirs")
        print()
        print("== gilbench interpreters (%d s so far; each one run once) ==" % (time.time() - started), flush=True)
        arguments = ["--cache", self.cache, "--json", json_path, "--path-dirs", path_dirs]
        for command in self.explained:
            arguments += ["--explained", command]
        found = discovery.main(arguments)
        for line in self.missing_lines:
            print("  missing: " + line)
        # the cache's links first (even before anything is made), then pyenv's bin dirs
        dirs = [self.bin] + [d for d in read_lines(path_dirs) if d and d != self.bin]
        env_sh = os.path.join(self.cache, "env.sh")
        try:
            temporary = "%s.tmp.%d" % (env_sh, os.getpid())
            with open(temporary, "w") as handle:
                handle.write(env_sh_text(env_sh, self.bin, dirs, json_path))
            os.replace(temporary, env_sh)
        except OSError:
            say("could not write " + env_sh)
        print("== files ==")
        print("  " + json_path)
        print("  logs: %s/" % self.logs)
        print("== to use them (%d s in all) ==" % (time.time() - started))
        print("  source " + env_sh, flush=True)
        return 0 if found == 0 else 1


def describe_system(cache, targets):
    release = {}
    for line in read_lines("/etc/os-release"):
        if "=" in line:
            key, value = line.split("=", 1)
            release[key] = value.strip().strip("\"'")
    os_id, os_version, codename = release.get("ID", "unknown"), release.get("VERSION_ID", ""), \
        release.get("VERSION_CODENAME", "")
    debian_version = (read_lines("/etc/debian_version") or ["none"])[0]
    text = "system: %s %s%s, debian_version %s, %s cores; cache %s; targets: %s" % (
        os_id, os_version, " (%s)" % codename if codename else "", debian_version, os.cpu_count() or "?", cache,
        " ".join(targets))
    if (os_id, os_version) not in (("debian", "12"), ("debian", "13")):
        text += "\n[gilbench] note: written for Debian 12 and 13; going on anyway"
    return text


def env_sh_text(env_sh, bin_dir, dirs, json_path):
    """$CACHE/env.sh: puts the cache's links and pyenv's real bin dirs first on PATH; sourcing it twice is harmless."""
    return """# Generated by gilbench's scripts/setup-interpreters on {stamp}; do not edit.
# Source it (. {env_sh}) to put first on PATH: {bin} (links to the interpreters the script
# made: python3.13 is the 3.13.5 GIL build, ahead of pyenv's 3.13.x), then pyenv's real bin
# dirs (python3.9 ... resolve to real binaries, not shims; the selected version first, so bare
# python/python3/pip keep their meaning).  Sourcing it twice is harmless.
_gilbench_dirs='{dirs}'
_gilbench_rest=
_gilbench_ifs_set=
if [ -n "${{IFS+set}}" ]; then _gilbench_ifs_set=1; _gilbench_ifs=$IFS; fi
IFS=:
for _gilbench_d in $PATH; do
    case ":$_gilbench_dirs:" in
        *":$_gilbench_d:"*) ;;
        *) _gilbench_rest="${{_gilbench_rest:+$_gilbench_rest:}}$_gilbench_d" ;;
    esac
done
if [ -n "$_gilbench_ifs_set" ]; then IFS=$_gilbench_ifs; else unset IFS; fi
if [ -n "$_gilbench_dirs" ]; then
    PATH="$_gilbench_dirs${{_gilbench_rest:+:$_gilbench_rest}}"
fi
export PATH
unset _gilbench_dirs _gilbench_rest _gilbench_ifs _gilbench_ifs_set _gilbench_d
hash -r 2>/dev/null || true
export GILBENCH_INTERPRETERS_JSON='{json}'
""".format(stamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), env_sh=env_sh, bin=bin_dir,
           dirs=":".join(dirs), json=json_path)


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        options = Options(argv, os.environ)
    except UsageProblem as problem:
        print("%s: %s" % (PROG, problem), file=sys.stderr)
        return 2
    if options.help:
        print(usage(options.cache, options.url, " ".join(options.sources)))
        return 0
    # the system tools, whatever PATH we were given (appended: the caller's order wins)
    os.environ["PATH"] = os.pathsep.join(p for p in [os.environ.get("PATH", ""),
                                                     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] if p)
    os.environ.update(DEBIAN_FRONTEND="noninteractive", LC_ALL="C")
    os.umask(0o022)
    signal.signal(signal.SIGTERM, _terminate)
    setup = Setup(options)
    try:
        return setup.main()
    except KeyboardInterrupt:
        print()
        say("interrupted")
        return 130
    finally:
        setup.cleanup()
