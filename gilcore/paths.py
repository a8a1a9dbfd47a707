"""Where gilbench keeps what it makes outside the checkout: one cache folder, ~/.cache/gilbench.

Standard library only and Python 3.7 syntax: scripts/setup-interpreters uses it
before gilcore is built, with whatever python3 the machine has.
"""
import os

CACHE_ENV = "GILBENCH_CACHE"


def cache_dir():
    """The cache folder: $GILBENCH_CACHE, else ~/.cache/gilbench (interpreters, venvs, vendored assets)."""
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "gilbench")


def in_cache(*parts):
    """A path inside the cache folder."""
    return os.path.join(cache_dir(), *parts)
