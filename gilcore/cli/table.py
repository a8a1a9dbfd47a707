"""The tables ``python -m gilcore`` prints: one run, or one speedup column per interpreter.

Cells are the dicts of ``gilcore.cli.rounds.aggregate`` (a cell over its runs;
live, or read back from a run file), so a table printed at the end of a run
and one printed by ``show FILE`` are the same. A speedup is shown with its
95 % interval and its evidence, runs x pairs, and its flags; one above what
the workers can physically give is never shown as a plain number; the best strategy per workload is marked, and so are
those statistically tied with it.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

from gilcore.cli.runlog import Run
from gilcore.times import TimeEstimate

Cell = Dict[str, Any]

WRAPPABLE = ("workload", "strategy", "speedup")
DEFINITION = ("speedup = per run (a fresh process), the Hodges-Lehmann centre of its pairs' ratios serial time / "
              "parallel time (same kernel, same size, interleaved, order rotated); over runs, their geometric "
              "mean [95 % interval over runs]; RxP = runs x clean pairs per run")


# ---------------------------------------------------------------- one cell as text

def speedup_text(cell: Cell) -> str:
    """'1.97x [1.95-1.99] n=4', with re-measured pairs and noise said; over the limit: never a number alone."""
    speedup = cell.get("speedup")
    if speedup is None:
        return "-"
    if cell.get("over_limit"):
        return f"over limit ({speedup:.2f}x > {cell.get('limit') or 0:.2f}x): noise"
    text = f"{speedup:.2f}x"
    interval = cell.get("speedup_interval")
    if interval:
        text += f" [{interval[0]:.2f}-{interval[1]:.2f}]"
    if cell.get("evidence"):  # runs x clean pairs per run (gilcore.replication), and why it is not plain
        notes = [flag for flag in cell.get("flags") or [] if flag != "over limit"]
        return f"{text} {cell['evidence']}" + (f" ({', '.join(notes)})" if notes else "")
    text += f" n={cell.get('n', len(cell.get('pairs') or []))}"  # a file written before runs were recorded
    pairs = cell.get("pairs") or []
    dropped = [pair for pair in pairs if not pair.get("kept", True)]
    if pairs and len(dropped) == len(pairs):  # no quiet pair at all: the value stands on noisy ones
        whys = {pair.get("why_dropped") for pair in dropped}
        return text + (" (noisy: every pair over the limit)" if whys == {"beyond the physical limit"}
                       else " (noisy: no quiet pair)")
    notes = []
    if cell.get("remeasured"):
        notes.append(f"{cell['remeasured']} re-measured")
    if cell.get("noisy"):
        notes.append("noisy")
    return text + (f" ({', '.join(notes)})" if notes else "")


def _seconds(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def cell_label(cell: Cell) -> str:
    return f"{cell['strategy']} x{cell['workers']}"


# ---------------------------------------------------------------- which wins

@dataclass
class Verdict:
    """The best cell of one workload, the cells tied with it, and whether it beats serial at all."""

    workload: str
    best: Optional[Cell]
    ties: List[Cell] = field(default_factory=list)

    @property
    def beats_serial(self) -> bool:
        return self.best is not None and _bounds(self.best)[0] > 1.0

    def text(self) -> str:
        if self.best is None:
            return f"{self.workload}: no trustworthy value (every cell is over the limit)"
        best = f"{cell_label(self.best)} {speedup_text(self.best)}"
        if not self.beats_serial:
            return f"{self.workload}: nothing measured beats serial (best: {best})"
        tied = f"; tied within the intervals: {', '.join(cell_label(c) for c in self.ties)}" if self.ties else ""
        return f"{self.workload}: {best}{tied}"


def _bounds(cell: Cell) -> Tuple[float, float]:
    interval = cell.get("speedup_interval")
    return (interval[0], interval[1]) if interval else (cell["speedup"], cell["speedup"])


def verdicts(cells: Sequence[Cell]) -> Dict[str, Verdict]:
    """Per workload: the highest speedup among values that can be trusted (not over the limit; quiet
    ones before noisy ones), and the cells whose interval overlaps the winner's."""
    by_workload: Dict[str, List[Cell]] = {}
    for cell in cells:
        by_workload.setdefault(cell["workload"], []).append(cell)
    result = {}
    for workload, group in by_workload.items():
        usable = [c for c in group if c.get("speedup") is not None and not c.get("over_limit")]
        pool = [c for c in usable if not (c.get("noisy") or c.get("flags"))] or usable
        if not pool:
            result[workload] = Verdict(workload, None)
            continue
        best = max(pool, key=lambda c: c["speedup"])
        low = _bounds(best)[0]
        ties = [c for c in pool if c is not best and _bounds(c)[1] >= low and c["speedup"] > 0]
        result[workload] = Verdict(workload, best, sorted(ties, key=lambda c: -c["speedup"]))
    return result


def _wall_mark(cell: Cell, verdict: Optional["WallVerdict"], symbols: Dict[str, str]) -> str:
    if verdict is None or not verdict.beats_serial:
        return ""
    if cell is verdict.best[1]:
        return symbols["best"]
    return symbols["tie"] if any(cell is tie for _, tie in verdict.ties) else ""


def _mark(cell: Cell, verdict: Optional[Verdict], symbols: Dict[str, str]) -> str:
    if verdict is None or verdict.best is None or not verdict.beats_serial:
        return ""
    if cell is verdict.best:
        return symbols["best"]
    return symbols["tie"] if any(cell is tie for tie in verdict.ties) else ""


# ---------------------------------------------------------------- across interpreters: wall time decides

Serial = Tuple[str, TimeEstimate]  # (interpreter, its serial time of a kernel over runs)


@dataclass
class WallVerdict:
    """One workload across interpreters: the cell of least wall time (a serial cell may win), the cells
    whose time interval overlaps it, and the fastest serial time every cell is set against. Every time
    is over runs (gilcore.times), the same estimates the table shows; the winner beats serial only when
    its interval and the fastest serial time's do not overlap."""

    workload: str
    best: Optional[Tuple[str, Cell]]  # (interpreter, cell)
    ties: List[Tuple[str, Cell]] = field(default_factory=list)
    serial: Optional[Serial] = None  # the fastest serial time among the interpreters

    @property
    def best_time(self) -> Optional[TimeEstimate]:
        return cell_time(self.best[1]) if self.best else None

    @property
    def outcome(self) -> str:
        """'faster' than the fastest serial run beyond both intervals (a serial cell that wins is that
        run itself), 'within noise' of it, or 'slower'; 'none' without a trustworthy time."""
        seconds = self.best_time
        if self.best is None or seconds is None:  # a cell without a time is never best
            return "none"
        if self.best[1].get("strategy") == "serial" or self.serial is None:
            return "faster"
        low, high = seconds.bounds
        serial_low, serial_high = self.serial[1].bounds
        if high < serial_low:
            return "faster"
        return "slower" if low > serial_high else "within noise"

    @property
    def beats_serial(self) -> bool:
        return self.outcome == "faster"

    def text(self) -> str:
        seconds = self.best_time
        if self.best is None or seconds is None:
            return f"{self.workload}: no trustworthy time (every cell is over the limit or has no time)"
        python, cell = self.best
        fastest = f"{python} {cell_label(cell)}, {time_text(seconds)}"
        if self.serial is None:
            return f"{self.workload}: least wall time: {fastest}"
        serial_python, serial = self.serial
        if self.outcome == "within noise":
            return (f"{self.workload}: within noise of the fastest serial: {fastest} against "
                    f"{time_text(serial)} ({serial_python} serial)")
        if self.outcome == "slower":
            return (f"{self.workload}: nothing measured beats the fastest serial run (fastest cell: {fastest} "
                    f"against {time_text(serial)}, {serial_python} serial)")
        tied = f"; tied within the intervals: {', '.join(f'{p} {cell_label(c)}' for p, c in self.ties)}" \
            if self.ties else ""
        return (f"{self.workload}: least wall time: {fastest} = {serial.seconds / seconds.seconds:.2f}x against "
                f"the fastest serial ({serial_python}, {time_text(serial)}){tied}")


def time_text(estimate: TimeEstimate) -> str:
    """'0.028 s [0.020-0.041]': seconds over runs and their 95 % interval."""
    if estimate.interval is None:
        return f"{estimate.seconds:.3f} s"
    return f"{estimate.seconds:.3f} s [{estimate.interval[0]:.3f}-{estimate.interval[1]:.3f}]"


def _point(seconds: Optional[float]) -> Optional[TimeEstimate]:
    return TimeEstimate(seconds, None, 0) if seconds else None


def cell_time(cell: Cell) -> Optional[TimeEstimate]:
    """The cell's parallel time over runs; a cell from a file written before times were estimated over
    runs has its one value, without an interval."""
    return TimeEstimate.from_dict(cell.get("parallel_time")) or _point(cell.get("seconds"))


def kernel_serial_time(cell: Cell) -> Optional[TimeEstimate]:
    """Its interpreter's serial time of the cell's kernel over runs (see gilcore.cli.rounds.aggregate)."""
    pooled = TimeEstimate.from_dict(cell.get("kernel_serial_time"))
    if pooled:
        return pooled
    return _point(cell.get("seconds") if cell.get("strategy") == "serial" else cell.get("serial_median"))


def fastest_serial(runs: Sequence[Run]) -> Dict[Tuple[str, str], Serial]:
    """(workload, kernel) -> (interpreter, time): the least serial time of that kernel among the
    interpreters compared, each interpreter's own estimated over its runs."""
    fastest: Dict[Tuple[str, str], Serial] = {}
    for run in runs:
        for cell in run.cells:
            serial = kernel_serial_time(cell)
            key = (cell["workload"], str(cell.get("kernel", "")))
            if serial and (key not in fastest or serial.seconds < fastest[key][1].seconds):
                fastest[key] = (run.label, serial)
    return fastest


def wall_verdicts(runs: Sequence[Run]) -> Dict[str, WallVerdict]:
    """Per workload across every interpreter compared: least wall time wins, among cells that can be
    trusted (not over the limit; quiet ones before noisy ones)."""
    serial = fastest_serial(runs)
    by_workload: Dict[str, List[Tuple[str, Cell]]] = {}
    for run in runs:
        for cell in run.cells:
            by_workload.setdefault(cell["workload"], []).append((run.label, cell))
    result = {}
    for workload, group in by_workload.items():
        timed = [(p, c, t) for p, c in group for t in [cell_time(c)] if t and not c.get("over_limit")]
        pool = [entry for entry in timed if not (entry[1].get("noisy") or entry[1].get("flags"))] or timed
        fastest = min((t for (w, _), t in serial.items() if w == workload), key=lambda t: t[1].seconds, default=None)
        if not pool:
            result[workload] = WallVerdict(workload, None, serial=fastest)
            continue
        pool.sort(key=lambda entry: entry[2].seconds)
        high = pool[0][2].bounds[1]
        ties = [(p, c) for p, c, t in pool[1:] if t.bounds[0] <= high]
        result[workload] = WallVerdict(workload, pool[0][:2], ties, fastest)
    return result


def against_fastest_serial(cell: Cell, serial: Dict[Tuple[str, str], Serial]) -> str:
    """'0.035 s [0.033-0.037] = 0.91x vs 3.11 serial': this cell's parallel time over runs against the
    fastest serial time of its kernel among the interpreters compared (above 1: faster than any
    interpreter's serial run, in the estimates; the verdict weighs the intervals)."""
    fastest = serial.get((cell["workload"], str(cell.get("kernel", ""))))
    seconds = cell_time(cell)
    if seconds is None or fastest is None:
        return ""
    return f"{time_text(seconds)} = {fastest[1].seconds / seconds.seconds:.2f}x vs {fastest[0]} serial"


# ---------------------------------------------------------------- rendering

def _console(stream: TextIO) -> Any:
    from rich.console import Console

    terminal = _is_terminal(stream)
    # Not a terminal (a pipe, a file, CI): as wide as the table needs, never cut; rich would assume 80.
    width = None if terminal else int(os.environ.get("COLUMNS", "0") or 0) or 10_000
    # soft_wrap: a long line (a path, the A/A control) stays one line; tables size themselves.
    return Console(file=stream, width=width, highlight=False, soft_wrap=True, emoji=False)


def _symbols(stream: TextIO) -> Dict[str, str]:
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    fancy = encoding in ("utf8", "utf_8")
    return {"best": "★ best" if fancy else "* best", "tie": "≈ tie" if fancy else "~ tie"}


def _box(stream: TextIO) -> Any:
    from rich import box

    return box.SIMPLE_HEAD if _symbols(stream)["best"].startswith("★") else box.ASCII2


def header_lines(run: Run) -> List[str]:
    header = run.header
    lines = [f"gilcore on {header.get('python')} ({header.get('executable')}), {header.get('cpus')} CPUs, "
             f"GIL enabled: {header.get('gil_enabled')}"]
    control = header.get("aa_control") or {}
    if control.get("describe"):
        lines.append(control["describe"])
    return lines


def print_run(run: Run, stream: Optional[TextIO] = None, *, header: bool = True) -> None:
    """Header, the table, which strategy wins per workload, what could not run, and the footer."""
    from rich.table import Table

    stream = stream or sys.stdout
    console = _console(stream)
    symbols = _symbols(stream)
    if header:  # a live run printed it before measuring
        for line in header_lines(run):
            console.print(line, markup=False)
    judged = verdicts(run.cells)
    table = Table(box=_box(stream), pad_edge=False, show_edge=False)
    for name, justify in (("workload", "left"), ("strategy", "left"), ("W", "right"), ("size", "right"),
                          ("serial s", "right"), ("parallel s", "right"), ("speedup", "left"), ("", "left"),
                          ("start-up s", "right"), ("GIL", "left")):
        # a narrow terminal folds the long columns; it never drops one or cuts a value short
        table.add_column(name, justify=justify, no_wrap=name not in WRAPPABLE, overflow="fold",  # type: ignore[arg-type]
                         min_width=len(name) or None)
    previous = None
    for cell in run.cells:
        if previous is not None and cell["workload"] != previous:
            table.add_section()
        previous = cell["workload"]
        mark = _mark(cell, judged.get(cell["workload"]), symbols)
        table.add_row(*_texts(cell["workload"], cell["strategy"], cell["workers"], cell.get("size", ""),
                              _seconds(cell.get("serial_median")), _seconds(cell.get("seconds")),
                              speedup_text(cell), mark, _seconds(cell.get("startup_seconds")),
                              cell.get("gil_enabled")), style=_style(cell, mark))
    if run.cells:
        console.print(table)
        console.print("Which wins here:", style="bold")
        for verdict in judged.values():
            console.print("  " + verdict.text(), markup=False)
    _print_footer(console, [run])


def print_comparison(runs: Sequence[Run], stream: Optional[TextIO] = None) -> None:
    """One row per (workload, strategy, workers), one speedup column per interpreter."""
    from rich.table import Table

    stream = stream or sys.stdout
    console = _console(stream)
    symbols = _symbols(stream)
    for run in runs:
        control = (run.header.get("aa_control") or {}).get("describe") or "no A/A control"
        where = run.header.get("interpreter") or run.header.get("executable")
        numpy = (run.header.get("venv") or {}).get("numpy", "") if run.header.get("venv") else ""
        extra = f", numpy {numpy}" if numpy else (", no numpy" if run.header.get("venv") else "")
        gil = run.header.get("gil_enabled")
        state = "" if gil is None else f", GIL {'on' if gil else 'off'}"
        this = ", the interpreter this command runs with" if run.header.get("this_command") else ""
        console.print(f"{run.label} ({where}{extra}{state}{this}): {control}", markup=False)
    judged = [verdicts(run.cells) for run in runs]
    wall, serial = wall_verdicts(runs), fastest_serial(runs)
    rows: Dict[Tuple[str, str, int], List[Optional[Cell]]] = {}
    for column, run in enumerate(runs):
        for cell in run.cells:
            key = (cell["workload"], cell["strategy"], cell["workers"])
            rows.setdefault(key, [None] * len(runs))[column] = cell
    table = Table(box=_box(stream), pad_edge=False, show_edge=False)
    for name in ("workload", "strategy", "W"):
        table.add_column(name, justify="right" if name == "W" else "left", no_wrap=name == "W", overflow="fold",
                         min_width=len(name))
    for run in runs:
        table.add_column(run.label, overflow="fold", min_width=12)
    order = {name: index for index, name in enumerate(dict.fromkeys(key[0] for key in rows))}
    previous = None
    for key in sorted(rows, key=lambda k: order[k[0]]):  # stable: each workload's cells in run order
        if previous is not None and key[0] != previous:
            table.add_section()
        previous = key[0]
        texts = []
        for column, cell in enumerate(rows[key]):
            if cell is None:
                texts.append(_missing_text(runs[column], key))
                continue
            mark = _wall_mark(cell, wall.get(key[0]), symbols)
            against = against_fastest_serial(cell, serial)
            texts.append(speedup_text(cell) + (f"; {against}" if against else "") + (f" {mark}" if mark else ""))
        table.add_row(*_texts(key[0], key[1], key[2], *texts))
    if rows:
        console.print(table)
        console.print("Which wins here, across interpreters (least wall time decides; times per run, then their "
                      "geometric mean over runs [95 % interval]; 'vs X serial' = the fastest serial time of the "
                      "kernel among the interpreters compared over the cell's parallel time; a cell beats it only "
                      "when the two intervals do not overlap):", style="bold", markup=False)
        for verdict in wall.values():
            console.print(f"  {verdict.text()}", markup=False)
        console.print("Within each interpreter (its own speedup):", style="bold")
        for run, verdict_map in zip(runs, judged):
            for verdict in verdict_map.values():
                console.print(f"  {run.label}: {verdict.text()}", markup=False)
    _print_footer(console, runs, prefixed=True)
    if any(run.header.get("venv") for run in runs):
        console.print("Each interpreter ran in a venv of its own holding gilcore and numpy (where a wheel exists): "
                      "strategies that need other packages are unavailable there.", markup=False)


def _texts(*values: Any) -> List[Any]:
    """Cells as rich Text: a user's workload name or a '[1.95-1.99]' is text, never markup."""
    from rich.text import Text

    return [Text(str(value)) for value in values]


def _missing_text(run: Run, key: Tuple[str, str, int]) -> str:
    workload, strategy = key[0], key[1]
    if strategy in run.unavailable or workload in run.unavailable:
        return "unavailable"
    if any(text.startswith(f"{workload} x {strategy} x{key[2]}:") for text in run.failures):
        return "FAILED"
    return "not run" if not run.complete else "n/a"


def _style(cell: Cell, mark: str) -> Optional[str]:
    if cell.get("over_limit"):
        return "red"
    if cell.get("noisy") or cell.get("flags"):
        return "yellow"
    return "bold green" if mark.endswith("best") else None


def _print_footer(console: Any, runs: Sequence[Run], prefixed: bool = False) -> None:
    several = prefixed or len(runs) > 1
    for run in runs:
        prefix = f"{run.label}: " if several else ""
        for name, reason in run.unavailable.items():
            console.print(f"unavailable: {prefix}{name}: {reason}", markup=False)
        for failure in run.failures:
            console.print(f"FAILED: {prefix}{failure}", markup=False)
        for text in run.requested_not_applicable:
            console.print(f"not applicable: {prefix}{text}", markup=False)
        others = len(run.not_applicable) - len(run.requested_not_applicable)
        if others:
            console.print(f"{prefix}{not_applicable_summary(others, bool(run.requested_not_applicable))}",
                          markup=False)
        if run.header.get("error"):
            console.print(f"{prefix}no result: {run.header['error']}", markup=False)
            if not run.cells:
                continue
        done = f"{len(run.cells)} cell{'' if len(run.cells) == 1 else 's'}"
        if run.seconds is not None:
            done += f" in {run.seconds:.0f} s"
        if not run.complete:
            done += f" (incomplete: {len(run.cells)} of {run.planned} planned cells measured)"
        console.print(prefix + done, markup=False)
        if run.cells and not several:
            control = (run.header.get("aa_control") or {}).get("describe")
            if control:
                console.print(control, markup=False)
    console.print(DEFINITION, markup=False)


def not_applicable_summary(count: int, others: bool = False) -> str:
    """'3 other workload x strategy pairs do not apply (--json lists them)': the pairs nobody asked for."""
    pairs = "pair does" if count == 1 else "pairs do"
    return f"{count} {'other ' if others else ''}workload x strategy {pairs} not apply (--json lists them)"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
