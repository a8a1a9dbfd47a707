"""``python -m gilcore site --out DIR``: the complete published site from the committed results.

No benchmark runs. In order: ``asv publish`` (into a scratch folder, through a
temporary asv config whose results_dir and html_dir are the ones asked for),
its Regressions tab cut to the changes beyond their measured noise
(``gilcore.publish.regressions``), the cross-version report (``gilcore.publish.report``, its claims included), the GIL
timelines when ``report/timelines/`` exists, a page explaining each benchmark
(results/benchmarks.json and the benchmarks' docstrings), links between all of
them, and every third-party script and stylesheet served from DIR itself
(``gilcore.publish.vendor``: from a PyPI package pinned by version and hash, each tag's
integrity attribute naming the file served). The finished folder then replaces
DIR, so a failed build leaves the previous site as it was.
"""
from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Callable, List, Optional, Sequence, Tuple

from gilcore.publish import regressions, releases, sitepages, vendor
from gilcore.atomic import write_atomic
from gilcore.errors import UsageError, UsageParser

PUBLISH_TIMEOUT = 600
ASV_PAGES = ("index.html", "error.html")  # asv's own; every other page is the project's
REPORT_PAGE = "gilcore-report.html"
BENCHMARKS_PAGE = "gilcore-benchmarks.html"
TIMELINES_PAGE = "gilcore-timelines.html"


class SiteError(Exception):
    """A build step that failed; the message is one line."""


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _check_out_dir(out: str, repo: str, results: str) -> None:
    """DIR is replaced whole: refuse a folder that holds anything but a previous site."""
    out_abs = os.path.realpath(out)
    for precious in (repo, results):
        if out_abs == precious or precious.startswith(out_abs + os.sep):
            raise UsageError(f"--out {out!r} would replace {precious}: choose a folder of its own, e.g. html")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out!r} is a file, not a folder")
    if os.path.isdir(out) and os.listdir(out) and not os.path.isfile(os.path.join(out, "index.html")):
        raise UsageError(f"--out {out!r} is not empty and holds no site: choose a new or empty folder")


def temporary_config(config: str, results: str, html_dir: str, into: str) -> str:
    """A copy of asv.conf.json with absolute paths and the results/html folders asked for."""
    from asv import util as asv_util  # asv reads its own JSON-with-comments

    data = asv_util.load_json(config, js_comments=True)
    base = os.path.dirname(os.path.abspath(config))
    for key in ("repo", "benchmark_dir", "env_dir"):
        if key in data and not os.path.isabs(data[key]) and "://" not in data[key]:
            data[key] = os.path.normpath(os.path.join(base, data[key]))
    data["results_dir"] = os.path.abspath(results)
    data["html_dir"] = os.path.abspath(html_dir)
    path = os.path.join(into, "asv.conf.json")
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1)
    return path


def asv_publish(config: str, results: str, html_dir: str, scratch: str) -> None:
    conf = temporary_config(config, results, html_dir, scratch)
    command = [sys.executable, "-m", "asv", "publish", "--no-pull", "--config", conf]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PUBLISH_TIMEOUT,
                              stdin=subprocess.DEVNULL, cwd=os.path.dirname(os.path.abspath(config)))
    except subprocess.TimeoutExpired:
        raise SiteError(f"asv publish took more than {PUBLISH_TIMEOUT} s") from None
    if done.returncode != 0 or not os.path.isfile(os.path.join(html_dir, "index.html")):
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise SiteError(f"asv publish failed: {last}")


def write_report(results: str, site: str) -> None:
    from gilcore.publish import report

    with contextlib.redirect_stdout(io.StringIO()):  # its "wrote <scratch path>" line would mislead
        status = report.main(["--results", results, "--out", site])
    if status:
        raise SiteError(f"python -m gilcore report exited {status}")
    for name in ("gilcore-report.md", releases.PAGE + ".md"):  # the site shows the HTML; Markdown lives in report/
        if os.path.exists(os.path.join(site, name)):
            os.remove(os.path.join(site, name))


def judge_regressions(results: str, site: str, log: Callable[[str], None]) -> Optional[regressions.Judged]:
    """asv's Regressions tab cut to the changes beyond their measured noise (gilcore.publish.regressions)."""
    from gilcore.publish import results as loader

    judged = regressions.judge_site(site, loader.load(results))
    if judged is not None:
        log(f"gilcore site: Regressions tab: {judged.summary()}")
    return judged


def copy_timelines(source: str, site: str) -> List[str]:
    if not os.path.isdir(source):
        return []
    names = sorted(n for n in os.listdir(source) if os.path.isfile(os.path.join(source, n)) and not n.startswith("."))
    target = os.path.join(site, "timelines")
    os.makedirs(target, exist_ok=True)
    for name in names:
        shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
    return names


def build(out: str, results: str = "results", config: str = "asv.conf.json", timelines: str = "report/timelines",
          benchmark_dir: Optional[str] = None, cache: Optional[str] = None,
          log: Callable[[str], None] = _say) -> List[vendor.Vendored]:
    """Build the whole site into ``out``; returns the vendored files."""
    if not os.path.isfile(config):
        raise UsageError(f"no asv config {config!r}: run from the repository or pass --config")
    benchmarks_json = os.path.join(results, "benchmarks.json")
    if not os.path.isfile(benchmarks_json):
        raise UsageError(f"no {benchmarks_json}: run `python -m gilcore.benchmarks_json` (or ./run-benchmarks) first")
    repo = os.path.dirname(os.path.realpath(config))
    _check_out_dir(out, repo, os.path.realpath(results))
    if benchmark_dir is None:
        from asv import util as asv_util

        benchmark_dir = os.path.join(repo, asv_util.load_json(config, js_comments=True).get("benchmark_dir", "benchmarks"))
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".gilcore-site-", dir=parent)
    try:
        site = os.path.join(scratch, "site")
        asv_publish(config, results, site, scratch)
        judged = judge_regressions(results, site, log)
        write_report(results, site)
        if os.path.isfile(os.path.join(site, "swallow.ico")):  # browsers ask for /favicon.ico on pages with no icon
            shutil.copyfile(os.path.join(site, "swallow.ico"), os.path.join(site, "favicon.ico"))
        names = copy_timelines(timelines, site)
        links = [(REPORT_PAGE, "Cross-version report"), (releases.PAGE + ".html", "What changed in each release"),
                 (BENCHMARKS_PAGE, "About the benchmarks")]
        if names:
            links.append((TIMELINES_PAGE, "GIL timelines"))
        every = sitepages.ASV_LINKS + links
        write_atomic(os.path.join(site, BENCHMARKS_PAGE),
                     sitepages.benchmarks_page(benchmarks_json, benchmark_dir, every, BENCHMARKS_PAGE))
        if names:
            write_atomic(os.path.join(site, TIMELINES_PAGE), sitepages.timelines_page(names, every, TIMELINES_PAGE))
        if judged is not None:
            write_atomic(os.path.join(site, regressions.PAGE), sitepages.page(
                "Regressions, judged by their noise", regressions.page_body(judged), every, regressions.PAGE))
        for name in sorted(os.listdir(site)):
            if name.endswith(".html") and name not in ASV_PAGES:
                path = os.path.join(site, name)
                with open(path, encoding="utf-8") as handle:
                    write_atomic(path, sitepages.add_nav(handle.read(), every, name))
        index = os.path.join(site, "index.html")
        with open(index, encoding="utf-8") as handle:
            text = sitepages.add_asv_links(handle.read(), links)
        write_atomic(index, regressions.add_tab_note(text, judged) if judged is not None else text)
        vendored = vendor.localize(site, cache, log)
        left = vendor.remaining_external(site)
        if left:
            raise SiteError(f"still loaded from another host: {left[0]}")
        old = os.path.join(scratch, "old")
        if os.path.isdir(out):
            os.replace(out, old)  # same file system: the swap is two renames
        os.replace(site, out)
        return vendored
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def hidden_results(results: str) -> Tuple[int, int]:
    """(result entries, benchmarks) that asv publish leaves out: measured with another version of the
    benchmark's code than benchmarks.json names, or of a benchmark it no longer lists."""
    with open(os.path.join(results, "benchmarks.json")) as handle:
        current = {name: entry.get("version") for name, entry in json.load(handle).items() if isinstance(entry, dict)}
    entries, names = 0, set()
    for path in glob.glob(os.path.join(results, "*", "*.json")):
        try:
            with open(path) as handle:
                data = json.load(handle)
            column = data["result_columns"].index("version")
            rows = data["results"].items()
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # machine.json, or a file the report already names as unreadable
        for name, row in rows:
            version = row[column] if isinstance(row, list) and len(row) > column else None
            if name not in current or (version is not None and version != current[name]):
                entries += 1
                names.add(name)
    return entries, len(names)


def _size(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)


def main(argv: Sequence[str]) -> int:

    parser = UsageParser(prog="python -m gilcore site", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write the site to (replaced whole)")
    parser.add_argument("--results", default="results", help="asv results directory (default: results)")
    parser.add_argument("--config", default="asv.conf.json", help="the asv config (default: asv.conf.json)")
    parser.add_argument("--timelines", default=os.path.join("report", "timelines"),
                        help="folder of GIL timelines to include when it exists (default: report/timelines)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        vendored = build(args.out, args.results, args.config, args.timelines)
    except (SiteError, vendor.VendorError) as error:
        print(f"gilcore site: error: {error}", file=sys.stderr)
        return 1
    entries, benchmarks = hidden_results(args.results)
    if entries:
        print(f"gilcore site: note: {entries} results of {benchmarks} benchmarks are not shown: they were measured "
              "with another version of the benchmark than results/benchmarks.json lists (asv shows only "
              "those of the current code; ./run-benchmarks measures them again)", file=sys.stderr)
    print(f"gilcore site: wrote {os.path.abspath(args.out)}/index.html ({len(vendored)} third-party files "
          f"served locally, {_size(args.out) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s; "
          f"serve it with: python -m http.server -d {args.out}")
    return 0
