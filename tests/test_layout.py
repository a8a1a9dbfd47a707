"""gilcore's layout: no import circles, layers that point one way, old import paths kept for benchmarks/."""
import ast
import importlib
import importlib.machinery
import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "import-graph")


def _import_graph_module():
    loader = importlib.machinery.SourceFileLoader("import_graph", SCRIPT)
    spec = importlib.util.spec_from_loader("import_graph", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_import_graph_has_no_circle():
    done = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout
    assert done.stdout.rstrip().endswith("no circles, no layer breaks, no private imports")
    assert "gilcore.runner -> " in done.stdout  # the graph itself is printed


def test_circles_and_layer_breaks_are_found():
    graph = _import_graph_module()
    edges = {"gilcore.a": ["gilcore.b"], "gilcore.b": ["gilcore.c"], "gilcore.c": ["gilcore.a"],
             "gilcore.runner": ["gilcore.cli.table"], "gilcore.cli.table": []}
    assert graph.circles(edges) == [["gilcore.a", "gilcore.b", "gilcore.c"]]
    assert graph.layer_breaks(edges) == [("gilcore.runner", "gilcore.cli.table")]


def test_type_checking_imports_are_not_edges(tmp_path):
    package = tmp_path / "gilcore"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gilcore import b\n")
    (package / "b.py").write_text("from gilcore import a\n")
    graph = _import_graph_module()
    assert graph.graph(str(package)) == {"gilcore": [], "gilcore.a": [], "gilcore.b": ["gilcore.a"]}


def test_no_module_beside_a_script_shadows_the_standard_library():
    """Python puts a script's folder first on sys.path: there a site.py would replace the stdlib's."""
    for folder in ("gilcore", "gilcore/pythons", "gilcore/gilprobes"):  # the folders of files run as scripts
        names = {name[:-3] for name in os.listdir(os.path.join(ROOT, folder)) if name.endswith(".py")}
        assert not names & set(sys.stdlib_module_names) - {"__init__", "__main__"}, folder


def _benchmark_imports():
    """(module, names) for every gilcore import in benchmarks/, inside functions too."""
    found = []
    folder = os.path.join(ROOT, "benchmarks")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            tree = ast.parse(open(os.path.join(folder, name)).read())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gilcore"):
                    found.append((node.module, [alias.name for alias in node.names]))
                elif isinstance(node, ast.Import):
                    found += [(alias.name, []) for alias in node.names if alias.name.startswith("gilcore")]
    return found


def test_every_import_of_benchmarks_resolves_at_its_old_path():
    imports = _benchmark_imports()
    assert ("gilcore", ["interpreters"]) in imports or any("interpreters" in names for _, names in imports)
    for module_name, names in imports:
        if module_name == "gilcore._nogil":
            continue  # the compiled extension: tested with the kernels
        module = importlib.import_module(module_name)
        for name in names:
            assert hasattr(module, name) or importlib.import_module(f"{module_name}.{name}"), (module_name, name)


def _is_module(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # its parent is a module, not a package
        return False


def _benchmark_attribute_uses():
    """(module, attribute) for every ``name.attribute`` in benchmarks/ where ``name`` is an imported gilcore module."""
    uses = set()
    folder = os.path.join(ROOT, "benchmarks")
    for filename in sorted(os.listdir(folder)):
        if not filename.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(folder, filename)).read())
        modules = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gilcore"):
                for alias in node.names:
                    if _is_module(f"{node.module}.{alias.name}"):
                        modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "gilcore" or (alias.asname and alias.name.startswith("gilcore")):
                        modules[alias.asname or alias.name] = alias.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                uses.add((modules[node.value.id], node.attr))
    return sorted(uses)


def test_every_attribute_benchmarks_use_exists_at_its_old_path():
    uses = _benchmark_attribute_uses()
    assert ("gilcore.interpreters", "discover") in uses and ("gilcore", "STRATEGIES") in uses
    missing = [(module, name) for module, name in uses if not hasattr(importlib.import_module(module), name)]
    assert not missing


def test_old_paths_are_the_moved_modules_themselves():
    import gilcore.interpreters
    from gilcore.pythons import interpreters

    assert gilcore.interpreters is interpreters  # one module: a monkeypatch reaches both names
    from gilcore import benchmarks_json
    from gilcore.publish import benchmarks_json as moved

    assert benchmarks_json is moved


def test_benchmarks_json_still_runs_at_its_old_path():
    done = subprocess.run([sys.executable, "-m", "gilcore.benchmarks_json", "--help"], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0 and "--check" in done.stdout, done.stderr


def test_every_subpackage_is_packaged():
    """asv builds gilcore with `python -m build` (sdist first): a package missing from pyproject is left out."""
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        listed = set(tomllib.load(handle)["tool"]["setuptools"]["packages"])
    found = {os.path.relpath(folder, ROOT).replace(os.sep, ".")
             for folder, _, files in os.walk(os.path.join(ROOT, "gilcore")) if "__init__.py" in files}
    assert listed == found
