"""``python -m gilcore gil``: what the GIL does to threads, measured on this Python (or another).

    python -m gilcore gil switch     [--intervals 0.5,1,5,20,50] [--count N] [--repeats R] [--json]
    python -m gilcore gil convoy     [--loads idle,threads:1,threads:2,processes:2,cython:2]
                                     [--kinds socket-thread,socket-process,event] [--budget S] [--python PATH] [--json]
    python -m gilcore gil contention [--methods checkpoints,cpu-time,py-spy] [--workers 1,2] [--seconds S]
                                     [--python PATH] [--json]
    python -m gilcore gil timeline   [--strategy threads] [--workers 2] [--duration-ms 150] [--gap-us 200]
                                     [--best-of N] [--out FILE.svg] [--python PATH] [--json]

Bad input exits 2 with one line before anything starts; a probe that fails on
another interpreter exits 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import List, Optional, Sequence
from gilcore.gil import free_threaded_build, gil_enabled
from gilcore.gilprobes import contention, convoy, switching, timeline
from gilcore.pythons.interpreters import ProbeError
from gilcore.errors import UsageError, UsageParser


def _floats(text: str, what: str) -> List[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{what} takes numbers separated by commas, not {text!r}") from None


def _ints(text: str, what: str) -> List[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{what} takes whole numbers separated by commas, not {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(prog="python -m gilcore gil", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="{switch,convoy,contention,timeline}")
    commands.required = True

    switch = commands.add_parser("switch", help="2 CPU-bound threads vs serial at several switch intervals")
    switch.add_argument("--intervals", default="0.5,1,5,20,50", help="sys.setswitchinterval values in ms")
    switch.add_argument("--count", type=int, default=switching.DEFAULT_COUNT, help="countdown iterations in all")
    switch.add_argument("--repeats", type=int, default=switching.DEFAULT_REPEATS, help="interleaved runs of each")
    switch.add_argument("--json", action="store_true")

    conv = commands.add_parser("convoy", help="latency of an I/O thread beside CPU-bound work")
    conv.add_argument("--loads", help="comma-separated: idle, threads:N, processes:N, cython:N "
                                      "(default: idle,threads:1,threads:N,processes:N,cython:N with N = CPUs)")
    conv.add_argument("--kinds", default=",".join(convoy.KINDS), help="what the I/O thread waits for")
    conv.add_argument("--budget", type=float, default=convoy.DEFAULT_BUDGET_S, help="seconds per cell")
    conv.add_argument("--max-ops", type=int, default=convoy.DEFAULT_MAX_OPS, help="operations per cell at most")
    conv.add_argument("--python", help="run with this interpreter instead (a path, or a name from "
                                       "`python -m gilcore interpreters`); 2.7 works")
    conv.add_argument("--json", action="store_true")

    cont = commands.add_parser("contention", help="share of the time CPU-bound threads wait for the GIL")
    cont.add_argument("--methods", default=",".join(contention.METHODS), help="checkpoints, cpu-time, py-spy")
    cont.add_argument("--workers", default="1,2", help="thread counts, e.g. 1,2,4")
    cont.add_argument("--seconds", type=float, default=contention.DEFAULT_SECONDS, help="length of each run")
    cont.add_argument("--python", help="run the checkpoints method with this interpreter instead")
    cont.add_argument("--json", action="store_true")

    line = commands.add_parser("timeline", help="when each worker ran, drawn as an SVG")
    line.add_argument("--strategy", default="threads",
                      help="a gilcore strategy (threads, cython-threads, pool-fork, process-executor, "
                           "subinterpreters, interpreter-pool, ...); with --python: threads or processes")
    line.add_argument("--workers", type=int, default=2)
    line.add_argument("--duration-ms", type=float, default=timeline.DEFAULT_DURATION_MS)
    line.add_argument("--gap-us", type=float, default=timeline.DEFAULT_GAP_US,
                      help="a pause longer than this between two clock reads counts as not running")
    line.add_argument("--best-of", type=int, default=1,
                      help="record this many runs and keep the one other programs disturbed least")
    line.add_argument("--out", help="the SVG to write (default: timeline-<python>-<strategy>.svg here)")
    line.add_argument("--python", help="run with this interpreter instead (threads or processes only)")
    line.add_argument("--json", action="store_true", help="also print the recorded stretches as JSON")
    return parser


def _here() -> str:
    return timeline.python_label(sys.implementation.name, ".".join(map(str, sys.version_info[:3])),
                                 free_threaded_build())


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=1, default=lambda o: asdict(o)))


def _switch(args: argparse.Namespace) -> int:
    intervals = _floats(args.intervals, "--intervals")
    switching.check_inputs(intervals, args.count, args.repeats)
    rows = switching.run(intervals, args.count, args.repeats)
    if args.json:
        _print_json({"python": _here(), "gil_enabled": gil_enabled(), "rows": rows})
    else:
        print(switching.format_table(rows, _here()))
    return 0


def _convoy(args: argparse.Namespace) -> int:
    kinds = convoy.parse_kinds(args.kinds)
    loads = convoy.parse_loads(args.loads) if args.loads is not None else None
    convoy.check_budget(args.budget, args.max_ops)
    if args.python:
        result = convoy.run_external(args.python, loads, kinds, args.budget, args.max_ops)
    else:
        result = convoy.run(loads, kinds, args.budget, args.max_ops)
    if args.json:
        _print_json(result)
    else:
        print(convoy.format_table(result))
    return 0


def _contention(args: argparse.Namespace) -> int:
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    workers = _ints(args.workers, "--workers")
    contention.check_inputs(methods, workers, args.seconds)
    if args.python:
        if methods != list(contention.METHODS) and methods != ["checkpoints"]:
            raise UsageError("with --python only the checkpoints method runs")
        rows = contention.run_external(args.python, workers, args.seconds)
        python = rows[0].note.rsplit(" on ", 1)[-1] if rows else args.python
    else:
        rows = contention.run(methods, workers, args.seconds)
        python = _here()
    if args.json:
        _print_json({"python": python, "rows": rows})
    else:
        print(contention.format_table(rows, python))
    return 0


def _timeline(args: argparse.Namespace) -> int:
    timeline.check_sizes(args.workers, args.duration_ms, args.gap_us)
    if args.out is not None:
        folder = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(folder):
            raise UsageError(f"--out {args.out}: the folder {folder} does not exist")
    if args.python:
        take = lambda: timeline.record_external(args.python, args.strategy, args.workers,  # noqa: E731
                                                args.duration_ms, args.gap_us)
    else:
        take = lambda: timeline.record(args.strategy, args.workers, args.duration_ms, args.gap_us)  # noqa: E731
    recorded = timeline.best_of(args.best_of, take)
    out = args.out or f"timeline-{recorded.python.split()[-1]}-{args.strategy}.svg"
    recorded.write_svg(out)
    if args.json:
        _print_json(dict(recorded.to_dict(), svg=out))
    else:
        print(recorded.title)
        print(recorded.summary)
        print(f"wrote {out}")
    return 0


COMMANDS = {"switch": _switch, "convoy": _convoy, "contention": _contention, "timeline": _timeline}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m gilcore gil``; gilcore.cli turns UsageError into one line and exit 2."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return COMMANDS[args.command](args)
    except ProbeError as error:
        print(f"gilcore: gil {args.command}: {error}", file=sys.stderr)
        return 1
