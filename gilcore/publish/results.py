"""The committed results, read: asv's result files and every pair behind them (results/cells/).

``load`` gives a LoadedResults: per benchmark, parameters and environment, the
values over commits and the runs and pairs behind each cell (CellSummary, from
gilcore.replication), each file's A/A control and GIL probes, leaving out
results of an older version of a benchmark (asv's code hash: gilcore.rules). The report, its GIL section
and the site all read results through it.
"""
from __future__ import annotations

import glob
import json
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from gilcore import aacontrol, cellstore, machinespeed, proberuns, provenance, ratios, replication, rules
from gilcore.errors import UsageError

# (benchmark, params) -> environment label -> values over commits
Series = Dict[Tuple[str, Tuple[str, ...]], Dict[str, List[float]]]


@dataclass
class Provenance:
    """Where an environment's results came from: the build its records carry (gilcore.provenance:
    version, GIL or free-threaded, origin, configure flags, compiler) and the hardware; None: unknown."""

    build: Optional[Dict[str, Any]] = None
    machine: Optional[Dict[str, Any]] = None

    @property
    def machine_name(self) -> str:
        return str((self.machine or {}).get("name") or "machine unknown")


def pooled_machine(machines: Sequence[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """One machine, or 'mixed (cpus)' when the history pools runs from different hardware (told apart
    by name: gilcore.provenance derives it from the CPU, cores and memory)."""
    distinct: Dict[str, Dict[str, Any]] = {}
    for machine in machines:
        distinct.setdefault(str(machine.get("name") or json.dumps(machine, sort_keys=True)), dict(machine))
    if len(distinct) <= 1:
        return next(iter(distinct.values()), None)
    cpus = sorted({str(m.get("cpu")) for m in distinct.values()})
    return {"cpu": f"mixed ({', '.join(cpus)})", "cores": None, "memory_gib": None, "name": "mixed"}


@dataclass
class CellSummary:
    """Every run behind one (benchmark, params, environment), over commits (gilcore.replication);
    a summary without ``cell`` stands on asv's values alone (one per commit)."""

    ratios: List[float]
    commits: int
    noisy: bool
    remeasured: int
    limit: Optional[float]
    cell: Optional[replication.CellEstimate] = None

    @property
    def n(self) -> int:
        return len(self.ratios)

    @property
    def estimate(self) -> float:
        if self.cell is not None and self.cell.estimate is not None:
            return self.cell.estimate
        return ratios.geometric_mean(self.ratios)

    @property
    def interval(self) -> Optional[Tuple[float, float]]:
        return self.cell.interval if self.cell is not None else ratios.interval(self.ratios)

    @property
    def thin(self) -> bool:
        return self.n < ratios.MIN_VALUES

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.estimate > self.limit


@dataclass
class LoadedResults:
    series: Series
    environments: List[str]
    commits: int
    problems: List[str]
    # (benchmark, params) -> environment label -> the pooled pairs behind it
    cells: Dict[Tuple[str, Tuple[str, ...]], Dict[str, CellSummary]] = field(default_factory=dict)
    superseded: int = 0  # asv values left out: measured by an older version of their benchmark
    probe_runs: List[proberuns.ProbeRun] = field(default_factory=list)  # the GIL probes, file by file
    # environment label -> the machines (gilcore.provenance names) its results were measured on
    machines: Dict[str, List[str]] = field(default_factory=dict)
    # environment label -> its build (the newest record's) and its hardware (records', else asv files')
    provenance: Dict[str, Provenance] = field(default_factory=dict)
    _references: Dict[str, Dict[str, machinespeed.Reference]] = field(default_factory=dict, repr=False)

    def machine_references(self, env: str) -> Dict[str, machinespeed.Reference]:
        """An environment's machine reference per session (gilcore.machinespeed), from its cells' runs."""
        if env not in self._references:
            self._references[env] = machinespeed.session_references(
                run for by_env in self.cells.values() if by_env.get(env) is not None and by_env[env].cell is not None
                for run in by_env[env].cell.runs)  # type: ignore[union-attr]
        return self._references[env]

    def summary(self, benchmark: str, params: Tuple[str, ...], env: str) -> Optional[CellSummary]:
        """The pairs behind a cell; falls back to asv's values (one per commit) where no pairs were kept."""
        found = self.cells.get((benchmark, params), {}).get(env)
        if found is not None:
            return found
        values = [v for v in self.series.get((benchmark, params), {}).get(env, []) if v > 0]
        if not values:
            return None
        return CellSummary(values, len(values), False, 0, None)


def _gil_suffix(gil: Optional[str], free_threaded: bool) -> str:
    if gil is not None:
        return " GIL off" if gil == "0" else " GIL on"
    return " default" if free_threaded else ""


def environment_label(data: dict) -> str:
    """'3.12', '3.13t GIL off', '3.13t GIL on', '3.13t default' (PYTHON_GIL unset) from an asv result file."""
    label = str(data.get("python", "?"))
    gil = (data.get("env_vars") or {}).get("PYTHON_GIL")
    return label + _gil_suffix(gil, label.endswith("t"))


def label_from_env_name(env_name: str) -> str:
    """The same label from an asv environment name, e.g. 'virtualenv-py3.13t-PYTHON_GIL0'."""
    match = re.search(r"py(\d+\.\d+t?)(?:-PYTHON_GIL(\d))?", env_name)
    if not match:
        return env_name
    python, gil = match.group(1), match.group(2)
    return python + _gil_suffix(gil, python.endswith("t"))


Machine = Optional[Dict[str, Any]]  # gilcore.provenance's description: cpu, cores, memory_gib, name


def file_machine(data: dict) -> Machine:
    """The machine an asv result file was measured on: its CPU, cores and memory, and the name from them."""
    return provenance.machine_from_asv(data.get("params") or {})


def _record_machine(record: dict, by_file: Dict[Tuple[str, str], Machine]) -> Machine:
    """A cell line's machine: its own record, else that of the asv file of its commit and environment."""
    own = record.get("machine")
    if isinstance(own, dict) and own.get("name"):
        return dict(own)
    return by_file.get((str(record.get("commit", ""))[:8], str(record.get("env", ""))))


def _name(machine: Machine) -> Optional[str]:
    return str(machine["name"]) if machine else None


def _environment_order(label: str) -> Tuple:
    version = re.match(r"(\d+)\.(\d+)", label)
    major, minor = (int(version.group(1)), int(version.group(2))) if version else (99, 99)
    return major, minor, "t" in label, label


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value


def _current_versions(results_dir: str) -> Dict[str, str]:
    """benchmark name -> the version (code hash) asv gives its current code, from benchmarks.json."""
    try:
        with open(os.path.join(results_dir, "benchmarks.json")) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return {name: entry.get("version") for name, entry in data.items() if isinstance(entry, dict)}


def load(results_dir: str) -> LoadedResults:
    """Read every asv result file and every cell line; a corrupt file is named in ``problems`` and skipped."""
    if not os.path.isdir(results_dir):
        raise UsageError(f"no results directory {results_dir!r}: run ./run-benchmarks first")
    series: Series = defaultdict(lambda: defaultdict(list))
    environments, commits, problems = set(), set(), []
    current = _current_versions(results_dir)
    superseded = 0
    controls = []  # each asv file's A/A control, tied to the cells of its commit and environment
    probe_runs = []
    paths = sorted(p for p in glob.glob(os.path.join(results_dir, "*", "*.json"))
                   if os.path.basename(p) != "machine.json")
    if not paths:
        raise UsageError(f"no asv result files under {results_dir!r}: run ./run-benchmarks first")
    files = []
    for path in paths:
        try:
            with open(path) as handle:
                data = json.load(handle)
            files.append((path, data, data["result_columns"], data["results"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            problems.append(f"skipped {path}: not a readable asv result file ({error.__class__.__name__})")
    by_file = {(str(data.get("commit_hash", ""))[:8], str(data.get("env_name", ""))): file_machine(data)
               for _, data, _, _ in files}
    records = list(cellstore.load(results_dir))
    # (commit, asv environment) -> its A/A controls with their times, for the GIL probes' runs
    aa_controls = replication.timed_controls(
        records, lambda record: (str(record.get("commit", ""))[:8], str(record.get("env", ""))))
    described_records = [_record_machine(record, by_file) for record in records]
    record_machines = [_name(machine) for machine in described_records]
    machines = {_name(machine) for machine in by_file.values()} | set(record_machines)
    machines_of: Dict[str, set] = defaultdict(set)
    hardware: Dict[str, List[Dict[str, Any]]] = defaultdict(list)  # label -> every machine description
    for path, data, columns, results in files:
        described = file_machine(data)
        machine = _name(described)
        label = rules.machine_label(environment_label(data), machine, machines)
        machines_of[label].add(machine or rules.UNKNOWN_MACHINE)
        hardware[label] += [described] if described else []
        controls += [_on_machine(control, machine) for control in [aacontrol.from_asv_file(data)] if control]
        kept_any = False
        one_run: Series = defaultdict(lambda: defaultdict(list))  # this file's GIL probes
        probed_at = 0.0  # when asv started this file's GIL probes (seconds), to find the A/A nearest them
        for name, row in results.items():
            try:
                entry = dict(zip(columns, row))
                if name.startswith(proberuns.NOISE):  # the run's own A/A: its version does not matter for that
                    _add(one_run, label, name, entry)
                if rules.superseded(entry.get("version"), current.get(name)):
                    superseded += 1
                    continue
                kept_any = _add(series, label, name, entry) or kept_any
                if proberuns.wanted(name) and not name.startswith(proberuns.NOISE):
                    _add(one_run, label, name, entry)
                    probed_at = probed_at or float(entry.get("started_at") or 0) / 1000
            except (TypeError, ValueError, IndexError):
                problems.append(f"skipped {name} in {path}: malformed entry")
        if one_run:
            where = (str(data.get("commit_hash", ""))[:8], str(data.get("env_name", "")))
            aa = replication.nearest_control(aa_controls.get(where), probed_at)
            probe_runs.append(proberuns.ProbeRun(str(data.get("commit_hash", "")), label,
                                                 {key: by_env[label][0] for key, by_env in one_run.items()},
                                                 float(data.get("date") or 0), dict(aa) if aa else None))
        if kept_any:
            environments.add(label)
            commits.add(data.get("commit_hash"))
    builds: Dict[str, List[dict]] = defaultdict(list)  # label -> the records that carry a build
    for record, described, machine in zip(records, described_records, record_machines):
        label = rules.machine_label(label_from_env_name(str(record.get("env", ""))), machine, machines)
        machines_of[label].add(machine or rules.UNKNOWN_MACHINE)
        hardware[label] += [described] if described else []
        builds[label] += [record] if isinstance(record.get("build"), dict) else []
    records = [_on_machine(record, machine) for record, machine in zip(records, record_machines)]
    cells = _load_cells(records, controls, lambda env: _machine_env_label(env, machines))
    for by_env in cells.values():
        environments.update(by_env)
    return LoadedResults(series, sorted(environments, key=_environment_order), len(commits), problems,
                         cells, superseded, probe_runs,
                         {label: sorted(names) for label, names in machines_of.items() if label in environments},
                         {label: _provenance(builds[label], hardware[label]) for label in environments})


def _provenance(records: Sequence[dict], machines: Sequence[Dict[str, Any]]) -> Provenance:
    """The newest build recorded and the machine (or 'mixed') of one environment's results."""
    newest = max(records, key=lambda record: record.get("measured_at") or 0, default=None)
    return Provenance(dict(newest["build"]) if newest else None, pooled_machine(machines))


ENV_MACHINE_SEPARATOR = "@"  # joins an asv environment name (which never holds one) and its machine


def _on_machine(record: dict, machine: Optional[str]) -> dict:
    """The record with its machine in its environment name, so runs of two machines never group together
    (the A/A controls get the same name, so each run still finds its own)."""
    return {**record, "env": f"{record.get('env', '')}{ENV_MACHINE_SEPARATOR}{machine or rules.UNKNOWN_MACHINE}"}


def _machine_env_label(env: str, machines: Sequence[Optional[str]]) -> str:
    env_name, _, machine = env.partition(ENV_MACHINE_SEPARATOR)
    return rules.machine_label(label_from_env_name(env_name), machine or None, machines)


def _load_cells(records: Sequence[dict], controls: Sequence[dict], label: Callable[[str], str]
                ) -> Dict[Tuple[str, Tuple[str, ...]], Dict[str, CellSummary]]:
    """Each (benchmark, params, environment) over its runs, every commit pooled: the runs' estimates
    and the rules that flag or leave out pairs and runs are gilcore.replication's and gilcore.rules'."""
    pooled: Dict[Tuple[str, Tuple[str, ...]], Dict[str, CellSummary]] = defaultdict(dict)
    grouped = replication.group_records([*controls, *records], label)
    for (benchmark, params, env), runs in sorted(grouped.items()):
        older = rules.RuleCounts()
        runs = replication.current_procedure(runs, older)
        cell = replication.estimate_cell(runs, runs[-1].limit)
        cell.counts.update(older)
        if cell.estimate is None:
            continue
        used = [run for run in runs if run.usable] or [run for run in runs if run.pairs]
        pooled[(benchmark, params)][env] = CellSummary(
            [r for run in used for r in (run.clean_ratios or run.all_ratios)], len(used),
            bool(set(cell.flags) - {"over limit"}), cell.counts["under-load"], cell.limit, cell)
    return pooled


def _add(series: Series, label: str, name: str, entry: dict) -> bool:
    values = entry.get("result")
    if values is None:
        return False
    params = entry.get("params") or []
    if not params:
        combos: List[Tuple[str, ...]] = [()]
    else:
        combos = [()]
        for axis in params:
            combos = [c + (_unquote(str(v)),) for c in combos for v in axis]
    added = False
    for combo, value in zip(combos, values):
        if isinstance(value, (int, float)) and not math.isnan(value):
            series[(name, combo)][label].append(float(value))
            added = True
    return added
