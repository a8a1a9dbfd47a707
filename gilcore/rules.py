"""Every rule that flags, leaves out or pools a measured value: named, fixed before the data, counted.

A measured speedup passes through three levels, each with its own rules:

- a **pair** (one serial and one parallel run, interleaved) is flagged by the
  meters that watched it (load, capacity) and by a reading rule (over the
  physical limit). Meter flags leave the pair out of the estimate: they do not
  look at the ratio, so they remove high and low values alike. The limit flag
  looks at the ratio and so only marks the pair: every pair stays in.
- a **run** (one fresh process: one asv round, one CLI round) gives one
  estimate from its clean pairs; a run without a clean pair, or whose A/A
  control is out of bounds, gives none.
- a **cell** (one benchmark, parameters and environment) is estimated over
  its runs (gilcore.replication) and flagged when too little is left.

Each rule has a name, a level and an effect; ``RuleCounts`` counts how many
values each one touched, so a report's method section can list them. Every
bound lives here and is pinned by tests/test_rules.py: change one only
before measuring, never to fit a result.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional

# --- bounds of the meters (gilcore.noise, gilcore.capacity) ---------------------------------------
MAX_STEAL = 0.15  # fraction of all CPU ticks stolen by the hypervisor during a pair
MAX_OTHER_LOAD = 0.30  # cores' worth of CPU used by processes outside the run during a pair
MIN_JUDGED_SECONDS = 0.05  # /proc/stat counts 10 ms ticks: a shorter pair cannot be judged for load
# The capacity probe must find at least this share of the cores a cell needs (min(W, CPUs)):
# 2 workers on 2 cores need 1.6 cores; a VM or a quota giving one core reads ~1.0.
MIN_CAPACITY_SHARE = 0.8
# A probe reading below that bound is taken again: the median of this many readings counts (an idle
# machine read 1.01 and 1.12 cores in 2 of 12 single readings; a loss that lasts reads low in all).
CAPACITY_READINGS = 3
MAX_AA_BIAS = 0.05  # the A/A control's ratio may stray from 1 by this much...
MAX_AA_SPREAD = 0.15  # ... and its typical pair (the median distance of its per-pair ratios from 1) by this much
# The A/A controls of one session measured less than this many seconds apart are one round's control
# and judge a run together: an asv round measures four (one per NoiseControl track, a second each,
# back to back), 40 pairs of ~50 ms halves; one of them alone strayed to x1.07-x1.11 while the other
# three, a second later, read x0.99-x1.00 (3.13 on 2026-12-02). Rounds are minutes apart.
AA_ROUND_GAP = 60.0
PHYSICAL_LIMIT_ALLOWANCE = 1.05  # timer noise allowed above min(W, cores) (W on I/O)
# --- how much evidence a cell needs ------------------------------------------------------------------
MIN_CLEAN_PAIRS = 3  # fewer clean pairs in a cell: flagged (noisy or capacity-limited), never plain
MIN_RUNS = 3  # fewer usable runs: the interval is not a between-run one; shown with its "runs x pairs"
# --- the GIL probes (latencies, fractions, rates: one value per run, no pairs) ---------------------
# Two regimes, not one figure: the runs' values split where one is this many times the next below it
# (an I/O thread's p99 is either under a millisecond or one scheduler slice of a few ms).
BIMODAL_GAP = 4.0
# A ratio over another measured figure (p99 over the idle p99) is printed only when that denominator
# was measured in this many runs at least and its largest is at most this factor above its smallest.
MIN_DENOMINATOR_RUNS = 2
MAX_DENOMINATOR_SPREAD = 1.5
# --- comparing two sets of cells (gilcore.compare) ----------------------------------------------------
# A change is reported only when its interval excludes no change and it is at least this large (asv
# compare's default factor is 1.1 too); a cell with fewer than MIN_RUNS usable runs on a side is undecided.
MIN_CHANGE = 0.10
# Absolute times of two asv sessions hours apart are judged against the machine's own speed: the serial
# time of this (workload, kernel) -- the Cython primes kernel, the same C code on every Python -- per
# session, from at least MIN_REFERENCE_RUNS usable runs (a session of the re-measure has 6: 3 rounds of
# cython-threads at 1 and 2 workers). From 3.13's sessions to 3.14's it rose 21-26 % (2026-12-02).
REFERENCE_KERNEL = ("primes", "cython")
MIN_REFERENCE_RUNS = 2


@dataclass(frozen=True)
class Rule:
    name: str
    level: str  # "pair", "run", "cell" or "result" (one asv value)
    effect: str  # "flag" (shown, kept in the estimate), "exclude" (kept in results/, left out of the
    # estimate), "pool" (values of several sources estimated as one), "separate" (never pooled) or
    # "normalise" (divided by a reference measured beside it)
    text: str


RULES: Dict[str, Rule] = {rule.name: rule for rule in (
    Rule("under-load", "pair", "exclude",
         f"steal > {MAX_STEAL:.0%} of CPU ticks or other processes > {MAX_OTHER_LOAD} cores during the pair "
         f"(pairs under {MIN_JUDGED_SECONDS * 1000:.0f} ms are not judged); measured again while the budget allows"),
    Rule("capacity-limited", "pair", "exclude",
         f"the capacity probe just before or just after the pair found fewer than {MIN_CAPACITY_SHARE:.0%} of "
         f"the cores the cell needs (min(W, CPUs), CPU-bound cells at W >= 2; a low reading counts only as the "
         f"median of {CAPACITY_READINGS} readings); measured again while the budget allows"),
    Rule("over-limit", "pair", "flag",
         f"ratio above the physical limit (min(W, cores) x {PHYSICAL_LIMIT_ALLOWANCE}, W on I/O): noise, "
         "kept so that high and low tails are treated alike"),
    Rule("no-clean-pair", "run", "exclude", "a run whose every pair was excluded gives no estimate"),
    Rule("aa-out-of-bounds", "run", "exclude",
         f"the run's A/A control (the controls of its session's round nearest to the run, pooled: controls "
         f"less than {AA_ROUND_GAP:.0f} s apart are one round's, an asv round measures four) strayed from x1 by > {MAX_AA_BIAS:.0%}, or its typical pair did (the median "
         f"distance of its pairs' ratios from 1) by > {MAX_AA_SPREAD:.0%}; records without their ratios: their "
         f"largest distance"),
    Rule("loaded-run", "run", "exclude",
         "a GIL probe's run (one asv result file: a commit and an environment) whose A/A control saw load "
         f"(steal > {MAX_STEAL:.0%} or other processes > {MAX_OTHER_LOAD} cores) or strayed out of bounds: "
         "left out of the GIL section"),
    Rule("bimodal", "cell", "flag",
         f"a GIL probe's values over runs split by a gap of x{BIMODAL_GAP:g} or more: two regimes, shown as "
         "every run's value, never as one figure or in a ratio"),
    Rule("unstable-denominator", "cell", "exclude",
         f"a ratio whose denominator (the idle p99) was measured in fewer than {MIN_DENOMINATOR_RUNS} runs or "
         f"varies over them by more than x{MAX_DENOMINATOR_SPREAD:g}: not printed, the absolute values are"),
    Rule("older-benchmark-version", "result", "exclude",
         "an asv result measured by an older version of its benchmark (asv's code hash) is left out: "
         "it was measured another way"),
    Rule("older-procedure", "run", "exclude",
         "a run recorded before runs were (no run id: one per commit and environment, the earlier "
         "procedure) is left out of a cell that has runs recorded with one"),
    Rule("one-machine", "cell", "separate",
         "results of different hardware (CPU model, cores, memory: gilcore.provenance) are never pooled into "
         "one cell: when the results hold more than one machine, each environment is named with its machine "
         "('3.11 @ amd-epyc-2c-24g') and each machine's runs form cells of their own; a result whose "
         "machine is not known is a machine of its own"),
    Rule("commits-pooled", "cell", "pool",
         "the usable runs of every commit measured with the benchmark's current version form one cell"),
    Rule("all-runs-excluded", "cell", "flag",
         "no usable run: the estimate falls back to every pair and the cell is flagged with the reason"),
    Rule("too-few-clean-pairs", "cell", "flag",
         f"fewer than {MIN_CLEAN_PAIRS} clean pairs in usable runs: flagged noisy or capacity-limited"),
    Rule("over-limit-cell", "cell", "flag", "estimate above the physical limit: reported as 'over limit'"),
    Rule("few-runs", "cell", "flag",
         f"fewer than {MIN_RUNS} usable runs: not replicated; the evidence 'runs x pairs' shows it"),
    Rule("machine-reference", "result", "normalise",
         f"an absolute time of a CPU-bound workload (not sleep, socket or file waits) compared between two "
         f"sides (releases, commits) is divided, run by run, by its "
         f"session's machine reference: the serial time of the {REFERENCE_KERNEL[1]} {REFERENCE_KERNEL[0]} "
         f"kernel (the same C code on every Python) over that session's usable runs (at least "
         f"{MIN_REFERENCE_RUNS}); the change's interval carries the references' own spread. A side without a "
         f"reference in every session of its runs is compared raw, and the release page says so. "
         f"Set on 2026-12-02 after the data of the re-measure (3.13 -> 3.14 read the VM's drift as regressions). "
         f"Counted: the sessions that have a reference"),
)}

# The pair flags that leave a pair out of its run's estimate (the meters'); the rest only mark it.
EXCLUDING_PAIR_FLAGS = tuple(name for name, rule in RULES.items() if rule.level == "pair" and rule.effect == "exclude")


class RuleCounts(Counter):
    """rule name -> how many values (pairs, runs or cells, by the rule's level) it flagged or left out."""

    def lines(self) -> List[str]:
        return [f"{name} ({RULES[name].level}, {RULES[name].effect}): {self[name]} -- {RULES[name].text}"
                for name in RULES if self[name]]


def superseded(version: Any, current: Any) -> bool:
    """Rule 'older-benchmark-version': an asv value whose benchmark version is not the current one."""
    return bool(current) and version not in (None, current)


UNKNOWN_MACHINE = "unknown machine"
MACHINE_SEPARATOR = " @ "  # between an environment and its machine: '3.11 @ amd-epyc-2c-24g'


def machine_label(label: str, machine: Optional[str], machines: Iterable[Optional[str]]) -> str:
    """The environment a value is pooled under (rule one-machine): ``label`` itself while every result
    comes from one machine, else ``label @ machine``, so two machines never share a cell."""
    if len({name or UNKNOWN_MACHINE for name in machines}) <= 1:
        return label
    return f"{label}{MACHINE_SEPARATOR}{machine or UNKNOWN_MACHINE}"


def physical_limit(workers: int, cpus: int, io_bound: bool) -> float:
    """The most W workers can gain, with timer allowance: W on I/O, min(W, cores) on CPU."""
    return PHYSICAL_LIMIT_ALLOWANCE * (workers if io_bound else min(workers, max(cpus, 1)))


def under_load(steal: Optional[float], other_load: Optional[float], seconds: Optional[float]) -> bool:
    """True when a meter saw load during an interval long enough to judge; unknown load is not load."""
    if steal is None or seconds is None or seconds < MIN_JUDGED_SECONDS:
        return False
    return steal > MAX_STEAL or (other_load or 0.0) > MAX_OTHER_LOAD


def capacity_limited(capacity: Optional[float], needed: Optional[float]) -> bool:
    """True when the probe found fewer cores than the cell needs; not probed: not flagged."""
    return capacity is not None and needed is not None and capacity < MIN_CAPACITY_SHARE * needed


def pair_flags(pair: Mapping[str, Any], limit: Optional[float]) -> List[str]:
    """The flags of one pair from what was recorded with it (live or read back from results/)."""
    serial, parallel = pair.get("serial"), pair.get("parallel")
    seconds = pair.get("seconds")
    if seconds is None and serial is not None and parallel is not None:
        seconds = serial + parallel  # older records: the meter's interval was the two halves
    flags = []
    if under_load(pair.get("steal"), pair.get("other_load"), seconds):
        flags.append("under-load")
    if capacity_limited(pair.get("capacity"), pair.get("capacity_needed")):
        flags.append("capacity-limited")
    if limit is not None and serial and parallel and serial / parallel > limit:
        flags.append("over-limit")
    return flags


def is_clean(flags: Iterable[str]) -> bool:
    return not any(flag in EXCLUDING_PAIR_FLAGS for flag in flags)


def aa_spread(ratios: Iterable[float]) -> Optional[float]:
    """An A/A control's spread: the median distance of its per-pair ratios from 1 (0.08 = +-8 %).

    The median, not the largest: one pair of ten caught as a vCPU changed speed (here a vCPU ran at
    full speed or ~60 % in spells of seconds, and an A/A pair's halves last ~50 ms) strays by 30 %
    while the other nine agree; the largest of ten is an outlier's figure and grows with the number
    of pairs. Changed on 2026-12-02 during the re-measure, after the largest distance had put every
    run of 3.11 and 3.12 out of bounds (the report's method section counts both)."""
    distances = sorted(abs(float(r) - 1.0) for r in ratios)
    if not distances:
        return None
    middle = len(distances) // 2
    return distances[middle] if len(distances) % 2 else (distances[middle - 1] + distances[middle]) / 2


def aa_in_bounds(control: Optional[Mapping[str, Any]]) -> Optional[bool]:
    """Whether an A/A control is within bounds; None when there is none. Its spread comes from its
    recorded ratios (aa_spread) where it keeps them, else its recorded spread (older records: the
    largest distance, a stricter figure)."""
    if not control or control.get("ratio") is None:
        return None
    spread = aa_spread(control.get("ratios") or []) if control.get("ratios") else control.get("spread")
    if spread is None:
        return None
    return abs(float(control["ratio"]) - 1.0) <= MAX_AA_BIAS and float(spread) <= MAX_AA_SPREAD


def loaded_run(control: Optional[Mapping[str, Any]]) -> bool:
    """Rule 'loaded-run': a run whose A/A control (ratio, spread, steal, other_load: fractions and
    cores) saw load or is out of bounds; a run without a control is not judged loaded. The control
    lasts seconds (10 pairs of a 1.5 M countdown), long enough for /proc/stat to judge."""
    if not control:
        return False
    return (under_load(control.get("steal"), control.get("other_load"), MIN_JUDGED_SECONDS)
            or aa_in_bounds(control) is False)


def bimodal(values: Iterable[Optional[float]]) -> bool:
    """Rule 'bimodal', for latencies and rates (positive figures): some run's value is at least
    BIMODAL_GAP times the next lower one. Fractions near 0 are not judged (0.01 and 0.05 are one regime)."""
    ordered = sorted(value for value in values if value is not None)
    if len(ordered) < 2 or ordered[0] <= 0:
        return False
    return any(high >= BIMODAL_GAP * low for low, high in zip(ordered, ordered[1:]))


def stable_denominator(values: Iterable[Optional[float]]) -> bool:
    """Whether a ratio over these runs' values may be printed (rule 'unstable-denominator')."""
    ordered = sorted(value for value in values if value is not None)
    return (len(ordered) >= MIN_DENOMINATOR_RUNS and ordered[0] > 0
            and ordered[-1] <= MAX_DENOMINATOR_SPREAD * ordered[0])
