"""Serve a published page's third-party scripts and stylesheets from the site itself.

asv 0.6's pages load jQuery, flot, bootstrap, stupidtable and blueimp-md5 from
public CDNs, each tag carrying a Subresource Integrity hash; offline they show
"external dependencies failed to load" instead of graphs. ``localize(site)``
finds those tags, rebuilds each file from a package registry, checks it
against the hash the page declares, copies it under ``site/vendor/`` and
points the tag at the copy (the integrity attribute stays, so the browser
checks it again).

Where the bytes come from (each checked against the page's hash, never trusted):
npm packages of the version in the URL; cdnjs's flot is npm ``flot`` minified
the way cdnjs did it (uglify-js 2.4, compress + mangle); cdnjs's stupidtable
1.0.1 is the copy asv 0.5.1 shipped on PyPI, compiled by Closure Compiler
20130227 (Debian's ``closure-compiler``). Verified files and unpacked packages
are cached under ~/.cache/gilbench/vendor, so a second build is offline.
GILBENCH_VENDOR_DIR may name a folder holding files to use instead (by file name).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlparse

from gilcore import paths
from gilcore.atomic import write_atomic

OVERRIDE_ENV = "GILBENCH_VENDOR_DIR"
CACHE_ENV = "GILBENCH_VENDOR_CACHE"
TOOL_TIMEOUT = 600  # seconds for one npm/pip/minifier call: first fetches on a slow mirror
UGLIFY = "uglify-js@2.4.12"  # what cdnjs minified flot 0.8.3 with (found by hash: 2.4.8-2.4.12 agree)
ALGORITHMS = ("sha256", "sha384", "sha512")  # SRI, weakest to strongest


class VendorError(Exception):
    """A file that cannot be served locally; the message is one line saying what to do."""


@dataclass(frozen=True)
class Recipe:
    """Where one CDN file's exact bytes come from."""

    registry: str  # "npm" or "pypi"
    package: str  # "flot@0.8.3" (npm) or "asv==0.5.1" (PyPI sdist)
    path: str  # the file inside the unpacked package
    minifier: str = ""  # "" (as is), UGLIFY or "closure-compiler"

    def describe(self) -> str:
        made = f", minified by {self.minifier}" if self.minifier else ""
        return f"{self.registry} {self.package} {self.path}{made}"


def _flot(version: str, file: str) -> Recipe:
    # cdnjs minified flot itself; npm's flot has only the sources
    return Recipe("npm", f"flot@{version}", re.sub(r"\.min\.js$", ".js", file), UGLIFY)


def _stupidtable(version: str, file: str) -> Optional[Recipe]:
    # stupidtable 1.0.x is on no registry; asv 0.5.1's sdist vendored 1.0.1's source
    if version == "1.0.1" and file == "stupidtable.min.js":
        return Recipe("pypi", "asv==0.5.1", "asv/www/vendor/stupidtable.js", "closure-compiler")
    return None


CDNJS: Dict[str, Callable[[str, str], Optional[Recipe]]] = {
    "flot": _flot,
    "stupidtable": _stupidtable,
    "blueimp-md5": lambda version, file: Recipe("npm", f"blueimp-md5@{version}", file),
}


def recipe_for(url: str) -> Optional[Recipe]:
    """The registry source of a CDN URL, or None when none is known."""
    parts = urlparse(url)
    host, path = parts.netloc, parts.path
    if host == "cdn.jsdelivr.net":
        match = re.match(r"/npm/((?:@[^/]+/)?[^/@]+@[^/]+)/(.+)$", path)
        return Recipe("npm", match.group(1), match.group(2)) if match else None
    if host == "code.jquery.com":
        match = re.match(r"/jquery-(\d+\.\d+\.\d+)(\.min)?\.js$", path)
        return Recipe("npm", f"jquery@{match.group(1)}", f"dist/jquery{match.group(2) or ''}.js") if match else None
    if host == "cdnjs.cloudflare.com":
        match = re.match(r"/ajax/libs/([^/]+)/([^/]+)/(.+)$", path)
        if match and match.group(1) in CDNJS:
            return CDNJS[match.group(1)](match.group(2), match.group(3))
    return None


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


# --- registries and tools ------------------------------------------------------------------

def default_cache() -> str:
    return os.environ.get(CACHE_ENV) or paths.in_cache("vendor")


def _run(command: List[str], what: str, cwd: Optional[str] = None) -> str:
    if shutil.which(command[0]) is None and not os.path.isabs(command[0]):
        raise VendorError(f"{what} needs `{command[0]}`, which is not installed")
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise VendorError(f"{what}: `{' '.join(command[:3])}` gave no answer in {TOOL_TIMEOUT} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[-1]
        raise VendorError(f"{what}: `{' '.join(command[:3])}` failed: {last}")
    return done.stdout


def _extract(archive: str, into: str) -> None:
    """Unpack a package archive, dropping its one top folder ("package/" or "name-1.0/")."""
    temp = tempfile.mkdtemp(prefix=".gilcore-unpack-", dir=os.path.dirname(into))
    try:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                parts = member.name.split("/")[1:]
                if not parts or not (member.isfile() or member.isdir()) or ".." in parts or member.name.startswith("/"):
                    continue  # links and odd paths: a package's web assets need neither
                target = os.path.join(temp, *parts)
                if member.isdir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                source = tar.extractfile(member)
                if source is not None:
                    with source, open(target, "wb") as out:
                        shutil.copyfileobj(source, out)
        os.replace(temp, into)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def package_dir(recipe: Recipe, cache: str) -> str:
    """The unpacked package (fetched once, then reused from the cache)."""
    into = os.path.join(cache, "packages", recipe.registry, recipe.package.replace("/", "__"))
    if os.path.isdir(into):
        return into
    downloads = os.path.join(cache, "downloads", recipe.registry)
    os.makedirs(downloads, exist_ok=True)
    what = f"fetching {recipe.registry} package {recipe.package}"
    if recipe.registry == "npm":
        listing = json.loads(_run(["npm", "pack", recipe.package, "--json", "--pack-destination", downloads],
                                  what) or "[]")
        archive = os.path.join(downloads, listing[0]["filename"].replace("/", "-").lstrip("@"))
        if not os.path.exists(archive):  # npm names scoped tarballs scope-name-version.tgz
            archive = os.path.join(downloads, os.path.basename(listing[0]["filename"]))
    else:
        name, _, version = recipe.package.partition("==")
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
              "--dest", downloads, recipe.package], what)
        found = [f for f in os.listdir(downloads)
                 if re.match(rf"{re.escape(name)}-{re.escape(version)}\.(tar\.gz|tgz)$", f, re.I)]
        if not found:
            raise VendorError(f"{what}: pip gave no source archive of {recipe.package}")
        archive = os.path.join(downloads, found[0])
    os.makedirs(os.path.dirname(into), exist_ok=True)
    _extract(archive, into)
    return into


def _uglify(source: str, cache: str) -> bytes:
    tool = os.path.join(cache, "tools", UGLIFY)
    script = os.path.join(tool, "node_modules", "uglify-js", "bin", "uglifyjs")
    if not os.path.exists(script):
        _run(["npm", "install", "--prefix", tool, "--no-audit", "--no-fund", "--no-save", UGLIFY], f"installing {UGLIFY}")
    with tempfile.TemporaryDirectory(prefix="gilcore-uglify-") as temp:
        out = os.path.join(temp, "out.js")
        # warnings=false: uglify 2.4 warns through sys.error, which today's Node no longer has
        _run(["node", script, source, "-c", "warnings=false", "-m", "-o", out], f"minifying {source} with {UGLIFY}")
        with open(out, "rb") as handle:
            return handle.read()


def _closure(source: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="gilcore-closure-") as temp:
        out = os.path.join(temp, "out.js")
        _run(["closure-compiler", "--js", source, "--js_output_file", out],
             "compiling stupidtable (apt-get install closure-compiler)")
        with open(out, "rb") as handle:
            return handle.read()


def build(recipe: Recipe, cache: str) -> Tuple[bytes, str]:
    """The bytes a recipe gives, and the path of its source file on disk."""
    root = package_dir(recipe, cache)
    source = os.path.join(root, *recipe.path.split("/"))
    if not os.path.isfile(source):
        raise VendorError(f"{recipe.registry} {recipe.package} has no file {recipe.path}")
    if recipe.minifier == UGLIFY:
        return _uglify(source, cache), source
    if recipe.minifier == "closure-compiler":
        return _closure(source), source
    with open(source, "rb") as handle:
        return handle.read(), source


def _find_by_hash(root: str, integrity: str) -> Optional[str]:
    """A package file whose bytes match: the CDN's path and the package's layout may differ."""
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.getsize(path) < 50_000_000:
                with open(path, "rb") as handle:
                    if matches(handle.read(), integrity):
                        return path
    return None


# --- one file --------------------------------------------------------------------------------

@dataclass
class Vendored:
    url: str
    local: str  # path under the site folder, "/"-separated
    origin: str  # where the verified bytes came from
    source: Optional[str]  # its file on disk, to resolve a stylesheet's own url(...) assets


def _how_to_provide(url: str) -> str:
    name = os.path.basename(urlparse(url).path)
    return f"put {name} in a folder and set {OVERRIDE_ENV} to that folder"


def fetch(url: str, integrity: str, cache: str, log: Callable[[str], None] = lambda line: None
          ) -> Tuple[bytes, str, Optional[str]]:
    """Verified bytes of one CDN file: from the override folder, the cache, or a registry."""
    name = os.path.basename(urlparse(url).path)
    override = os.environ.get(OVERRIDE_ENV)
    if override:
        path = os.path.join(override, name)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                data = handle.read()
            if not matches(data, integrity):
                raise VendorError(f"{path} does not match {url}: page declares {integrity}, "
                                  f"file has {_same_algorithm(data, integrity)}")
            return data, f"{OVERRIDE_ENV} {path}", path
    recipe = recipe_for(url)
    cached = os.path.join(cache, "verified", hashlib.sha256(integrity.encode()).hexdigest()[:32], name)
    if os.path.isfile(cached):
        with open(cached, "rb") as handle:
            data = handle.read()
        if matches(data, integrity):
            source = None
            if recipe is not None and not recipe.minifier:  # a stylesheet's fonts live beside its source
                source = os.path.join(package_dir(recipe, cache), *recipe.path.split("/"))
            return data, "cache", source
    if recipe is None:
        raise VendorError(f"no registry source known for {url}: {_how_to_provide(url)}")
    try:
        data, source = build(recipe, cache)
    except VendorError as error:
        raise VendorError(f"cannot get {name} ({error}); or {_how_to_provide(url)}") from None
    origin = recipe.describe()
    if not matches(data, integrity) and not recipe.minifier:
        found = _find_by_hash(package_dir(recipe, cache), integrity)
        if found:
            with open(found, "rb") as handle:
                data = handle.read()
            origin = f"{recipe.registry} {recipe.package} {os.path.relpath(found, package_dir(recipe, cache))}"
            log(f"vendor: {name}: not at {recipe.path} in {recipe.package}; the file with its hash is {origin}")
            source = found
    if not matches(data, integrity):
        raise VendorError(f"integrity mismatch for {name} ({url}): page declares {integrity}, "
                          f"{origin} gives {_same_algorithm(data, integrity)}")
    write_atomic(cached, data)
    log(f"vendor: {name} <- {origin} (hash checked)")
    return data, origin, source


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


def local_path(url: str) -> str:
    """vendor/<the URL's path>: keeps a stylesheet's ../fonts/ references working."""
    parts = [part for part in urlparse(url).path.split("/") if part not in ("", ".", "..")]
    return "/".join(["vendor", *parts])


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")


def _copy_css_assets(css: bytes, source: Optional[str], local: str, site: str) -> None:
    """Fonts and images a stylesheet names relatively, copied from beside its source file."""
    if source is None:
        return
    for reference in sorted(set(CSS_URL.findall(css.decode("utf-8", "replace")))):
        if re.match(r"[a-z]+:|/|#", reference, re.I):
            continue  # data:, absolute or fragment-only: nothing to copy
        relative = re.split(r"[?#]", reference)[0]
        origin = os.path.normpath(os.path.join(os.path.dirname(source), relative))
        target = os.path.normpath(os.path.join(site, os.path.dirname(local), relative))
        if os.path.isfile(origin) and target.startswith(os.path.join(site, "vendor") + os.sep):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(origin, target)


def localize(site: str, cache: Optional[str] = None, log: Callable[[str], None] = lambda line: None
             ) -> List[Vendored]:
    """Rewrite every HTML page under ``site`` to load its third-party files from ``site/vendor``."""
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
                    data, origin, source = fetch(url, integrity, cache, log)
                    local = local_path(url)
                    write_atomic(os.path.join(site, *local.split("/")), data)
                    if local.endswith(".css"):
                        _copy_css_assets(data, source, local, site)
                    done[url] = Vendored(url, local, origin, source)
                relative = os.path.relpath(os.path.join(site, done[url].local), folder).replace(os.sep, "/")
                value, start, end = _attributes(match.group(0))[attribute]
                pieces += [html[last:match.start() + start], relative]
                last = match.start() + end
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
