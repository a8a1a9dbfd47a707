"""``python -m gilcore report``: the cross-version view asv does not give.

asv compares commits; this reads every result file under results/ and lays
the same benchmark side by side across Python environments: speedup of each
workaround at each worker count, the serial cost of each Python, which
free-threading patterns scale, and the reference article's claims checked
against the measurements by rules fixed in code (gilcore.publish.claims).

A speedup cell stands on the runs and pairs behind it (results/cells/, see
gilcore.cellstore), over every commit measured with the benchmark's current
version: the hierarchical estimate of gilcore.replication (runs, then pairs),
a 95 % interval, n and runs x pairs; cells without enough clean pairs are
flagged with the reason (gilcore.rules, counted in the method section), and a
value above the physical limit (W x 1.05) is never printed as a plain number. The
A/A control of each run behind an environment's cells heads the tables
(gilcore.aacontrol); a run out of bounds is left out. Results from an older
version of a benchmark (asv's code hash) are left out: they were measured
another way. It writes Markdown, an HTML page for the published site, and
SVG charts.
"""
from __future__ import annotations

import os
import re
import statistics
import sys
from typing import List, Optional, Sequence, Tuple

from gilcore import aacontrol, compare, provenance, replication
from gilcore.publish import gil_section as report_gil, releases
from gilcore.publish.render import markdown_table, pyplot, render_html, save_svg
from gilcore.publish.results import CellSummary, LoadedResults, Provenance, load
from gilcore.atomic import write_atomic
from gilcore.errors import UsageError, UsageParser

HEADLINE = [  # (row label, benchmark, params) drawn in the chart, at 2 workers
    ("countdown: threads", "bench_cpu.Countdown.track_speedup", ("threads", "2")),
    ("countdown: Pool (fork)", "bench_cpu.Countdown.track_speedup", ("pool-fork", "2")),
    ("countdown: subinterpreters", "bench_cpu.Countdown.track_speedup", ("subinterpreters", "2")),
    ("primes: Cython nogil threads", "bench_cpu.Primes.track_speedup", ("cython-threads", "2")),
    ("primes: Cython prange", "bench_cpu.Primes.track_speedup", ("cython-prange", "2")),
    ("numpy matmul: threads", "bench_c_code.NumpyMatmul.track_speedup", ("threads", "2")),
    ("sha256: threads", "bench_c_code.Sha256.track_speedup", ("threads", "2")),
    ("sleep: threads", "bench_io.Sleep.track_speedup", ("threads", "2")),
    ("socket: asyncio", "bench_io.Socket.track_speedup", ("asyncio", "2")),
]


def format_speedup(summary: Optional[CellSummary]) -> str:
    """'x1.97 [1.93–2.01] n=6'; thin, noisy and over-limit cells say so, never as a plain number."""
    if summary is None:
        return "—"
    estimate = summary.estimate
    if summary.over_limit:
        return f"over limit: x{estimate:.2f} > x{summary.limit:.2f} is noise (n={summary.n})"
    text = f"x{estimate:.2f}"
    bounds = summary.interval
    if bounds is not None:
        text += f" [{bounds[0]:.2f}–{bounds[1]:.2f}]"
    text += f" n={summary.n}"
    if summary.cell is not None:  # runs x pairs, and why the cell is not a plain number
        text += f" ({summary.cell.evidence})"
        flags = [flag for flag in summary.cell.flags if flag != "over limit"]
        return text + "".join(f" {flag}" for flag in flags)
    if summary.thin:
        text += " thin"
    if summary.noisy:
        text += " noisy"
    return text


def _median(loaded: LoadedResults, benchmark: str, params: Tuple[str, ...], env: str) -> Optional[float]:
    """The estimate a chart draws; None for a missing or over-limit cell."""
    summary = loaded.summary(benchmark, params, env)
    if summary is None or summary.over_limit:
        return None
    return summary.estimate


def speedup_rows(loaded: LoadedResults, workers: str) -> List[Tuple[str, str, Tuple[str, ...]]]:
    """(row label, benchmark, params) of every track_speedup at this worker count."""
    keys = set(loaded.series) | set(loaded.cells)
    rows = []
    for name, params in sorted(keys):
        if not name.endswith(".track_speedup") or len(params) != 2 or params[1] != workers:
            continue
        if params[0] == "serial":
            continue
        rows.append((f"{name.split('.')[1]} · {params[0]}", name, params))
    return rows


def noise_row(loaded: LoadedResults) -> List[str]:
    """Each environment's A/A controls: those of the runs its cells come from (gilcore.aacontrol)."""
    return [aacontrol.describe(aacontrol.controls_of(
        run for by_env in loaded.cells.values() if env in by_env and by_env[env].cell is not None
        for run in by_env[env].cell.runs)) for env in loaded.environments]


def machine_row(loaded: LoadedResults) -> List[str]:
    """'measured on': the machine each environment's results came from (the builds section says more)."""
    return ["measured on"] + [(loaded.provenance.get(env) or Provenance()).machine_name for env in loaded.environments]


def build_row(loaded: LoadedResults) -> List[str]:
    """'build': each environment's build as its records carry it (absolute times depend on it)."""
    return ["build"] + [provenance.describe_build((loaded.provenance.get(env) or Provenance()).build)
                        for env in loaded.environments]


def _speedup_table(loaded: LoadedResults, workers: str) -> str:
    rows = [machine_row(loaded), ["A/A noise of the runs behind these cells (same work vs itself)"] + noise_row(loaded)]
    rows += [[label] + [format_speedup(loaded.summary(bench, params, env)) for env in loaded.environments]
             for label, bench, params in speedup_rows(loaded, workers)]
    return markdown_table(["workaround"] + loaded.environments, rows)


def _serial_cost_table(loaded: LoadedResults) -> str:
    rows = [machine_row(loaded), build_row(loaded)]
    for label, benchmark in (("countdown", "bench_cpu.Countdown.time_run"), ("primes", "bench_cpu.Primes.time_run")):
        by_env = loaded.series.get((benchmark, ("serial", "1")), {})
        reference = statistics.median(by_env["3.13"]) if by_env.get("3.13") else None
        cells = []
        for env in loaded.environments:
            values = by_env.get(env)
            if not values:
                cells.append("—")
                continue
            seconds = statistics.median(values)
            cells.append(f"{seconds:.3f} s" + (f" (x{seconds / reference:.2f})" if reference else ""))
        rows.append([f"{label}, serial"] + cells)
    return markdown_table(["workload"] + loaded.environments, rows)


# A free-threading pattern "scales" at 2 threads when it gains more than half of the second core.
SCALES_AT_2 = 1.5


def _ft_pattern_table(loaded: LoadedResults) -> str:
    rows: List[List[str]] = []
    keys = sorted(k for k in set(loaded.series) | set(loaded.cells)
                  if k[0].startswith("bench_ftpatterns.") and len(k[1]) == 2 and k[1][1] == "2")
    for name, params in keys:
        kind = "strong" if "strong" in name else "weak"
        cells = []
        for env in loaded.environments:
            summary = loaded.summary(name, params, env)
            if summary is None:
                cells.append("—")
            elif summary.over_limit:
                cells.append(format_speedup(summary))
            else:
                word = "scales" if summary.estimate >= SCALES_AT_2 else "no"
                cells.append(f"{word} {format_speedup(summary)}")
        rows.append([f"{params[0]} ({kind})"] + cells)
    if not rows:  # never an empty table: say why
        return ("No result of bench_ftpatterns' current version is in results/ (results of its older versions "
                "are left out, rule older-benchmark-version): measure it with `asv run --bench bench_ftpatterns`.")
    return markdown_table(["pattern, 2 threads"] + loaded.environments, [machine_row(loaded)] + rows)


def write_chart(loaded: LoadedResults, path: str) -> bool:
    """Grouped bars: headline workarounds at 2 workers, one bar per Python. False without matplotlib."""
    plt = pyplot()
    if plt is None:
        return False
    envs = loaded.environments
    rows = [(label, [_median(loaded, bench, params, env) for env in envs]) for label, bench, params in HEADLINE]
    rows = [(label, values) for label, values in rows if any(v is not None for v in values)]
    figure, axes = plt.subplots(figsize=(11, 0.16 * max(len(rows), 1) * max(len(envs), 1) + 1.6))
    height = 0.8 / max(len(envs), 1)
    colours = plt.get_cmap("viridis")
    for e, env in enumerate(envs):
        ys = [r + e * height for r in range(len(rows))]
        xs = [values[e] if values[e] is not None else 0 for _, values in rows]
        axes.barh(ys, xs, height=height, label=env, color=colours(e / max(len(envs) - 1, 1)))
    axes.set_yticks([r + 0.4 - height / 2 for r in range(len(rows))])
    axes.set_yticklabels([label for label, _ in rows])
    axes.invert_yaxis()
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.axvline(2.0, color="grey", linestyle="--", linewidth=0.8)
    axes.set_xlabel("speedup over serial at 2 workers (1 = no gain, 2 = both cores)")
    axes.set_title("Each workaround on each Python: speedup at 2 workers (all pairs over the history)")
    axes.set_xlim(0, 2.3)
    axes.legend(title="Python", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    save_svg(plt, figure, path)
    return True


SCALING_WORKLOADS = [("countdown", "bench_cpu.Countdown.track_speedup"), ("primes", "bench_cpu.Primes.track_speedup"),
                     ("numpy-matmul", "bench_c_code.NumpyMatmul.track_speedup"),
                     ("sleep", "bench_io.Sleep.track_speedup")]


def scaling_environments(loaded: LoadedResults) -> List[str]:
    """The newest GIL build and the newest free-threaded build with its GIL off: the two curves that differ."""
    gil = [env for env in loaded.environments if re.fullmatch(r"\d+\.\d+", env)]
    free = [env for env in loaded.environments if env.endswith("GIL off")]
    return gil[-1:] + free[-1:]


def write_scaling_chart(loaded: LoadedResults, path: str) -> bool:
    """Speedup against workers, one panel per workload, one line per strategy; solid = GIL build,
    dashed = free-threaded with the GIL off. False without matplotlib or without data."""
    plt = pyplot()
    envs = scaling_environments(loaded)
    if plt is None or not envs:
        return False
    figure, panels = plt.subplots(1, len(SCALING_WORKLOADS), figsize=(4 * len(SCALING_WORKLOADS), 4), squeeze=False)
    colours = plt.get_cmap("tab10")
    most = 1
    strategies = sorted({params[0] for name, params in set(loaded.series) | set(loaded.cells)
                         if any(name == bench for _, bench in SCALING_WORKLOADS) and len(params) == 2})
    for axes, (title, bench) in zip(panels[0], SCALING_WORKLOADS):
        for s_index, strategy in enumerate(strategies):
            for e_index, env in enumerate(envs):
                points = []
                for params in sorted({p for n, p in set(loaded.series) | set(loaded.cells)
                                      if n == bench and len(p) == 2 and p[0] == strategy}, key=lambda p: int(p[1])):
                    value = _median(loaded, bench, params, env)
                    if value is not None:
                        points.append((int(params[1]), value))
                if len(points) < 2:
                    continue
                most = max(most, points[-1][0])
                axes.plot(*zip(*points), marker="o", color=colours(s_index % 10),
                          linestyle="-" if e_index == 0 else "--", label=f"{strategy} ({env})")
        axes.set_title(title)
        axes.set_xlabel("workers")
        axes.grid(alpha=0.3)
    panels[0][0].set_ylabel("speedup over serial")
    for axes in panels[0]:
        axes.plot([1, most], [1, most], color="grey", linewidth=0.8, linestyle=":")
    handles, labels = panels[0][0].get_legend_handles_labels()
    for axes in panels[0][1:]:
        for handle, label in zip(*axes.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    figure.legend(handles, labels, fontsize=7, loc="lower center", ncol=4)
    figure.suptitle("Speedup against workers (dotted: perfect scaling; solid: " + envs[0]
                    + (f", dashed: {envs[1]}" if len(envs) > 1 else "") + ")")
    figure.tight_layout(rect=(0, 0.22, 1, 1))
    save_svg(plt, figure, path)
    return True


def render_markdown(loaded: LoadedResults, chart_name: Optional[str], scaling_name: Optional[str] = None) -> str:
    from gilcore.publish.claims import claims_table

    parts = [
        "# gilbench: the GIL and its workarounds, across Python versions",
        "",
        f"From {loaded.commits} commit(s) of asv results on {len(loaded.environments)} environments. "
        "Speedup = serial time / parallel time of the same kernel and size, measured pair by pair in one "
        "process (order rotated, S P then P S). Each run (a fresh process) gives the Hodges-Lehmann "
        "estimate of its clean pairs' log ratios; each cell: the geometric mean of its runs over the history, "
        "[its 95 % interval over runs; with one run, over its pairs], n = clean pairs (runs x pairs). "
        "Every pair is kept; the rules below flag or leave values out, never by the ratio's size alone. "
        "*noisy* / *capacity-limited* / *A/A out of bounds*: fewer than 3 clean pairs, and why; "
        "a value above the physical limit (workers x 1.05 on I/O, min(workers, cores) x 1.05 on CPU) is "
        "noise and is not shown as a number. 'A/A noise' lists the control of each run the cells come from "
        "(commit, spread, ratio): the same serial work timed against itself, which should give x1.00; a run "
        "out of bounds is left out of its cells. "
        "'GIL off' / 'GIL on' / 'default' are one free-threaded binary with PYTHON_GIL=0, 1 and unset.",
        "",
    ]
    counts = replication.total_counts(s.cell for by_env in loaded.cells.values() for s in by_env.values()
                                      if s.cell is not None)
    counts["older-benchmark-version"] += loaded.superseded
    counts.update(report_gil.rule_counts(loaded))
    counts["machine-reference"] += sum(len(loaded.machine_references(env)) for env in loaded.environments)
    if counts:
        parts += ["Rules applied (gilcore.rules), with how many values each touched:", ""]
        parts += [f"- {line}" for line in counts.lines()] + [""]
    agreement = [compare.runs_disagree(s.cell) for by_env in loaded.cells.values() for s in by_env.values()
                 if s.cell is not None]
    judged = [value for value in agreement if value is not None]
    if judged:
        parts += [f"Runs that disagree: in {sum(judged)} of {len(judged)} cells with two or more usable runs, two "
                  "runs differ beyond what their pairs allow (Welch's t on their pairs, 5 % over all pairs of "
                  "runs): an interval over the pairs of one run would be too narrow, so each cell's interval is "
                  "taken over its runs.", ""]
    if loaded.superseded:
        parts += [f"{loaded.superseded} asv values from older versions of their benchmarks (measured another "
                  "way) are left out.", ""]
    parts += [f"[What changed in each Python release]({releases.PAGE}.html): each neighbouring pair of releases "
              "compared cell by cell, run against run, with what is still undecided.", ""]
    parts += ["## Where each environment was measured", "",
              "The build of each environment and the machine its results came from; every table below names "
              "the machine of each column in its first row.", "",
              *releases.builds_section(loaded, loaded.provenance)]
    if chart_name:
        parts += [f"![speedups at 2 workers]({chart_name})", ""]
    if scaling_name:
        parts += [f"![speedup against workers]({scaling_name})", ""]
    parts += ["## Speedup at 2 workers", "", _speedup_table(loaded, "2"), ""]
    for workers in sorted({p[1] for _, p in set(loaded.series) | set(loaded.cells) if len(p) == 2
                           and p[1].isdigit() and int(p[1]) > 2}, key=int):
        parts += [f"## Speedup at {workers} workers", "", _speedup_table(loaded, workers), ""]
    parts += ["## At 1 worker (the overhead of each workaround)", "", _speedup_table(loaded, "1"), "",
              "## Serial cost of each Python (relative to the 3.13 GIL build)", "", _serial_cost_table(loaded), "",
              f"## Free-threading patterns: which scale (x >= {SCALES_AT_2} at 2 threads)", "",
              _ft_pattern_table(loaded), ""]
    parts += report_gil.section(loaded, markdown_table)
    parts += ["## The reference article's claims, measured", "", claims_table(loaded), ""]
    if loaded.problems:
        parts += ["## Skipped input", ""] + [f"- {p}" for p in loaded.problems] + [""]
    return "\n".join(parts)


def main(argv: Sequence[str]) -> int:

    parser = UsageParser(prog="python -m gilcore report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="asv results directory (default: results)")
    parser.add_argument("--out", default="report", help="folder for gilcore-report.md/.html and the chart")
    args = parser.parse_args(argv)
    loaded = load(args.results)
    if not loaded.series and not loaded.cells:
        raise UsageError(f"no readable results under {args.results!r}: " + "; ".join(loaded.problems))
    chart, scaling = "speedups.svg", "scaling.svg"
    has_chart = write_chart(loaded, os.path.join(args.out, chart))
    has_scaling = write_scaling_chart(loaded, os.path.join(args.out, scaling))
    markdown = render_markdown(loaded, chart if has_chart else None, scaling if has_scaling else None)
    write_atomic(os.path.join(args.out, "gilcore-report.md"), markdown)
    write_atomic(os.path.join(args.out, "gilcore-report.html"), render_html(markdown))
    page, releases_chart = releases.write(loaded, args.out, HEADLINE)
    write_atomic(os.path.join(args.out, releases.PAGE + ".md"), page)
    write_atomic(os.path.join(args.out, releases.PAGE + ".html"),
                 render_html(page, "gilbench: what changed in each Python release"))
    for problem in loaded.problems:
        print(f"gilcore report: {problem}", file=sys.stderr)
    print(f"wrote {args.out}/gilcore-report.md, {args.out}/gilcore-report.html, {args.out}/{releases.PAGE}.md/.html"
          + (f", {args.out}/{releases_chart}" if releases_chart else "")
          + (f", {args.out}/{chart}" if has_chart else " (no chart: matplotlib is not installed)")
          + (f", {args.out}/{scaling}" if has_scaling else ""))
    return 0
