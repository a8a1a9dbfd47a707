"""``python -m gilcore`` measured in runs: the plan in rounds, each round one fresh child process.

A run is the unit of replication (gilcore.replication): pairs inside one
process share its luck, so each cell is measured in at least ``--runs``
rounds (3 by default), each round a new process at a later moment that first
measures its own A/A control, then every cell of the round with a few pairs
(one S P, one P S). The cells' order changes from round to round (rotated,
and reversed every other round), so neither a drift nor a neighbour favours a
cell. After the minimum, a cell whose between-run interval is still wider
than +-5 % gets another round, up to ``--max-runs``, while a time budget
lasts (a quarter of the minimum rounds' time): the default run stays near two
minutes.

The parent keeps every record as it arrives (``--output``) and, at the end,
one cell per planned cell: the hierarchical estimate over its runs with its
"runs x pairs". A child reads its request on stdin, speaks JSON lines on its
stdout (its own prints go to stderr), and its exit says nothing a record has
not said already.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

from gilcore import replication, times
from gilcore.ratios import TARGET_HALF_WIDTH

Key = Tuple[str, str, int]
PAIRS_PER_RUN = 2  # one serial-first and one parallel-first pair: the order's bias cancels in every run
MAX_RUNS = 5
EXTRA_PAIRS_PER_RUN = 2  # pairs that may replace ones measured under load, per cell and run
EXTRA_BUDGET_SHARE = 0.25  # extra rounds may take this share of the minimum rounds' time
AA_PAIRS_PER_RUN = 4
AA_SIZE = 1_000_000  # ~25 ms per half on 3.11: 4 pairs cost ~0.2 s per run


def cell_spec(planned: Any, given: Sequence[str] = ()) -> Dict[str, Any]:
    """What a child needs to rebuild one planned cell: names only, so any interpreter can. A user's
    Workload object is named by what the user gave ('module:NAME'), not by its own name."""
    from gilcore.runner import resolve_workload

    workload = planned.workload.name
    for spec in given:
        if ":" in spec and resolve_workload(spec).name == workload:
            workload = spec
    return {"workload": workload, "strategy": planned.strategy.name, "workers": planned.workers,
            "size": planned.size}


def key_of(record: Dict[str, Any]) -> Key:
    return str(record["workload"]), str(record["strategy"]), int(record["workers"])


def round_order(cells: Sequence[Any], index: int) -> List[Any]:
    """The cells of round ``index``: rotated by the round number, reversed every other round."""
    cells = list(cells)
    if not cells:
        return cells
    shift = index % len(cells)
    rotated = cells[shift:] + cells[:shift]
    return rotated[::-1] if index % 2 else rotated


def needs_another_run(cell: replication.CellEstimate, max_runs: int) -> bool:
    """More runs can still tighten this cell: its interval is wide, it is not flagged over the limit
    (more noise would not make it a number), and it has not had ``max_runs`` runs."""
    if len(cell.runs) >= max_runs or cell.over_limit:
        return False
    return cell.relative_half_width > TARGET_HALF_WIDTH


def estimates(records: Sequence[Dict[str, Any]]) -> Dict[Key, Tuple[Dict[str, Any], replication.CellEstimate]]:
    """Per planned cell: its newest run's record and the estimate over all its runs."""
    stored = [r for r in records if r.get("record") in ("cell_run", "aa")]
    by_cell = replication.estimate_all(stored)
    newest = {key_of(r): r for r in stored if r.get("record") == "cell_run"}
    return {key: (r, by_cell[(r["benchmark"], tuple(r["params"]), r["env"])]) for key, r in newest.items()}


def aggregate(records: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The cells of a run file, in the order first measured: the newest run's settings, the estimate over
    every run with its "runs x pairs", flags, and each run's own figures. The times shown are estimated
    as the speedup is, per run then over runs (gilcore.times): ``parallel_time`` and ``serial_time`` (its
    own halves), ``kernel_serial_time`` (the serial halves of every cell of its kernel and size, pooled
    per run: what other interpreters are set against); ``seconds`` and ``serial_median`` are their values."""
    by_cell = estimates(records)
    kernels: Dict[Tuple[str, str, Any], List[List[replication.RunMeasurement]]] = {}
    for record, estimate in by_cell.values():
        kernels.setdefault(_kernel_of(record), []).append(estimate.runs)
    pooled = {kernel: times.pooled_serial_time(runs) for kernel, runs in kernels.items()}
    cells = []
    for record, estimate in by_cell.values():
        row = {k: v for k, v in record.items() if k not in ("record", "run", "benchmark", "params", "env", "commit")}
        parallel, serial = times.cell_time(estimate.runs, times.PARALLEL), times.cell_time(estimate.runs, times.SERIAL)
        kernel_serial = pooled[_kernel_of(record)]
        row.update(estimate.to_dict(), n=estimate.pairs_used, over_limit=estimate.over_limit,
                   noisy=bool(set(estimate.flags) - {"over limit"}),
                   capacity_limited="capacity-limited" in estimate.flags,
                   pairs=[pair for run in estimate.runs for pair in run.pairs],
                   run_measurements=[{"run": run.run_id, "session": run.session, "measured_at": run.measured_at,
                                      "estimate": run.estimate, "aa_in_bounds": run.aa_in_bounds,
                                      "pairs": len(run.pairs)} for run in estimate.runs])
        for name, value in (("parallel_time", parallel), ("serial_time", serial),
                            ("kernel_serial_time", kernel_serial)):
            row[name] = value.to_dict() if value else None
        if parallel:
            row["seconds"] = parallel.seconds
        if serial:
            row["serial_median"] = serial.seconds
        cells.append(row)
    return cells


def _kernel_of(record: Dict[str, Any]) -> Tuple[str, str, Any]:
    return str(record.get("workload")), str(record.get("kernel", "")), record.get("size")


def measure_rounds(planned: Sequence[Any], args: argparse.Namespace,
                   on_record: Callable[[Dict[str, Any]], None], on_round: Callable[[int, List[Key]], None]) -> None:
    """Run the rounds; every record goes to ``on_record`` as it arrives; ``on_round(index, keys)`` first."""
    specs = {(p.workload.name, p.strategy.name, p.workers): cell_spec(p, args.workload or ()) for p in planned}
    records: List[Dict[str, Any]] = []
    skipped: set = set()  # workloads found unavailable and cells that failed in a round: not asked again

    def keep(record: Dict[str, Any]) -> None:
        records.append(record)
        if record.get("record") == "unavailable":
            skipped.add(record.get("name"))
        elif record.get("record") == "failure" and record.get("workload"):
            skipped.add(key_of(record))
        on_record(record)

    started = time.perf_counter()
    budget = None
    for index in range(max(args.runs, args.max_runs)):
        keys = list(specs)
        if index >= args.runs:
            if budget is None:
                budget = (time.perf_counter() - started) * (1 + EXTRA_BUDGET_SHARE)
            if time.perf_counter() - started >= budget:
                break
            so_far = estimates(records)
            keys = [key for key in keys if key in so_far and needs_another_run(so_far[key][1], args.max_runs)]
        keys = [key for key in keys if specs[key]["workload"] not in skipped and key not in skipped]
        if not keys:
            break
        on_round(index, keys)
        if not run_child_round([specs[key] for key in round_order(keys, index)], args, keep):
            break  # a round that crashed would crash again


def run_child_round(specs: Sequence[Dict[str, Any]], args: argparse.Namespace,
                    on_record: Callable[[Dict[str, Any]], None]) -> bool:
    """One round: a fresh child process (ROUND_CODE) measuring ``specs``; its records to ``on_record``.
    False when the child crashed (said as a failure record)."""
    request = {"cells": list(specs), "pairs": args.repeats, "max_pairs": args.max_repeats, "timeout": args.timeout,
               "sys_path": sys.path}
    child = subprocess.Popen([sys.executable, "-c", ROUND_CODE], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps(request) + "\n")
        child.stdin.close()
        for line in child.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("record"):
                on_record(record)
        if child.wait() not in (0, 130):  # a crash, not a cell's failure (those are records): said, not hidden
            on_record({"record": "failure", "text": f"a measuring round (a child process) exited with status "
                                                    f"{child.returncode}; its stderr is above"})
            return False
        return True
    finally:
        if child.poll() is None:  # interrupted: the child got the same Ctrl-C; give it time to clean up
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if child.stdout is not None:
            child.stdout.close()


# ---------------------------------------------------------------------------------------- the child

# The child imports what its parent imports: the parent's sys.path (its cwd or PYTHONPATH, or the
# cleaned path of a --python venv) comes with the request, before gilcore itself is imported.
ROUND_CODE = ("import json, sys\n"
              "request = json.loads(sys.stdin.readline())\n"
              "sys.path[:] = request['sys_path']\n"
              "from gilcore.cli.rounds import child_main\n"
              "sys.exit(child_main(request))\n")


def child_main(request: Dict[str, Any]) -> int:
    """Measure the round's request, writing one JSON line per record on stdout."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # a workload's print must not break the records

    def emit(record: str, **body: Any) -> None:
        out.write(json.dumps({"record": record, **body}, default=repr, allow_nan=True) + "\n")

    try:
        _measure_round(request, emit)
    except KeyboardInterrupt:
        return 130
    finally:
        out.flush()
    return 0


def _measure_round(request: Dict[str, Any], emit: Callable[..., None]) -> None:
    from gilcore.gil import GilStateError, describe_interpreter
    from gilcore.noise import aa_control
    from gilcore.cli.optional import import_error_reason
    from gilcore.runner import ChecksumError, UsageError, measure
    from gilcore.strategies import WorkerError

    run = replication.this_run()
    where = {"run": run, "env": describe_interpreter(), "commit": ""}
    control = aa_control(pairs=AA_PAIRS_PER_RUN, size=AA_SIZE)
    emit("aa", aa={**control.to_dict(), "describe": control.describe()}, **where)
    unavailable: set = set()
    for spec in request["cells"]:
        label = f"{spec['workload']} x {spec['strategy']} x{spec['workers']}"
        if spec["workload"] in unavailable:
            continue
        emit("begin", label=label, workload=spec["workload"], strategy=spec["strategy"], workers=spec["workers"])
        try:
            result = measure(spec["workload"], spec["strategy"], spec["workers"], spec["size"],
                             repeats=request["pairs"], max_repeats=request["max_pairs"], timeout=request["timeout"],
                             extra_pairs=EXTRA_PAIRS_PER_RUN, probe_before=False)
        except ImportError as error:  # a package a kernel needs is missing: the workload cannot run here
            unavailable.add(spec["workload"])
            emit("unavailable", name=spec["workload"], reason=import_error_reason(error))
            continue
        except (ChecksumError, WorkerError, GilStateError, UsageError, OSError, TimeoutError) as error:
            emit("failure", text=f"{label}: {error}", workload=spec["workload"], strategy=spec["strategy"],
                 workers=spec["workers"])
            continue
        emit("cell_run", **{**result.to_dict(), **where, "benchmark": spec["workload"],
                            "params": [spec["strategy"], str(spec["workers"])]})

