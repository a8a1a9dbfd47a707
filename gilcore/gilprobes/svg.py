"""A worker timeline as a small hand-written SVG, in the style of David Beazley's gilvis.

One row per worker: green where it ran, pale red where it was not running
(waiting for the GIL, or for a CPU), a blend of the two in a pixel it ran for
part of; a blue row below marks the moments when two or more workers ran at
once. Time runs left to right in milliseconds from
the common start. No plotting library: the file is text, so it draws the same
from every Python and diffs well in git.
"""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, List, Sequence, Tuple

if TYPE_CHECKING:  # a type only: timeline imports this module
    from gilcore.gilprobes.timeline import Timeline

Interval = Tuple[int, int]

WIDTH = 960
LEFT = 170  # room for the row labels
RIGHT = 24
ROW = 26
ROW_GAP = 10
TOP = 104  # title, summary, note, legend
RUN = "#2e9d4f"
WAIT = "#f2c4bf"
OVERLAP = "#3a6fb0"
IDLE = "#f4f4f4"
LEVELS = 8  # shades between not running and running, for pixels a worker ran only part of
GRID = "#d0d0d0"
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def _tick_step(duration_ms: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if duration_ms / step <= 10:
            return float(step)
    return 1000.0 * (duration_ms // 10000 + 1)


def _coverage(intervals: Sequence[Interval], start_ns: int, stop_ns: int, columns: int) -> List[float]:
    """For each pixel column, the share of its time covered by ``intervals`` (0 to 1)."""
    width = (stop_ns - start_ns) / columns
    cover = [0.0] * columns
    for begin, end in intervals:
        begin, end = max(begin, start_ns), min(end, stop_ns)
        if end <= begin:
            continue
        first = int((begin - start_ns) / width)
        last = min(columns - 1, int((end - start_ns) / width))
        for column in range(first, last + 1):
            low = max(begin, start_ns + column * width)
            high = min(end, start_ns + (column + 1) * width)
            cover[column] += max(0.0, high - low) / width
    return [min(1.0, value) for value in cover]


def _mix(background: str, colour: str, share: float) -> str:
    parts = [int(background[i:i + 2], 16) * (1 - share) + int(colour[i:i + 2], 16) * share for i in (1, 3, 5)]
    return "#" + "".join(f"{round(part):02x}" for part in parts)


def _bars(intervals: Sequence[Interval], timeline: Timeline, y: float, background: str, colour: str) -> List[str]:
    """One row: each pixel column coloured by how much of its time the worker ran, in LEVELS steps.

    Stretches much shorter than a pixel (CPython 2.7's threads swap every few
    tens of microseconds) then show as a blend rather than as solid green.
    """
    columns = WIDTH - LEFT - RIGHT
    levels = [round(share * LEVELS) for share in _coverage(intervals, timeline.start_ns, timeline.stop_ns, columns)]
    bars, column = [], 0
    while column < columns:
        level, end = levels[column], column
        while end + 1 < columns and levels[end + 1] == level:
            end += 1
        if level:
            fill = colour if level == LEVELS else _mix(background, colour, level / LEVELS)
            bars.append(f"<rect x='{LEFT + column}' y='{y}' width='{end - column + 1}' height='{ROW}' fill='{fill}'/>")
        column = end + 1
    return bars


def render(timeline: Timeline) -> str:
    """The SVG text of one timeline."""
    span_ns = max(1, timeline.stop_ns - timeline.start_ns)
    plot_width = WIDTH - LEFT - RIGHT
    scale = plot_width / span_ns  # pixels per nanosecond
    rows = len(timeline.workers) + 1  # + the "2 or more at once" row
    plot_height = rows * (ROW + ROW_GAP)
    height = TOP + plot_height + 46

    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
        f"viewBox='0 0 {WIDTH} {height}' {FONT} font-size='12'>",
        f"<title>{escape(timeline.title)}</title>",
        f"<rect width='{WIDTH}' height='{height}' fill='white'/>",
        f"<text x='{LEFT}' y='24' font-size='16' font-weight='bold'>{escape(timeline.title)}</text>",
        f"<text x='{LEFT}' y='44' fill='#333'>{escape(timeline.summary)}</text>",
        f"<text x='{LEFT}' y='60' fill='#777' font-size='11'>{escape(timeline.note)}</text>",
    ]
    legend_y = 72
    for offset, colour, text in ((0, RUN, "running"),
                                 (110, WAIT, f"not running (a pause > {timeline.gap_ns / 1000:g} µs: waiting "
                                             "for the GIL or a CPU)"),
                                 (520, OVERLAP, "2 or more workers running at once")):
        out.append(f"<rect x='{LEFT + offset}' y='{legend_y}' width='14' height='12' fill='{colour}'/>")
        out.append(f"<text x='{LEFT + offset + 20}' y='{legend_y + 11}'>{escape(text)}</text>")

    step = _tick_step(span_ns / 1e6)
    tick = 0.0
    axis_y = TOP + plot_height
    while tick * 1e6 <= span_ns + 1:
        tx = LEFT + tick * 1e6 * scale
        out.append(f"<line x1='{tx:.1f}' y1='{TOP - 4}' x2='{tx:.1f}' y2='{axis_y}' stroke='{GRID}'/>")
        out.append(f"<text x='{tx:.1f}' y='{axis_y + 16}' text-anchor='middle'>{tick:g}</text>")
        tick += step
    out.append(f"<text x='{LEFT + plot_width / 2}' y='{axis_y + 36}' text-anchor='middle'>"
               "time since the common start (ms)</text>")

    for index, worker in enumerate(timeline.workers):
        y = TOP + index * (ROW + ROW_GAP)
        out.append(f"<text x='{LEFT - 8}' y='{y + ROW / 2 + 4}' text-anchor='end'>{escape(worker.label)}</text>")
        out.append(f"<rect x='{LEFT}' y='{y}' width='{plot_width}' height='{ROW}' fill='{WAIT}'/>")
        out.extend(_bars(worker.slices, timeline, y, WAIT, RUN))
    y = TOP + len(timeline.workers) * (ROW + ROW_GAP)
    out.append(f"<text x='{LEFT - 8}' y='{y + ROW / 2 + 4}' text-anchor='end'>2+ at once</text>")
    out.append(f"<rect x='{LEFT}' y='{y}' width='{plot_width}' height='{ROW}' fill='{IDLE}'/>")
    out.extend(_bars(timeline.overlaps(), timeline, y, IDLE, OVERLAP))
    out.append("</svg>")
    return "\n".join(out) + "\n"

