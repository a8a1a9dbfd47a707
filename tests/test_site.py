"""The published site: third-party files served locally and checked, the project's pages, and
(slow) the whole site built from results/ and opened offline in headless Chromium."""
import base64
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading

import pytest

from gilcore.publish import site, sitepages, vendor

from .conftest import need

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCREENSHOT_ENV = "GILBENCH_SITE_SCREENSHOT"  # set to a path to keep the Chromium screenshot (README's picture)


def _asv_www():
    asv = pytest.importorskip("asv")
    return os.path.join(os.path.dirname(asv.__file__), "www")


def _asv_index():
    with open(os.path.join(_asv_www(), "index.html"), encoding="utf-8") as handle:
        return handle.read()


def _sri(data, algorithm="sha384"):
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


# --- vendor: the parts that need no registry ---------------------------------------------------

def test_every_cdn_file_asv_loads_is_pinned():
    for name in sorted(n for n in os.listdir(_asv_www()) if n.endswith(".html")):
        with open(os.path.join(_asv_www(), name), encoding="utf-8") as handle:
            tags = list(vendor.external_tags(handle.read()))
        for _, _, url, integrity in tags:
            assert integrity, url
            assert vendor.pin_for(url) is not None, f"{name} loads {url}, which has no pin"
    assert len(list(vendor.external_tags(_asv_index()))) == len(vendor.PINS)


def test_asv_pages_show_no_glyphicon():
    """bootstrap's stylesheet names glyphicon fonts the pinned archive lacks: fine while no page uses one."""
    for name in os.listdir(_asv_www()):
        if name.endswith((".html", ".js")):
            with open(os.path.join(_asv_www(), name), encoding="utf-8") as handle:
                assert "glyphicon" not in handle.read(), f"asv's {name} now uses bootstrap's icon font"


def test_integrity_follows_the_sri_rules():
    data = b"console.log(1)\n"
    for algorithm in ("sha256", "sha384", "sha512"):
        assert vendor.matches(data, _sri(data, algorithm))
    assert not vendor.matches(b"other", _sri(data))
    assert not vendor.matches(data, "md5-abc")  # unknown algorithms never count
    # only the strongest algorithm listed decides, as in browsers
    assert vendor.matches(data, f"sha256-AAAA {_sri(data, 'sha512')}")
    assert not vendor.matches(data, f"{_sri(data, 'sha256')} sha512-AAAA")


def _page(folder, url, integrity, name="index.html"):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w") as handle:
        handle.write(f'<html><head><script src="{url}" integrity="{integrity}" crossorigin="anonymous"></script>'
                     '<link rel="stylesheet" href="local.css"></head><body></body></html>')


def _archive(folder, files):
    """A source archive like PyPI's (one top folder), pinned in place of asv's; its cache folder."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "lib-1.0.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            member = tarfile.TarInfo(f"lib-1.0/{name}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    with open(path, "rb") as handle:
        return vendor.Archive("lib", "1.0", hashlib.sha256(handle.read()).hexdigest())


URL = "https://cdn.example.invalid/libs/lib/1.0/lib.min.js"


def test_localize_serves_the_pinned_file_with_its_own_hash(tmp_path, monkeypatch):
    data = b"window.lib = 1;\n"
    monkeypatch.delenv(vendor.OVERRIDE_ENV, raising=False)
    monkeypatch.setattr(vendor, "ARCHIVE", _archive(str(tmp_path / "cache"), {"dist/lib.js": data}))
    monkeypatch.setattr(vendor, "PINS", {"/libs/lib/1.0/lib.min.js": vendor.Pin("dist/lib.js", _sri(data))})
    site_dir = tmp_path / "site"
    cdn_hash = _sri(b"the CDN's minified bytes")
    _page(str(site_dir), URL, cdn_hash)
    _page(str(site_dir / "sub"), URL, cdn_hash)
    done = vendor.localize(str(site_dir), cache=str(tmp_path / "cache"))
    assert [(v.local, v.integrity) for v in done] == [("vendor/lib-1.0/lib.js", _sri(data))]
    assert (site_dir / "vendor/lib-1.0/lib.js").read_bytes() == data
    top = (site_dir / "index.html").read_text()
    assert 'src="vendor/lib-1.0/lib.js"' in top and f'integrity="{_sri(data)}"' in top and cdn_hash not in top
    assert 'src="../vendor/lib-1.0/lib.js"' in (site_dir / "sub/index.html").read_text()
    assert vendor.remaining_external(str(site_dir)) == []


def test_a_pinned_file_with_other_bytes_stops_the_build_naming_both(tmp_path, monkeypatch):
    monkeypatch.delenv(vendor.OVERRIDE_ENV, raising=False)
    monkeypatch.setattr(vendor, "ARCHIVE", _archive(str(tmp_path / "cache"), {"dist/lib.js": b"changed"}))
    monkeypatch.setattr(vendor, "PINS", {"/libs/lib/1.0/lib.min.js": vendor.Pin("dist/lib.js", _sri(b"pinned"))})
    _page(str(tmp_path / "site"), URL, _sri(b"x"))
    with pytest.raises(vendor.VendorError) as error:
        vendor.localize(str(tmp_path / "site"), cache=str(tmp_path / "cache"))
    message = str(error.value)
    assert "dist/lib.js" in message and _sri(b"pinned") in message and _sri(b"changed") in message
    assert "\n" not in message


def test_an_archive_with_another_hash_is_fetched_again_and_checked(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    archive = _archive(str(tmp_path / "good"), {"dist/lib.js": b"x"})
    good = (tmp_path / "good/lib-1.0.tar.gz").read_bytes()
    monkeypatch.setattr(vendor, "ARCHIVE", archive)
    cache.mkdir()
    (cache / "lib-1.0.tar.gz").write_bytes(b"truncated")
    served = [good]

    def pip_download(asked, into):  # what pip would save; no network in a fast test
        assert asked == archive
        (tmp_path / "pip").write_bytes(served[0])
        os.replace(tmp_path / "pip", os.path.join(into, asked.filename))
        return os.path.join(into, asked.filename)

    monkeypatch.setattr(vendor, "_pip_download", pip_download)
    assert open(vendor.archive_path(str(cache)), "rb").read() == good
    (cache / "lib-1.0.tar.gz").unlink()
    served[0] = b"another upload"
    with pytest.raises(vendor.VendorError) as error:
        vendor.archive_path(str(cache))
    assert hashlib.sha256(b"another upload").hexdigest() in str(error.value) and archive.sha256 in str(error.value)
    assert not (cache / "lib-1.0.tar.gz").exists()


def test_a_provided_file_is_served_when_it_is_the_cdns(tmp_path, monkeypatch):
    data = b"window.lib = 1;\n"
    override = tmp_path / "provided"
    override.mkdir()
    (override / "lib.min.js").write_bytes(data)
    monkeypatch.setenv(vendor.OVERRIDE_ENV, str(override))
    _page(str(tmp_path / "site"), URL, f"{_sri(data, 'sha512')}")
    done = vendor.localize(str(tmp_path / "site"), cache=str(tmp_path / "cache"))
    assert [v.local for v in done] == ["vendor/lib.min.js"]
    assert (tmp_path / "site/vendor/lib.min.js").read_bytes() == data
    assert f'integrity="{_sri(data)}"' in (tmp_path / "site/index.html").read_text()


def test_a_provided_file_with_another_hash_is_refused_naming_both(tmp_path, monkeypatch):
    override = tmp_path / "provided"
    override.mkdir()
    (override / "lib.min.js").write_bytes(b"tampered")
    monkeypatch.setenv(vendor.OVERRIDE_ENV, str(override))
    declared = _sri(b"original")
    _page(str(tmp_path / "site"), "https://cdn.example.invalid/lib.min.js", declared)
    with pytest.raises(vendor.VendorError) as error:
        vendor.localize(str(tmp_path / "site"), cache=str(tmp_path / "cache"))
    message = str(error.value)
    assert "lib.min.js" in message and declared in message and _sri(b"tampered") in message
    assert "\n" not in message


def test_an_unpinned_file_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.delenv(vendor.OVERRIDE_ENV, raising=False)
    _page(str(tmp_path / "site"), "https://cdn.example.invalid/x/thing.js", _sri(b"x"))
    with pytest.raises(vendor.VendorError, match=f"put thing.js in a folder and set {vendor.OVERRIDE_ENV}"):
        vendor.localize(str(tmp_path / "site"), cache=str(tmp_path / "cache"))


def test_a_tag_without_integrity_is_refused(tmp_path):
    os.makedirs(tmp_path / "site")
    (tmp_path / "site/index.html").write_text('<script src="https://cdn.example.invalid/a.js"></script>')
    with pytest.raises(vendor.VendorError, match="without an integrity hash"):
        vendor.localize(str(tmp_path / "site"), cache=str(tmp_path / "cache"))


@pytest.mark.slow
def test_the_pinned_archive_comes_from_pypi_with_every_pinned_file(tmp_path, monkeypatch):
    """pip fetches asv's source archive into a new cache; its hash and every file's are the pinned ones."""
    monkeypatch.delenv(vendor.OVERRIDE_ENV, raising=False)
    path = vendor.archive_path(str(tmp_path / "cache"))
    assert os.path.basename(path) == vendor.ARCHIVE.filename
    for pin in vendor.PINS.values():
        assert vendor.sri(vendor.read_pinned(pin, path)) == pin.sri
    assert sorted(os.listdir(tmp_path / "cache")) == [vendor.ARCHIVE.filename]  # pip's scratch folder is gone


# --- the project's pages ------------------------------------------------------------------------

LINKS = sitepages.ASV_LINKS + [("gilcore-report.html", "Cross-version report")]


def test_nav_goes_on_top_once():
    page = "<!doctype html><title>r</title><style>x</style><h1>Report</h1>"
    once = sitepages.add_nav(page, LINKS, "gilcore-report.html")
    assert once.index("<nav") < once.index("<h1>") and "href='index.html'" in once
    assert sitepages.add_nav(once, LINKS, "gilcore-report.html") == once
    with_body = sitepages.add_nav("<html><body class='x'><p>hi</p></body></html>", LINKS, "")
    assert with_body.index("<body class='x'>") < with_body.index("<nav") < with_body.index("<p>hi")


def test_asv_index_gets_the_project_links_in_its_bar():
    index = sitepages.add_asv_links(_asv_index(), [("gilcore-report.html", "Cross-version report")])
    bar = index[index.index('<nav id="nav"'):index.index("</nav>")]
    assert "<a href='gilcore-report.html'>Cross-version report</a>" in bar


def test_benchmarks_page_has_one_entry_per_benchmark(tmp_path):
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "common.py").write_text('class _Base:\n    def track_speedup(self, s):\n'
                                     '        """Serial time over parallel time."""\n')
    (bench / "bench_x.py").write_text('"""Module about X."""\nfrom . import common\n\n'
                                      'class Thing(common._Base):\n    """Counts things <fast>."""\n'
                                      '    def time_run(self, s):\n        pass\n\n'
                                      'def time_plain():\n    """A plain function."""\n')
    entries = {
        "bench_x.Thing.track_speedup": {"name": "bench_x.Thing.track_speedup", "type": "track", "unit": "x",
                                        "param_names": ["strategy"], "params": [["'threads'", "'pool-fork'"]]},
        "bench_x.Thing.time_run": {"name": "bench_x.Thing.time_run", "type": "time", "unit": "seconds",
                                   "param_names": ["strategy"], "params": [["'threads'"]]},
        "bench_x.time_plain": {"name": "bench_x.time_plain", "type": "time", "unit": "seconds",
                               "param_names": [], "params": [], "pretty_name": "Plain timing"},
        "version": 2,
    }
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(entries))
    page = sitepages.benchmarks_page(str(path), str(bench), LINKS, "gilcore-benchmarks.html")
    assert page.count("<tr id=") == 3
    assert "Module about X." in page and "Counts things &lt;fast&gt;." in page
    assert "Serial time over parallel time." in page  # inherited from the base class in common.py
    assert "A plain function." in page and "Plain timing" in page
    assert "<b>strategy</b>: threads, pool-fork" in page
    assert "href='index.html#bench_x.Thing.track_speedup'" in page


def test_timelines_page_shows_pictures_and_links():
    page = sitepages.timelines_page(["convoy-3.12.svg", "notes.html"], LINKS, "gilcore-timelines.html")
    assert "<img src='timelines/convoy-3.12.svg'" in page and "href='timelines/notes.html'" in page


# --- the command's input errors ---------------------------------------------------------------------

def _run_site(args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "gilcore", "site", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_site_refuses_a_folder_that_is_not_a_site(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    done = _run_site(["--out", str(tmp_path)])
    assert done.returncode == 2 and "holds no site" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and (tmp_path / "precious.txt").exists()


def test_site_refuses_to_replace_the_repository():
    done = _run_site(["--out", "."])
    assert done.returncode == 2 and "would replace" in done.stderr


def test_site_needs_results(tmp_path):
    done = _run_site(["--out", str(tmp_path / "html"), "--results", str(tmp_path / "none")])
    assert done.returncode == 2 and "benchmarks.json" in done.stderr and "Traceback" not in done.stderr


def test_site_needs_out():
    done = _run_site([])
    assert done.returncode == 2 and "--out" in done.stderr


# --- the whole site, offline, in a browser -------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    requests = []  # (path, status), filled per server

    def log_message(self, format, *args):
        pass

    def log_request(self, code="-", size="-"):
        self.requests.append((self.path, int(code) if str(code).isdigit() else 0))


class _Server:
    """The site on 127.0.0.1, a free port, in a thread; stopped and joined on exit."""

    def __init__(self, folder):
        handler = type("Handler", (_Quiet,), {"requests": []})
        self.requests = handler.requests
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), lambda *a, **k: handler(*a, directory=folder, **k))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _browse(url, *mode):
    """(DOM or '', console lines) of one headless page load, in a fresh profile."""
    profile = tempfile.mkdtemp(prefix="gilcore-chromium-")
    try:
        done = subprocess.run(
            [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1400,900",
             "--virtual-time-budget=15000", *mode, url],
            capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


PREFERRED_GRAPHS = ["bench_cpu.Countdown.track_speedup", "bench_cpu.Primes.track_speedup",
                    "bench_pools.PoolStartup.time_start_and_stop"]


def _a_graph_with_data(folder):
    """A benchmark whose graph asv published (results measured with another version of a benchmark's
    code are not shown, so which ones have data depends on results/)."""
    published = set()
    for _, _, names in os.walk(os.path.join(folder, "graphs")):
        published.update(n[:-5] for n in names if n.endswith(".json") and n != "summary.json")
    assert published, "asv published no graph"
    return next((name for name in PREFERRED_GRAPHS if name in published), sorted(published)[0])


ERROR_WORDS = ("Uncaught", "Error", "error", "Failed", "integrity", "Refused")


@pytest.mark.slow
def test_built_site_works_offline_in_chromium(tmp_path):
    """Built from results/ and served from loopback: the index lists the benchmarks, a graph draws,
    the console is clean, and every file any page asks for is in the folder."""
    if not _chromium():  # CI runs scripts/setup-browser first: there a skip would hide it
        need("chromium", "scripts/setup-browser installs it")
    out = tmp_path / "html"
    done = _run_site(["--out", str(out)])
    assert done.returncode == 0, done.stderr
    assert vendor.remaining_external(str(out)) == []
    with open(os.path.join(ROOT, "results", "benchmarks.json")) as handle:
        names = [n for n, e in json.load(handle).items() if isinstance(e, dict)]
    graph_name = _a_graph_with_data(str(out))
    server = _Server(str(out))
    shot = tmp_path / "site.png"
    with server as base:
        index, console = _browse(base + "index.html", "--dump-dom")
        graph, more = _browse(base + f"index.html#{graph_name}", "--dump-dom")
        console += more
        pages = {}
        for name in (site.REPORT_PAGE, site.BENCHMARKS_PAGE, "index.html#/regressions"):
            pages[name], more = _browse(base + name, "--dump-dom")
            console += more
        _browse(base + f"index.html#{graph_name}?x-axis=strategy", f"--screenshot={shot}")
    # the index lists the benchmarks (asv's summary grid), and is not asv's "failed to load" page
    assert "failed to load" not in index
    listed = [name for name in names if name in index]
    assert len(listed) >= len(names) * 0.8, f"the index lists {len(listed)} of {len(names)} benchmarks"
    # the graph page draws data: flot's canvases and tick labels inside the main graph
    assert 'class="flot-base"' in graph and "flot-tick-label" in graph, f"no graph drawn for {graph_name}"
    assert "No data for this combination" not in graph
    for name in (site.REPORT_PAGE, site.BENCHMARKS_PAGE):
        assert re.search(r"href=[\"']index.html[\"']", pages[name]), f"{name} does not link back to the graphs"
    assert [line for line in console if any(word in line for word in ERROR_WORDS)] == []
    # every file a page loads is there; under graphs/ asv also asks for benchmarks without current results
    assert server.requests and [(p, s) for p, s in server.requests if s >= 400 and not p.startswith("/graphs/")] == []
    assert any(graph_name in p and s == 200 for p, s in server.requests)
    assert any(path.startswith("/vendor/") for path, _ in server.requests)
    assert shot.stat().st_size > 20_000
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])
