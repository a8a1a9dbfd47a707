"""Across interpreters, wall time decides: the multi-interpreter table marks the cell of least wall time
best (not the highest speedup of its own interpreter), shows each cell against the fastest serial time
among the interpreters compared, and gives the interpreter the command runs with a column of its own."""
import argparse
import io
import os

import pytest

from gilcore import rules, times
from gilcore.cli import multipython, rounds, table
from gilcore.cli.runlog import Run

CPUS = 2


def cell_runs(python, strategy, workers, runs, kernel="python", size=1000):
    """One cell's records, one per run: ``runs`` is a list of runs, each a list of (serial, parallel)."""
    return [{"record": "cell_run", "workload": "countdown", "kernel": kernel, "size": size, "strategy": strategy,
             "workers": workers, "benchmark": "countdown", "params": [strategy, str(workers)], "env": python,
             "commit": "", "measured_at": index, "limit": rules.physical_limit(workers, CPUS, False),
             "run": {"id": f"{python}-{index}", "session": f"{python}-{index}"},
             "pairs": [{"serial": s, "parallel": p} for s, p in pairs]} for index, pairs in enumerate(runs)]


def aa(python, index, ratio=1.0, spread=0.01):
    run = f"{python}-{index}"
    return {"record": "aa", "aa": {"ratio": ratio, "spread": spread}, "env": python, "commit": "",
            "run": {"id": run, "session": run}, "measured_at": index}


def interpreter(python, records, gil=True):
    """A Run as the multi-interpreter command has it: cells aggregated from their run records."""
    return Run(header={"python": python, "cpus": CPUS, "gil_enabled": gil}, cells=rounds.aggregate(records),
               measurements=list(records), footer={"seconds": 1})


def steady(serial, parallel, runs=3, jitter=0.05):
    """Runs of two pairs each, run centres within about +-1.3 % of each other: intervals of about +-3 %."""
    return [[(serial * (1 + jitter * k), parallel * (1 + jitter * k)),
             (serial * (1 - jitter * k / 2), parallel * (1 - jitter * k / 2))] for k in (-1, 0, 1)[:runs]]


def issue_runs():
    """The issue's case: 3.13t threads at x1.83 (0.035 s) is no faster than serial 3.11 (0.032 s)."""
    gil = interpreter("cpython-3.11.7", cell_runs("cpython-3.11.7", "serial", 1, steady(0.032, 0.032))
                      + cell_runs("cpython-3.11.7", "threads", 2, steady(0.032, 0.033)))
    free = interpreter("cpython-3.13.5t", cell_runs("cpython-3.13.5t", "serial", 1, steady(0.064, 0.064))
                       + cell_runs("cpython-3.13.5t", "threads", 2, steady(0.064, 0.035)), gil=False)
    return [gil, free]


def test_least_wall_time_wins_not_the_highest_speedup():
    runs = issue_runs()
    verdict = table.wall_verdicts(runs)["countdown"]
    assert verdict.best[0] == "cpython-3.11.7" and verdict.best[1]["strategy"] == "serial"
    assert [(p, c["strategy"]) for p, c in verdict.ties] == [("cpython-3.11.7", "threads")]
    assert verdict.serial[0] == "cpython-3.11.7" and verdict.serial[1].seconds == pytest.approx(0.032, rel=1e-3)
    assert verdict.text().startswith("countdown: least wall time: cpython-3.11.7 serial x1, 0.032 s [")
    assert "= 1.00x against the fastest serial (cpython-3.11.7, 0.032 s [" in verdict.text()


def test_each_speedup_shows_its_time_against_the_fastest_serial():
    runs = issue_runs()
    out = io.StringIO()
    table.print_comparison(runs, out)
    text = out.getvalue()
    print(text)
    row = next(line for line in text.splitlines() if line.startswith("countdown") and "threads" in line)
    assert "1.83x [" in row and "= 0.91x vs cpython-3.11.7 serial" in row
    assert "0.97x [" in row and "= 0.97x vs cpython-3.11.7 serial ~ tie" in row
    assert "0.91x vs cpython-3.11.7 serial *" not in row  # not best
    serial_row = next(line for line in text.splitlines() if line.split("|")[1:2] == [" serial   "])
    assert "* best" in serial_row
    # within one interpreter the speedup verdict is still said, but as that interpreter's own
    assert "cpython-3.13.5t: countdown: threads x2 1.83x" in text


def test_a_faster_parallel_cell_on_another_interpreter_wins():
    runs = issue_runs()
    runs[1] = interpreter("cpython-3.13.5t", cell_runs("cpython-3.13.5t", "threads", 2, steady(0.040, 0.020)))
    verdict = table.wall_verdicts(runs)["countdown"]
    assert (verdict.best[0], verdict.best[1]["strategy"]) == ("cpython-3.13.5t", "threads")
    assert verdict.outcome == "faster"
    assert "= 1.60x against the fastest serial (cpython-3.11.7, 0.032 s [" in verdict.text()


def test_an_over_limit_cell_never_wins_on_time():
    runs = issue_runs()
    runs[1].cells[1].update(over_limit=True, parallel_time={"seconds": 0.001, "interval": None, "runs": 3})
    assert table.wall_verdicts(runs)["countdown"].best[1]["strategy"] == "serial"


def test_when_no_cell_beats_the_fastest_serial_run_none_is_best():
    # the CLI run of the issue with --strategy threads: no serial cell, 3.11's threads cell is noisy
    runs = issue_runs()
    for run in runs:
        del run.cells[0]
    runs[0].cells[0].update(noisy=True, flags=["noisy"])
    verdict = table.wall_verdicts(runs)["countdown"]
    assert verdict.best[0] == "cpython-3.13.5t" and verdict.outcome == "slower"
    text = verdict.text()
    assert text.startswith("countdown: nothing measured beats the fastest serial run (fastest cell: "
                           "cpython-3.13.5t threads x2, 0.035 s [")
    assert "] against 0.032 s [" in text and text.endswith("], cpython-3.11.7 serial)")
    out = io.StringIO()
    table.print_comparison(runs, out)
    assert "* best" not in out.getvalue() and "~ tie" not in out.getvalue()


def readme_case():
    """The README's sample, as its figures arose: 3.11 threads on a GIL build, as slow as serial in
    each run but wide from run to run; 3.11's pool-default measured once, in a run whose A/A control
    was out of bounds and whose serial halves were slow. The old table set the threads cell's newest
    run (0.028 s) against the median of the two cells' newest serial medians (0.037 s): 1.33x, beside
    'nothing beats serial'."""
    python = "cpython-3.11.7"
    threads = [[(0.022, 0.023), (0.023, 0.024)], [(0.035, 0.036), (0.034, 0.036)],
               [(0.027, 0.028), (0.028, 0.028)]]
    records = ([aa(python, 0), aa(python, 1), aa(python, 2), aa(python, 3, ratio=1.3, spread=0.4)]
               + cell_runs(python, "threads", 2, threads)
               + [dict(record, run={"id": f"{python}-3", "session": f"{python}-3"}, measured_at=3)
                  for record in cell_runs(python, "pool-default", 2, [[(0.046, 0.024), (0.047, 0.025)]])])
    return [interpreter(python, records)]


def test_the_times_shown_and_the_verdict_come_from_the_same_estimates():
    (run,) = readme_case()
    threads, pool = run.cells
    # the pool-default run's A/A control was out of bounds: its slow serial halves are not this
    # interpreter's serial time; the threads cell's serial and parallel times are its own, over runs
    assert pool["run_measurements"][0]["aa_in_bounds"] is False
    serial = table.kernel_serial_time(threads)
    assert serial == table.kernel_serial_time(pool)
    assert serial.runs == 3 and serial.seconds == pytest.approx(threads["serial_time"]["seconds"])
    parallel = table.cell_time(threads)
    assert parallel.runs == 3 and threads["seconds"] == parallel.seconds
    assert parallel.interval[0] < serial.seconds < parallel.interval[1]
    verdict = table.wall_verdicts([run])["countdown"]
    assert verdict.outcome == "within noise" and not verdict.beats_serial
    expected = (f"countdown: within noise of the fastest serial: cpython-3.11.7 threads x2, "
                f"{table.time_text(parallel)} against {table.time_text(serial)} (cpython-3.11.7 serial)")
    assert verdict.text() == expected
    # the row shows the same figures: the time over runs, its interval, the ratio of the two estimates
    assert table.against_fastest_serial(threads, table.fastest_serial([run])) == (
        f"{table.time_text(parallel)} = {serial.seconds / parallel.seconds:.2f}x vs cpython-3.11.7 serial")
    assert 0.9 < serial.seconds / parallel.seconds < 1.0  # a GIL build: threads no faster than serial


def test_a_time_is_per_run_then_over_runs():
    (run,) = readme_case()
    runs = next(iter(rounds.estimates(run.measurements).values()))[1].runs
    estimate = times.cell_time(runs, times.PARALLEL)
    centres = [(0.023 * 0.024) ** 0.5, 0.036, 0.028]  # each run's Hodges-Lehmann centre of its halves
    assert estimate.seconds == pytest.approx((centres[0] * centres[1] * centres[2]) ** (1 / 3))
    assert times.run_time_logs(runs, times.PARALLEL) == pytest.approx([__import__("math").log(c) for c in centres])
    one = times.over_runs([[0.030, 0.032]])  # one run: the interval of its pairs
    assert one.runs == 1 and one.interval[0] < 0.031 < one.interval[1]


def test_a_cell_with_no_usable_run_still_has_its_time():
    records = [aa("py", 0, ratio=1.5, spread=0.5)] + cell_runs("py", "threads", 2, [[(0.04, 0.02), (0.04, 0.02)]])
    (cell,) = rounds.aggregate(records)
    assert cell["parallel_time"]["seconds"] == pytest.approx(0.02)
    assert cell["kernel_serial_time"]["seconds"] == pytest.approx(0.04)


def test_a_cell_from_an_older_file_falls_back_to_its_one_value():
    old = {"workload": "countdown", "strategy": "threads", "workers": 2, "kernel": "python",
           "seconds": 0.03, "serial_median": 0.04}
    assert table.cell_time(old) == times.TimeEstimate(0.03, None, 0)
    assert table.kernel_serial_time(old) == times.TimeEstimate(0.04, None, 0)


def test_the_running_interpreter_gets_a_column_unless_named(monkeypatch):
    asked = []

    def fake_resolve_all(specs):
        asked.append(list(specs))
        raise SystemExit  # stop before anything is measured
    monkeypatch.setattr(multipython, "resolve_all", fake_resolve_all)
    monkeypatch.setattr(multipython, "_validate", lambda args: None)
    args = argparse.Namespace(python=["3.13t"])
    for with_this_one in (True, False):
        try:
            multipython.run_interpreters(args, with_this_one=with_this_one)
        except SystemExit:
            pass
    assert asked == [["3.13t", multipython.running_interpreter()], ["3.13t"]]
    # resolve_all keeps one column per interpreter: named already, the running one adds none
    assert os.path.isfile(multipython.running_interpreter())
