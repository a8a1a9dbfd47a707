"""The capacity meter: a probe of known speedup, and the fault it exists for (a one-core CPU quota)."""
import contextlib
import json
import math
import os
import subprocess
import sys
import time

import pytest

from gilcore import capacity, rules

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_probe_reads_cores_and_leaves_nothing_behind(no_leaks):
    with capacity.CapacityProbe(2) as probe:
        got = [probe.measure() for _ in range(2)]
    assert all(0 < value <= 2 for value in got)
    with capacity.CapacityProbe(1) as probe:
        assert probe.measure() is None  # one core is never in question


def test_unequal_cpus_are_seen_whichever_cpu_an_unpinned_solo_would_land_on(monkeypatch):
    # As in the 3.13t history: CPU 1 runs a loop at 0.85 of its time on CPU 0's 0.5; parallel work
    # waits for CPU 1, and an unpinned solo happened to land on CPU 1 too (the worst case).
    seconds_per_loop = {0: 0.5e-6, 1: 0.85e-6}
    pinned = {}
    monkeypatch.setattr(capacity.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(capacity.os, "sched_setaffinity",
                        lambda pid, cpus: pinned.__setitem__(pid, next(iter(cpus)) if len(cpus) == 1 else None))

    def spin(self, spinners, loops):
        if len(spinners) > 1:  # together: the slower CPU sets the wall time
            return [[0.0, loops * seconds_per_loop[1]]] * len(spinners)
        cpu = pinned.get(spinners[0].pid)
        return [[0.0, loops * seconds_per_loop[1 if cpu is None else cpu]]]

    monkeypatch.setattr(capacity.CapacityProbe, "_spin", spin)
    probe = capacity.CapacityProbe(2)
    probe._spinners = [subprocess.Popen([sys.executable, "-c", "pass"]) for _ in range(2)]
    try:
        probe._loops = 60_000
        got = probe.measure()
    finally:
        for spinner in probe._spinners:
            spinner.wait()
        probe._spinners = []
    assert got == pytest.approx(2 * 0.5 / 0.85)  # 1.18 cores: flagged, where 2.0 passed before
    assert rules.capacity_limited(got, 2)
    assert pinned == {spinner_pid: None for spinner_pid in pinned}  # every pinning undone


def _probe_with_readings(monkeypatch, readings):
    """A two-process probe whose readings come from ``readings`` in turn; returns (probe, taken)."""
    taken = []
    monkeypatch.setattr(capacity.CapacityProbe, "_reading", lambda self: taken.append(1) or readings[len(taken) - 1])
    probe = capacity.CapacityProbe(2)
    probe._spinners, probe._loops = [object()], 1000  # measured through _reading alone
    return probe, taken


def test_one_low_reading_is_taken_again_and_the_median_counts(monkeypatch):
    probe, taken = _probe_with_readings(monkeypatch, [1.05, 1.95, 1.9])  # a one-off, as on the idle machine
    assert probe.measure() == 1.9 and len(taken) == rules.CAPACITY_READINGS
    assert not rules.capacity_limited(1.9, 2)


def test_a_loss_that_lasts_stays_low(monkeypatch):
    probe, taken = _probe_with_readings(monkeypatch, [1.02, 1.9, 0.98])  # two of three low: still flagged
    assert probe.measure() == 1.02 and rules.capacity_limited(1.02, 2)


def test_a_good_reading_is_taken_once(monkeypatch):
    probe, taken = _probe_with_readings(monkeypatch, [1.93])
    assert probe.measure() == 1.93 and len(taken) == 1


def test_the_parallel_spinners_are_pinned_one_per_cpu_then_let_go(monkeypatch):
    pins = []
    monkeypatch.setattr(capacity.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(capacity.os, "sched_setaffinity", lambda pid, cpus: pins.append((pid, sorted(cpus))))
    monkeypatch.setattr(capacity.CapacityProbe, "_spin", lambda self, spinners, loops: [[0.0, 0.06]] * len(spinners))

    class Spinner:
        def __init__(self, pid):
            self.pid = pid

    probe = capacity.CapacityProbe(2)
    probe._spinners, probe._loops = [Spinner(11), Spinner(12)], 1000
    assert probe._parallel_wall() == 0.06
    assert pins == [(11, [0]), (12, [1]), (11, [0, 1]), (12, [0, 1])]


def test_which_cells_are_probed():
    assert capacity.needed_cores(2, 2, io_bound=False) == 2
    assert capacity.needed_cores(4, 2, io_bound=False) == 2
    assert capacity.needed_cores(1, 2, io_bound=False) is None
    assert capacity.needed_cores(2, 2, io_bound=True) is None  # waiting needs no cores
    assert capacity.needed_cores(2, 1, io_bound=False) is None


# ------------------------------------------------------------------------------ the one-core quota

CGROUP_V1 = "/sys/fs/cgroup/cpu"
CGROUP_V2 = "/sys/fs/cgroup"


def _v2_has_cpu():
    try:
        with open(os.path.join(CGROUP_V2, "cgroup.subtree_control")) as handle:
            return "cpu" in handle.read().split()
    except OSError:
        return False


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


@contextlib.contextmanager
def one_core_quota():
    """A cgroup whose processes get one CPU's worth of time per period; yields its cgroup.procs path.

    cgroup v1's cpu controller (cpu.cfs_quota_us = cpu.cfs_period_us), else cgroup v2's cpu.max;
    skipped with the reason where neither is writable. Always removed: every process still in it is
    killed and moved back to the parent, then the folder is removed, whatever happened inside.
    """
    name = f"gilcore-quota-test-{os.getpid()}"
    if os.path.isfile(os.path.join(CGROUP_V1, "cpu.cfs_quota_us")):
        parent, version = CGROUP_V1, 1
    elif _v2_has_cpu():
        parent, version = CGROUP_V2, 2
    else:
        pytest.skip("no cgroup cpu controller here (neither v1 cpu.cfs_quota_us nor v2 cpu.max)")
    folder = os.path.join(parent, name)
    try:
        os.mkdir(folder)
    except OSError as error:
        pytest.skip(f"cannot create a cgroup under {parent}: {error.strerror} (needs root and a writable cgroupfs)")
    try:
        if version == 1:
            period = open(os.path.join(folder, "cpu.cfs_period_us")).read().strip()
            _write(os.path.join(folder, "cpu.cfs_quota_us"), period)
        else:
            _write(os.path.join(folder, "cpu.max"), "100000 100000")
        yield os.path.join(folder, "cgroup.procs")
    finally:
        procs = os.path.join(folder, "cgroup.procs")
        for _ in range(50):
            pids = [int(p) for p in open(procs).read().split()]
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):
                    _write(os.path.join(parent, "cgroup.procs"), str(pid))
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)
            time.sleep(0.1)
        os.rmdir(folder)


def _in_cgroup(procs):
    """preexec_fn: the child joins the cgroup before it execs, so every process it starts is in it too."""
    return lambda: _write(procs, str(os.getpid()))


def _run_inside(procs, argv, timeout=300):
    child = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=_in_cgroup(procs))
    try:
        out, err = child.communicate(timeout=timeout)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode, out, err


PROBE = ("from gilcore.capacity import CapacityProbe\n"
         "with CapacityProbe(2) as p:\n    print(min(p.measure() for _ in range(3)))")

ASV_CALL = """
from gilcore import cellstore
# what the benchmark would store beside asv's value (outside asv it stores nothing): its flags
cellstore.record = lambda benchmark, params, result: print("flags", *result.to_dict()["flags"])
from benchmarks.bench_cpu import Countdown
bench = Countdown()
bench.setup("pool-fork", 2)  # as asv does: setup, then the track method, in one fresh process
try:
    value = bench.track_speedup("pool-fork", 2)
finally:
    bench.teardown("pool-fork", 2)
print(repr(value))
"""


@pytest.mark.slow
def test_a_one_core_quota_is_seen_by_the_capacity_meter_from_the_cli_and_asv(no_leaks):
    """Affinity still shows 2 CPUs and /proc/stat idle ticks; the capacity probe must see the quota."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs 2 CPUs")
    with one_core_quota() as procs:
        code, out, err = _run_inside(procs, [sys.executable, "-c", "import os; print(len(os.sched_getaffinity(0)))"])
        assert out.strip() == str(os.cpu_count())  # the fault affinity does not see
        code, out, err = _run_inside(procs, [sys.executable, "-c", PROBE])
        inside = float(out)
        outside = float(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True).stdout)
        code, out, err = _run_inside(procs, [sys.executable, "-m", "gilcore", "--workload", "countdown",
                                             "--strategy", "pool-fork", "--workers", "2", "--json"])
        assert code == 0, err
        (cell,) = json.loads(out)["cells"]
        code, asv_out, asv_err = _run_inside(procs, [sys.executable, "-c", ASV_CALL])
        assert code == 0, asv_err
    print(f"\nprobe outside the quota: {outside:.2f} cores, inside: {inside:.2f} cores; CLI: {cell['speedup']:.2f}x {cell['evidence']} "
          f"flags {cell['flags']}; asv track_speedup: {asv_out.strip()}")
    assert inside < rules.MIN_CAPACITY_SHARE * 2
    assert "capacity-limited" in cell["flags"] and cell["capacity_limited"]
    assert len(cell["run_measurements"]) >= rules.MIN_RUNS  # the CLI measured the cell in 3 or more runs
    flags, value = asv_out.strip().splitlines()
    assert "capacity-limited" in flags.split()
    assert math.isnan(float(value))  # asv gets no plain number, never x1.0
