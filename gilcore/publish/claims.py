"""The reference article's claims, each judged by a rule fixed here, before the data.

The article is ../shared/reference/gil-article.md ("Working around the Global
Interpreter Lock"). Each claim names the benchmark that tests it and one of
four rules, in the article's own words:

- WORSE    "worse performance"         the speedup is below x1.0
- FASTER   "releases the GIL" (a gain) the speedup is above x1.0
- PARALLEL "no GIL collisions"         2 workers gain more than half a core: above x1.5
- SERIAL   "has a GIL"                 2 threads do not: x1.5 or below
- DRASTIC  "drastically longer"        the time is at least 25 % longer: below x0.8

A verdict per Python takes the 95 % interval of the pairs behind the cell:
entirely on the claim's side is a confirmation (✓), entirely on the other side
a refutation (✗), across the threshold inconclusive (≈). A cell with fewer
than 3 values, or measured under load, or above the physical limit, or measured
only in runs whose A/A control is out of bounds (rule 'aa-out-of-bounds' of
gilcore.rules, marked "? A/A"), decides nothing. Each verdict says how many
pairs and Pythons it stands on. Changing a threshold changes
tests/test_claims.py too: that is the point.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

# Thresholds, in the article's words (see the module docstring).
WORSE_BELOW = 1.0
FASTER_ABOVE = 1.0
PARALLEL_ABOVE = 1.5
DRASTIC_BELOW = 0.8


@dataclass(frozen=True)
class Rule:
    name: str
    threshold: float
    above: bool  # the claim holds above the threshold (else below it)

    def words(self) -> str:
        return f"{'>' if self.above else '<'} x{self.threshold:g}"


WORSE = Rule("worse", WORSE_BELOW, above=False)
FASTER = Rule("faster", FASTER_ABOVE, above=True)
PARALLEL = Rule("parallel", PARALLEL_ABOVE, above=True)
SERIAL = Rule("serial", PARALLEL_ABOVE, above=False)
DRASTIC = Rule("drastic", DRASTIC_BELOW, above=False)

CONFIRMED, REFUTED, INCONCLUSIVE, NO_DECISION = "✓", "✗", "≈", "?"


@dataclass(frozen=True)
class Claim:
    words: str  # the article's own words, shortened
    measured_by: str
    benchmark: str
    params: Tuple[str, ...]
    rule: Rule
    correction: str = ""  # where the article is wrong, what is right
    environments: Optional[Tuple[str, ...]] = None  # only these labels' suffixes (None: every environment)


CLAIMS: List[Claim] = [
    Claim("\"When using threads against the GIL, you will likely have worse performance with the threads "
          "than if you ran in a single thread.\"",
          "countdown (COUNT=10M), 2 threads vs serial", "bench_cpu.Countdown.track_speedup", ("threads", "2"), WORSE,
          "On GIL builds threads give no gain, about x1; on a free-threaded build with the GIL off they scale."),
    Claim("\"CPython automatically releases the GIL when a thread performs an I/O operation.\"",
          "time.sleep calls, 2 threads", "bench_io.Sleep.track_speedup", ("threads", "2"), FASTER),
    Claim("(same claim, real sockets)", "loopback socket round trips, 2 threads",
          "bench_io.Socket.track_speedup", ("threads", "2"), FASTER),
    Claim("\"numpy number crunching operations release the GIL before doing their processing.\"",
          "256x256 matmul, BLAS pinned to 1 thread, 2 threads", "bench_c_code.NumpyMatmul.track_speedup",
          ("threads", "2"), FASTER),
    Claim("\"Since each process is its own interpreter, there are no GIL collisions.\"",
          "countdown, warm multiprocessing.Pool(2) (fork)", "bench_cpu.Countdown.track_speedup",
          ("pool-fork", "2"), PARALLEL,
          "True for warm work; pool start-up is extra (bench_pools.PoolStartup) and `with "
          "multiprocessing.Pool as pool` in the article is a TypeError: call Pool(), close() and join()."),
    Claim("Cython: \"It's that simple\" (`with nogil:` around Python threads)",
          "prime counting in a `cdef ... nogil` loop, 2 threads calling its def wrapper",
          "bench_cpu.Primes.track_speedup", ("cython-threads", "2"), PARALLEL,
          "The idea holds, the code does not: Cython rejects `with nogil:` around code that touches Python "
          "objects. Release the GIL inside a compiled kernel (gilcore/_nogil.pyx) and call it from threads."),
    Claim("\"Interpreters that have a GIL: CPython, PyPy\"", "countdown, 2 threads, PyPy 3",
          "bench_interpreters.Countdown.track_threads_speedup", ("pypy3",), SERIAL),
    Claim("\"Interpreters that do not have a GIL: Jython\"", "countdown, 2 threads, Jython 2.7",
          "bench_interpreters.Countdown.track_threads_speedup", ("jython",), PARALLEL),
    Claim("\"CPython ... has a GIL\"", "countdown, 2 threads, the free-threaded build with its GIL off",
          "bench_cpu.Countdown.track_speedup", ("threads", "2"), SERIAL,
          "Not any more: a free-threaded CPython (3.13t, --disable-gil) runs threads in parallel with PYTHON_GIL=0.",
          environments=("GIL off",)),
    Claim("\"before version 3.2 ... thread starvation\"; since 3.2 \"can still result in drastically longer "
          "execution times\"", "countdown, 2 threads, CPython 2.7 (old GIL)",
          "bench_interpreters.Countdown.track_threads_speedup", ("cpython-2.7",), DRASTIC),
]


def judge(rule: Rule, estimate: float, interval: Optional[Tuple[float, float]], decisive: bool) -> str:
    """✓ / ✗ / ≈ for one cell; '?' when the cell is too thin or noisy to decide anything."""
    if not decisive:
        return NO_DECISION
    low, high = interval if interval is not None else (estimate, estimate)
    if rule.above:
        return CONFIRMED if low > rule.threshold else REFUTED if high <= rule.threshold else INCONCLUSIVE
    return CONFIRMED if high < rule.threshold else REFUTED if low >= rule.threshold else INCONCLUSIVE


def overall(marks: List[str]) -> str:
    """The claim's verdict from the marks of every Python where it was decided."""
    decided = [m for m in marks if m in (CONFIRMED, REFUTED)]
    if not decided:
        if INCONCLUSIVE in marks:
            return "inconclusive"
        return "undecided: too thin, noisy, over the limit or A/A out of bounds" if marks else "not measured here"
    if all(m == CONFIRMED for m in decided):
        return "confirmed"
    if all(m == REFUTED for m in decided):
        return "refuted"
    return "depends on the Python"


def _summaries(loaded: Any, claim: Claim, env: str) -> Any:
    """The cell for the claim in one environment; interpreter names match by prefix ('pypy3' -> 'pypy3.9')."""
    if claim.environments is not None and not any(env.endswith(suffix) for suffix in claim.environments):
        return None
    found = loaded.summary(claim.benchmark, claim.params, env)
    if found is not None or len(claim.params) != 1:
        return found
    for name, params in sorted(set(loaded.series) | set(loaded.cells)):
        if name == claim.benchmark and params and params[0].startswith(claim.params[0]):
            found = loaded.summary(name, params, env)
            if found is not None:
                return found
    return None


def verdicts(loaded: Any, claim: Claim) -> List[Optional[Tuple[float, str, int, bool]]]:
    """Per environment: (estimate, mark, pairs, over the limit) or None where the claim was not measured."""
    out: List[Optional[Tuple[float, str, int, bool]]] = []
    for env in loaded.environments:
        summary = _summaries(loaded, claim, env)
        if summary is None:
            out.append(None)
            continue
        decisive = not (summary.thin or summary.noisy or summary.over_limit)
        out.append((summary.estimate, judge(claim.rule, summary.estimate, summary.interval, decisive), summary.n,
                    summary.over_limit))
    return out


def _why(loaded: Any, claim: Claim, env: str, mark: str) -> str:
    """' A/A' after a '?' when runs left out for their A/A control are why the cell decides nothing."""
    if mark != NO_DECISION:
        return ""
    summary = _summaries(loaded, claim, env)
    cell = getattr(summary, "cell", None)
    return " A/A" if cell is not None and "A/A out of bounds" in cell.flags else ""


def claims_table(loaded: Any) -> str:
    header = ["the article says", "measured by", "rule"] + list(loaded.environments) + ["verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for claim in CLAIMS:
        results = verdicts(loaded, claim)
        cells = ["—" if r is None else f"over limit {r[1]}" if r[3] else f"x{r[0]:.2f} {r[1]}"
                 + _why(loaded, claim, env, r[1]) for r, env in zip(results, loaded.environments)]
        measured = [r for r in results if r is not None]
        decided = [r for r in measured if r[1] in (CONFIRMED, REFUTED)]
        verdict = overall([r[1] for r in measured])
        if measured:
            verdict += (f" (decided on {len(decided)} of {len(measured)} Pythons, "
                        f"{sum(r[2] for r in decided)} pairs)")
        if claim.correction:
            verdict += ". " + claim.correction
        lines.append("| " + " | ".join([claim.words, claim.measured_by, claim.rule.words()] + cells + [verdict]) + " |")
    lines += ["", "✓ the 95 % interval is on the claim's side of the rule, ✗ on the other side, ≈ it straddles "
              "the threshold, ? too thin (< 3 pairs), noisy, over the physical limit or measured only in runs "
              "whose A/A control is out of bounds (? A/A) to decide."]
    return "\n".join(lines)
