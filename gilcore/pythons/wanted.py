"""The one list of interpreters gilbench wants: what discovery reports missing and setup-interpreters makes.

Standard library only and Python 3.7 syntax (scripts/setup-interpreters imports
it before gilcore is built).
"""
from collections import namedtuple

Wanted = namedtuple("Wanted", "command label implementation version free_threaded route")

# command: the name on PATH (and asv's); free: free-threaded; route: how setup-interpreters makes
# it (build: CPython from a pinned tarball; debian: Debian unstable's binary in a private root;
# apt: the system's package; -: not made, pyenv installs it); label: its name in the orientation
# table of FACTS.md (- when the table does not compare it).
_TABLE = """
python2.7    cpython  2.7   no   -       CPython 2.7
python3.9    cpython  3.9   no   -       CPython 3.9
python3.11   cpython  3.11  no   -       CPython 3.11
python3.12   cpython  3.12  no   -       -
python3.13   cpython  3.13  no   build   CPython 3.13
python3.13t  cpython  3.13  yes  build   CPython 3.13t (free-threaded)
python3.14   cpython  3.14  no   debian  -
python3.14t  cpython  3.14  yes  build   -
python3.15   cpython  3.15  no   debian  -
python3.15t  cpython  3.15  yes  build   -
pypy3        pypy     3     no   apt     PyPy 3
jython       jython   2.7   yes  apt     Jython 2.7
"""
WANTED = [Wanted(command, "" if label == "-" else label, implementation, version, free == "yes",
                 "" if route == "-" else route)
          for command, implementation, version, free, route, label in
          (line.split(None, 5) for line in _TABLE.strip().splitlines())]

# setup-interpreters' targets, in the order it makes them: 3.13t 3.13 3.14 3.15 3.14t 3.15t pypy3 jython
TARGET_ORDER = ("build-3.13", "debian", "build", "apt")


def target(wanted):
    """setup-interpreters' name for it: 3.13t, 3.14, pypy3 ..."""
    return wanted.command[len("python"):] if wanted.implementation == "cpython" else wanted.command


def targets():
    """Every interpreter setup-interpreters can make, in the order it makes them."""
    def order(wanted):
        group = "build-3.13" if wanted.version == "3.13" else wanted.route
        return TARGET_ORDER.index(group), not wanted.free_threaded if group == "build-3.13" else 0
    return [target(w) for w in sorted((w for w in WANTED if w.route), key=order)]


def how_to_get(wanted):
    """What a user runs to get it, for a "missing" line."""
    if wanted.route == "apt":
        return "apt-get install " + wanted.command
    if wanted.route:
        return "scripts/setup-interpreters makes it"
    return "pyenv install " + wanted.version + ("t" if wanted.free_threaded else "")


def in_table():
    """The interpreters the orientation table in FACTS.md compares."""
    return [w for w in WANTED if w.label]
