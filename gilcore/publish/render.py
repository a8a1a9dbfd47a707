"""What the report and the release page share to write themselves: Markdown tables, just enough
Markdown-to-HTML for them, and matplotlib's SVGs (none when matplotlib is not installed)."""
from __future__ import annotations

import html
import io
import re
from typing import Sequence

from gilcore.atomic import write_atomic


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def pyplot():
    """matplotlib's pyplot on the Agg backend, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_svg(plt, figure, path: str) -> None:
    """The figure as SVG, the same bytes for the same data (no date, fixed ids): a regenerated report
    changes only where its numbers do."""
    buffer = io.BytesIO()
    with plt.rc_context({"svg.hashsalt": "gilbench"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    write_atomic(path, buffer.getvalue())


def _inline(text: str) -> str:
    """Escaped text whose Markdown links ``[words](page.html)`` become links."""
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r"<a href='\2'>\1</a>", html.escape(text))


def render_html(markdown: str, title: str = "gilbench report") -> str:
    """Just enough Markdown for the report and the release page: headings, paragraphs with links,
    list items, tables, images."""
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
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    flush_table()
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:100%}")
    return (f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style>"
            "<p><a href='index.html'>&larr; asv history graphs</a></p>\n" + "\n".join(body))
