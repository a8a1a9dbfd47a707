"""Absolute times of two sessions are judged against each session's machine speed (rule
machine-reference): a VM that slowed down between sessions is no regression of the release measured
later, a release that did slow down still is, and a side without a reference is compared raw."""
import math
import random

import pytest

from gilcore import cellstore, compare, machinespeed, replication, rules

CELLS = {  # (benchmark, strategy) -> (workload, kernel, serial seconds, speedup)
    ("bench_cpu.Primes.track_speedup", "cython-threads"): ("primes", "cython", 0.30, 1.95),
    ("bench_cpu.Countdown.track_speedup", "pool-fork"): ("countdown", "python", 0.50, 1.85),
    ("bench_io.Sleep.track_speedup", "threads"): ("sleep", "python", 0.20, 1.95),  # waits: no machine speed in it
}


def records(commit, env, seed, *, machine=1.0, python=1.0, sessions=1, runs=3, kernel=True):
    """A side's records: ``sessions`` asv sessions of ``runs`` runs of each cell, 2 % noise; the machine
    scales every time but the sleep's by ``machine``, the release the Python kernels' by ``python``."""
    rng = random.Random(seed)
    out = []
    for session in range(sessions):
        for run in range(runs):
            run_id = f"{commit[:4]}-{env}-{session}-{run}"
            for (benchmark, strategy), (workload, kern, serial, speedup) in CELLS.items():
                scale = (python if kern == "python" else 1.0) * rng.lognormvariate(0, 0.02)
                scale *= machine if workload != "sleep" else 1.0
                pairs = [{"serial": serial * scale * rng.lognormvariate(0, 0.01),
                          "parallel": serial * scale * rng.lognormvariate(0, 0.01) / speedup,
                          "steal": 0.0, "other_load": 0.0} for _ in range(3)]
                record = {"format": cellstore.FORMAT, "benchmark": benchmark, "params": [strategy, "2"],
                          "commit": commit, "env": env, "measured_at": 1000.0 * session + 60.0 * run,
                          "limit": 2.1, "pairs": pairs,
                          "run": {"id": run_id, "session": f"{commit[:4]}-{env}-session-{session}"}}
                if kernel:
                    record.update(workload=workload, kernel=kern, size=150_000)
                record["machine"] = {"cpu": "AMD EPYC", "cores": 2, "memory_gib": 24, "name": "amd-epyc-2c-24g"}
                out.append(record)
    return out


def side(label, found):
    cells = replication.estimate_all(found, label=lambda env: "")
    return compare.Side(label, {key[:2]: cell for key, cell in cells.items()})


def serial_change(result, strategy):
    (cell,) = [c for c in result.cells if c.cell[1][0] == strategy]
    return next(change for change in cell.changes if change.quantity == compare.SERIAL)


def test_a_machine_that_slowed_down_between_sessions_is_no_regression_of_the_release():
    a = side("3.13", records("1" * 40, "virtualenv-py3.13", 1))
    b = side("3.14", records("1" * 40, "virtualenv-py3.14", 2, machine=1.25))
    change = serial_change(compare.compare(a, b), "pool-fork")
    assert change.machine_ratio == pytest.approx(1.25, rel=0.05)
    assert change.b / change.a == pytest.approx(1.25, rel=0.05)  # the raw times moved...
    assert not change.beyond_noise() and change.direction  # ... the release did not
    waiting = serial_change(compare.compare(a, b), "threads")  # sleeping is not the machine's speed: raw
    assert waiting.machine_ratio is None and not waiting.beyond_noise()
    raw = serial_change(compare.compare(side("a", records("1" * 40, "e", 1, kernel=False)),
                                        side("b", records("1" * 40, "e", 2, machine=1.25, kernel=False))),
                        "pool-fork")
    assert raw.machine_ratio is None and raw.beyond_noise() and raw.direction == "regression"


def test_a_release_that_did_slow_down_is_still_a_regression_on_a_drifting_machine():
    a = side("3.13", records("1" * 40, "virtualenv-py3.13", 3, sessions=2))
    b = side("3.14", records("1" * 40, "virtualenv-py3.14", 4, machine=0.8, python=1.3, sessions=2))
    change = serial_change(compare.compare(a, b), "pool-fork")
    assert change.ratio == pytest.approx(1.3, rel=0.05) and change.machine_ratio == pytest.approx(0.8, rel=0.05)
    assert change.beyond_noise() and change.direction == "regression"
    # the reference kernel itself can only read as the machine: unchanged
    assert not serial_change(compare.compare(a, b), "cython-threads").beyond_noise()


def test_each_session_is_its_own_reference_and_too_few_runs_give_none():
    runs = [run for cell in replication.group_records(
        records("1" * 40, "e", 5, sessions=2, runs=3)).values() for run in cell]
    references = machinespeed.session_references(runs)
    assert sorted(references) == ["1111-e-session-0", "1111-e-session-1"]
    assert all(ref.runs == 3 and ref.seconds == pytest.approx(0.30, rel=0.05) for ref in references.values())
    one = [run for cell in replication.group_records(records("1" * 40, "e", 5, runs=1)).values() for run in cell]
    assert rules.MIN_REFERENCE_RUNS == 2 and machinespeed.session_references(one) == {}


def test_the_references_own_spread_widens_the_interval():
    a, b = [0.0, 0.02, -0.02, 0.01], [0.1, 0.12, 0.08, 0.11]
    plain = compare.welch(a, b)
    wider = compare.welch(a, b, [(0.001, 2), (0.001, 2)])
    assert plain and wider and plain.ratio == wider.ratio
    assert math.log(wider.interval[1] / wider.interval[0]) > math.log(plain.interval[1] / plain.interval[0])
    assert wider.degrees_of_freedom < plain.degrees_of_freedom


@pytest.mark.parametrize("with_reference", [True, False])
def test_the_release_page_names_each_sides_machine_speed_and_lists_no_drift_as_a_change(tmp_path, with_reference):
    from tests.test_releases import compared, page_of, result_set
    cells = (records("a" * 40, "virtualenv-py3.12", 1, kernel=with_reference)
             + records("a" * 40, "virtualenv-py3.13", 2, machine=1.25, kernel=with_reference))
    folder = result_set(tmp_path, cells)
    (pair,) = compared(folder)
    section = page_of(tmp_path, folder).split("## 3.12 → 3.13")[1]
    if with_reference:
        assert pair.changed_cells() == [] and pair.machine[1] / pair.machine[0] == pytest.approx(1.25, rel=0.05)
        assert "Machine speed (the cython primes kernel's serial time" in section and "(x1.2" in section
    else:  # the drift read as the release's: what the page showed before the rule
        assert {releases_cell(cell) for cell in pair.changed_cells()} == {"pool-fork", "cython-threads"}
        assert "Machine speed: no reference on either side" in section


def releases_cell(cell):
    return cell.cell[1][0]
