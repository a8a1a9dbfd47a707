"""The run as the unit of replication: a cell's estimate over independent runs, each over its pairs.

A **run** is one fresh process measuring at one moment: an asv round (asv
calls a ``track_`` benchmark once per round, each round a fresh process), or
one round of ``python -m gilcore`` (a child process per round). Pairs within
one run share that process's luck (its memory layout, the minute's load), so
they cannot say how far a second run would land; only runs can.

Hierarchical, in two steps (as pyperf's worker processes and faster-cpython's
HPT reliability figures are built): each run gives one estimate from its clean
pairs (gilcore.ratios.run_centre: Hodges-Lehmann of the log ratios), then the
cell's estimate is the geometric mean of its usable runs' estimates with a
95 % Student-t interval over runs. Its evidence reads "runs x pairs". With one
usable run the interval is that run's pairs' (marked ``single-run``).

Every record (results/cells/ lines, CLI run files) carries the ``run`` it
came from; old records without one count as one run per commit and
environment. Which pairs and runs are usable is decided by gilcore.rules,
which this module applies and counts; nothing here is specific to one report,
so a comparison across versions (issue 17) builds on ``CellEstimate``.
"""
from __future__ import annotations

import math
import os
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from gilcore import ratios, rules

RUN_ID_VARIABLE = "GILCORE_RUN_ID"  # set by a parent that starts a run (the CLI's rounds)
SESSION_VARIABLE = "GILCORE_SESSION"  # the group of runs that share one A/A control

_this_run: Dict[str, Any] = {}


def _asv_session() -> Optional[str]:
    """Inside asv: its process that starts every benchmark process of one ``asv run`` (same for all
    its rounds and benchmarks); bench_noise.NoiseControl's A/A is measured in each round of it, and
    each run takes the control nearest to it in time."""
    if not os.environ.get("ASV_ENV_NAME"):
        return None
    parent = os.getppid()
    try:
        import psutil

        started = psutil.Process(parent).create_time()
    except Exception:  # psutil missing or the parent gone: the pid alone still groups this session
        started = 0.0
    return f"asv-{parent}-{started:.0f}-{os.environ['ASV_ENV_NAME']}"


def this_run() -> Dict[str, Any]:
    """This process's run: {"id", "pid", "started", "session"}; a forked child gets a run of its own."""
    if _this_run.get("pid") != os.getpid():
        run_id = os.environ.get(RUN_ID_VARIABLE) if _this_run == {} else None
        run_id = run_id or uuid.uuid4().hex[:12]
        _this_run.clear()
        _this_run.update(id=run_id, pid=os.getpid(), started=time.time(),
                         session=os.environ.get(SESSION_VARIABLE) or _asv_session() or run_id)
    return dict(_this_run)


# ------------------------------------------------------------------------------ one run of one cell

@dataclass
class RunMeasurement:
    """One cell measured in one run: every pair with its flags, and the run's estimate."""

    run_id: str
    session: str
    measured_at: float
    pairs: List[Dict[str, Any]]  # serial, parallel and the meters' figures; "flags" added from gilcore.rules
    limit: Optional[float]
    aa_in_bounds: Optional[bool] = None  # None: no A/A control known for this run
    commit: str = ""  # the code measured (asv: the commit installed; CLI: empty)
    env: str = ""  # the environment as recorded (asv's environment name; CLI: the interpreter)
    aa: Optional[Mapping[str, Any]] = None  # the run's A/A control itself (ratio, spread), when known
    legacy: bool = False  # recorded before runs were (no run id): measured by the earlier procedure
    kernel: Tuple[str, str, Any] = ("", "", None)  # (workload, kernel, size) whose serial halves it timed

    @property
    def clean_ratios(self) -> List[float]:
        return [p["serial"] / p["parallel"] for p in self.pairs if rules.is_clean(p["flags"])]

    @property
    def all_ratios(self) -> List[float]:
        return [p["serial"] / p["parallel"] for p in self.pairs]

    @property
    def estimate(self) -> Optional[float]:
        """exp(Hodges-Lehmann of the clean pairs' log ratios); None without a clean pair."""
        clean = self.clean_ratios
        return ratios.run_centre(clean) if clean else None

    @property
    def usable(self) -> bool:
        return self.estimate is not None and self.aa_in_bounds is not False


def flagged_pairs(pairs: Iterable[Mapping[str, Any]], limit: Optional[float]) -> List[Dict[str, Any]]:
    """Pairs with positive times, each with its flags derived now from what was recorded (never trusted
    from the record: the rules of today apply to the data of any day)."""
    out = []
    for pair in pairs:
        serial, parallel = pair.get("serial"), pair.get("parallel")
        if not (isinstance(serial, (int, float)) and isinstance(parallel, (int, float)) and serial > 0
                and parallel > 0):
            continue
        out.append({**pair, "flags": rules.pair_flags(pair, limit)})
    return out


# ------------------------------------------------------------------------------ a cell over its runs

@dataclass
class CellEstimate:
    """A cell over its runs: estimate, interval, evidence and flags; ``counts`` says which rule did what."""

    runs: List[RunMeasurement]
    limit: Optional[float]
    estimate: Optional[float] = None
    interval: Optional[Tuple[float, float]] = None
    runs_used: int = 0
    pairs_used: int = 0
    flags: List[str] = field(default_factory=list)  # "over limit", "noisy", "capacity-limited", ...
    counts: rules.RuleCounts = field(default_factory=rules.RuleCounts)

    @property
    def evidence(self) -> str:
        """'3x2': usable runs x clean pairs per run (a range where runs differ: '3x2-4')."""
        used = [len(run.clean_ratios) for run in self.runs if run.usable] or [len(r.pairs) for r in self.runs]
        if not used:
            return "0x0"
        low, high = min(used), max(used)
        return f"{self.runs_used or len(used)}x{low}" + (f"-{high}" if high != low else "")

    @property
    def run_logs(self) -> List[float]:
        """The log of each usable run's estimate: what a comparison of two cells (two Pythons, two
        commits) tests, run against run, rather than pair against pair."""
        return [math.log(run.estimate) for run in self.runs if run.usable]  # type: ignore[arg-type]

    @property
    def over_limit(self) -> bool:
        return "over limit" in self.flags

    @property
    def replicated(self) -> bool:
        """Enough usable runs for the interval to be a between-run one."""
        return self.runs_used >= rules.MIN_RUNS

    @property
    def decided(self) -> bool:
        """A number that may be published plainly (its evidence shown beside it): no flag."""
        return self.estimate is not None and not self.flags

    @property
    def relative_half_width(self) -> float:
        if self.interval is None or not self.estimate:
            return math.inf
        return (self.interval[1] - self.interval[0]) / 2 / self.estimate

    def to_dict(self) -> Dict[str, Any]:
        return {"speedup": self.estimate, "speedup_interval": self.interval, "runs_used": self.runs_used,
                "pairs_used": self.pairs_used, "evidence": self.evidence, "flags": list(self.flags),
                "replicated": self.replicated, "rule_counts": dict(self.counts), "limit": self.limit}


def estimate_cell(runs: Sequence[RunMeasurement], limit: Optional[float] = None) -> CellEstimate:
    """Hierarchical estimate of one cell from its runs (see the module docstring)."""
    cell = CellEstimate(list(runs), limit)
    counts = cell.counts
    for run in runs:
        for pair in run.pairs:
            counts.update(pair["flags"])
        if run.estimate is None:
            counts["no-clean-pair"] += 1
        elif run.aa_in_bounds is False:
            counts["aa-out-of-bounds"] += 1
    usable = [run for run in runs if run.usable]
    if len({run.commit for run in usable}) > 1:
        counts["commits-pooled"] += 1
    if usable:
        logs = cell.run_logs
        cell.estimate = math.exp(statistics.fmean(logs))
        cell.runs_used = len(usable)
        cell.pairs_used = sum(len(run.clean_ratios) for run in usable)
        cell.interval = (ratios.mean_interval(logs) if len(usable) >= 2
                         else ratios.interval(usable[0].clean_ratios))
    elif any(run.pairs for run in runs):
        # No usable run: every pair, flags ignored, so the cell still shows what was measured -- flagged.
        counts["all-runs-excluded"] += 1
        per_run = [ratios.run_centre(run.all_ratios) for run in runs if run.pairs]
        logs = [math.log(value) for value in per_run]
        cell.estimate = math.exp(statistics.fmean(logs))
        cell.runs_used = len(per_run)
        cell.pairs_used = sum(len(run.pairs) for run in runs)
        cell.interval = ratios.mean_interval(logs) if len(logs) >= 2 else ratios.interval(
            next(run.all_ratios for run in runs if run.pairs))
    if cell.estimate is None:
        return cell
    clean_pairs = sum(len(run.clean_ratios) for run in usable)
    if clean_pairs < rules.MIN_CLEAN_PAIRS:
        counts["too-few-clean-pairs"] += 1
        cell.flags += _why_unclean(runs)
    if limit is not None and cell.estimate > limit:
        counts["over-limit-cell"] += 1
        cell.flags.insert(0, "over limit")
    if not cell.replicated:
        counts["few-runs"] += 1
    return cell


def _why_unclean(runs: Sequence[RunMeasurement]) -> List[str]:
    """The reasons a cell lacks clean pairs, in the words the tables use."""
    flags = {flag for run in runs for pair in run.pairs for flag in pair["flags"]}
    why = []
    if "capacity-limited" in flags:
        why.append("capacity-limited")
    if "under-load" in flags:
        why.append("noisy")
    if any(run.aa_in_bounds is False for run in runs):
        why.append("A/A out of bounds")
    return why or ["thin"]


# ------------------------------------------------------------------------------ from stored records

CellKey = Tuple[str, Tuple[str, ...], str]  # (benchmark, params, environment label)


def run_of(record: Mapping[str, Any]) -> Tuple[str, str]:
    """(run id, session) of a stored record; an old record without one is the run of its commit and
    environment (one asv process per benchmark, one file per commit and environment)."""
    run = record.get("run") or {}
    if run.get("id"):
        return str(run["id"]), str(run.get("session") or run["id"])
    legacy = f"{str(record.get('commit', ''))[:8]}-{record.get('env', '')}"
    return legacy, legacy


def measurement(record: Mapping[str, Any], aa: Optional[Mapping[str, Any]] = None) -> RunMeasurement:
    """A stored cell record (Result.to_dict() plus run and asv fields) as one run's measurement."""
    run_id, session = run_of(record)
    limit = record.get("limit")
    pairs = record.get("pairs")
    if not pairs and record.get("ratios"):  # records of bench_interpreters: ratios and one load figure
        load = {key: record.get(key) for key in ("steal", "other_load")}
        pairs = [{"serial": r, "parallel": 1.0, "ratio_only": True, **load} for r in record["ratios"]
                 if isinstance(r, (int, float)) and r > 0]
    return RunMeasurement(run_id, session, float(record.get("measured_at") or 0.0),
                          flagged_pairs(pairs or [], limit), limit, rules.aa_in_bounds(aa),
                          str(record.get("commit") or ""), str(record.get("env") or ""), aa or None,
                          legacy=not (record.get("run") or {}).get("id"),
                          kernel=(str(record.get("workload") or ""), str(record.get("kernel") or ""),
                                  record.get("size")))


def nearest_control(controls: Optional[Sequence[Tuple[float, Mapping[str, Any]]]], at: float
                    ) -> Optional[Mapping[str, Any]]:
    """The A/A control of a run measured at ``at``: its session's controls of the round nearest in time,
    pooled (round_control); None without one."""
    if not controls:
        return None
    ordered = sorted(controls, key=lambda timed: timed[0])
    rounds: List[List[Tuple[float, Mapping[str, Any]]]] = [[ordered[0]]]
    for timed in ordered[1:]:
        if timed[0] - rounds[-1][-1][0] < rules.AA_ROUND_GAP:
            rounds[-1].append(timed)
        else:
            rounds.append([timed])
    nearest = min(rounds, key=lambda group: min(abs(when - at) for when, _ in group))
    return round_control(nearest)


def round_control(controls: Sequence[Tuple[float, Mapping[str, Any]]]) -> Mapping[str, Any]:
    """One round's A/A controls as one: their pairs' ratios together (ratio: their geometric mean, spread:
    rules.aa_spread), the worst steal and other load, and when the first was measured. A control without
    its ratios (an older record) cannot be pooled: the one measured first stands alone, as stored."""
    if len(controls) == 1 or not all(control.get("ratios") for _, control in controls):
        return controls[0][1]
    pooled = [float(ratio) for _, control in controls for ratio in control["ratios"]]
    meters = {key: [control[key] for _, control in controls if control.get(key) is not None]
              for key in ("steal", "other_load")}
    return {"ratios": pooled, "ratio": ratios.geometric_mean(pooled), "spread": rules.aa_spread(pooled),
            "steal": max(meters["steal"], default=None), "other_load": max(meters["other_load"], default=None),
            "controls": len(controls), "measured_at": controls[0][0]}


def is_control(record: Mapping[str, Any]) -> bool:
    """Whether a stored record is an A/A control (results/cells/: kind "aa"; CLI run files: record "aa")."""
    return record.get("kind") == "aa" or record.get("record") == "aa"


def timed_controls(records: Iterable[Mapping[str, Any]], where: Callable[[Mapping[str, Any]], Any]
                   ) -> Dict[Any, List[Tuple[float, Mapping[str, Any]]]]:
    """The A/A controls among ``records``, with their times, grouped by ``where(record)`` (a commit and
    environment, and for cells their session), for nearest_control."""
    found: Dict[Any, List[Tuple[float, Mapping[str, Any]]]] = {}
    for record in records:
        if is_control(record) and record.get("aa"):
            found.setdefault(where(record), []).append((float(record.get("measured_at") or 0), record["aa"]))
    return found


def group_records(records: Iterable[Mapping[str, Any]],
                  label: Callable[[str], str] = str) -> Dict[CellKey, List[RunMeasurement]]:
    """Stored records -> each cell's runs, each tied to the A/A control of its session.

    ``label`` names an environment (e.g. the report's '3.13t GIL off'). A cell
    measured twice in one run (an old re-run in the same commit's file) keeps
    the newer measurement. Records whose ``kind`` is "aa" are A/A controls.
    """
    records = sorted(records, key=lambda record: record.get("measured_at") or 0)

    def where(record: Mapping[str, Any]) -> Tuple[str, str, str]:
        return str(record.get("commit", ""))[:8], str(record.get("env", "")), run_of(record)[1]

    # a session holds one control (older asv runs: once per session) or four per round
    # (bench_noise.NoiseControl); each run is judged by its round's controls nearest to it in time
    controls = timed_controls(records, where)
    latest: Dict[Tuple[str, Tuple[str, ...], str, str], Mapping[str, Any]] = {}
    for record in records:
        if is_control(record):
            continue
        key = (str(record.get("benchmark")), tuple(str(p) for p in record.get("params") or []),
               label(str(record.get("env", ""))), run_of(record)[0])
        latest[key] = record
    grouped: Dict[CellKey, List[RunMeasurement]] = {}
    for (benchmark, params, env, _), record in sorted(latest.items(), key=lambda item: item[0]):
        aa = nearest_control(controls.get(where(record)), float(record.get("measured_at") or 0))
        grouped.setdefault((benchmark, params, env), []).append(measurement(record, aa))
    for runs in grouped.values():
        runs.sort(key=lambda run: run.measured_at)
    return grouped


def current_procedure(runs: Sequence[RunMeasurement], counts: Optional[rules.RuleCounts] = None
                      ) -> List[RunMeasurement]:
    """Rule 'older-procedure': where a cell has runs recorded with a run id (the procedure of runs as the
    unit of replication), its legacy runs (one per commit and environment, before run ids) are left out;
    a cell with legacy runs alone keeps them, flagged by 'few-runs' as it has one run per commit."""
    current = [run for run in runs if not run.legacy]
    if not current or len(current) == len(runs):
        return list(runs)
    if counts is not None:
        counts["older-procedure"] += len(runs) - len(current)
    return current


def estimate_all(records: Iterable[Mapping[str, Any]],
                 label: Callable[[str], str] = str) -> Dict[CellKey, CellEstimate]:
    """Every cell in the records, estimated over its runs; the limit is the newest run's."""
    return {key: estimate_cell(runs, runs[-1].limit) for key, runs in group_records(records, label).items()}


def total_counts(cells: Iterable[CellEstimate]) -> rules.RuleCounts:
    """How many values each rule flagged or left out, over many cells (a report's method section)."""
    total = rules.RuleCounts()
    for cell in cells:
        total.update(cell.counts)
    return total
