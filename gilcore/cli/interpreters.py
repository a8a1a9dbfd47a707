"""``python -m gilcore interpreters``: the reference article's countdown on every Python here.

Prints serial time, 2-thread and Pool(2) speedups and pool start-up per
interpreter (gilcore.pythons.interpreters finds and probes them).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

from gilcore.errors import UsageError, UsageParser
from gilcore.pythons.interpreters import (DEFAULT_COUNT, DEFAULT_REPEATS, Interpreter, ProbeError, check_sizes, discover,
                                          missing, probe, resolve)


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(prog="python -m gilcore interpreters", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="the countdown's COUNT (default: 10,000,000)")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="interleaved runs of each mode")
    parser.add_argument("--timeout", type=float, help="seconds per interpreter (default: by count, longer for Jython)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--only", nargs="+", action="extend", metavar="NAME", help="only these interpreters")
    return parser


def plan(args: argparse.Namespace) -> List[Interpreter]:
    """Validates every input; raises UsageError before anything runs."""
    check_sizes(args.count, args.repeats, prefix="--")
    if args.timeout is not None and not args.timeout > 0:
        raise UsageError(f"--timeout must be positive, not {args.timeout}")
    found = discover()
    if not args.only:
        return found
    chosen: List[Interpreter] = []
    for name in args.only:  # the names every subcommand takes: 3.13t, cpython-3.13.5t, a path
        interpreter = resolve(name, found, option="--only")
        if interpreter not in chosen:
            chosen.append(interpreter)
    return chosen


def _x(value: Optional[float]) -> str:
    return f"x{value:.2f}" if value is not None else "n/a"


def _s(value: Optional[float]) -> str:
    return f"{value:.3f}" if value is not None else "n/a"


HEADER = (f"{'interpreter':<18} {'version':<8} {'GIL':<9} {'serial s':>9} {'2 threads':>9} {'Pool(2)':>8} "
          f"{'pool start-up s':>15} {'spread':>7}")


def format_row(result: Dict[str, Any]) -> str:
    spreads = [v for v in (result.get("spread") or {}).values() if v is not None]
    spread = f"{max(spreads) * 100:.0f}%" if spreads else "n/a"
    return (f"{result['name']:<18} {result['version']:<8} {result['gil']:<9} {_s(result['serial_seconds']):>9} "
            f"{_x(result['threads_speedup']):>9} {_x(result['pool_speedup']):>8} "
            f"{_s(result['pool_startup_seconds']):>15} {spread:>7}")


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    chosen = plan(args)
    results: List[Dict[str, Any]] = []
    failures: List[str] = []
    absent = [f"{i.name}: {i.executable} not found" for i in chosen if not i.exists]
    runnable = [i for i in chosen if i.exists]
    if not args.only:
        absent += missing(chosen)
    started = time.perf_counter()
    for index, interpreter in enumerate(runnable, 1):
        _progress(f"[{index}/{len(runnable)}] {interpreter.name}: countdown({args.count:,}) x{args.repeats} ...")
        try:
            result = probe(interpreter, args.count, args.repeats, args.timeout)
        except ProbeError as error:
            failures.append(str(error))
            _progress(f"    FAILED: {error}")
            continue
        results.append(result)
        _progress(f"    {result['wall_seconds']:.1f} s")
    if args.json:
        print(json.dumps({"count": args.count, "repeats": args.repeats, "results": results,
                          "failures": failures, "missing": absent}, indent=1))
    else:
        _print_table(args, results, failures, absent, time.perf_counter() - started)
    return 1 if failures else 0


def _print_table(args: argparse.Namespace, results: List[Dict[str, Any]], failures: List[str],
                 absent: List[str], seconds: float) -> None:
    # the load shows when other work shared the cores: speedups near x1 everywhere then mean little
    load = f", load average {os.getloadavg()[0]:.1f} at the end" if hasattr(os, "getloadavg") else ""
    print(f"countdown(n): while n > 0: n -= 1, COUNT = {args.count:,} as two halves; "
          f"median of {args.repeats} interleaved runs; {os.cpu_count()} CPUs{load}")
    print(HEADER)
    for result in results:
        print(format_row(result))
    for result in results:
        if result.get("pool_unavailable"):
            print(f"{result['name']}: Pool(2) n/a: {result['pool_unavailable']}")
    for failure in failures:
        print(f"FAILED: {failure}")
    for line in absent:
        print(f"missing: {line}")
    print(f"{len(results)} interpreters in {seconds:.0f} s. 2 threads / Pool(2) = serial time over that mode's "
          "time; pool start-up (Pool(2) and a first round trip) is not in Pool(2); spread = (max - min) / "
          "median of the noisiest mode")
