"""``python -m gilcore compare --list``: which commits were measured, per machine and environment.

asv compares commits that hold results, not a branch's tip: ``main~1`` and
``main`` are commits that *commit* results, measured at other commits. This
lists what can be compared, oldest first: every asv result file under
``results/<machine>/`` (what ``asv compare --machine M -E ENV C1 C2`` reads),
and beside it the runs kept under ``results/cells/`` (what
``python -m gilcore compare asv:C1..C2:ENV`` compares; fewer than
rules.MIN_RUNS runs on a side leave every cell undecided). One line per
commit, so that ``grep``/``awk`` can pick two.
"""
from __future__ import annotations

import glob
import json
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from gilcore import cellstore, replication


@dataclass
class Measured:
    machine: str  # asv's machine name: the folder under results/ ('?' for cell records asv has no file of)
    env: str  # asv's environment name: virtualenv-py3.13
    commit: str  # full hash as recorded
    date_ms: float  # asv's date of the commit (ms since the epoch); a record's own time without a file
    asv_file: bool = False
    runs: Set[str] = field(default_factory=set)  # run ids of the cell records


def _asv_files(results_dir: str) -> Dict[Tuple[str, str, str], Measured]:
    found: Dict[Tuple[str, str, str], Measured] = {}
    for path in sorted(glob.glob(os.path.join(glob.escape(results_dir), "*", "*.json"))):
        if os.path.basename(path) == "machine.json":
            continue
        try:
            with open(path) as handle:
                data = json.load(handle)
            commit, env = str(data["commit_hash"]), str(data["env_name"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a result file; the report names unreadable ones
        machine = os.path.basename(os.path.dirname(path))
        found[(machine, env, commit[:8])] = Measured(machine, env, commit, float(data.get("date") or 0), True)
    return found


def measured(results_dir: str) -> List[Measured]:
    """Every (machine, environment, commit) measured, in asv's files or in cell records, oldest first."""
    found = _asv_files(results_dir)
    for record in cellstore.load(results_dir):
        if record.get("kind") == cellstore.AA_KIND:
            continue
        commit, env = str(record.get("commit", "")), str(record.get("env", ""))
        own: Optional[str] = (record.get("machine") or {}).get("name")
        # a record names its machine as scripts/asv-machine names asv's folder; older ones have the file's
        homes = [key for key in found if key[1:] == (env, commit[:8]) and own in (None, key[0])]
        if not homes:
            key = (own or "?", env, commit[:8])
            found.setdefault(key, Measured(key[0], env, commit, 1000 * float(record.get("measured_at") or 0)))
            homes = [key]
        for key in homes:
            found[key].runs.add(replication.run_of(record)[0])
    return sorted(found.values(), key=lambda m: (m.machine, m.env, m.date_ms, m.commit))


def lines(results_dir: str) -> List[str]:
    """The table ``--list`` prints."""
    rows = [["machine", "environment", "commit", "date", "asv", "cell runs"]]
    for item in measured(results_dir):
        day = time.strftime("%Y-%m-%d", time.gmtime(item.date_ms / 1000)) if item.date_ms else "?"
        rows.append([item.machine, item.env, item.commit[:8], day, "yes" if item.asv_file else "no",
                     str(len(item.runs))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip() for row in rows]
