"""The GIL probes run by run: one asv result file is one run of an environment's probes.

The GIL probes (bench_gil_behaviour: convoy latencies, contention and overlap
fractions, switching rates) give one value per run, with no pairs to
estimate from. So the report shows every run's value and its n, never one
median standing for runs that disagree, and applies gilcore.rules' GIL rules:
a run whose A/A control saw load is left out ('loaded-run'), a cell whose
runs split into two regimes is marked ('bimodal'), and a ratio is printed
only over a denominator that held still from run to run
('unstable-denominator'). ``ProbeRun`` is one result file's values;
``Cell`` is one figure of one environment over its runs.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from gilcore import aacontrol, rules

PREFIXES = ("bench_gil_behaviour.", "bench_gil.", "bench_noise.")  # what a probe run keeps
NOISE = aacontrol.NOISE
Key = Tuple[str, Tuple[str, ...]]  # (benchmark, params)


def wanted(benchmark: str) -> bool:
    return benchmark.startswith(PREFIXES)


@dataclass
class ProbeRun:
    """One asv result file's GIL-probe values (and its A/A control), by (benchmark, params)."""

    commit: str
    env: str  # the report's environment label
    values: Dict[Key, float]
    date: float = 0.0  # asv's date of the result file's commit (ms since the epoch): runs are shown in its order
    # the cell store's A/A control measured nearest to the probes (one per asv round, with its pairs'
    # ratios, which rules.aa_in_bounds reads); None: only asv's figures of the file's last round
    aa: Optional[Dict[str, Any]] = None

    @property
    def control(self) -> Optional[Dict[str, Any]]:
        """Its A/A control as fractions and cores (gilcore.aacontrol.control); None when the run had none."""
        if self.aa and self.aa.get("ratio") is not None:
            return {"ratio": self.aa["ratio"], "ratios": self.aa.get("ratios"), "spread": self.aa.get("spread"),
                    "steal": self.aa.get("steal"), "other_load": self.aa.get("other_load")}
        return aacontrol.control(lambda name: self.values.get((name, ())))

    @property
    def loaded(self) -> bool:
        return rules.loaded_run(self.control)

    @property
    def probed(self) -> bool:
        """Whether it holds any GIL-probe value (not only its A/A control)."""
        return any(not name.startswith(NOISE) for name, _ in self.values)


@dataclass
class Cell:
    """One figure of one environment over its runs (loaded runs left out), oldest commit first."""

    values: List[float] = field(default_factory=list)
    commits: List[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def bimodal(self) -> bool:
        return rules.bimodal(self.values)

    def text(self, fmt: str, judge_modes: bool = True) -> str:
        """'0.12 · 2.41 bimodal, n=2': every run's value; '—' when none."""
        if not self.values:
            return "—"
        shown = " · ".join(fmt.format(value) for value in self.values)
        return shown + (" bimodal" if judge_modes and self.bimodal else "") + f", n={self.n}"


def usable(runs: Iterable[ProbeRun]) -> List[ProbeRun]:
    """The runs the GIL section stands on, oldest first: rule 'loaded-run' leaves the others out."""
    return sorted((run for run in runs if not run.loaded), key=lambda run: (run.date, run.commit))


def cell(runs: Sequence[ProbeRun], benchmark: str, params: Tuple[str, ...], env: Optional[str]) -> Cell:
    """The figure's value in every usable run of ``env`` (None: of any environment)."""
    found = Cell()
    for run in runs:
        value = run.values.get((benchmark, params))
        if value is not None and (env is None or run.env == env):
            found.values.append(value)
            found.commits.append(run.commit)
    return found


def quotient(runs: Sequence[ProbeRun], numerator: Key, denominator: Key, env: Optional[str]) -> Cell:
    """numerator / denominator in every usable run holding both (an idle p99 = p99 / (p99 over idle))."""
    found = Cell()
    for run in runs:
        top, bottom = run.values.get(numerator), run.values.get(denominator)
        if top is not None and bottom and (env is None or run.env == env):
            found.values.append(top / bottom)
            found.commits.append(run.commit)
    return found


def ratio_text(ratio: Cell, numerator: Cell, denominator: Cell, counts: rules.RuleCounts) -> str:
    """'x12' (the median over runs of each run's ratio) when the denominator is stable and the
    numerator one regime; '' otherwise, counted under 'unstable-denominator'."""
    if not ratio.values or numerator.bimodal:  # rule 'bimodal': two regimes make no ratio
        return ""
    if not rules.stable_denominator(denominator.values):
        counts["unstable-denominator"] += 1
        return ""
    return f"x{statistics.median(ratio.values):.1f}"
