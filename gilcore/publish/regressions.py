"""The site's Regressions tab keeps only changes beyond their measured noise.

``asv publish`` lists a regression wherever its step fit over commits finds a
rise above ``regressions_thresholds`` (15 %): it sees one value per commit and
environment and knows nothing of how far two runs of the same code land apart.
Each step it lists (a *jump* of an entry of ``regressions.json``) is judged
here by gilcore's between-run test, and stays only when that finds a change
beyond noise in the bad direction:

- side A is the commits measured on the entry's graph (one environment, one
  machine) before the step, back to the entry's previous step; side B the
  commits from the step on, up to its next one;
- a speedup cell (``track_time_ratio``, and ``time_run`` by its parallel time)
  is judged over its runs under results/cells/ at those commits
  (gilcore.replication, gilcore.compare.compare_cell: Welch's t over the runs'
  log estimates; flagged cells and cells with fewer than rules.MIN_RUNS usable
  runs on a side are undecided);
- every other figure (the GIL probes' latencies, wait fractions, start-up
  times, ...) has one value per asv result file, i.e. per run: its values on
  the graph at those commits, compared by the release page's test
  (releases.compare_probe: Welch's t over the log values; undecided under
  rules.MIN_RUNS runs, bimodal, or with a zero); for the GIL probes the runs
  whose A/A control saw load are left out first (rule loaded-run).

A jump stays when its 95 % interval excludes no change, the change is at least
rules.MIN_CHANGE, and the figure got worse (asv's direction: higher; the
figures where higher is better never reach the tab, see
``regressions_first_commits``). An entry stays with the jumps that stay; one
with none is dropped and counted under its reason. ``regressions.json`` (what
the tab shows) and ``regressions.xml`` (its Atom feed) are rewritten, and the
tab says how many entries asv listed, how many stayed and why the others went.
"""
from __future__ import annotations

import ast
import html
import itertools
import json
import math
import os
import urllib.parse
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from gilcore import compare, proberuns, provenance, replication, rules
from gilcore.atomic import write_atomic
from gilcore.publish import releases
from gilcore.publish.results import LoadedResults, environment_label

PAGE = "gilcore-regressions.html"
ATOM = "http://www.w3.org/2005/Atom"
# asv benchmark -> (the cell-store benchmark whose runs stand behind it, the quantity judged)
CELL_BACKED = {"track_time_ratio": compare.SPEEDUP, "time_run": compare.PARALLEL}
CELL_BENCHMARK = "track_speedup"  # cellstore.record's name for a cell of benchmarks.common._Cell
WORSE = "worse"


@dataclass
class Verdict:
    """One step asv listed, judged: kept when ``reason`` is empty."""

    entry: str  # asv's name with parameters: 'bench_cpu.Countdown.track_time_ratio(\'threads\', 2)'
    environment: str  # the report's label: '3.13t GIL off'
    before: List[str]  # the commits of side A (8 hex digits), oldest first
    after: List[str]
    runs: Tuple[int, int]  # usable runs on each side
    source: str  # "cell runs" or "asv values"
    reason: str = ""  # why dropped; "" when kept
    change: Optional[compare.Change] = None

    @property
    def kept(self) -> bool:
        return not self.reason


@dataclass
class Judged:
    """The tab after judging: what asv listed, what stayed, every verdict."""

    listed: int
    kept: List[list]  # regressions.json entries, with the jumps that stayed
    verdicts: List[Verdict]
    dropped: Counter  # reason -> entries dropped for it

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {why}" for why, n in self.dropped.most_common())
        return (f"asv listed {self.listed} regression(s); {len(self.kept)} changed beyond their measured noise "
                f"and stay; {self.listed - len(self.kept)} dropped" + (f" ({reasons})" if reasons else ""))


# ------------------------------------------------------------------------------ what an entry names

def _literal(value: str) -> str:
    """asv's parameter repr ("'threads'", "2") as the cell store writes it ('threads', '2')."""
    try:
        return str(ast.literal_eval(value))
    except (ValueError, SyntaxError):
        return value


def entry_params(benchmark: Mapping[str, Any], index: Optional[int]) -> Tuple[str, ...]:
    """The parameter values of an entry's flat index, as gilcore writes them."""
    if index is None or not benchmark.get("params"):
        return ()
    combo = next(itertools.islice(itertools.product(*benchmark["params"]), index, index + 1))
    return tuple(_literal(str(value)) for value in combo)


def graph_params(graph_path: str, benchmark: str, param_list: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The whole parameter set (machine, python, env vars) of the graph an entry names, from index.json."""
    from asv.graph import Graph  # the path is asv's own function of the parameters

    for params in param_list:
        if Graph.get_file_path(dict(params), benchmark) + ".json" == graph_path:
            return params
    return {}


def environment_of(params: Mapping[str, Any], loaded: LoadedResults) -> str:
    """The report's label of a graph's environment, with its machine where the results hold several."""
    gil = params.get("env-PYTHON_GIL")
    label = environment_label({"python": params.get("python", "?"), "env_vars": {"PYTHON_GIL": gil} if gil else {}})
    machine = provenance.machine_from_asv(params)
    with_machine = f"{label}{rules.MACHINE_SEPARATOR}{machine['name'] if machine else rules.UNKNOWN_MACHINE}"
    return with_machine if with_machine in loaded.machines else label


def _points(html_dir: str, graph_path: str, index: Optional[int]) -> List[Tuple[int, float]]:
    """(revision, value) of the entry on its graph: one asv value per commit measured."""
    try:
        with open(os.path.join(html_dir, graph_path)) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return []
    points = []
    for revision, value in data:
        if index is not None and isinstance(value, list):
            value = value[index] if index < len(value) else None
        if isinstance(value, (int, float)) and math.isfinite(value):
            points.append((int(revision), float(value)))
    return sorted(points)


def sides(points: Sequence[Tuple[int, float]], jumps: Sequence[Sequence[Any]]
          ) -> List[Tuple[Sequence[Any], List[Tuple[int, float]], List[Tuple[int, float]]]]:
    """Each jump with the points before its step (back to the previous step) and from it on (up to the next)."""
    ordered = sorted(jumps, key=lambda jump: jump[1])
    starts = [-math.inf] + [jump[1] for jump in ordered] + [math.inf]
    return [(jump, [p for p in points if starts[k] <= p[0] < jump[1]],
             [p for p in points if jump[1] <= p[0] < starts[k + 2]]) for k, jump in enumerate(ordered)]


# ------------------------------------------------------------------------------ the tests

def _judge(change: Optional[compare.Change], worse: bool) -> str:
    """'' when the change is beyond noise and worse; else why not."""
    if change is None or change.test is None:
        return f"too few runs (< {rules.MIN_RUNS})"
    if not change.excludes_no_change:
        return "within noise"
    if not change.beyond_noise(rules.MIN_CHANGE):
        return f"beyond noise but under {100 * rules.MIN_CHANGE:.0f} %"
    return "" if worse else "not worse beyond noise"


def judge_cell(loaded: LoadedResults, benchmark: str, params: Tuple[str, ...], env: str,
               before: Set[str], after: Set[str]) -> Optional[Tuple[str, Tuple[int, int], Optional[compare.Change]]]:
    """A speedup cell's runs at the commits of each side, compared; None when the cell store has none."""
    owner, _, method = benchmark.rpartition(".")
    summary = loaded.cells.get((f"{owner}.{CELL_BENCHMARK}", params), {}).get(env)
    if summary is None or summary.cell is None:
        return None
    runs = summary.cell.runs
    a = [run for run in runs if run.commit[:8] in before]
    b = [run for run in runs if run.commit[:8] in after]
    if not a and not b:
        return None
    a_cell, b_cell = (replication.estimate_cell(side, summary.cell.limit) for side in (a, b))
    references = loaded.machine_references(env)  # the machine's speed per session: times are judged against it
    result = compare.compare_cell((benchmark, params), a_cell, b_cell, references=(references, references))
    counted = (a_cell.runs_used, b_cell.runs_used)
    if result.status == "undecided":
        return ", ".join(result.reasons), counted, None
    quantity = CELL_BACKED[method]
    change = next((c for c in result.changes if c.quantity == quantity), None)
    return _judge(change, change is not None and change.direction == "regression"), counted, change


def judge_values(name: str, a: List[float], b: List[float]) -> Tuple[str, Optional[compare.Change]]:
    """One value per run on each side (asv's), by the release page's test; worse is higher."""
    probe = releases.compare_probe(name, a, b, "")
    if probe.reasons:
        return ", ".join(probe.reasons), None
    assert probe.change is not None
    return _judge(probe.change, probe.change.ratio > 1), probe.change


def _short(commit: str) -> str:
    return commit[:8]


def judge_entry(entry: Sequence[Any], benchmarks: Mapping[str, Any], index_json: Mapping[str, Any],
                html_dir: str, loaded: LoadedResults) -> List[Verdict]:
    """Every jump of one regressions.json entry, judged."""
    name, graph_path, _, index, _, _, jumps = entry
    benchmark = name.split("(", 1)[0]
    params = entry_params(benchmarks.get(benchmark, {}), index)
    env = environment_of(graph_params(graph_path, benchmark, index_json.get("graph_param_list", [])), loaded)
    to_hash = {int(rev): str(commit) for rev, commit in (index_json.get("revision_to_hash") or {}).items()}
    loaded_runs = {_short(run.commit) for run in loaded.probe_runs if run.env == env and run.loaded} \
        if proberuns.wanted(benchmark) else set()
    verdicts = []
    for jump, a_points, b_points in sides(_points(html_dir, graph_path, index), jumps):
        before = [_short(to_hash.get(rev, "")) for rev, _ in a_points]
        after = [_short(to_hash.get(rev, "")) for rev, _ in b_points]
        cell = None
        if benchmark.rpartition(".")[2] in CELL_BACKED:
            cell = judge_cell(loaded, benchmark, params, env, set(before), set(after))
        if cell is not None:
            reason, runs, change = cell
            verdicts.append(Verdict(name, env, before, after, runs, "cell runs", reason, change))
            continue
        a = [value for (_, value), commit in zip(a_points, before) if commit not in loaded_runs]
        b = [value for (_, value), commit in zip(b_points, after) if commit not in loaded_runs]
        reason, change = judge_values(name, a, b)
        verdicts.append(Verdict(name, env, before, after, (len(a), len(b)), "asv values", reason, change))
    return verdicts


# ------------------------------------------------------------------------------ the site's files

def _feed_key(link: str) -> Tuple[str, frozenset]:
    path, _, query = link.partition("?")
    return path, frozenset(urllib.parse.parse_qsl(query, keep_blank_values=True))


def feed_link(entry: Sequence[Any], jump: Sequence[Any], benchmarks: Mapping[str, Any],
              to_hash: Mapping[int, str]) -> Tuple[str, frozenset]:
    """The key of the feed item asv writes for one jump (asv.plugins.regressions: its link)."""
    name, _, params, index, _, _, _ = entry
    benchmark = name.split("(", 1)[0]
    query = dict(params)
    if index is not None:
        spec = benchmarks[benchmark]
        combo = next(itertools.islice(itertools.product(*spec["params"]), index, index + 1))
        query.update({"p-" + key: value for key, value in zip(spec["param_names"], combo)})
    first, second = jump[0], jump[1]
    query["commits"] = to_hash[second] if first is None else f"{to_hash[first]}-{to_hash[second]}"
    return _feed_key(f"index.html#{benchmark}?{urllib.parse.urlencode(query)}")


def filter_feed(path: str, keep: Set[Tuple[str, frozenset]]) -> int:
    """Leave in asv's Atom feed only the items of kept jumps; returns how many stayed."""
    ET.register_namespace("", ATOM)
    tree = ET.parse(path)
    root = tree.getroot()
    stayed = 0
    for item in root.findall(f"{{{ATOM}}}entry"):
        link = item.find(f"{{{ATOM}}}link")
        if link is not None and _feed_key(link.get("href", "")) in keep:
            stayed += 1
        else:
            root.remove(item)
    write_atomic(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return stayed


def judge_site(html_dir: str, loaded: LoadedResults) -> Optional[Judged]:
    """Judge every entry asv publish wrote into ``html_dir`` and rewrite the tab's files; None when asv
    wrote no regressions.json."""
    path = os.path.join(html_dir, "regressions.json")
    try:
        with open(path) as handle:
            listed = json.load(handle)["regressions"]
        with open(os.path.join(html_dir, "index.json")) as handle:
            index_json = json.load(handle)
    except (OSError, ValueError, KeyError):
        return None
    benchmarks = index_json.get("benchmarks") or {}
    to_hash = {int(rev): str(commit) for rev, commit in (index_json.get("revision_to_hash") or {}).items()}
    kept, verdicts, dropped, feed_keys = [], [], Counter(), set()
    for entry in listed:
        judged = judge_entry(entry, benchmarks, index_json, html_dir, loaded)
        verdicts += judged
        stay = [jump for jump, verdict in zip(sorted(entry[6], key=lambda j: j[1]), judged) if verdict.kept]
        if stay:
            kept.append([*entry[:6], stay])
            feed_keys |= {feed_link(entry, jump, benchmarks, to_hash) for jump in stay}
        else:
            dropped["; ".join(dict.fromkeys(verdict.reason for verdict in judged)) or "no step"] += 1
    write_atomic(path, json.dumps({"regressions": kept}, separators=(",", ":")))
    feed = os.path.join(html_dir, "regressions.xml")
    if os.path.isfile(feed):
        filter_feed(feed, feed_keys)
    return Judged(len(listed), kept, verdicts, dropped)


# ------------------------------------------------------------------------------ what the reader sees

def method_text() -> str:
    return (f"A step asv's fit found (above regressions_thresholds in asv.conf.json) is listed only when gilcore's between-run test "
            f"finds it beyond noise: the runs of the commits before the step against those from it on (a "
            f"speedup cell's runs under results/cells/; for every other figure, latencies and wait fractions "
            f"included, each asv result file is one run, and GIL-probe runs whose A/A control saw load are left "
            f"out), Welch's t over their logs; the 95 % interval must exclude no change, the change must be at "
            f"least {100 * rules.MIN_CHANGE:.0f} % and for the worse. A side with fewer than {rules.MIN_RUNS} "
            f"usable runs, or a flagged cell, cannot be judged: the entry is dropped and counted.")


def tab_note(judged: Judged) -> str:
    """The lines shown above asv's Regressions tab."""
    return (f"<div id='gilbench-regressions-note' style='font:13px sans-serif;margin:.5em 1em;padding:.5em;"
            f"border:1px solid #ccc;background:#fafafa'><b>gilbench:</b> {html.escape(judged.summary())}. "
            f"{html.escape(method_text())} <a href='{PAGE}'>Every step judged</a>.</div>")


def add_tab_note(index: str, judged: Judged) -> str:
    """asv's index.html with the note at the top of the Regressions tab (once)."""
    if "gilbench-regressions-note" in index:
        return index
    anchor = '<div id="regressions-body">'
    at = index.find(anchor)
    if at < 0:
        return index
    return index[:at] + tab_note(judged) + "\n      " + index[at:]


def _change_text(change: Optional[compare.Change]) -> str:
    if change is None or change.test is None:
        return "—"
    low, high = change.test.interval
    what = f"{change.quantity} " if change.quantity in compare.HIGHER_IS_BETTER else ""  # a cell's: say which
    return (f"{what}{change.a:.4g} → {change.b:.4g} ({change.percent:+.1f} %, 95 % interval "
            f"[{100 * (low - 1):+.1f} %, {100 * (high - 1):+.1f} %], sure {100 * change.test.reliability:.1f} %)")


def page_body(judged: Judged) -> str:
    """Every jump asv listed with its verdict: kept ones first."""
    rows = []
    for verdict in sorted(judged.verdicts, key=lambda v: (not v.kept, v.reason, v.entry)):
        rows.append("<tr>" + "".join(f"<td>{html.escape(text)}</td>" for text in (
            "kept" if verdict.kept else f"dropped: {verdict.reason}", verdict.entry, verdict.environment,
            f"{', '.join(verdict.before) or '—'} → {', '.join(verdict.after) or '—'}",
            f"{verdict.runs[0]} / {verdict.runs[1]} ({verdict.source})", _change_text(verdict.change))) + "</tr>")
    table = ("<table><tr><th>verdict</th><th>entry</th><th>environment</th><th>commits before → from the step</th>"
             "<th>usable runs A / B</th><th>change</th></tr>" + "".join(rows) + "</table>") if rows else \
        "<p>asv listed no regression.</p>"
    return (f"<p>{html.escape(judged.summary())}.</p><p>{html.escape(method_text())}</p>"
            "<p><a href='index.html#/regressions'>The Regressions tab</a> shows the entries that stay.</p>" + table)
