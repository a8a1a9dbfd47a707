"""The release page: what changed from each Python release to the next, and how sure that is.

For each neighbouring pair of releases measured (3.9 -> 3.10 -> ... -> 3.15,
and each 3.13 GIL build against its free-threaded build with the GIL off and
on), every speedup cell of the two environments is compared by
gilcore.compare (runs against runs, Welch's t, 95 % interval, reliability);
a speedup at 1 worker is the workaround's overhead. The GIL probes (one
value per run, loaded runs left out by gilcore.proberuns) are compared the
same way, with compare.welch on their runs' log values. 2.7 has no asv
environment: it is compared with 3.9 through the cells that measured both
interpreters from one environment (bench_interpreters) and the convoy probed
on both (ConvoyOtherPythons).

Cells flagged on either side, or with fewer than rules.MIN_RUNS usable runs,
are **undecided**: counted and named as such, never shown as changes. Each
column names its build (gilcore.provenance: "build unknown" for records that
carry none); absolute figures (times, latencies, rates) carry a mark naming
what differs between the builds or machines.
"""
from __future__ import annotations

import math
import os
import re
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from gilcore import compare, machinespeed, proberuns, provenance, rules
from gilcore.publish import gil_section
from gilcore.publish.render import markdown_table, pyplot, save_svg
from gilcore.publish.results import LoadedResults, Provenance, pooled_machine

PAGE = "gilcore-releases"  # .md in report/, .html in report/ and on the site
CHART = "releases.svg"
OTHER_PYTHONS = ("bench_interpreters.",)  # cells whose parameter is an interpreter probed from one environment
HEADLINE_WORKERS = "2"
# GIL probes that are not figures of the GIL's behaviour on this Python
NOT_PROBES = (proberuns.NOISE, gil_section.GIL_STATE, gil_section.OTHER_PYTHONS)
LOWER_IS_BETTER = ("track_p50", "track_p99", "wait_fraction", "threads_over_serial")
HIGHER_IS_BETTER = ("overlap_fraction", "io_throughput")


# ------------------------------------------------------------------------------------ the releases

MACHINE_SEPARATOR = " @ "  # rules.machine_label: "3.11 @ amd-epyc-2c-24g", an environment of one machine among several


def release_pairs(environments: Sequence[str]) -> List[Tuple[str, str]]:
    """Neighbouring GIL builds in version order, then each GIL build against its free-threaded build
    with the GIL off and on ('3.13' -> '3.13t GIL off'); never across machines."""
    pairs = []
    for machine in dict.fromkeys(env.partition(MACHINE_SEPARATOR)[2] for env in environments):
        suffix = MACHINE_SEPARATOR + machine if machine else ""
        mine = [env[:len(env) - len(suffix)] for env in environments if env.partition(MACHINE_SEPARATOR)[2] == machine]
        gil = [env for env in mine if re.fullmatch(r"\d+\.\d+", env)]
        found = list(zip(gil, gil[1:]))
        for env in mine:
            base = re.fullmatch(r"(\d+\.\d+)t GIL (?:off|on)", env)
            if base and base.group(1) in gil:
                found.append((base.group(1), env))
        pairs += [(a + suffix, b + suffix) for a, b in found]
    return pairs


# ------------------------------------------------------------------------------------ comparisons

@dataclass
class ProbeComparison:
    """One GIL probe figure, A against B, over the runs of each (one value per run)."""

    name: str
    a: List[float]
    b: List[float]
    reasons: List[str]  # why undecided; [] when decided
    change: Optional[compare.Change] = None

    @property
    def status(self) -> str:
        if self.reasons:
            return "undecided"
        return "changed" if self.change is not None and self.change.beyond_noise() else "unchanged"

    @property
    def direction(self) -> str:
        """'higher' / 'lower', with 'better' or 'worse' where the figure has a good side."""
        assert self.change is not None
        word = "higher" if self.change.ratio > 1 else "lower"
        if any(key in self.name for key in LOWER_IS_BETTER):
            return f"{word} (" + ("worse" if word == "higher" else "better") + ")"
        if any(key in self.name for key in HIGHER_IS_BETTER):
            return f"{word} (" + ("better" if word == "higher" else "worse") + ")"
        return word


def _probe_values(runs: Sequence[proberuns.ProbeRun], env: str) -> Dict[proberuns.Key, List[float]]:
    found: Dict[proberuns.Key, List[float]] = {}
    for run in runs:
        if run.env != env:
            continue
        for key, value in run.values.items():
            if not key[0].startswith(NOT_PROBES):
                found.setdefault(key, []).append(value)
    return found


def compare_probe(name: str, a: List[float], b: List[float], mark: str) -> ProbeComparison:
    """One figure's runs on each side, by compare.welch on their logs; undecided under MIN_RUNS runs,
    when either side is bimodal (rules.bimodal), or when a value is not positive (no log scale)."""
    reasons = []
    if min(len(a), len(b)) < rules.MIN_RUNS:
        reasons.append(f"too few runs (< {rules.MIN_RUNS})")
    if any(value <= 0 for value in a + b):
        reasons.append("a zero value")
    elif rules.bimodal(a) or rules.bimodal(b):
        reasons.append("bimodal")
    if reasons:
        return ProbeComparison(name, a, b, reasons)
    a_logs, b_logs = [math.log(v) for v in a], [math.log(v) for v in b]
    change = compare.Change(name, math.exp(statistics.fmean(a_logs)), math.exp(statistics.fmean(b_logs)),
                            compare.welch(a_logs, b_logs), mark)
    return ProbeComparison(name, a, b, [], change)


def _probe_name(key: proberuns.Key) -> str:
    benchmark, params = key
    short = benchmark.replace("bench_gil_behaviour.", "")
    return f"{short}({', '.join(params)})" if params else short


def compare_probes(a_values: Mapping[proberuns.Key, List[float]], b_values: Mapping[proberuns.Key, List[float]],
                   mark: str) -> List[ProbeComparison]:
    return [compare_probe(_probe_name(key), list(a_values[key]), list(b_values[key]), mark)
            for key in sorted(set(a_values) & set(b_values))]


@dataclass
class PairResult:
    """One release against the next: the cells compared and the GIL probes compared."""

    a: str
    b: str
    a_build: str
    b_build: str
    cells: Optional[compare.Comparison]
    probes: List[ProbeComparison] = field(default_factory=list)
    # each side's machine speed (gilcore.machinespeed: the reference kernel's serial seconds over its
    # sessions); None where a side has no reference
    machine: Tuple[Optional[float], Optional[float]] = (None, None)

    def changed_cells(self) -> List[compare.CellComparison]:
        return self.cells.with_status("changed") if self.cells else []

    def undecided_cells(self) -> List[compare.CellComparison]:
        return self.cells.with_status("undecided") if self.cells else []


def provenance_of(where: Mapping[str, Provenance], env: str) -> Provenance:
    """An environment's provenance; one named with its machine ('3.11 @ amd-epyc-2c-24g') has that machine."""
    label, _, machine = env.partition(MACHINE_SEPARATOR)
    found = where.get(env) or where.get(label) or Provenance()
    if machine and (found.machine or {}).get("name") != machine:
        return Provenance(found.build, {"cpu": machine, "cores": None, "memory_gib": None, "name": machine})
    return found


def _side(loaded: LoadedResults, env: str, where: Provenance) -> compare.Side:
    cells = {key: by_env[env].cell for key, by_env in loaded.cells.items()
             if env in by_env and by_env[env].cell is not None and not key[0].startswith(OTHER_PYTHONS)}
    return compare.Side(env, cells, where.build, where.machine)  # type: ignore[arg-type]


def _mark(a: Provenance, b: Provenance) -> str:
    return "; ".join(provenance.build_differences(a.build, b.build)
                     + provenance.machine_differences(a.machine, b.machine))


def builds_section(loaded: LoadedResults, where: Mapping[str, Provenance]) -> List[str]:
    """Markdown lines: each environment's build and the machine its results came from, and what
    'unknown' means (the report and this page both show it)."""
    return [markdown_table(["environment", "build", "machine"],
                           [[env, provenance.describe_build(provenance_of(where, env).build),
                             provenance.describe_machine(provenance_of(where, env).machine)]
                            for env in loaded.environments]),
            "",
            "'build unknown': the records were written before builds were (version, GIL or free-threaded, "
            "origin, configure flags); absolute times between such columns are marked 'build unknown'. "
            "'machine unknown': neither the records nor asv's result files name the hardware.", ""]


def compare_releases(loaded: LoadedResults, where: Mapping[str, Provenance]) -> List[PairResult]:
    """Every neighbouring pair of releases: 2.7 -> 3.9 through the other-Python cells, then the
    environments' cells and GIL probes; ``where`` is LoadedResults.provenance."""
    probe_runs = proberuns.usable(loaded.probe_runs)
    out = []
    two_seven = _two_seven(loaded, probe_runs, where)
    if two_seven is not None:
        out.append(two_seven)
    for a, b in release_pairs(loaded.environments):
        pa, pb = provenance_of(where, a), provenance_of(where, b)
        side_a, side_b = _side(loaded, a, pa), _side(loaded, b, pb)
        cells = compare.compare(side_a, side_b)
        probes = compare_probes(_probe_values(probe_runs, a), _probe_values(probe_runs, b), _mark(pa, pb))
        machine = (machinespeed.mean_seconds(side_a.machine_references()),
                   machinespeed.mean_seconds(side_b.machine_references()))
        out.append(PairResult(a, b, provenance.describe_build(pa.build), provenance.describe_build(pb.build),
                              cells, probes, machine))
    return out


def _interpreter(names: Sequence[str], release: str) -> Optional[str]:
    """The probed CPython of a release ('cpython-2.7.18' for '2.7'), or None."""
    found = [name for name in names if re.fullmatch(rf"cpython-{re.escape(release)}\.\d+", name)]
    return found[-1] if found else None


def _two_seven(loaded: LoadedResults, probe_runs: Sequence[proberuns.ProbeRun],
               where: Mapping[str, Provenance]) -> Optional[PairResult]:
    """2.7 against 3.9, each probed as a child interpreter from one environment: the speedups of
    bench_interpreters (per measuring environment) and the convoy of ConvoyOtherPythons."""
    names = sorted({key[1][0] for key in loaded.cells if key[0].startswith(OTHER_PYTHONS) and key[1]}
                   | {params[0] for run in probe_runs for (name, params) in run.values
                      if name.startswith(gil_section.OTHER_PYTHONS) and params})
    old, new = _interpreter(names, "2.7"), _interpreter(names, "3.9")
    if not old or not new:
        return None

    def side(interpreter: str) -> compare.Side:
        cells = {(bench, (f"from {env}",)): summary.cell for (bench, params), by_env in loaded.cells.items()
                 if bench.startswith(OTHER_PYTHONS) and params == (interpreter,)
                 for env, summary in by_env.items() if summary.cell is not None}
        # both interpreters ran as children of the same environments: the machine is theirs
        hosts = {key[1][0][len("from "):] for key in cells}
        machines = [provenance_of(where, host).machine for host in sorted(hosts)]
        machine = pooled_machine([m for m in machines if m]) if all(machines) else None
        return compare.Side(interpreter, cells, None, machine)  # type: ignore[arg-type]

    def convoy(interpreter: str) -> Dict[proberuns.Key, List[float]]:
        found: Dict[proberuns.Key, List[float]] = {}
        for run in probe_runs:
            for (name, params), value in run.values.items():
                if name.startswith(gil_section.OTHER_PYTHONS) and params[:1] == (interpreter,):
                    found.setdefault((name, params[1:]), []).append(value)
        return found

    probes = compare_probes(convoy(old), convoy(new), "build unknown")
    return PairResult(old, new, "build unknown (a child of another environment)",
                      "build unknown (a child of another environment)", compare.compare(side(old), side(new)), probes)


# ------------------------------------------------------------------------------------ the page

def _percent_interval(change: compare.Change) -> str:
    if change.test is None:
        return "?"
    low, high = change.test.interval
    return f"[{100 * (low - 1):+.1f} %, {100 * (high - 1):+.1f} %]"


def _reliability(change: compare.Change) -> str:
    if change.test is None:
        return "?"
    return "> 99.9 %" if change.test.reliability >= 0.9995 else f"{100 * change.test.reliability:.1f} %"


def _figure(quantity: str, value: float) -> str:
    if quantity == compare.SPEEDUP:
        return f"x{value:.2f}"
    if quantity in (compare.SERIAL, compare.PARALLEL):
        return f"{value:.3f} s" if value >= 0.01 else f"{value * 1000:.2f} ms"
    return f"{value:.3g}"


def short_cell(cell: compare.CellComparison) -> str:
    """'Countdown.track_speedup(threads, 2)': the benchmark module left out."""
    return cell.name.split(".", 1)[1] if cell.name.startswith("bench_") else cell.name


def _what(cell: compare.CellComparison, change: compare.Change) -> str:
    """'speedup', 'overhead (1 worker)' or a time."""
    if change.quantity == compare.SPEEDUP and cell.cell[1][-1:] == ("1",):
        return "overhead (speedup at 1 worker)"
    return change.quantity


def _builds_column(change: compare.Change) -> str:
    """What differs between the builds or machines, and for a time the machine drift taken out of it."""
    text = change.mark or "alike"
    if change.machine_ratio is not None:
        text += f"; machine x{change.machine_ratio:.2f} taken out"
    return text


def machine_line(result: PairResult) -> str:
    """One sentence: each side's machine speed, and whether absolute times were judged against it."""
    a, b = result.machine
    if a is None or b is None:
        return ("Machine speed: no reference on " + ("either side" if a is None and b is None else
                                                     result.a if a is None else result.b)
                + f" (the {rules.REFERENCE_KERNEL[1]} {rules.REFERENCE_KERNEL[0]} kernel's serial time, measured "
                "in too few runs of a session): absolute times are compared raw.")
    return (f"Machine speed (the {rules.REFERENCE_KERNEL[1]} {rules.REFERENCE_KERNEL[0]} kernel's serial time, the "
            f"same C code on every Python, per session): {result.a} {a:.3f} s, {result.b} {b:.3f} s "
            f"(x{b / a:.2f}); absolute times are judged run by run against their session's (rule machine-reference).")


def cell_rows(result: PairResult) -> List[List[str]]:
    rows = []
    for cell in result.changed_cells():
        for change in cell.changed:
            rows.append([short_cell(cell), _what(cell, change), _figure(change.quantity, change.a),
                         _figure(change.quantity, change.b), f"{change.percent:+.1f} % {change.direction}",
                         _percent_interval(change), _reliability(change),
                         f"{cell.a.evidence if cell.a else '-'} / {cell.b.evidence if cell.b else '-'}",
                         _builds_column(change)])
    return rows


def probe_rows(result: PairResult) -> List[List[str]]:
    rows = []
    for probe in result.probes:
        if probe.status != "changed" or probe.change is None:
            continue
        change = probe.change
        rows.append([probe.name, _figure("", change.a), _figure("", change.b),
                     f"{change.percent:+.1f} % {probe.direction}", _percent_interval(change), _reliability(change),
                     f"{len(probe.a)} / {len(probe.b)}", change.mark or "alike"])
    return rows


def _undecided_lines(names_by_reason: Mapping[str, List[str]]) -> List[str]:
    return [f"- {reason} ({len(names)}): {', '.join(names)}" for reason, names in sorted(names_by_reason.items())]


def _cells_by_reason(result: PairResult) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for cell in result.undecided_cells():
        found.setdefault(", ".join(cell.reasons), []).append(short_cell(cell))
    return found


def _probes_by_reason(result: PairResult) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for probe in result.probes:
        if probe.status == "undecided":
            found.setdefault(", ".join(probe.reasons), []).append(probe.name)
    return found


def _columns(result: PairResult) -> List[str]:
    """Each side's column heading with its build: '3.12 (build unknown)'."""
    return [f"{result.a} ({result.a_build})", f"{result.b} ({result.b_build})"]


def pair_section(result: PairResult) -> List[str]:
    counts = result.cells.counts() if result.cells else {}
    probe_counts = {status: sum(p.status == status for p in result.probes)
                    for status in ("changed", "unchanged", "undecided")}
    differs = (result.cells.build_differences + result.cells.machine_differences) if result.cells else []
    lines = [f"## {result.a} → {result.b}", "",
             f"Builds: {result.a}: {result.a_build}; {result.b}: {result.b_build}. "
             + (f"What differs: {'; '.join(differs)} (absolute times and latencies are marked with it; a "
                "speedup is a ratio within one process)." if differs else "Builds and machines alike."), "",
             f"Workaround cells: {counts.get('changed', 0)} changed beyond noise, {counts.get('unchanged', 0)} "
             f"unchanged within noise, {counts.get('undecided', 0)} undecided"
             + "".join(f", {counts[k]} {k}" for k in ("only in A", "only in B") if counts.get(k)) + ". "
             + (f"GIL probes: {probe_counts['changed']} moved, {probe_counts['unchanged']} unchanged, "
                f"{probe_counts['undecided']} undecided." if result.probes else
                "GIL probes: none measured on both in a run not left out as loaded."), "",
             machine_line(result), ""]
    rows = cell_rows(result)
    if rows:
        lines += [markdown_table(["cell", "what", *_columns(result), "change", "95 % interval", "reliability",
                                  "runs x pairs, A / B", "builds"], rows), ""]
    else:
        lines += ["No workaround's speedup or overhead moved beyond its noise"
                  + (" among the decided cells." if counts.get("unchanged") else ": no cell is decided."), ""]
    rows = probe_rows(result)
    if rows:
        lines += [markdown_table(["GIL probe", *_columns(result), "change", "95 % interval", "reliability",
                                  "runs, A / B", "builds"], rows), ""]
    undecided = _cells_by_reason(result)
    if undecided:
        lines += ["Undecided workaround cells (never counted as changes), by reason:", ""]
        lines += _undecided_lines(undecided) + [""]
    undecided = _probes_by_reason(result)
    if undecided:
        lines += ["Undecided GIL probes, by reason:", ""] + _undecided_lines(undecided) + [""]
    return lines


def _total(results: Sequence[PairResult], status: str) -> int:
    return sum(len(r.cells.with_status(status)) if r.cells else 0 for r in results) + \
        sum(p.status == status for r in results for p in r.probes)


def _most_runs(results: Sequence[PairResult]) -> int:
    return max([cell.runs_used for r in results if r.cells for c in r.cells.cells for cell in (c.a, c.b) if cell]
               + [len(values) for r in results for p in r.probes for values in (p.a, p.b)] + [0])


def glance_row(result: PairResult) -> List[str]:
    """One pair in one line: what differs between its builds, and how many cells went which way."""
    counts = result.cells.counts() if result.cells else {}
    differs = (result.cells.build_differences + result.cells.machine_differences) if result.cells else []
    probes = [p.status for p in result.probes]
    return [f"{result.a} → {result.b}", "; ".join(differs) or "alike", str(counts.get("changed", 0)),
            str(counts.get("unchanged", 0)), str(counts.get("undecided", 0)),
            str(probes.count("changed")) if probes else "none on both", str(probes.count("undecided")) if probes else "—"]


def render_markdown(loaded: LoadedResults, results: Sequence[PairResult], where: Mapping[str, Provenance],
                    chart_name: Optional[str]) -> str:
    decided = _total(results, "changed") + _total(results, "unchanged")
    undecided = _total(results, "undecided")
    parts = [
        "# What changed in each Python release", "",
        "For each neighbouring pair of releases, every workaround cell (its speedup, and at 1 worker its "
        "overhead) and every GIL probe measured on both, compared run against run (gilcore.compare: Welch's t "
        "on the runs' log estimates, a 95 % interval, and the reliability: the probability that the change has "
        f"the sign shown). A change is listed only when its interval excludes no change and it is at least "
        f"{100 * rules.MIN_CHANGE:.0f} %. A cell flagged on either side (capacity-limited, A/A out of bounds, "
        f"noisy, over the limit), or with fewer than {rules.MIN_RUNS} usable runs on either side, is "
        "undecided: counted and named below, never shown as a change. A higher speedup is an improvement.",
        "",
        f"Over every pair: {_total(results, 'changed')} changes beyond noise, {decided} comparisons decided, "
        f"{undecided} undecided. "
        + (f"Most comparisons are undecided because these results hold at most {_most_runs(results)} usable "
           "run(s) per cell (before runs became the unit of replication a commit gave one run per environment): "
           f"fewer than {rules.MIN_RUNS} runs cannot give a between-run interval, so nothing here says a "
           "release changed or did not. Measuring again with `./run-benchmarks` (several rounds, each a run) "
           "decides them." if undecided > decided else ""),
        "",
        markdown_table(["releases", "builds", "workaround changes", "unchanged", "undecided",
                        "GIL probes moved", "probes undecided"], [glance_row(result) for result in results]),
        "",
        "[The cross-version report](gilcore-report.html) shows each cell's value; this page shows what moved.",
        "",
        "## Builds compared", "", *builds_section(loaded, where),
    ]
    unpaired = [env for env in loaded.environments if env.partition(MACHINE_SEPARATOR)[0].endswith("default")]
    if unpaired:
        parts += [f"Not paired: {', '.join(unpaired)} (PYTHON_GIL unset: whether its GIL is on depends on the "
                  "extensions the benchmark imports, so it is no release of its own).", ""]
    if chart_name:
        parts += ["## Each headline workaround against release", "",
                  "Speedup over serial, one line per worker count, the 95 % interval as a bar (over runs; with "
                  "one run, over its pairs, which is narrower than a second run would be; bars wider than the "
                  "axis are cut at it). Hollow markers: flagged cells; squares: free-threaded builds (not joined "
                  "to the line of GIL builds).", "", f"![speedup against release]({chart_name})",
                  ""]
    for result in results:
        parts += pair_section(result)
    if not results:
        parts += ["No two releases are measured: nothing to compare.", ""]
    return "\n".join(parts)


# ------------------------------------------------------------------------------------ the chart

def write_chart(loaded: LoadedResults, path: str, headline: Sequence[Tuple[str, str, Tuple[str, ...]]]) -> bool:
    """One panel per headline workaround: speedup against release, one line per worker count, with
    intervals. False without matplotlib or data."""
    plt = pyplot()
    envs = [env for env in loaded.environments if not env.endswith("default")]
    if plt is None or not envs:
        return False
    panels = []
    for label, bench, params in headline:
        counts = sorted({p[1] for (name, p) in loaded.cells if name == bench and len(p) == 2 and p[0] == params[0]},
                        key=int)
        if counts:
            panels.append((label, bench, params[0], counts))
    if not panels:
        return False
    columns = 3
    rows = math.ceil(len(panels) / columns)
    figure, axes_grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    colours = plt.get_cmap("tab10")
    positions = {env: index for index, env in enumerate(envs)}
    for axes, (label, bench, strategy, counts) in zip(axes_grid.flat, panels):
        for c_index, workers in enumerate(counts):
            colour = colours(c_index % 10)
            line = []
            for env in envs:
                summary = loaded.summary(bench, (strategy, workers), env)
                if summary is None or summary.over_limit or summary.interval is None:
                    continue
                low, high = summary.interval
                x = positions[env] + (c_index - len(counts) / 2) * 0.06
                free = "t" in env
                flagged = bool(summary.cell is not None and summary.cell.flags)
                axes.errorbar([x], [summary.estimate], yerr=[[summary.estimate - low], [high - summary.estimate]],
                              color=colour, marker="s" if free else "o", markersize=4, capsize=2,
                              markerfacecolor="none" if flagged else colour, linewidth=0.8)
                if not free:
                    line.append((x, summary.estimate))
            if line:
                axes.plot(*zip(*line), color=colour, linewidth=1, label=f"{workers} worker{'s' * (workers != '1')}")
        axes.axhline(1.0, color="grey", linewidth=0.6, linestyle=":")
        # a 2-run interval (t with 1 degree of freedom) can span x0 to x80: cut it at the axis, not the trend
        axes.set_ylim(0, 1.25 * max(int(workers) for workers in counts) + 0.3)
        axes.set_title(label, fontsize=9)
        axes.set_xticks(range(len(envs)))
        axes.set_xticklabels([env.replace(" GIL ", "\n") for env in envs], fontsize=6)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=6)
        axes.grid(alpha=0.3)
    for axes in list(axes_grid.flat)[len(panels):]:
        axes.set_visible(False)
    for axes in axes_grid[:, 0]:
        axes.set_ylabel("speedup over serial", fontsize=8)
    figure.suptitle("Speedup against release, per worker count (bars: 95 % intervals)")
    figure.tight_layout()
    save_svg(plt, figure, path)
    return True


def write(loaded: LoadedResults, out: str,
          headline: Sequence[Tuple[str, str, Tuple[str, ...]]]) -> Tuple[str, str]:
    """The page as Markdown and its chart into ``out``; returns (markdown, chart name or '')."""
    where = loaded.provenance
    has_chart = write_chart(loaded, os.path.join(out, CHART), headline)
    markdown = render_markdown(loaded, compare_releases(loaded, where), where, CHART if has_chart else None)
    return markdown, CHART if has_chart else ""
