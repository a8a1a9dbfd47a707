"""``python -m gilcore report``: the cross-version view asv does not give.

asv compares commits; this reads every result file under results/ and lays
the same benchmark side by side across Python environments: speedup of each
workaround at each worker count (median over the committed history, with its
range), the serial cost of each Python, which free-threading patterns scale,
and the reference article's claims checked against the measurements. It
writes Markdown, an HTML page for the published site, and an SVG chart.
"""
from __future__ import annotations

import glob
import html
import json
import math
import os
import re
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from gilcore.atomic import write_atomic
from gilcore.runner import UsageError

# (benchmark, params) -> environment label -> values over commits
Series = Dict[Tuple[str, Tuple[str, ...]], Dict[str, List[float]]]

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


@dataclass
class LoadedResults:
    series: Series
    environments: List[str]
    commits: int
    problems: List[str]


def environment_label(data: dict) -> str:
    """'3.12', '3.13t GIL off', '3.13t GIL on' from an asv result file."""
    label = str(data.get("python", "?"))
    gil = (data.get("env_vars") or {}).get("PYTHON_GIL")
    if gil is not None:
        label += " GIL off" if gil == "0" else " GIL on"
    return label


def _environment_order(label: str) -> Tuple:
    version = re.match(r"(\d+)\.(\d+)", label)
    major, minor = (int(version.group(1)), int(version.group(2))) if version else (99, 99)
    return major, minor, "t" in label, label


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value


def load(results_dir: str) -> LoadedResults:
    """Read every asv result file; a corrupt one is named in ``problems`` and skipped."""
    if not os.path.isdir(results_dir):
        raise UsageError(f"no results directory {results_dir!r}: run ./run-benchmarks first")
    series: Series = defaultdict(lambda: defaultdict(list))
    environments, commits, problems = set(), set(), []
    paths = sorted(p for p in glob.glob(os.path.join(results_dir, "*", "*.json"))
                   if os.path.basename(p) != "machine.json")
    if not paths:
        raise UsageError(f"no asv result files under {results_dir!r}: run ./run-benchmarks first")
    for path in paths:
        try:
            with open(path) as handle:
                data = json.load(handle)
            columns = data["result_columns"]
            results = data["results"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            problems.append(f"skipped {path}: not a readable asv result file ({error.__class__.__name__})")
            continue
        label = environment_label(data)
        environments.add(label)
        commits.add(data.get("commit_hash"))
        for name, row in results.items():
            try:
                _add(series, label, name, dict(zip(columns, row)))
            except (TypeError, ValueError, IndexError):
                problems.append(f"skipped {name} in {path}: malformed entry")
    return LoadedResults(series, sorted(environments, key=_environment_order), len(commits), problems)


def _add(series: Series, label: str, name: str, entry: dict) -> None:
    values = entry.get("result")
    if values is None:
        return
    params = entry.get("params") or []
    if not params:
        combos: List[Tuple[str, ...]] = [()]
    else:
        combos = [()]
        for axis in params:
            combos = [c + (_unquote(str(v)),) for c in combos for v in axis]
    for combo, value in zip(combos, values):
        if isinstance(value, (int, float)) and not math.isnan(value):
            series[(name, combo)][label].append(float(value))


def _summary(values: Sequence[float], unit: str = "x") -> str:
    if not values:
        return "—"
    middle = statistics.median(values)
    text = f"{unit}{middle:.2f}" if unit == "x" else f"{middle:.3f} {unit}"
    if len(values) > 1 and max(values) - min(values) > 0.005:
        text += f" ({min(values):.2f}–{max(values):.2f})"
    return text


def _median(loaded: LoadedResults, benchmark: str, params: Tuple[str, ...], env: str) -> Optional[float]:
    values = loaded.series.get((benchmark, params), {}).get(env)
    return statistics.median(values) if values else None


def speedup_rows(loaded: LoadedResults, workers: str) -> List[Tuple[str, Dict[str, List[float]]]]:
    rows = []
    for (name, params), by_env in sorted(loaded.series.items()):
        if not name.endswith(".track_speedup") or len(params) != 2 or params[1] != workers:
            continue
        if params[0] == "serial":
            continue
        workload = name.split(".")[1]
        rows.append((f"{workload} · {params[0]}", by_env))
    return rows


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _speedup_table(loaded: LoadedResults, workers: str) -> str:
    rows = [[label] + [_summary(by_env.get(env, [])) for env in loaded.environments]
            for label, by_env in speedup_rows(loaded, workers)]
    return _markdown_table(["workaround"] + loaded.environments, rows)


def _serial_cost_table(loaded: LoadedResults) -> str:
    rows = []
    for label, benchmark in (("countdown", "bench_cpu.Countdown.time_run"), ("primes", "bench_cpu.Primes.time_run")):
        reference = _median(loaded, benchmark, ("serial", "1"), "3.13")
        cells = []
        for env in loaded.environments:
            seconds = _median(loaded, benchmark, ("serial", "1"), env)
            if seconds is None:
                cells.append("—")
            elif reference:
                cells.append(f"{seconds:.3f} s (x{seconds / reference:.2f})")
            else:
                cells.append(f"{seconds:.3f} s")
        rows.append([f"{label}, serial"] + cells)
    return _markdown_table(["workload"] + loaded.environments, rows)


def _ft_pattern_table(loaded: LoadedResults) -> str:
    rows = []
    for (name, params), by_env in sorted(loaded.series.items()):
        if not name.startswith("bench_ftpatterns.") or len(params) != 2 or params[1] != "2":
            continue
        kind = "strong" if "strong" in name else "weak"
        cells = []
        for env in loaded.environments:
            values = by_env.get(env)
            if not values:
                cells.append("—")
                continue
            speedup = statistics.median(values)
            cells.append(f"{'scales' if speedup >= 1.5 else 'no'} x{speedup:.2f}")
        rows.append([f"{params[0]} ({kind})"] + cells)
    return _markdown_table(["pattern, 2 threads"] + loaded.environments, rows)


def write_chart(loaded: LoadedResults, path: str) -> bool:
    """Grouped bars: headline workarounds at 2 workers, one bar per Python. False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    import io

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
    axes.set_title("Each workaround on each Python: speedup at 2 workers (median over the history)")
    axes.set_xlim(0, 2.3)
    axes.legend(title="Python", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    write_atomic(path, buffer.getvalue())
    return True


def render_markdown(loaded: LoadedResults, chart_name: Optional[str]) -> str:
    from gilcore.claims import claims_table

    parts = [
        "# gilbench: the GIL and its workarounds, across Python versions",
        "",
        f"From {loaded.commits} commit(s) of asv results on {len(loaded.environments)} environments. "
        "Speedup = serial time / parallel time of the same kernel and size, measured in one call "
        "(`track_speedup`); each cell is the median over the committed history, with its range. "
        "'3.13t GIL off' and '3.13t GIL on' are the same free-threaded binary with PYTHON_GIL=0 and 1.",
        "",
    ]
    if chart_name:
        parts += [f"![speedups at 2 workers]({chart_name})", ""]
    parts += ["## Speedup at 2 workers", "", _speedup_table(loaded, "2"), "",
              "## At 1 worker (the overhead of each workaround)", "", _speedup_table(loaded, "1"), "",
              "## Serial cost of each Python (relative to the 3.13 GIL build)", "", _serial_cost_table(loaded), "",
              "## Free-threading patterns: which scale (x >= 1.5 at 2 threads)", "", _ft_pattern_table(loaded), "",
              "## The reference article's claims, measured", "", claims_table(loaded), ""]
    if loaded.problems:
        parts += ["## Skipped input", ""] + [f"- {p}" for p in loaded.problems] + [""]
    return "\n".join(parts)


def render_html(markdown: str) -> str:
    """Just enough Markdown for this report: headings, paragraphs, tables, one image."""
    body, table = [], []

    def flush_table() -> None:
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|(---\|)+", r)]
            cells = [[html.escape(c.strip()) for c in r.strip("|").split("|")] for r in rows]
            out = ["<table><tr>" + "".join(f"<th>{c}</th>" for c in cells[0]) + "</tr>"]
            out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells[1:]]
            body.append("\n".join(out) + "</table>")
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        image = re.fullmatch(r"!\[(.*)\]\((.*)\)", line)
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif image:
            body.append(f'<img alt="{html.escape(image.group(1))}" src="{html.escape(image.group(2))}">')
        elif line.startswith("- "):
            body.append(f"<li>{html.escape(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    flush_table()
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:100%}")
    return (f"<!doctype html><meta charset='utf-8'><title>gilbench report</title><style>{style}</style>"
            "<p><a href='index.html'>&larr; asv history graphs</a></p>\n" + "\n".join(body))


def main(argv: Sequence[str]) -> int:
    from gilcore.cli import _Parser  # usage errors: one line, exit 2

    parser = _Parser(prog="python -m gilcore report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="asv results directory (default: results)")
    parser.add_argument("--out", default="report", help="folder for gilcore-report.md/.html and the chart")
    args = parser.parse_args(argv)
    loaded = load(args.results)
    if not loaded.series:
        raise UsageError(f"no readable results under {args.results!r}: " + "; ".join(loaded.problems))
    chart = "speedups.svg"
    has_chart = write_chart(loaded, os.path.join(args.out, chart))
    markdown = render_markdown(loaded, chart if has_chart else None)
    write_atomic(os.path.join(args.out, "gilcore-report.md"), markdown)
    write_atomic(os.path.join(args.out, "gilcore-report.html"), render_html(markdown))
    for problem in loaded.problems:
        print(f"gilcore report: {problem}", file=sys.stderr)
    print(f"wrote {args.out}/gilcore-report.md, {args.out}/gilcore-report.html"
          + (f", {args.out}/{chart}" if has_chart else " (no chart: matplotlib is not installed)"))
    return 0
