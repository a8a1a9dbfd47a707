"""The project's own pages of the published site, and the links that tie them to asv's.

asv's index gets the project's links in its navigation bar; each project page
gets a bar linking back to the graphs and to every other page. Pages are
plain HTML with inline style: nothing to load from anywhere.
"""
from __future__ import annotations

import ast
import glob
import html
import json
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

Link = Tuple[str, str]  # (href, title)

ASV_LINKS: List[Link] = [("index.html", "Benchmark graphs"), ("index.html#/regressions", "Regressions")]
STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:0 auto;padding:0 1em 2em}"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
         "vertical-align:top;text-align:left}code{font-size:12px}h2{margin-top:1.6em}"
         "img{max-width:100%;border:1px solid #eee}")


def nav_bar(links: Sequence[Link], current: str = "") -> str:
    # inline style: the bar also goes on pages whose stylesheet is not ours
    gap = "margin-right:1.2em"
    items = [f"<b style='{gap}'>{html.escape(title)}</b>" if href == current else
             f"<a style='{gap}' href='{html.escape(href)}'>{html.escape(title)}</a>" for href, title in links]
    return ("<nav class='gilbench' style='font:14px sans-serif;padding:.6em 0;margin-bottom:1em;"
            f"border-bottom:1px solid #ccc'><span style='{gap}'>gilbench:</span>" + "".join(items) + "</nav>")


def page(title: str, body: str, links: Sequence[Link], current: str) -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><link rel='icon' href='swallow.ico'><style>{STYLE}</style>"
            f"</head><body>{nav_bar(links, current)}<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def add_nav(document: str, links: Sequence[Link], current: str) -> str:
    """Put the bar at the top of a page written by someone else (the report); once only."""
    if "<nav class='gilbench'" in document:
        return document
    bar = nav_bar(links, current)
    body = re.search(r"<body[^>]*>", document, re.I)
    if body:
        return document[:body.end()] + bar + document[body.end():]
    head_end = max((m.end() for m in re.finditer(r"</(style|title|head)>", document, re.I)), default=0)
    return document[:head_end] + bar + document[head_end:]


def add_asv_links(index: str, links: Sequence[Link]) -> str:
    """The project's pages as entries of asv's navigation bar (a fixed block if asv's bar changed)."""
    items = "".join(f"<li><a href='{html.escape(href)}'>{html.escape(title)}</a></li>" for href, title in links)
    anchor = re.search(r"<li id=\"nav-li-regressions\">.*?</li>", index, re.S)
    if anchor:
        return index[:anchor.end()] + f"\n\t<!-- gilbench -->{items}" + index[anchor.end():]
    block = (f"<ul id='gilbench-links' style='position:fixed;right:1em;bottom:1em;z-index:9999;list-style:none;"
             f"background:#fff;border:1px solid #ccc;padding:.5em 1em'>{items}</ul>")
    body = re.search(r"<body[^>]*>", index, re.I)
    at = body.end() if body else len(index)
    return index[:at] + block + index[at:]


# --- about the benchmarks ------------------------------------------------------------------------

Docs = Dict[str, Dict[str, object]]  # module -> {"doc": str, "classes": {name: (doc, {method: doc}, bases)}}


def source_docs(benchmark_dir: str) -> Docs:
    """Docstrings of the benchmark modules, read with ast (nothing is imported or run)."""
    docs: Docs = {}
    for path in sorted(glob.glob(os.path.join(benchmark_dir, "*.py"))):
        try:
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
        except (OSError, SyntaxError, ValueError):
            continue
        classes = {}
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                methods = {item.name: ast.get_docstring(item) or "" for item in node.body
                           if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
                doc = ast.get_docstring(node) or _workload_description(node)
                classes[node.name] = (doc, methods, [ast.unparse(b) for b in node.bases])
        functions = {node.name: ast.get_docstring(node) or "" for node in tree.body
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        docs[os.path.splitext(os.path.basename(path))[0]] = {"doc": ast.get_docstring(tree) or "",
                                                             "classes": classes, "functions": functions}
    return docs


def _workload_description(node: ast.ClassDef) -> str:
    """For a class with no docstring: its ``workload = "name"``, described by gilcore's registry."""
    for item in node.body:
        if (isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "workload" for t in item.targets)
                and isinstance(item.value, ast.Constant) and isinstance(item.value.value, str)):
            from gilcore.workloads import WORKLOADS

            workload = WORKLOADS.get(item.value.value)
            return f"Workload {item.value.value}" + (f": {workload.description}." if workload else ".")
    return ""


def _lookup_class(docs: Docs, module: str, name: str) -> Optional[Tuple[str, str, tuple]]:
    """(module, class, entry) for a class named as in source: 'Cls' or 'common.Cls'."""
    if "." in name:
        module, name = name.rsplit(".", 1)
        module = module.split(".")[-1]
    entry = docs.get(module, {}).get("classes", {}).get(name)  # type: ignore[union-attr]
    return (module, name, entry) if entry else None


def describe(name: str, docs: Docs, code: str = "") -> Tuple[str, str]:
    """(what the class measures, what the method reports) for 'module.Class.method' or 'module.function'."""
    parts = name.split(".")
    module = parts[0]
    if len(parts) == 2:
        return docs.get(module, {}).get("functions", {}).get(parts[1], "") or _code_doc(code), ""  # type: ignore
    found = _lookup_class(docs, module, parts[1])
    class_doc = found[2][0] if found else ""
    method_doc, seen = "", set()
    while found and not method_doc and found[:2] not in seen:  # the method may come from a base class
        seen.add(found[:2])
        method_doc = found[2][1].get(parts[2], "")
        bases = [b for b in (_lookup_class(docs, found[0], base) for base in found[2][2]) if b]
        found = bases[0] if bases else None
    return class_doc, method_doc or _code_doc(code)


def _code_doc(code: str) -> str:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return ""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and ast.get_docstring(node):
            return ast.get_docstring(node) or ""
    return ""


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value


def _paragraph(text: str) -> str:
    return "<p>" + html.escape(" ".join(text.split())) + "</p>" if text.strip() else ""


def benchmarks_page(benchmarks_json: str, benchmark_dir: str, links: Sequence[Link], current: str) -> str:
    """One entry per benchmark in benchmarks.json, grouped by module, with its docstrings and parameters."""
    with open(benchmarks_json, encoding="utf-8") as handle:
        entries = {name: entry for name, entry in json.load(handle).items() if isinstance(entry, dict)}
    docs = source_docs(benchmark_dir)
    body = [f"<p>{len(entries)} benchmarks, named as on the graphs (<code>module.Class.method</code>). "
            "<b>track_speedup</b> is median serial time over median parallel time of the same kernel, "
            "interleaved in one process; <b>time_*</b> is seconds; the parameters make one line each on a "
            "graph.</p>"]
    by_module: Dict[str, List[str]] = {}
    for name in sorted(entries):
        by_module.setdefault(name.split(".")[0], []).append(name)
    body.append("<p>" + " · ".join(f"<a href='#{html.escape(m)}'>{html.escape(m)}</a>" for m in by_module) + "</p>")
    for module, names in by_module.items():
        body.append(f"<h2 id='{html.escape(module)}'>{html.escape(module)}</h2>")
        body.append(_paragraph(str(docs.get(module, {}).get("doc", ""))))
        rows = []
        for name in names:
            entry = entries[name]
            class_doc, method_doc = describe(name, docs, str(entry.get("code", "")))
            params = [f"<b>{html.escape(str(axis))}</b>: " + ", ".join(html.escape(_unquote(str(v))) for v in values)
                      for axis, values in zip(entry.get("param_names") or [], entry.get("params") or [])]
            shown = entry.get("pretty_name") or name
            graph = f"index.html#{html.escape(name)}"
            rows.append(
                f"<tr id='{html.escape(name)}'><td><a href='{graph}'><code>{html.escape(str(shown))}</code></a></td>"
                f"<td>{html.escape(str(entry.get('type', '')))}, {html.escape(str(entry.get('unit', '')))}</td>"
                f"<td>{html.escape(' '.join(class_doc.split()))}"
                + (f"<br><i>{html.escape(' '.join(method_doc.split()))}</i>" if method_doc else "")
                + f"</td><td>{'<br>'.join(params)}</td></tr>")
        body.append("<table><tr><th>benchmark</th><th>kind, unit</th><th>what it measures</th>"
                    "<th>parameters</th></tr>" + "".join(rows) + "</table>")
    return page("About the benchmarks", "\n".join(body), links, current)


def timelines_page(names: Sequence[str], links: Sequence[Link], current: str) -> str:
    """The GIL timelines (files under timelines/): pictures inline, anything else linked."""
    body = []
    for name in names:
        title = html.escape(os.path.splitext(name)[0].replace("-", " ").replace("_", " "))
        href = "timelines/" + html.escape(name)
        if name.lower().endswith((".svg", ".png")):
            body.append(f"<h2>{title}</h2><p><a href='{href}'><img src='{href}' alt='{title}'></a></p>")
        else:
            body.append(f"<p><a href='{href}'>{title}</a></p>")
    return page("GIL timelines", "\n".join(body) or "<p>No timelines yet.</p>", links, current)
