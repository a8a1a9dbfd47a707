"""The report's section on the GIL itself: convoy, contention, switching and overlap per Python.

Each cell shows every run's value (one asv result file: a commit and an
environment) and n, under the GIL rules of gilcore.rules applied by
gilcore.proberuns: loaded runs left out, bimodal cells marked, a ratio only
over a stable denominator. Latencies are absolute (ms, p50 and p99).
"""
from __future__ import annotations

import re
from typing import Callable, List, Optional, Sequence, Tuple

from gilcore import proberuns, rules
from gilcore.publish.results import LoadedResults

CONVOY = "bench_gil_behaviour.Convoy"
CONTENTION = "bench_gil_behaviour.Contention.track_wait_fraction"
SWITCHING = "bench_gil_behaviour.SwitchInterval"
OVERLAP = "bench_gil_behaviour.Overlap.track_overlap_fraction"
OTHER_PYTHONS = "bench_gil_behaviour.ConvoyOtherPythons"
GIL_STATE = "bench_gil.GilState.track_gil_enabled"
DEFAULT_INTERVAL_MS = "5.0"  # sys.getswitchinterval()'s default, 0.005 s


def _runs(loaded: "LoadedResults") -> List[proberuns.ProbeRun]:
    return proberuns.usable(loaded.probe_runs)


def _without_gil(loaded: LoadedResults, env: str) -> bool:
    """The environment ran with its GIL off, as its own GIL-state benchmark saw it (the label says so only
    for PYTHON_GIL=0: a free-threaded build's default depends on the extensions it imports)."""
    seen = loaded.series.get((GIL_STATE, ()), {}).get(env)
    return seen[-1] == 0.0 if seen else "GIL off" in env


def _convoy_loads(loaded: LoadedResults) -> List[str]:
    """The CPU loads measured beside the I/O thread, in the order of the benchmark (idle first)."""
    loads = sorted({params[1] for name, params in loaded.series
                    if name == f"{CONVOY}.track_p99_over_idle" and len(params) == 2},
                   key=lambda load: (load != "idle", not load.startswith("1 "), "process" in load, "cython" in load))
    return [load for load in loads if load != "idle"]


def _convoy_cell(runs: List[proberuns.ProbeRun], kind: str, load: str, env: Optional[str],
                 counts: rules.RuleCounts, prefix: str = CONVOY) -> str:
    """'p50 0.06 · 0.07, n=2; p99 0.12 · 2.41 bimodal, n=2' in ms, then the p99 over the idle p99
    of the same runs where rules.stable_denominator allows it. ``kind, load`` are the benchmark's two
    parameters (for ConvoyOtherPythons: the interpreter and the kind, with 1 CPU thread)."""
    p50, p99 = (proberuns.cell(runs, f"{prefix}.{name}", (kind, load), env) for name in ("track_p50", "track_p99"))
    if not p99.values:
        return "—"
    counts["bimodal"] += p50.bimodal + p99.bimodal
    text = (f"p50 {p50.text('{:.2f}')}; " if p50.values else "") + f"p99 {p99.text('{:.2f}')}"
    if load == "idle":
        return text
    ratio = proberuns.cell(runs, f"{prefix}.track_p99_over_idle", (kind, load), env)
    idle = (proberuns.cell(runs, f"{prefix}.track_p99", (kind, "idle"), env) if prefix == CONVOY
            else proberuns.quotient(runs, (f"{prefix}.track_p99", (kind, load)),
                                    (f"{prefix}.track_p99_over_idle", (kind, load)), env))  # its idle p99
    over = proberuns.ratio_text(ratio, p99, idle, counts)
    return text + (f"; {over} over idle" if over else "")


def rows(loaded: "LoadedResults", counts: Optional[rules.RuleCounts] = None) -> List[List[str]]:
    """One row a probe figure, one column an environment; ``counts`` gathers the GIL rules' counts."""
    envs = loaded.environments
    runs = _runs(loaded)
    counts = rules.RuleCounts() if counts is None else counts
    table: List[List[str]] = []

    def add(label: str, benchmark: str, params: Tuple[str, ...], fmt: str, gil_only: bool = False,
            judge_modes: bool = False) -> None:
        # With the GIL off the switching probe's threads only fight over its shared counter: no GIL figure.
        cells = []
        for env in envs:
            if gil_only and _without_gil(loaded, env):
                cells.append("no GIL")
                continue
            found = proberuns.cell(runs, benchmark, params, env)
            counts["bimodal"] += judge_modes and found.bimodal
            cells.append(found.text(fmt, judge_modes))
        if any(cell not in ("—", "no GIL") for cell in cells):
            table.append([label] + cells)

    for kind, words in (("socket-process", "socket to a process"), ("event", "Event wake-up")):
        for load in ["idle"] + _convoy_loads(loaded)[:None if kind == "socket-process" else 1]:
            cells = [_convoy_cell(runs, kind, load, env, counts) for env in envs]
            if any(cell != "—" for cell in cells):
                table.append([f"convoy: I/O latency (ms), {words}, {load}"] + cells)
    for method in ("checkpoints", "cpu-time", "py-spy"):
        add(f"contention: share of time 2 CPU threads wait ({method})", CONTENTION, (method, "2"), "{:.2f}")
    add("contention: the same, 1 thread (the machine's own noise, checkpoints)", CONTENTION, ("checkpoints", "1"),
        "{:.2f}")
    add("switching: 2 CPU threads over serial, 5 ms interval", f"{SWITCHING}.track_threads_over_serial",
        (DEFAULT_INTERVAL_MS,), "x{:.2f}", gil_only=True)
    add("switching: GIL hand-overs per second, 5 ms interval", f"{SWITCHING}.track_switches_per_second",
        (DEFAULT_INTERVAL_MS,), "{:.0f}", gil_only=True, judge_modes=True)
    add("switching: GIL hand-overs per second, 0.5 ms interval", f"{SWITCHING}.track_switches_per_second",
        ("0.5",), "{:.0f}", gil_only=True, judge_modes=True)
    for strategy in ("threads", "cython-threads", "process-executor", "subinterpreters", "interpreter-pool"):
        add(f"timeline: share of time 2 workers ran at once, {strategy}", OVERLAP, (strategy,), "{:.2f}")
    return table


def other_pythons_rows(loaded: "LoadedResults", counts: Optional[rules.RuleCounts] = None) -> List[List[str]]:
    """The convoy on the machine's other CPythons (2.7 included), probed from one environment: every
    run's p99 with 1 CPU thread, n, and its ratio over the idle p99 only where that held still."""
    runs = _runs(loaded)
    counts = rules.RuleCounts() if counts is None else counts
    interpreters = {params[0] for run in runs for name, params in run.values
                    if name == f"{OTHER_PYTHONS}.track_p99_over_idle" and len(params) == 2}
    table = []
    for interpreter in sorted(interpreters, key=_version_key):
        cells = [_convoy_cell(runs, interpreter, kind, None, counts, prefix=OTHER_PYTHONS)
                 for kind in ("socket-process", "event")]
        if any(cell != "—" for cell in cells):
            table.append([interpreter] + cells)
    return table


def rule_counts(loaded: "LoadedResults") -> rules.RuleCounts:
    """How many runs, cells and ratios the GIL rules left out or marked in this section."""
    counts = rules.RuleCounts()
    counts["loaded-run"] = sum(run.loaded and run.probed for run in loaded.probe_runs)
    rows(loaded, counts)
    other_pythons_rows(loaded, counts)
    return counts


def _version_key(name: str) -> Tuple:
    """'cpython-3.9.18' before 'cpython-3.13.5' before 'cpython-3.13.5t'."""
    implementation, _, version = name.partition("-")
    numbers = tuple(int(part) for part in re.findall(r"\d+", version))
    return implementation, numbers, version.endswith("t")


def section(loaded: LoadedResults, markdown_table: Callable[[Sequence[str], Sequence[Sequence[str]]], str]) -> List[str]:
    """The report's lines for this section; none when no GIL probe was measured."""
    table = rows(loaded)
    others = other_pythons_rows(loaded)
    loaded_runs = [run for run in loaded.probe_runs if run.loaded and run.probed]
    if not table and not others and not loaded_runs:
        return []
    lines = ["## The GIL itself, per Python", "",
             "Convoy: the latency of an I/O thread's round trips (p50 and p99, in ms) while CPU-bound work runs "
             "beside it, and the p99 over the idle p99 of the same runs where that idle figure held still "
             "(rule unstable-denominator). Contention: the share of time CPU-bound threads spend waiting "
             "instead of running. Switching: what `sys.setswitchinterval` gives. Timeline: how much of a short run "
             "2 workers ran at the same moment (0 = they took turns). Every run's value (one asv result file: a "
             "commit and an environment), oldest commit first, and n; *bimodal*: the runs split into two regimes "
             "(a p99 under a millisecond or one scheduler slice of a few ms), so no one figure stands for them.", ""]
    if loaded_runs:
        lines += ["Left out as loaded (rule loaded-run: the run's A/A control saw load or was out of bounds): "
                  + ", ".join(f"{run.env} at {run.commit[:7]}" for run in loaded_runs) + ".", ""]
    if table:
        lines += [markdown_table(["probe"] + loaded.environments, table), ""]
    if others:
        lines += ["The convoy on every CPython of the machine (1 CPU thread, p99 in ms and over idle), probed from "
                  "one environment:", "", markdown_table(["interpreter", "socket to a process", "Event wake-up"],
                                                          others), ""]
    elif any(name == f"{OTHER_PYTHONS}.track_p99" for run in loaded.probe_runs for name, _ in run.values):
        lines += ["The convoy on the machine's other CPythons is not shown: every run that probed them was "
                  "loaded (rule loaded-run).", ""]
    return lines
