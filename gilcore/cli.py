"""``python -m gilcore``: every workload x strategy x worker count on this interpreter.

One line per cell with the speedup over the serial run of the same kernel,
progress on stderr, ``--json`` for machines, and a line per strategy this
interpreter cannot run saying why. Bad input exits 2 before anything starts.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from gilcore.gil import GilStateError, describe_interpreter, gil_enabled
from gilcore.runner import (MAX_WORKERS, ChecksumError, Result, UsageError, applicability, check_positive_int,
                            measure, resolve_strategy, resolve_workload)
from gilcore.strategies import STRATEGIES, Strategy, WorkerError
from gilcore.workloads import WORKLOADS, Workload

USAGE_EXIT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other usage error
        raise UsageError(message)


def _int_list(text: str) -> List[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--workers takes whole numbers separated by commas, not {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m gilcore", description=__doc__.splitlines()[0],
                     epilog="Subcommands: `report` (cross-version report from asv results), "
                            "`interpreters` (the countdown on every interpreter found).")
    parser.add_argument("--workload", action="append", metavar="NAME",
                        help="a workload name or module:function (repeatable; default: all)")
    parser.add_argument("--strategy", action="append", metavar="NAME",
                        help=f"a strategy (repeatable; default: all): {', '.join(STRATEGIES)}")
    parser.add_argument("--workers", type=str, metavar="LIST",
                        help="worker counts, e.g. 1,2,4 (default: 1..number of CPUs)")
    parser.add_argument("--size", type=str, help="problem size for every workload (default: each one's own)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved serial/parallel pairs per cell")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is abandoned")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _parse_size(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    try:
        size = int(text.replace("_", ""))
    except ValueError:
        raise UsageError(f"--size must be a whole number, not {text!r}") from None
    return check_positive_int(size, "size")


def plan(args: argparse.Namespace) -> Tuple[List[Tuple[Workload, Strategy, int]], Dict[str, str], List[str]]:
    """Validate every input and list the cells; raises UsageError before anything runs."""
    workloads = [resolve_workload(name) for name in (args.workload or WORKLOADS)]
    strategies = [resolve_strategy(name) for name in (args.strategy or STRATEGIES)]
    # `is not None`: an empty --workers is a mistake to report, not a request for the default grid
    workers = _int_list(args.workers) if args.workers is not None else list(range(1, (os.cpu_count() or 1) + 1))
    if not workers:
        raise UsageError("--workers needs at least one number")
    for count in workers:
        check_positive_int(count, "workers", MAX_WORKERS)
    check_positive_int(args.repeats, "--repeats")
    if not args.timeout > 0:  # also NaN
        raise UsageError(f"--timeout must be positive, not {args.timeout}")
    unavailable = {s.name: reason for s in strategies if (reason := s.unavailable_reason())}
    if args.strategy and unavailable:
        name, reason = next(iter(unavailable.items()))
        raise UsageError(f"strategy {name} is unavailable here: {reason}")
    cells, skipped = [], []
    for workload in workloads:
        for strategy in strategies:
            if strategy.name in unavailable:
                continue
            reason = applicability(workload, strategy)
            if reason:
                skipped.append(f"{workload.name} x {strategy.name}: {reason}")
                continue
            for count in workers:
                if strategy.name == "serial" and count != 1 and not args.strategy:
                    continue  # serial at W>1 is serial again: shown once
                cells.append((workload, strategy, count))
    if not cells:
        raise UsageError("no cell to run: " + ("; ".join(skipped) or "every strategy chosen is unavailable"))
    return cells, unavailable, skipped


def _progress(index: int, total: int, text: str) -> None:
    end = "\r" if sys.stderr.isatty() else "\n"
    print(f"[{index}/{total}] {text}".ljust(60), end=end, file=sys.stderr, flush=True)


def _format_row(result: Result) -> str:
    low, high = result.speedup_range or (0.0, 0.0)
    return (f"{result.workload:<22} {result.strategy:<18} {result.workers:>3} {result.serial_median:>9.3f} "
            f"{result.seconds:>9.3f} {result.speedup:>7.2f}x {low:>5.2f}-{high:<5.2f} "
            f"{result.startup_seconds:>8.3f} {str(result.gil_enabled):>5}")


HEADER = (f"{'workload':<22} {'strategy':<18} {'W':>3} {'serial s':>9} {'parallel':>9} {'speedup':>8} "
          f"{'range':<11} {'start-up':>8} {'GIL':>5}")


def main_table(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    args.size = _parse_size(args.size)
    cells, unavailable, skipped = plan(args)
    results: List[Dict[str, Any]] = []
    failures: List[str] = []
    started = time.perf_counter()
    if not args.json:
        print(f"gilcore on {describe_interpreter()} ({sys.executable}), {os.cpu_count()} CPUs, "
              f"GIL enabled: {gil_enabled()}")
        print(HEADER)
    for index, (workload, strategy, workers) in enumerate(cells, 1):
        _progress(index, len(cells), f"{workload.name} {strategy.name} x{workers}")
        try:
            result = measure(workload, strategy, workers, args.size, repeats=args.repeats, timeout=args.timeout)
        except (ChecksumError, WorkerError, GilStateError, OSError, TimeoutError) as error:
            failures.append(f"{workload.name} x {strategy.name} x{workers}: {error}")
            continue
        results.append(result.to_dict())
        if not args.json:
            print(_format_row(result), flush=True)
    if sys.stderr.isatty():
        print(" " * 60, end="\r", file=sys.stderr)
    if args.json:
        print(json.dumps({"python": describe_interpreter(), "executable": sys.executable,
                          "cpus": os.cpu_count(), "gil_enabled": gil_enabled(), "cells": results,
                          "unavailable": unavailable, "not_applicable": skipped, "failures": failures,
                          "seconds": time.perf_counter() - started}, indent=1))
    else:
        for name, reason in unavailable.items():
            print(f"unavailable: {name}: {reason}")
        for failure in failures:
            print(f"FAILED: {failure}")
        print(f"{len(results)} cells in {time.perf_counter() - started:.0f} s; speedup = median serial "
              "time / median parallel time of the same kernel and size, interleaved in one process")
    return 1 if failures else 0


SUBCOMMANDS = {
    "report": "gilcore.report:main",
    "interpreters": "gilcore.interpreters:main",
    "gil": "gilcore.gilprobes.cli:main",
    "site": "gilcore.site:main",
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
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
