"""Every pair behind an asv speedup, kept beside asv's own result files.

asv stores one number per benchmark and parameter set; the report also needs
what that number stands on: every pair with the meters' figures, the physical
limit, and the run it was measured in. ``record`` appends one JSON line per
measured cell to ``results/cells/<commit>-<environment>.jsonl`` (asv names both
in the benchmark process's environment); outside asv it does nothing. asv
itself reads only ``*.json`` under results/, so these files do not disturb it.

Each line carries its ``run`` (gilcore.replication.this_run: id, pid, time,
session): asv calls a benchmark once per round, each round a fresh process,
so ``asv run -a rounds=3`` appends three runs of every cell. ``record_aa``
stores the A/A control of a session (bench_noise.NoiseControl) the same way,
so each cell can be tied to the A/A of the session it was measured in. Each
line also says the interpreter's build and the machine (gilcore.provenance).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence

from gilcore.provenance import this_build, this_machine
from gilcore.replication import this_run

if TYPE_CHECKING:
    from gilcore.runner import Result

CELLS_DIR = "cells"
AA_KIND = "aa"  # a line holding a session's A/A control rather than a cell
# Bumped when what a cell line means changes; the report reads only lines of this version.
FORMAT = 1


def installed_commit() -> str:
    """The commit installed in this asv environment; '' outside asv.

    asv's ASV_COMMIT can be stale: environments that differ only in an
    ``env_nobuild`` variable (3.13t with PYTHON_GIL=0, 1 and unset) share one
    install, which only the first of them performs; the others keep the commit
    that was installed when asv started. asv's install-status file in the
    environment's folder says what is really there.
    """
    try:
        with open(os.path.join(os.environ["ASV_ENV_DIR"], "asv-install-status.json")) as handle:
            commit = json.load(handle).get("commit_hash")
        if isinstance(commit, str) and commit:
            return commit
    except (KeyError, OSError, ValueError, AttributeError):
        pass
    return os.environ.get("ASV_COMMIT", "")


def _path() -> str:
    conf_dir, commit, env = os.environ.get("ASV_CONF_DIR"), installed_commit(), os.environ.get("ASV_ENV_NAME")
    if not (conf_dir and commit and env):
        return ""
    folder = os.environ.get("GILCORE_CELLS_DIR") or os.path.join(conf_dir, "results", CELLS_DIR)
    return os.path.join(folder, f"{commit[:8]}-{env}.jsonl")


def benchmark_name(name: str) -> str:
    """asv's name for a benchmark: asv imports benchmarks/ as a package, so a class's
    ``__module__`` reads 'benchmarks.bench_cpu' where asv says 'bench_cpu'."""
    return name[len("benchmarks."):] if name.startswith("benchmarks.") else name


def record(benchmark: str, params: Sequence[str], result: Any) -> None:
    """Append one cell (a gilcore Result, or a dict with ``ratios``) to this asv run's cell file;
    no-op outside asv."""
    path = _path()
    if not path:
        return
    line: Dict[str, Any] = {
        "format": FORMAT, "benchmark": benchmark_name(benchmark), "params": [str(p) for p in params],
        "commit": installed_commit(), "env": os.environ["ASV_ENV_NAME"],
        "env_vars": {k: v for k, v in os.environ.items() if k == "PYTHON_GIL"},
        "build": this_build(), "machine": this_machine(),  # what a comparison needs to tell alike from unlike
        "measured_at": time.time(), **(result if isinstance(result, dict) else result.to_dict()),
    }
    line.setdefault("run", this_run())
    _append(path, line)


def record_aa(benchmark: str, control: Dict[str, Any]) -> None:
    """Append a session's A/A control (an AAControl.to_dict()) to this asv run's cell file; no-op outside asv."""
    record(benchmark, [], {"kind": AA_KIND, "aa": control})


def _append(path: str, line: Dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # One write of one line in append mode: whole lines even if a run is killed mid-way.
    with open(path, "a") as handle:
        handle.write(json.dumps(line, default=repr) + "\n")


def load(results_dir: str) -> Iterator[Dict[str, Any]]:
    """Every readable cell line under results_dir/cells, oldest first; broken lines are skipped."""
    folder = os.path.join(results_dir, CELLS_DIR)
    if not os.path.isdir(folder):
        return
    lines: List[Dict[str, Any]] = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(folder, name)) as handle:
            for text in handle:
                try:
                    line = json.loads(text)
                except ValueError:
                    continue  # a line cut by a killed run
                if isinstance(line, dict) and line.get("format") == FORMAT and "benchmark" in line:
                    line["benchmark"] = benchmark_name(str(line["benchmark"]))
                    lines.append(line)
    lines.sort(key=lambda line: line.get("measured_at", 0))
    yield from lines


def latest_result(benchmark: str, params: Sequence[str], session: str) -> Optional["Result"]:
    """The last cell this asv run's cell file holds for benchmark and params, measured in ``session``,
    as the gilcore Result it was written from (its pairs and flags as recorded); None when there is none."""
    from gilcore.runner import Pair, Result

    path, name, wanted = _path(), benchmark_name(benchmark), [str(p) for p in params]
    if not path or not os.path.isfile(path):
        return None
    found = None
    with open(path) as handle:
        for text in handle:
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("format") == FORMAT and line.get("benchmark") == name \
                    and line.get("params") == wanted and (line.get("run") or {}).get("session") == session \
                    and "pairs" in line:
                found = line
    if found is None:
        return None
    known = {f.name for f in fields(Result)}
    result = Result(**{key: value for key, value in found.items() if key in known})
    result.pairs = [Pair(**pair) for pair in found["pairs"]]
    return result
