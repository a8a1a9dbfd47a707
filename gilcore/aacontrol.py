"""The A/A control of each run, tied to the cells measured in it and shown per environment.

An A/A control (bench_noise.NoiseControl: the same serial work timed
against itself) belongs to the run it was measured in, not to its
environment: one environment's cells may come from several runs, each with
its own control. asv stores the control of a commit and environment in its
result file; the cells of that commit and environment without a run id (the
older records of results/cells/) are the one run it controlled.
``from_asv_file`` turns that figure into the control record
gilcore.replication ties those cells to, so rule 'aa-out-of-bounds'
(gilcore.rules) applies to them as to newer records, which carry their
session's control themselves. ``control`` is the one reader of a run's
NoiseControl figures: from_asv_file and the GIL probes' runs
(gilcore.proberuns, rule 'loaded-run') both read them through it.

``describe`` says, for the runs behind one environment's cells, what their
controls were: each run's when there are few, else a summary with n.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from gilcore import rules
from gilcore.cellstore import AA_KIND

NOISE = "bench_noise.NoiseControl."  # the asv benchmark class of the control and its meters
AA_RATIO = NOISE + "track_aa_ratio"
AA_SPREAD_PERCENT = NOISE + "track_aa_spread_percent"
STEAL_PERCENT = NOISE + "track_steal_percent"
OTHER_LOAD_CORES = NOISE + "track_other_load_cores"
LISTED_RUNS = 3  # up to this many runs, each one's control is listed; more: a summary with n


def control(value: Callable[[str], Optional[float]]) -> Optional[Dict[str, Optional[float]]]:
    """One run's A/A control from its NoiseControl figures, ``value(benchmark name)`` giving each (None:
    absent): ratio; spread and steal as fractions; other load in cores. None without ratio and spread."""
    ratio, spread = value(AA_RATIO), value(AA_SPREAD_PERCENT)
    if ratio is None or spread is None:
        return None
    steal = value(STEAL_PERCENT)
    return {"ratio": ratio, "spread": spread / 100, "steal": None if steal is None else steal / 100,
            "other_load": value(OTHER_LOAD_CORES)}


def _asv_value(data: Mapping[str, Any], name: str) -> Optional[float]:
    """One unparameterised asv value of a result file; None when absent or failed. Its benchmark version
    does not matter here: the control belongs to the cells of its own file's run, measured by the code of
    that same commit, whichever version is current (the version rule keeps it off the published tables)."""
    try:
        entry = dict(zip(data["result_columns"], data["results"][name]))
    except (KeyError, TypeError):
        return None
    value = entry.get("result")
    value = value[0] if isinstance(value, list) and value else value
    return float(value) if isinstance(value, (int, float)) and value == value else None


def from_asv_file(data: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The control record of an asv result file's commit and environment (its ratio and spread: what
    rule 'aa-out-of-bounds' reads); None without an A/A there."""
    found = control(lambda name: _asv_value(data, name))
    if found is None or not data.get("commit_hash") or not data.get("env_name"):
        return None
    return {"kind": AA_KIND, "commit": str(data["commit_hash"]), "env": str(data["env_name"]),
            "measured_at": 0.0, "aa": {"ratio": found["ratio"], "spread": found["spread"]}}


@dataclass(frozen=True)
class RunControl:
    """The control of one run (or one session of runs sharing it): None when none was measured."""

    commit: str
    session: str
    ratio: Optional[float]
    spread: Optional[float]  # the typical pair's stray from x1 (rules.aa_spread), a fraction

    @property
    def in_bounds(self) -> Optional[bool]:
        if self.ratio is None or self.spread is None:
            return None
        return rules.aa_in_bounds({"ratio": self.ratio, "spread": self.spread})

    def text(self) -> str:
        if self.ratio is None or self.spread is None:
            return f"{self.commit[:7]} no A/A"
        return (f"{self.commit[:7]} ±{100 * self.spread:.0f}% (x{self.ratio:.2f})"
                + (" OUT OF BOUNDS" if self.in_bounds is False else ""))


def controls_of(runs: Iterable[Any]) -> List[RunControl]:
    """Each control the ``runs`` (gilcore.replication.RunMeasurement) were judged by, once (a session
    holds one per asv round: its four pooled), oldest first; its spread as rules.aa_in_bounds reads it."""
    found: Dict[Tuple[str, str, Any], Tuple[float, RunControl]] = {}
    for run in runs:
        aa = getattr(run, "aa", None) or {}
        spread = rules.aa_spread(aa["ratios"]) if aa.get("ratios") else aa.get("spread")
        control = RunControl(run.commit, run.session, aa.get("ratio"), spread)
        key = (run.commit, run.session, aa.get("measured_at") or aa.get("ratio"))
        if key not in found or run.measured_at < found[key][0]:
            found[key] = (run.measured_at, control)
    return [control for _, control in sorted(found.values(), key=lambda item: (item[0], item[1].commit))]


def describe(controls: List[RunControl]) -> str:
    """'77d3030 ±12% (x1.00); d60ab45 ±28% (x1.00) OUT OF BOUNDS', or for many runs
    '6 runs: 4 in bounds (±5–12%), 2 OUT OF BOUNDS (±20–28%)'."""
    if not controls:
        return "—"
    if len(controls) <= LISTED_RUNS:
        return "; ".join(control.text() for control in controls)
    parts = []
    for words, state in (("in bounds", True), ("OUT OF BOUNDS", False), ("without A/A", None)):
        group = [control for control in controls if control.in_bounds is state]
        if not group:
            continue
        spreads = sorted(100 * control.spread for control in group if control.spread is not None)
        span = f" (±{spreads[0]:.0f}–{spreads[-1]:.0f}%)" if spreads else ""
        parts.append(f"{len(group)} {words}{span}")
    return f"{len(controls)} runs: " + ", ".join(parts)
