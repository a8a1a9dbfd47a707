"""A worker timeline as a small hand-written SVG, in the style of David Beazley's gilvis.

One row per worker: green where it ran, pale red where it was not running
(waiting for the GIL, or for a CPU); a blue row below marks the moments when
two or more workers ran at once. Time runs left to right in milliseconds from
the common start. No plotting library: the file is text, so it draws the same
from every Python and diffs well in git.
"""
from __future__ import annotations

from html import escape
from typing import List, Sequence, Tuple

from gilcore.gilprobes.timeline import Timeline

Interval = Tuple[int, int]

WIDTH = 960
LEFT = 170  # room for the row labels
RIGHT = 24
ROW = 26
ROW_GAP = 10
TOP = 92  # title, subtitle, legend
RUN = "#2e9d4f"
WAIT = "#f2c4bf"
OVERLAP = "#3a6fb0"
GRID = "#d0d0d0"
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def _tick_step(duration_ms: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if duration_ms / step <= 10:
            return float(step)
    return 1000.0 * (duration_ms // 10000 + 1)


def _merged(intervals: Sequence[Interval], min_gap_ns: float) -> List[Interval]:
    """Joins stretches separated by less than a fraction of a pixel: same picture, smaller file."""
    merged: List[Interval] = []
    for start, end in sorted(intervals):
        if merged and start - merged[-1][1] < min_gap_ns:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def render(timeline: Timeline) -> str:
    """The SVG text of one timeline."""
    span_ns = max(1, timeline.stop_ns - timeline.start_ns)
    plot_width = WIDTH - LEFT - RIGHT
    scale = plot_width / span_ns  # pixels per nanosecond
    rows = len(timeline.workers) + 1  # + the "2 or more at once" row
    plot_height = rows * (ROW + ROW_GAP)
    height = TOP + plot_height + 46

    def x(ns: float) -> float:
        return LEFT + (min(max(ns, timeline.start_ns), timeline.stop_ns) - timeline.start_ns) * scale

    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
        f"viewBox='0 0 {WIDTH} {height}' {FONT} font-size='12'>",
        f"<title>{escape(timeline.title)}</title>",
        f"<rect width='{WIDTH}' height='{height}' fill='white'/>",
        f"<text x='{LEFT}' y='24' font-size='16' font-weight='bold'>{escape(timeline.title)}</text>",
        f"<text x='{LEFT}' y='44' fill='#333'>{escape(timeline.summary)}</text>",
    ]
    legend_y = 62
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

    half_pixel_ns = 0.5 / scale
    for index, worker in enumerate(timeline.workers):
        y = TOP + index * (ROW + ROW_GAP)
        out.append(f"<text x='{LEFT - 8}' y='{y + ROW / 2 + 4}' text-anchor='end'>{escape(worker.label)}</text>")
        out.append(f"<rect x='{LEFT}' y='{y}' width='{plot_width}' height='{ROW}' fill='{WAIT}'/>")
        out.extend(_bars(_merged(worker.slices, half_pixel_ns), x, y, RUN))
    y = TOP + len(timeline.workers) * (ROW + ROW_GAP)
    out.append(f"<text x='{LEFT - 8}' y='{y + ROW / 2 + 4}' text-anchor='end'>2+ at once</text>")
    out.append(f"<rect x='{LEFT}' y='{y}' width='{plot_width}' height='{ROW}' fill='#f4f4f4'/>")
    out.extend(_bars(_merged(timeline.overlaps(), half_pixel_ns), x, y, OVERLAP))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _bars(intervals: Sequence[Interval], x, y: float, colour: str) -> List[str]:
    bars = []
    for start, end in intervals:
        left, right = x(start), x(end)
        if right <= left:
            right = left + 0.4  # a stretch shorter than the clock's step still shows
        bars.append(f"<rect x='{left:.1f}' y='{y}' width='{right - left:.1f}' height='{ROW}' fill='{colour}'/>")
    return bars
