"""``python -m gilcore compare A B [...]``: every cell that changed beyond its noise, and which way.

What A and B may be (two or more, compared neighbour by neighbour: A->B, B->C):

  runs.jsonl              a run saved with ``python -m gilcore --output FILE``; a file of a
                          --python run holds one run per interpreter and counts as each of them
  3.11 3.13t /path/python interpreters measured now, the main command's --python machinery
                          (other options, e.g. --workload countdown --strategy threads, are passed on)
  asv:C1..C2[:ENV]        alone: asv commits C1 and C2 (hex prefixes) of the cell records under
                          results/cells/, for environment ENV or for each one measured at both
  asv:ENV1..ENV2[@C]      alone: two asv environments (virtualenv-py3.13, or py3.13t-PYTHON_GIL0,
                          or the report's label '3.13t GIL off'), at commit C or over every commit

--list prints the commits measured (per machine and environment, oldest first): asv's
commits are the measured ones, not the commits that hold results (main, main~1).

The statistics are gilcore.compare's: runs against runs, Welch's t on the runs' log estimates.
Exit status: 0, or 1 with --fail-on-regression PCT when a cell regressed beyond PCT % (or a
measurement failed), 2 on bad input (one line).
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import re
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from gilcore import cellstore, compare, provenance, replication, rules
from gilcore.errors import UsageError, UsageParser
from gilcore.cli.runlog import Run, read_runs

ASV = re.compile(r"^asv:(?P<left>.+?)\.\.(?P<right>[^:@]+)(?::(?P<env>[^@]+))?(?:@(?P<commit>.+))?$")
RUN_FILE_SUFFIXES = (".jsonl", ".json")


class MeasurementFailed(RuntimeError):
    """An interpreter named on the command line could not be measured: one line says why."""


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(prog="python -m gilcore compare", description=__doc__.splitlines()[0].split(": ", 1)[1],
                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sides", nargs="*", metavar="A B", help="what to compare (see below)")
    parser.add_argument("--list", action="store_true",
                        help="list the commits measured under --results, per machine and environment, oldest "
                             "first (asv's result files and the runs in results/cells/), and exit")
    parser.add_argument("--results", default="results", metavar="DIR",
                        help="asv's results directory for asv: selectors (default: results)")
    parser.add_argument("--min-change", type=float, default=100 * rules.MIN_CHANGE, metavar="PCT",
                        help=f"smallest change reported, in %% (default {100 * rules.MIN_CHANGE:.0f})")
    parser.add_argument("--fail-on-regression", type=float, metavar="PCT",
                        help="exit 1 when a cell's speedup (or, between alike builds, a time) got worse by "
                             "PCT %% or more beyond its noise (cells are listed from PCT on when it is below "
                             "--min-change)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    return parser


def _percent(value: Optional[float], option: str) -> Optional[float]:
    if value is not None and not (math.isfinite(value) and 0 <= value < 1000):
        raise UsageError(f"{option} must be a percentage between 0 and 1000, not {value}")
    return value


# --------------------------------------------------------------------------- sides from saved runs

def _records_of(run: Run) -> List[Dict[str, Any]]:
    """A run's per-run records; a file written before runs were recorded has only its cells: each is
    then one run of its pairs."""
    if run.measurements:
        return [r for r in run.measurements if r.get("record") in ("cell_run", "aa")]
    return [{"benchmark": cell.get("workload"), "params": [cell.get("strategy"), str(cell.get("workers"))],
             "env": run.label, "pairs": cell.get("pairs") or [], "limit": cell.get("limit"),
             "run": {"id": f"{run.label}-only-run"}} for cell in run.cells]


def side_of_records(label: str, records: Sequence[Mapping[str, Any]], build: Optional[Mapping[str, Any]],
                    machine: Optional[Mapping[str, Any]]) -> compare.Side:
    """One side: its records' cells over their runs, keyed by (benchmark, params)."""
    estimates = replication.estimate_all(records, label=lambda env: "")
    return compare.Side(label, {(bench, params): cell for (bench, params, _), cell in estimates.items()},
                        build, machine)


def sides_of_file(path: str) -> List[compare.Side]:
    runs = read_runs(path)
    name = os.path.basename(path)
    return [side_of_records(f"{run.label} ({name})", _records_of(run), run.header.get("build"),
                            run.header.get("machine")) for run in runs]


# --------------------------------------------------------------------------- sides measured now

def sides_measured_now(specs: Sequence[str], options: Sequence[str]) -> List[compare.Side]:
    """The interpreters measured now with the main command's --python machinery, in the order named."""
    from gilcore.cli import build_parser as main_parser
    from gilcore.cli.multipython import resolve_all, run_interpreters

    if len(resolve_all(specs)) != len(specs):  # before anything is measured
        raise UsageError(f"{' '.join(specs)}: the same interpreter is named twice")
    argv = list(options)
    for spec in specs:
        argv += ["--python", spec]
    runs, interrupted = run_interpreters(main_parser().parse_args(argv))
    if interrupted:
        raise KeyboardInterrupt
    for run in runs:
        if run.header.get("error"):
            raise MeasurementFailed(f"{run.label}: {run.header['error']}")
    return [side_of_records(run.label, _records_of(run), run.header.get("build"), run.header.get("machine"))
            for run in runs]


# --------------------------------------------------------------------------- sides from asv's results/

def _asv_machine(results_dir: str, commit: str, env: str) -> Optional[Dict[str, Any]]:
    """The hardware asv wrote into its result file for one commit and environment (older cell records
    do not say it themselves)."""
    for path in glob.glob(os.path.join(glob.escape(results_dir), "*", f"{commit[:8]}-{glob.escape(env)}.json")):
        try:
            with open(path) as handle:
                params = json.load(handle).get("params") or {}
        except (OSError, ValueError, AttributeError):
            continue
        machine = provenance.machine_from_asv(params)
        if machine:
            return machine
    return None


def _asv_side(label: str, records: List[Dict[str, Any]], results_dir: str) -> compare.Side:
    cells = [r for r in records if r.get("kind") != cellstore.AA_KIND]
    builds = [r["build"] for r in cells if r.get("build")]
    machines = [r["machine"] for r in cells if r.get("machine")]
    if not machines:
        found = {(str(r.get("commit", "")), str(r.get("env", ""))) for r in cells}
        machines = [m for m in (_asv_machine(results_dir, commit, env) for commit, env in sorted(found)) if m]
    if len({json.dumps(m, sort_keys=True) for m in machines}) > 1:  # pooled over different hardware: say so
        cpus = sorted({str(m.get("cpu")) for m in machines})
        machines = [{"cpu": f"mixed ({', '.join(cpus)})", "cores": None, "memory_gib": None, "name": "mixed"}]
    return side_of_records(label, records, builds[-1] if builds else None, machines[-1] if machines else None)


def _env_matches(token: str, env: str) -> bool:
    from gilcore.publish.results import label_from_env_name

    return token in (env, label_from_env_name(env)) or env.endswith("-" + token) or env.endswith("py" + token)


class _AsvStore:
    """The cell records under results/ and the commits and environments they name, as a selector
    refers to them."""

    def __init__(self, selector: str, results_dir: str) -> None:
        self.selector, self.results_dir = selector, results_dir
        self.records = list(cellstore.load(results_dir))
        if not self.records:
            raise UsageError(f"{selector}: no cell records under {os.path.join(results_dir, cellstore.CELLS_DIR)}")
        self.commits = sorted({str(r.get("commit", "")) for r in self.records})
        self.envs = sorted({str(r.get("env", "")) for r in self.records})

    def known(self) -> str:
        return (f"commits with cell records: {', '.join(c[:8] for c in self.commits)}; "
                f"environments: {', '.join(self.envs)}")

    def commit_of(self, token: str) -> Optional[str]:
        if not re.fullmatch(r"[0-9a-fA-F]{4,40}", token):
            return None
        found = [c for c in self.commits if c.startswith(token.lower())]
        if len(found) > 1:
            raise UsageError(f"{self.selector}: commit {token} is ambiguous ({', '.join(c[:8] for c in found)})")
        return found[0] if found else None

    def env_of(self, token: str) -> Optional[str]:
        found = [e for e in self.envs if _env_matches(token, e)]
        exact = [e for e in found if e == token]
        if len(found) > 1 and not exact:
            raise UsageError(f"{self.selector}: environment {token} is ambiguous ({', '.join(found)})")
        return (exact or found or [None])[0]

    def side(self, label: str, env: str, commit: Optional[str]) -> compare.Side:
        picked = [r for r in self.records if r.get("env") == env and commit in (None, r.get("commit"))]
        return _asv_side(label, picked, self.results_dir)

    def measured(self, env: str, commit: str) -> bool:
        return any(r.get("env") == env and r.get("commit") == commit for r in self.records)


def asv_sides(selector: str, results_dir: str) -> List[Tuple[compare.Side, compare.Side]]:
    """The pairs of sides an ``asv:`` selector names (one per environment for a commit range)."""
    match = ASV.match(selector)
    if not match:
        raise UsageError(f"{selector}: an asv selector reads asv:C1..C2[:ENV] or asv:ENV1..ENV2[@COMMIT]")
    store = _AsvStore(selector, results_dir)
    left, right, env, at = (match.group(name) for name in ("left", "right", "env", "commit"))
    commits, envs = [store.commit_of(left), store.commit_of(right)], [store.env_of(left), store.env_of(right)]
    first, second = commits
    if first and second:
        if at:
            raise UsageError(f"{selector}: @COMMIT goes with two environments; two commits take :ENV")
        wanted = [store.env_of(env)] if env else [e for e in store.envs
                                                   if store.measured(e, first) and store.measured(e, second)]
        if None in wanted or not wanted:
            what = f"no environment {env}" if env else "no environment measured at both commits"
            raise UsageError(f"{selector}: {what} ({store.known()})")
        return [(store.side(f"{first[:8]} {e}", e, first), store.side(f"{second[:8]} {e}", e, second))
                for e in wanted if e]
    if envs[0] and envs[1]:
        if env:
            raise UsageError(f"{selector}: :ENV goes with two commits; two environments take @COMMIT")
        chosen = store.commit_of(at) if at else None
        if at and not chosen:
            raise UsageError(f"{selector}: no commit {at} ({store.known()})")
        where = f"@{chosen[:8]}" if chosen else " (every commit)"
        return [(store.side(f"{envs[0]}{where}", envs[0], chosen), store.side(f"{envs[1]}{where}", envs[1], chosen))]
    unknown = [token for token, c, e in zip((left, right), commits, envs) if not (c or e)]
    if unknown:
        raise UsageError(f"{selector}: {unknown[0]!r} is neither a commit nor an environment ({store.known()})")
    raise UsageError(f"{selector}: one commit and one environment; give two commits (asv:C1..C2[:ENV]) "
                     "or two environments (asv:ENV1..ENV2[@COMMIT])")


# --------------------------------------------------------------------------- output

def _value(quantity: str, value: float) -> str:
    if quantity == compare.SPEEDUP:
        return f"x{value:.2f}"
    return f"{value:.3f} s" if value >= 0.01 else f"{value * 1000:.2f} ms"


def _reliability(probability: float) -> str:
    return "> 99.9 %" if probability >= 0.9995 else f"{100 * probability:.1f} %"


def _side_line(name: str, side: compare.Side) -> str:
    machine = side.machine.get("name") if side.machine else "machine unknown"
    return f"{name}: {side.label} -- {provenance.describe_build(side.build)}; {machine}"


def print_comparison(result: compare.Comparison, a: compare.Side, b: compare.Side) -> None:
    print(_side_line("A", a))
    print(_side_line("B", b))
    unlike = result.build_differences + result.machine_differences
    other_hardware = [d for d in result.machine_differences if d != "machine unknown"]
    what = "times and speedups are marked" if other_hardware else \
        "absolute times are marked; a speedup is a ratio within one process"
    print(f"differs: {'; '.join(unlike)} ({what})" if unlike else "builds and machines alike")
    changed = result.with_status("changed")
    rows = [["cell", "quantity", "A", "B", "change", "95 % interval", "reliability", "runs x pairs A | B"]]
    for cell in changed:
        for change in cell.changed:
            low, high = change.test.interval if change.test else (math.nan, math.nan)
            rows.append([cell.name, change.quantity, _value(change.quantity, change.a),
                         _value(change.quantity, change.b), f"{change.percent:+.1f} % {change.direction}"
                         + (f" (machine x{change.machine_ratio:.2f} out)" if change.machine_ratio is not None else ""),
                         f"[{100 * (low - 1):+.1f} %, {100 * (high - 1):+.1f} %]",
                         _reliability(change.test.reliability) if change.test else "?",
                         f"{cell.a.evidence if cell.a else '-'} | {cell.b.evidence if cell.b else '-'}"
                         + (" *" if change.mark else "")])
    if len(rows) > 1:
        print(f"changed beyond noise (95 % interval excludes no change, at least {100 * result.min_change:g} %):")
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip())
        if any(change.machine_ratio is not None for cell in changed for change in cell.changed):
            print("  machine xN out: a time judged against its session's machine reference (the Cython primes "
                  "kernel's serial time), which moved xN between the sides")
        if any(change.mark for cell in changed for change in cell.changed):
            print("  * measured on unlike builds or machines (a time), or machines (a speedup): " + "; ".join(unlike))
    else:
        print(f"no cell changed beyond its noise (at least {100 * result.min_change:g} %, "
              "interval excluding no change)")
    counts = result.counts()
    reasons = ", ".join(f"{why}: {n}" for why, n in sorted(result.undecided_reasons().items()))
    parts = [f"{counts['changed']} changed", f"{counts['unchanged']} unchanged within noise",
             f"{counts['undecided']} undecided" + (f" ({reasons})" if reasons else "")]
    parts += [f"{counts[k]} {k}" for k in ("only in A", "only in B") if counts[k]]
    print("cells: " + ", ".join(parts))


# --------------------------------------------------------------------------- main

def _classify(spec: str) -> str:
    """'asv', 'file' (a saved run: *.jsonl, *.json or any existing file that is not executable) or
    'interpreter' (a version, a name or an executable's path, as --python takes it)."""
    if spec.startswith("asv:"):
        return "asv"
    if spec.endswith(RUN_FILE_SUFFIXES) or (os.path.isfile(spec) and not os.access(spec, os.X_OK)):
        return "file"
    return "interpreter"


def pairs_to_compare(args: argparse.Namespace, options: Sequence[str]) -> List[Tuple[compare.Side, compare.Side]]:
    kinds = [_classify(spec) for spec in args.sides]
    if "asv" in kinds:
        if len(args.sides) != 1:
            raise UsageError("an asv: selector names both sides itself; give it alone")
        if options:
            raise UsageError(f"{' '.join(options)}: options for measuring; an asv: selector reads results/")
        return asv_sides(args.sides[0], args.results)
    if options and "interpreter" not in kinds:
        raise UsageError(f"{' '.join(options)}: options for measuring, and no interpreter is named to measure now")
    wanted = [spec for spec, kind in zip(args.sides, kinds) if kind == "interpreter"]
    measured = iter(sides_measured_now(wanted, options) if wanted else [])
    sides: List[compare.Side] = []
    for spec, kind in zip(args.sides, kinds):
        sides += sides_of_file(spec) if kind == "file" else [next(measured)]
    if len(sides) < 2:
        raise UsageError(f"{args.sides[0]}: one set of cells; compare needs two (two files, or a file of a "
                         "--python run)")
    return list(zip(sides, sides[1:]))


def split_measuring_options(argv: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(compare's own arguments, the main command's options for measuring interpreters now), wherever
    the latter stand: ``--workload countdown 3.11 3.13t`` must not read 'countdown' as a side."""
    from gilcore.cli import build_parser as main_parser

    own = build_parser()._option_string_actions  # argparse's table of option strings
    measuring = main_parser()._option_string_actions
    mine: List[str] = []
    passed: List[str] = []
    tokens = iter(argv)
    for token in tokens:
        name = token.split("=", 1)[0]
        if name in measuring and name not in own:
            passed.append(token)
            if "=" not in token and measuring[name].nargs != 0:
                passed += [value for value in [next(tokens, None)] if value is not None]
        else:
            mine.append(token)
    return mine, passed


def main(argv: Sequence[str]) -> int:
    mine, options = split_measuring_options(argv)
    args = build_parser().parse_args(mine)
    if args.list:
        if args.sides or options:
            raise UsageError("--list takes no sides: it lists what there is to compare")
        from gilcore.cli.measured import lines

        try:
            print("\n".join(lines(args.results)), flush=True)
        except BrokenPipeError:  # `| head`: the reader had enough; no traceback, and none at exit's flush
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if not args.sides:
        raise UsageError("what to compare: two sides (or an asv: selector), or --list for the commits measured")
    _percent(args.min_change, "--min-change")
    _percent(args.fail_on_regression, "--fail-on-regression")
    try:
        pairs = pairs_to_compare(args, options)
    except MeasurementFailed as error:
        print(f"gilcore compare: {error}")
        return 1
    # A regression CI is told about is one the table lists: a lower --fail-on-regression lowers the bar for both.
    least = min(args.min_change, args.fail_on_regression if args.fail_on_regression is not None else math.inf)
    results = [(compare.compare(a, b, least / 100), a, b) for a, b in pairs]
    regressions = [(result, cell, change) for result, _, _ in results
                   for cell, change in (result.regressions(args.fail_on_regression)
                                        if args.fail_on_regression is not None else [])]
    if args.json:
        print(json.dumps({"comparisons": [dict(result.to_dict(), a_build=a.build, b_build=b.build,
                                               a_machine=a.machine, b_machine=b.machine)
                                          for result, a, b in results],
                          "regressions": [{"a": r.a, "b": r.b, "cell": cell.name, **change.to_dict()}
                                          for r, cell, change in regressions]}, indent=1, default=repr))
    else:
        for index, (result, a, b) in enumerate(results):
            if index:
                print()
            print_comparison(result, a, b)
    if regressions:
        worst = min(regressions, key=lambda item: item[2].ratio if item[2].quantity == compare.SPEEDUP
                    else 1 / item[2].ratio)
        print(f"gilcore compare: {len(regressions)} regression(s) beyond {args.fail_on_regression:g} %, e.g. "
              f"{worst[1].name} {worst[2].quantity} {worst[2].percent:+.1f} % ({worst[0].a} -> {worst[0].b})",
              file=sys.stderr)
        return 1
    return 0
