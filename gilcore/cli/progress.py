"""Progress of a run on stderr: a live bar on a terminal, one plain line per cell elsewhere (CI logs).

Both show cells done / planned, the time elapsed and an estimate of the time
left. Cells differ a lot in cost (a spawn pool starts in 0.1 s, a sleep cell
is pure waiting), so the estimate for each cell still to run is the mean time
of the finished cells most like it: the same workload and strategy, else the
same workload, else any.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from typing import Dict, Hashable, List, Optional, Sequence, TextIO, Tuple

# A planned cell: (workload, strategy, workers); any hashable tuple works.
Key = Tuple[Hashable, ...]


class Estimator:
    """Seconds left for the planned cells, from the cells already measured."""

    def __init__(self) -> None:
        self._by_level: List[Dict[Key, List[float]]] = [defaultdict(list) for _ in range(3)]
        self._all: List[float] = []

    @staticmethod
    def _levels(key: Key) -> List[Key]:
        return [tuple(key[:2]), tuple(key[:1]), ()]

    def record(self, key: Key, seconds: float) -> None:
        for level, part in zip(self._by_level, self._levels(key)):
            level[part].append(seconds)
        self._all.append(seconds)

    def estimate(self, key: Key) -> Optional[float]:
        for level, part in zip(self._by_level, self._levels(key)):
            if level.get(part):
                return statistics.fmean(level[part])
        return None

    def remaining(self, keys: Sequence[Key]) -> Optional[float]:
        """Seconds for ``keys``; None until one cell has been timed."""
        if not self._all:
            return None
        return sum(self.estimate(key) or 0.0 for key in keys)


def clock(seconds: Optional[float]) -> str:
    """0:42, 12:05, 1:02:03; '?' when unknown."""
    if seconds is None:
        return "?"
    seconds = int(round(max(0.0, seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """``begin(label)`` before a cell, ``end(key, note)`` after it; ``close()`` always.

    ``replan(keys)`` says which cells are still to come (a comparison of
    interpreters learns each one's cells only when it starts).
    """

    def __init__(self, planned: Sequence[Key], *, stream: Optional[TextIO] = None,
                 live: Optional[bool] = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = _is_terminal(self.stream) if live is None else live
        self.pending: List[Key] = list(planned)
        self.done = 0
        self.estimator = Estimator()
        self.started = self._last = time.perf_counter()
        self._label = ""
        self._bar = None
        self._task = None
        if self.live:
            self._start_bar()

    # ------------------------------------------------------------------ public

    @property
    def total(self) -> int:
        return self.done + len(self.pending)

    def replan(self, pending: Sequence[Key]) -> None:
        self.pending = list(pending)
        self._refresh()

    def begin(self, label: str) -> None:
        self._label = label
        if self.live:
            self._refresh()

    def end(self, key: Key, note: str = "") -> None:
        """One cell finished (measured, failed or skipped): its time counts for the estimate."""
        now = time.perf_counter()
        self.estimator.record(key, now - self._last)
        self._last = now
        self.done += 1
        if key in self.pending:
            self.pending.remove(key)
        elif self.pending:
            self.pending.pop(0)
        if self.live:
            self._refresh()
        else:
            text = " ".join(part for part in (self._label or " ".join(map(str, key)), note) if part)
            print(f"[{self.done}/{self.total}] {text} ({self._times()})", file=self.stream, flush=True)

    def idle(self) -> None:
        """Time since the last cell went to something else (making a venv): not counted for any cell."""
        self._last = time.perf_counter()

    def note(self, text: str) -> None:
        """A line that stays (above the bar on a terminal)."""
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.stop()  # also stops its refresh thread

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- private

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> Optional[float]:
        """Estimated seconds left, counting down within the cell running now."""
        left = self.estimator.remaining(self.pending)
        if left is None or not self.pending:
            return left
        running = self.estimator.estimate(self.pending[0]) or 0.0
        return left - min(running, time.perf_counter() - self._last)

    def _times(self) -> str:
        left = self.left()
        return f"{clock(self.elapsed())} elapsed, " + ("estimating time left" if left is None
                                                      else f"~{clock(left)} left")

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, ProgressColumn, TextColumn
        from rich.text import Text

        progress = self

        class Times(ProgressColumn):  # redrawn ~10 times a second: the clocks tick between cells
            def render(self, task: object) -> Text:
                return Text(progress._times(), style="cyan")

        console = Console(file=self.stream, stderr=self.stream is sys.stderr)
        self._bar = Bar(TextColumn("{task.description}", style="bold"), BarColumn(), MofNCompleteColumn(), Times(),
                        console=console, transient=True, redirect_stdout=False, redirect_stderr=False)
        self._task = self._bar.add_task("starting", total=self.total)
        self._bar.start()

    def _refresh(self) -> None:
        if self._bar is None:
            return
        self._bar.update(self._task, description=_shorten(self._label or "starting", 48), total=self.total,
                         completed=self.done)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
