"""Across interpreters, wall time decides: the multi-interpreter table marks the cell of least wall time
best (not the highest speedup of its own interpreter), shows each cell against the fastest serial time
among the interpreters compared, and gives the interpreter the command runs with a column of its own."""
import argparse
import io
import os

from gilcore.cli import multipython, table
from gilcore.cli.runlog import Run


def cell(strategy, seconds, serial, speedup, interval=None, workers=2):
    return {"workload": "countdown", "kernel": "python", "strategy": strategy, "workers": workers,
            "speedup": speedup, "speedup_interval": list(interval) if interval else None, "n": 4,
            "evidence": "3x4", "flags": [], "noisy": False, "over_limit": False, "limit": 2.1,
            "seconds": seconds, "serial_median": serial}


def issue_runs():
    """The issue's case: 3.13t threads at x1.83 (0.035 s) is no faster than serial 3.11 (0.032 s)."""
    gil = Run(header={"python": "cpython-3.11.7", "cpus": 2, "gil_enabled": True},
              cells=[cell("serial", 0.032, 0.032, 1.0, workers=1),
                     cell("threads", 0.033, 0.032, 0.97, (0.95, 1.01))], footer={"seconds": 1})
    free = Run(header={"python": "cpython-3.13.5t", "cpus": 2, "gil_enabled": False},
               cells=[cell("serial", 0.064, 0.064, 1.0, workers=1),
                      cell("threads", 0.035, 0.064, 1.83, (1.80, 1.86))], footer={"seconds": 1})
    return [gil, free]


def test_least_wall_time_wins_not_the_highest_speedup():
    runs = issue_runs()
    verdict = table.wall_verdicts(runs)["countdown"]
    assert verdict.best[0] == "cpython-3.11.7" and verdict.best[1]["strategy"] == "serial"
    assert [(p, c["strategy"]) for p, c in verdict.ties] == [("cpython-3.11.7", "threads")]
    assert verdict.serial == ("cpython-3.11.7", 0.032)
    assert verdict.text().startswith("countdown: least wall time: cpython-3.11.7 serial x1, 0.032 s = 1.00x "
                                     "against the fastest serial (cpython-3.11.7, 0.032 s)")


def test_each_speedup_shows_its_time_against_the_fastest_serial():
    runs = issue_runs()
    out = io.StringIO()
    table.print_comparison(runs, out)
    text = out.getvalue()
    print(text)
    row = next(line for line in text.splitlines() if line.startswith("countdown") and "threads" in line)
    assert "1.83x [1.80-1.86] 3x4; 0.035 s = 0.91x vs cpython-3.11.7 serial" in row
    assert "0.97x [0.95-1.01] 3x4; 0.033 s = 0.97x vs cpython-3.11.7 serial ~ tie" in row
    assert "1.83x [1.80-1.86] 3x4; 0.035 s = 0.91x vs cpython-3.11.7 serial *" not in row  # not best
    serial_row = next(line for line in text.splitlines() if line.split("|")[1:2] == [" serial   "])
    assert "* best" in serial_row
    # within one interpreter the speedup verdict is still said, but as that interpreter's own
    assert "cpython-3.13.5t: countdown: threads x2 1.83x" in text


def test_a_faster_parallel_cell_on_another_interpreter_wins():
    runs = issue_runs()
    runs[1].cells[1].update(seconds=0.020, speedup=3.2, speedup_interval=[3.1, 3.3], limit=4.2)
    verdict = table.wall_verdicts(runs)["countdown"]
    assert (verdict.best[0], verdict.best[1]["strategy"]) == ("cpython-3.13.5t", "threads")
    assert "= 1.60x against the fastest serial (cpython-3.11.7, 0.032 s)" in verdict.text()


def test_an_over_limit_cell_never_wins_on_time():
    runs = issue_runs()
    runs[1].cells[1].update(seconds=0.001, over_limit=True)
    assert table.wall_verdicts(runs)["countdown"].best[1]["seconds"] == 0.032


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


def test_when_no_cell_beats_the_fastest_serial_run_none_is_best():
    # the CLI run of the issue with --strategy threads: no serial cell, 3.11's threads cell is noisy
    runs = issue_runs()
    for run in runs:
        del run.cells[0]
    runs[0].cells[0].update(noisy=True, flags=["noisy"])
    verdict = table.wall_verdicts(runs)["countdown"]
    assert verdict.best[0] == "cpython-3.13.5t" and not verdict.beats_serial
    assert verdict.text() == ("countdown: nothing measured beats the fastest serial run (fastest cell: "
                              "cpython-3.13.5t threads x2, 0.035 s = 0.91x against the fastest serial "
                              "(cpython-3.11.7, 0.032 s))")
    out = io.StringIO()
    table.print_comparison(runs, out)
    assert "* best" not in out.getvalue() and "~ tie" not in out.getvalue()
