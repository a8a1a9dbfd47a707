"""Serve a published page's third-party scripts and stylesheet from the site itself.

asv 0.6's index loads jQuery, flot, bootstrap, stupidtable and blueimp-md5 from
public CDNs; offline it shows "external dependencies failed to load" instead of
graphs. ``localize(site)`` serves each of them from ``site/vendor/`` instead.

The files come from one PyPI package pinned by version and sha256: asv 0.5.1's
source archive, whose pages loaded the same libraries from its own folder
(jQuery 3.3.1, the very bytes the CDN serves; flot 0.8.3 as flot's release
minified it; bootstrap 3.1.0 for the CDN's 3.1.1; stupidtable 1.0.1 unminified;
older copies of blueimp-md5 and the orderBars plugin with the calls asv 0.6
makes: ``md5(text)``, ``bars: {order: n}``). Each file's sha384 is pinned too,
and the tag's integrity attribute is rewritten to the hash of the bytes served,
so the browser still checks them. Only pip is needed: no node, Java or
JavaScript compiler. bootstrap's stylesheet names glyphicon fonts the archive
lacks; asv's pages show no glyphicon, so no browser asks for them.

The archive is kept in ~/.cache/gilbench/vendor, so later builds are offline.
GILBENCH_VENDOR_DIR may name a folder of files to serve instead, by the CDN
file's name: each must match the page's integrity hash (the CDN's own file) or
the pin.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlparse

from gilcore.atomic import write_atomic

OVERRIDE_ENV = "GILBENCH_VENDOR_DIR"
CACHE_ENV = "GILBENCH_VENDOR_CACHE"
PIP_TIMEOUT = 600  # seconds: a first fetch on a slow mirror
ALGORITHMS = ("sha256", "sha384", "sha512")  # SRI, weakest to strongest


class VendorError(Exception):
    """A file that cannot be served locally; the message is one line saying what to do."""


@dataclass(frozen=True)
class Archive:
    """A PyPI source archive, pinned."""

    name: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tar.gz"


ARCHIVE = Archive("asv", "0.5.1", "805fc3cc46c0bcf3e7baeaa16a12e4b92f1276c25490db4cb80fc541afa52bfc")


@dataclass(frozen=True)
class Pin:
    """The archive's file that serves one CDN URL, and the sha384 of its bytes."""

    path: str  # inside the archive, below its top folder
    sri: str


_FLOT = "/ajax/libs/flot/0.8.3/"
# keyed by the URL's path: the CDN hosts are asv's business, the bytes served are ours
PINS: Dict[str, Pin] = {
    "/jquery-3.3.1.min.js": Pin(
        "asv/www/vendor/jquery-3.3.1.min.js",
        "sha384-tsQFqpEReu7ZLhBV2VZlAu7zcOV+rXbYlF2cqB8txI/8aZajjp4Bqd+V6D5IgvKT"),
    _FLOT + "jquery.flot.min.js": Pin(
        "asv/www/vendor/jquery.flot-0.8.3.min.js",
        "sha384-ueZrcVrJNfAMDmNi/qglVBPio8wqqyCUSvyvL1/PllBDukPvp9WbQ1/wL1FqNlOm"),
    _FLOT + "jquery.flot.time.min.js": Pin(
        "asv/www/vendor/jquery.flot-0.8.3.time.min.js",
        "sha384-Fp4KkKDMam+oLjS+/RVKAcAux2ykW1NNsrjSn8MO9lSaILFxhT8qcaGYoPY3GlvQ"),
    _FLOT + "jquery.flot.selection.min.js": Pin(
        "asv/www/vendor/jquery.flot-0.8.3.selection.min.js",
        "sha384-tzyAYAvn8ZNAk2gpeH1C4WjfnS04TGe1Wx+ODDn5cu4ZdQBBkXrq2XcaZvLHOO+a"),
    _FLOT + "jquery.flot.categories.min.js": Pin(
        "asv/www/vendor/jquery.flot-0.8.3.categories.min.js",
        "sha384-amsJPQCTjZ9D6mI+KghbUuDQGJ39Vr1Ej6jiEZOKN8oUXj6rEFvylsbqAV7CgPB3"),
    "/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js": Pin(
        "asv/www/vendor/jquery.flot.orderBars.js",
        "sha384-SQAVzI3D0TiZCIU+SvhRyLdRM5D3vNW8XVTS3tFGo/yyMMpVss5xbCYExrjSHXBp"),
    "/ajax/libs/stupidtable/1.0.1/stupidtable.min.js": Pin(
        "asv/www/vendor/stupidtable.js",
        "sha384-gZ134sICotHNiCzZkxTHcyaE5d0SGsU2/lcONqX8PQwcLj2V97WZEqNdfI5SpDjK"),
    "/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js": Pin(
        "asv/www/vendor/md5.js",
        "sha384-v5ZUVhYh20MF3GUNquU83r+qzGmL7+IXjDnKGGnCBJlPir+Qx/J4HYA34mXSakFt"),
    "/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js": Pin(
        "asv/www/vendor/bootstrap-3.1.0.min.js",
        "sha384-7pPmvaV7JjM/wsobVyDu9o+X6ETgKe/Yp7VfxVr7OiOEnkvzsQB8LfBqMXnbTIht"),
    "/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css": Pin(
        "asv/www/vendor/bootstrap-3.1.0.min.css",
        "sha384-GYBZMlEOunzhR/VZ6XhlOir+4wC0SyDpSIotW0oxJizkK/V2czMG1GvOmuRiNUNP"),
}


def pin_for(url: str) -> Optional[Pin]:
    return PINS.get(urlparse(url).path)


# --- Subresource Integrity -----------------------------------------------------------------

def sri(data: bytes, algorithm: str = "sha384") -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def matches(data: bytes, integrity: str) -> bool:
    """True when ``data`` has one of the strongest-algorithm hashes ``integrity`` lists (the SRI rule)."""
    declared = [token.split("?")[0].split("-", 1) for token in integrity.split() if "-" in token]
    declared = [(algorithm, digest) for algorithm, digest in declared if algorithm in ALGORITHMS]
    if not declared:
        return False
    strongest = max(ALGORITHMS.index(algorithm) for algorithm, _ in declared)
    algorithm = ALGORITHMS[strongest]
    return any(sri(data, algorithm) == f"{algorithm}-{digest}" for name, digest in declared if name == algorithm)


def _same_algorithm(data: bytes, integrity: str) -> str:
    algorithm = next((a for a in reversed(ALGORITHMS) if f"{a}-" in integrity), "sha384")
    return sri(data, algorithm)


# --- the pinned archive ----------------------------------------------------------------------

def default_cache() -> str:
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "gilbench", "vendor")


def _sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _pip_download(archive: Archive, into: str) -> str:
    """The archive fetched with this Python's pip into ``into``; its path."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               "--dest", into, archive.requirement]
    what = f"fetching {archive.requirement}'s source archive with pip"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise VendorError(f"{what}: no answer in {PIP_TIMEOUT} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[-1]
        raise VendorError(f"{what} failed: {last}")
    path = os.path.join(into, archive.filename)
    if not os.path.isfile(path):
        raise VendorError(f"{what}: pip saved no {archive.filename}")
    return path


def archive_path(cache: str, log: Callable[[str], None] = lambda line: None) -> str:
    """The pinned archive in the cache, fetched once; its sha256 checked on every use."""
    archive = ARCHIVE
    path = os.path.join(cache, archive.filename)
    if os.path.isfile(path) and _sha256(path) == archive.sha256:
        return path
    os.makedirs(cache, exist_ok=True)
    log(f"vendor: fetching {archive.requirement} from PyPI (once; kept in {cache})")
    with tempfile.TemporaryDirectory(prefix=".gilcore-pip-", dir=cache) as temp:
        fetched = _pip_download(archive, temp)
        found = _sha256(fetched)
        if found != archive.sha256:
            raise VendorError(f"{archive.filename} from pip has sha256 {found}, pinned {archive.sha256}: "
                              "the package on the index is not the one pinned")
        os.replace(fetched, path)
    return path


def read_pinned(pin: Pin, path: str) -> bytes:
    """One file of the pinned archive at ``path``, refused unless its bytes have the pinned hash."""
    archive = ARCHIVE
    member = f"{archive.name}-{archive.version}/{pin.path}"
    try:
        with tarfile.open(path) as tar:
            handle = tar.extractfile(member)
            data = handle.read() if handle is not None else None
    except KeyError:
        data = None
    except (OSError, tarfile.TarError) as error:
        raise VendorError(f"cannot read {path}: {error}") from None
    if data is None:
        raise VendorError(f"{archive.filename} has no file {pin.path}")
    if sri(data) != pin.sri:
        raise VendorError(f"{pin.path} in {archive.filename} has {sri(data)}, pinned {pin.sri}")
    return data


# --- one file --------------------------------------------------------------------------------

@dataclass
class Vendored:
    url: str
    local: str  # path under the site folder, "/"-separated
    origin: str  # where the checked bytes came from
    integrity: str  # of the bytes served: what the page's tag now declares


def _override(url: str, integrity: str, pin: Optional[Pin]) -> Optional[Tuple[bytes, str]]:
    """A file from GILBENCH_VENDOR_DIR named like the URL's, if there is one; checked."""
    folder = os.environ.get(OVERRIDE_ENV)
    path = os.path.join(folder, os.path.basename(urlparse(url).path)) if folder else ""
    if not path or not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        data = handle.read()
    if not matches(data, integrity) and (pin is None or sri(data) != pin.sri):
        pinned = f" nor the pin {pin.sri}" if pin else ""
        raise VendorError(f"{path} does not match {url}: page declares {integrity}{pinned}, "
                          f"file has {_same_algorithm(data, integrity)}")
    return data, path


def fetch(url: str, integrity: str, cache: str, log: Callable[[str], None] = lambda line: None
          ) -> Tuple[bytes, str, str]:
    """(checked bytes, where they came from, local path under the site) of one CDN file."""
    name = os.path.basename(urlparse(url).path)
    pin = pin_for(url)
    provided = _override(url, integrity, pin)
    if provided:
        return provided[0], f"{OVERRIDE_ENV} {provided[1]}", f"vendor/{name}"
    if pin is None:
        raise VendorError(f"no pinned source for {url}: put {name} in a folder and set {OVERRIDE_ENV} to that folder")
    data = read_pinned(pin, archive_path(cache, log))
    return data, f"{ARCHIVE.requirement} {pin.path}", f"vendor/{ARCHIVE.name}-{ARCHIVE.version}/{os.path.basename(pin.path)}"


# --- pages -----------------------------------------------------------------------------------

TAG = re.compile(r"<(script|link)\b[^>]*>", re.I)
ATTRIBUTE = re.compile(r"""\b([a-z-]+)\s*=\s*("([^"]*)"|'([^']*)')""", re.I)


def _attributes(tag: str) -> Dict[str, Tuple[str, int, int]]:
    """name -> (value, start, end of the value inside the tag)."""
    found = {}
    for match in ATTRIBUTE.finditer(tag):
        group = 3 if match.group(3) is not None else 4
        found[match.group(1).lower()] = (match.group(group), match.start(group), match.end(group))
    return found


def external_tags(html: str) -> Iterator[Tuple[re.Match, str, str, Optional[str]]]:
    """(tag match, attribute, URL, integrity) for each script or stylesheet loaded from another host."""
    for match in TAG.finditer(html):
        attributes = _attributes(match.group(0))
        kind = match.group(1).lower()
        if kind == "link" and "stylesheet" not in attributes.get("rel", ("",))[0].lower().split():
            continue
        attribute = "src" if kind == "script" else "href"
        if attribute not in attributes:
            continue
        url = attributes[attribute][0]
        if url.startswith("//"):
            url = "https:" + url
        if re.match(r"https?://", url, re.I):
            yield match, attribute, url, attributes.get("integrity", (None,))[0]


def localize(site: str, cache: Optional[str] = None, log: Callable[[str], None] = lambda line: None
             ) -> List[Vendored]:
    """Rewrite every HTML page under ``site`` to load its third-party files from ``site/vendor``,
    each tag's integrity attribute naming the hash of the file served."""
    cache = cache or default_cache()
    done: Dict[str, Vendored] = {}
    for folder, _, names in os.walk(site):
        for name in sorted(n for n in names if n.endswith(".html")):
            page = os.path.join(folder, name)
            with open(page, encoding="utf-8") as handle:
                html = handle.read()
            pieces, last = [], 0
            for match, attribute, url, integrity in external_tags(html):
                if not integrity:
                    raise VendorError(f"{os.path.relpath(page, site)} loads {url} without an integrity hash "
                                      "to check a local copy against")
                if url not in done:
                    data, origin, local = fetch(url, integrity, cache, log)
                    write_atomic(os.path.join(site, *local.split("/")), data)
                    done[url] = Vendored(url, local, origin, sri(data))
                relative = os.path.relpath(os.path.join(site, done[url].local), folder).replace(os.sep, "/")
                spans = _attributes(match.group(0))
                for key, value in sorted([(attribute, relative), ("integrity", done[url].integrity)],
                                         key=lambda item: spans[item[0]][1]):
                    pieces += [html[last:match.start() + spans[key][1]], value]
                    last = match.start() + spans[key][2]
            if pieces:
                write_atomic(page, "".join(pieces) + html[last:])
    return list(done.values())


def remaining_external(site: str) -> List[str]:
    """'page: URL' for every script or stylesheet still loaded from another host."""
    left = []
    for folder, _, names in os.walk(site):
        for name in sorted(n for n in names if n.endswith(".html")):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                html = handle.read()
            left += [f"{os.path.relpath(os.path.join(folder, name), site)}: {url}"
                     for _, _, url, _ in external_tags(html)]
    return left
