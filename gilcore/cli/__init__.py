"""``python -m gilcore``: which workaround of the GIL wins here, for the built-in workloads or yours.

The default run takes about two minutes on 2 cores (the main workloads, one
strategy of each family, 1 worker and all cores); ``--full`` measures every
workload, strategy and worker count. Each cell is measured in at least 3
runs (fresh processes, gilcore.cli.rounds), each run opening with an A/A control
(this machine's noise figure at that moment); a progress bar (plain lines when stderr is not a
terminal) shows the time left; the table marks the best strategy per
workload. ``--output FILE`` keeps every cell the moment it is measured and
``show FILE`` prints the table again; ``--python`` compares interpreters.
Bad input exits 2 with one line, before anything starts.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from gilcore.gil import describe_interpreter, free_threaded_build, gil_enabled
from gilcore.cli.interrupt import BoundedInterrupt
from gilcore.cli.plan import QUICK_MAX_PAIRS, Plan, check_run_options, make_plan, parse_size, parse_workers
from gilcore.cli.rounds import MAX_RUNS, PAIRS_PER_RUN
from gilcore.cli.runlog import Run, RunLog, read_runs
from gilcore.cli.table import not_applicable_summary
from gilcore.errors import UsageError, UsageParser
from gilcore.rules import MIN_RUNS
from gilcore.strategies import STRATEGIES

USAGE_EXIT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(prog="python -m gilcore", description=__doc__.splitlines()[0],
                     epilog="Subcommands: `show FILE` (the table of a saved run), `report` (cross-version "
                            "report from asv results), `interpreters` (the countdown on every interpreter "
                            "found), `gil` (probes of the GIL itself), `site` (the published site).")
    parser.add_argument("--workload", action="append", metavar="NAME",
                        help="a workload name or module:function (repeatable; default: the main workloads)")
    parser.add_argument("--strategy", action="append", metavar="NAME",
                        help=f"a strategy (repeatable; default: one of each family): {', '.join(STRATEGIES)}")
    parser.add_argument("--workers", type=str, metavar="LIST",
                        help="worker counts, e.g. 1,2,4 (default: 1 and all cores; --full: 1, 2, 4 ... cores)")
    parser.add_argument("--size", type=str, help="problem size for every workload (default: a quick size "
                                                 "per workload; --full: each one's own)")
    parser.add_argument("--full", action="store_true",
                        help="every workload, strategy and worker count at full sizes (many minutes on 2 cores)")
    parser.add_argument("--runs", type=int, default=MIN_RUNS,
                        help=f"fewest runs per cell, each a fresh process at another moment (default {MIN_RUNS})")
    parser.add_argument("--max-runs", type=int, metavar="N",
                        help=f"most runs per cell while the between-run interval is wide (default {MAX_RUNS})")
    parser.add_argument("--repeats", type=int, default=PAIRS_PER_RUN,
                        help=f"fewest interleaved serial/parallel pairs per cell and run (default {PAIRS_PER_RUN})")
    parser.add_argument("--max-repeats", type=int, metavar="N",
                        help=f"most pairs per cell and run while their spread is wide (default {PAIRS_PER_RUN}; "
                             f"--full: {QUICK_MAX_PAIRS})")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is abandoned")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--output", metavar="FILE",
                        help="write each cell to FILE as a JSON line the moment it is measured (see `show`)")
    parser.add_argument("--python", action="append", metavar="PATH_OR_VERSION",
                        help="run the same cells with this interpreter too, e.g. 3.12, 3.13t or a path "
                             "(repeatable; one speedup column each)")
    parser.add_argument("--list", action="store_true", help="list the planned cells and exit")
    # A child of --python: a strategy named but unavailable on this interpreter is listed, not an error.
    parser.add_argument("--skip-unavailable", action="store_true", help=argparse.SUPPRESS)
    return parser


def plan_from_args(args: argparse.Namespace) -> Plan:
    """Validate every input and list the cells; raises UsageError before anything runs."""
    workers = parse_workers(args.workers)
    size = parse_size(args.size)
    check_run_options(args)
    return make_plan(args.workload, args.strategy, workers, size, full=args.full,
                     strict=not args.skip_unavailable)


def _gilcore_version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return "unknown"
    try:
        return version("gilcore")
    except PackageNotFoundError:
        return "source"


def run_header(plan: Plan, argv: Sequence[str]) -> Dict[str, Any]:
    """The run's header; its A/A controls come one per measuring round ("aa" records)."""
    from gilcore.provenance import this_build, this_machine

    return {"gilcore": _gilcore_version(), "python": describe_interpreter(), "executable": sys.executable,
            "build": this_build(with_config_args=True), "machine": this_machine(),  # what compare tells apart
            "cpus": os.cpu_count(), "gil_enabled": gil_enabled(), "free_threaded": free_threaded_build(),
            "plan": [list(key) for key in plan.keys], "argv": list(argv), "started": time.time()}


def _print_plan(plan: Plan) -> None:
    for cell in plan.cells:
        size = "own size" if cell.size is None else f"size {cell.size}"
        print(f"{cell.workload.name:<22} {cell.strategy.name:<18} x{cell.workers:<3} {size}")
    for name, reason in plan.unavailable.items():
        print(f"unavailable: {name}: {reason}")
    for text in plan.requested_not_applicable:
        print(f"not applicable: {text}")
    others = len(plan.not_applicable) - len(plan.requested_not_applicable)
    summary = f"; {not_applicable_summary(others, bool(plan.requested_not_applicable))}" if others else ""
    print(f"{len(plan.cells)} cells planned{summary}")


def main_table(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.python:
        from gilcore.cli.multipython import main_compare

        return main_compare(args)
    plan = plan_from_args(args)
    if args.list:
        _print_plan(plan)
        return 0
    from gilcore.cli import table
    from gilcore.cli.progress import Progress

    with RunLog(args.output) as log:  # opened first: an unwritable --output is a usage error
        started = time.perf_counter()
        run = Run(header=run_header(plan, argv))
        log.write("header", **run.header)
        for name, reason in plan.unavailable.items():
            run.unavailable[name] = reason
            log.write("unavailable", name=name, reason=reason)
        for text in plan.not_applicable:
            run.add({"record": "not_applicable", "text": text, "requested": text in plan.requested_not_applicable})
            log.write("not_applicable", text=text, requested=text in plan.requested_not_applicable)
        if not args.json:
            for line in table.header_lines(run):
                print(line, flush=True)
        interrupted = False
        try:
            with Progress(plan.keys * args.runs) as progress:
                _measure_all(plan, args, run, log, progress)
        except KeyboardInterrupt:
            interrupted = True
        for cell in run.cells:
            log.write("cell", **cell)
        run.footer = {"seconds": time.perf_counter() - started, "interrupted": interrupted}
        log.write("footer", **run.footer)
    if args.json:
        print(json.dumps(run.to_json(), indent=1, default=repr))
    else:
        table.print_run(run, header=False)
    if interrupted:
        raise KeyboardInterrupt
    return 1 if run.failures else 0


def _measure_all(plan: Plan, args: argparse.Namespace, run: Run, log: RunLog, progress: Any) -> None:
    """Every planned cell in ``args.runs`` or more runs (gilcore.cli.rounds); ``run.cells`` holds the
    estimates over runs at the end, also when interrupted."""
    from gilcore.cli.rounds import measure_rounds
    from gilcore.cli.table import speedup_text

    current = {"round": 0}

    def on_round(index: int, keys: List[Tuple[str, str, int]]) -> None:
        current["round"] = index + 1
        if index >= args.runs:  # an extra round for the cells whose interval is still wide
            progress.replan(list(progress.pending) + keys)

    def on_record(record: Dict[str, Any]) -> None:
        kind = record["record"]
        if kind == "begin":
            progress.begin(f"run {current['round']}: {record['label']}")
            return
        run.add(record)  # before the file: a Ctrl-C between the two must not lose from the table what the file has
        log.write(kind, **{k: v for k, v in record.items() if k != "record"})
        if kind == "aa":
            progress.note(f"run {current['round']}: {record['aa']['describe']}")
        elif kind == "unavailable":
            progress.note(f"unavailable: {record['name']}: {record['reason']}")
        elif kind == "failure":
            progress.note(f"FAILED: {record['text']}")
            if record.get("workload"):
                progress.end((record["workload"], record["strategy"], record["workers"]), "FAILED")
        elif kind == "cell_run":
            progress.end((record["workload"], record["strategy"], record["workers"]), speedup_text(record))

    try:
        measure_rounds(plan.cells, args, on_record, on_round)
    finally:
        run.settle()


def main_show(argv: Sequence[str]) -> int:
    """``python -m gilcore show FILE [--json]``: the table (or JSON) of a run saved with --output."""
    parser = UsageParser(prog="python -m gilcore show", description=main_show.__doc__)
    parser.add_argument("file", help="a file written by `python -m gilcore --output FILE`")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args(argv)
    runs = read_runs(args.file)
    if args.json:
        document = runs[0].to_json() if len(runs) == 1 else {"interpreters": [run.to_json() for run in runs]}
        print(json.dumps(document, indent=1, default=repr))
        return 0
    from gilcore.cli import table

    if len(runs) == 1:
        table.print_run(runs[0])
    else:
        table.print_comparison(runs)
    return 0


SUBCOMMANDS = {
    "report": "gilcore.publish.report:main",
    "interpreters": "gilcore.cli.interpreters:main",
    "gil": "gilcore.cli.gil:main",
    "site": "gilcore.publish.site:main",
    "show": "gilcore.cli:main_show",
    "compare": "gilcore.cli.compare:main",
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with BoundedInterrupt():  # a Ctrl-C shuts everything down, and within a bounded time
            if argv and argv[0] in SUBCOMMANDS:
                import importlib

                module_name, _, function = SUBCOMMANDS[argv[0]].partition(":")
                return int(getattr(importlib.import_module(module_name), function)(argv[1:]) or 0)
            return main_table(argv)
    except UsageError as error:
        print(f"gilcore: error: {error}", file=sys.stderr)
        return USAGE_EXIT
    except KeyboardInterrupt:
        print("gilcore: interrupted; every worker was shut down", file=sys.stderr)
        return 130
