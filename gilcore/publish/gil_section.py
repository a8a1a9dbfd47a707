"""The report's section on the GIL itself: convoy, contention, switching and overlap per Python.

Each cell is the median over the commits measured (asv's bench_gil_behaviour
results), with the number of commits behind it when there is more than one.
"""
from __future__ import annotations

import re
import statistics
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from gilcore.publish.results import LoadedResults

CONVOY = "bench_gil_behaviour.Convoy"
CONTENTION = "bench_gil_behaviour.Contention.track_wait_fraction"
SWITCHING = "bench_gil_behaviour.SwitchInterval"
OVERLAP = "bench_gil_behaviour.Overlap.track_overlap_fraction"
OTHER_PYTHONS = "bench_gil_behaviour.ConvoyOtherPythons.track_p99_over_idle"
GIL_STATE = "bench_gil.GilState.track_gil_enabled"
DEFAULT_INTERVAL_MS = "5.0"  # sys.getswitchinterval()'s default, 0.005 s


def _median(loaded: LoadedResults, benchmark: str, params: Tuple[str, ...], env: str) -> Optional[Tuple[float, int]]:
    values = loaded.series.get((benchmark, params), {}).get(env, [])
    return (statistics.median(values), len(values)) if values else None


def _cell(found: Optional[Tuple[float, int]], text: str) -> str:
    if found is None:
        return "—"
    value, commits = found
    return text.format(value) + f" ({commits})"  # always said: a cell on one commit is one run's figure


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


def rows(loaded: LoadedResults) -> List[List[str]]:
    """One row a probe figure, one column an environment."""
    envs = loaded.environments
    table: List[List[str]] = []

    def add(label: str, benchmark: str, params: Tuple[str, ...], text: str, gil_only: bool = False) -> None:
        # With the GIL off the switching probe's threads only fight over its shared counter: no GIL figure.
        cells = ["no GIL" if gil_only and _without_gil(loaded, env)
                 else _cell(_median(loaded, benchmark, params, env), text) for env in envs]
        if any(cell not in ("—", "no GIL") for cell in cells):
            table.append([label] + cells)

    add("convoy: I/O p99, idle (ms), socket to a process", f"{CONVOY}.track_p99", ("socket-process", "idle"),
        "{:.2f}")
    for load in _convoy_loads(loaded):
        add(f"convoy: I/O p99 over idle, socket to a process, {load}", f"{CONVOY}.track_p99_over_idle",
            ("socket-process", load), "x{:.1f}")
    for load in _convoy_loads(loaded)[:1]:
        add(f"convoy: Event wake-up p99 over idle, {load}", f"{CONVOY}.track_p99_over_idle", ("event", load),
            "x{:.1f}")
    for method in ("checkpoints", "cpu-time", "py-spy"):
        add(f"contention: share of time 2 CPU threads wait ({method})", CONTENTION, (method, "2"), "{:.2f}")
    add("contention: the same, 1 thread (the machine's own noise, checkpoints)", CONTENTION, ("checkpoints", "1"),
        "{:.2f}")
    add("switching: 2 CPU threads over serial, 5 ms interval", f"{SWITCHING}.track_threads_over_serial",
        (DEFAULT_INTERVAL_MS,), "x{:.2f}", gil_only=True)
    add("switching: GIL hand-overs per second, 5 ms interval", f"{SWITCHING}.track_switches_per_second",
        (DEFAULT_INTERVAL_MS,), "{:.0f}", gil_only=True)
    add("switching: GIL hand-overs per second, 0.5 ms interval", f"{SWITCHING}.track_switches_per_second",
        ("0.5",), "{:.0f}", gil_only=True)
    for strategy in ("threads", "cython-threads", "process-executor", "subinterpreters", "interpreter-pool"):
        add(f"timeline: share of time 2 workers ran at once, {strategy}", OVERLAP, (strategy,), "{:.2f}")
    return table


def other_pythons_rows(loaded: LoadedResults) -> List[List[str]]:
    """The convoy on the machine's other CPythons (2.7 included), probed once from one environment."""
    by_interpreter: Dict[str, Dict[str, List[float]]] = {}
    for name, params in loaded.series:
        if name == OTHER_PYTHONS and len(params) == 2:
            by_interpreter.setdefault(params[0], {})[params[1]] = [
                v for values in loaded.series[(name, params)].values() for v in values]
    table = []
    for interpreter, by_kind in sorted(by_interpreter.items(), key=lambda item: _version_key(item[0])):
        cells = [f"x{statistics.median(by_kind[kind]):.1f}" if by_kind.get(kind) else "—"
                 for kind in ("socket-process", "event")]
        if any(cell != "—" for cell in cells):
            table.append([interpreter] + cells)
    return table


def _version_key(name: str) -> Tuple:
    """'cpython-3.9.18' before 'cpython-3.13.5' before 'cpython-3.13.5t'."""
    implementation, _, version = name.partition("-")
    numbers = tuple(int(part) for part in re.findall(r"\d+", version))
    return implementation, numbers, version.endswith("t")


def section(loaded: LoadedResults, markdown_table: Callable[[Sequence[str], Sequence[Sequence[str]]], str]) -> List[str]:
    """The report's lines for this section; none when no GIL probe was measured."""
    table = rows(loaded)
    others = other_pythons_rows(loaded)
    if not table and not others:
        return []
    lines = ["## The GIL itself, per Python", "",
             "Convoy: how much longer the slowest 1 % of an I/O thread's round trips take while CPU-bound work "
             "runs beside it (x1 = no effect). Contention: the share of time CPU-bound threads spend waiting "
             "instead of running. Switching: what `sys.setswitchinterval` gives. Timeline: how much of a short run "
             "2 workers ran at the same moment (0 = they took turns). Medians over commits; (n) = commits "
             "measured.", ""]
    if table:
        lines += [markdown_table(["probe"] + loaded.environments, table), ""]
    if others:
        lines += ["The convoy on every CPython of the machine (1 CPU thread, p99 over idle), probed from one "
                  "environment:", "", markdown_table(["interpreter", "socket to a process", "Event wake-up"], others),
                  ""]
    return lines
