"""The capacity meter: how many cores this run really gets, measured with work of known speedup.

A virtual machine may run two vCPUs on one physical core for minutes, and a
CPU quota (a cgroup's cpu.cfs_quota_us / cpu.max) caps a process tree at one
core's worth of time: ``os.sched_getaffinity`` still lists every CPU and
/proc/stat shows idle ticks, so neither the affinity nor the load meter sees
it. ``CapacityProbe`` measures it directly: N small processes spin the same
fixed loop, first one alone, then all together. Work that shares nothing
scales perfectly, so ``N x solo time / parallel wall time`` is the number of
cores the tree got (1.9-2.0 on a quiet 2-core machine, ~1.0 under a one-core
quota).

A quota is handed out per period (cpu.cfs_period_us, 100 ms by default): a
burst shorter than the quota's share of one period runs unthrottled whatever
the quota. The parallel part therefore spins ``PARALLEL_SECONDS`` per
process, past the half period two workers need to exhaust a one-core quota;
the solo reference is shorter and scaled.

The cores need not be equal: a VM's two vCPUs ran at different speeds for
minutes here (a 3.13t countdown took 0.43-0.62 s on one and 0.75-0.9 s on
the other, /proc/stat showing no steal), and parallel work always waits for
the slower one. So the solo reference runs once pinned to each CPU and the
fastest counts: cores got = N x fastest solo / parallel wall, 1.2 rather
than 2 there, whichever CPU an unpinned solo would have landed on.

Calibrated on an idle machine before the re-measure (rules.CAPACITY_READINGS): with the parallel
spinners left to the scheduler, 2 of 12 readings came out at 1.01 and 1.12 cores, both processes
woken on one CPU and not moved apart within the 60 ms. So the parallel part pins one spinner to
each CPU (a quota or a VM that takes a core away slows pinned spinners just the same), and a
reading below the bound is taken again: the median of rules.CAPACITY_READINGS readings counts, so
one unlucky reading flags nothing while a loss that lasts (the history's lasted minutes) does.
One probe costs ~100 ms of wall time
(~300 ms when a low reading is taken again); it runs between a cell's pairs (gilcore.runner), so
each pair is judged by the readings just before and just after it: on this VM a vCPU ran at full
speed or at ~60 % in spells of a few seconds (1 M-addition chunks took 8-9 ms or 14-15 ms, with
/proc/stat showing neither steal nor load), so a reading at the start of a run says little of
a pair ten seconds later.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import List, Optional

from gilcore import rules

PARALLEL_SECONDS = 0.06  # spin time of each process in the parallel part (see the module docstring)
SOLO_FRACTION = 0.25  # the solo reference spins this share of the parallel part's loop
CALIBRATION_LOOPS = 200_000
MAX_PINNED_CPUS = 8  # the solo reference runs on at most this many CPUs, one after another

# Each probe process: read a loop count, spin it, answer with its monotonic start and end.
# perf_counter is CLOCK_MONOTONIC on Linux, one clock for every process of the machine.
_SPINNER = """
import sys, time
for line in sys.stdin:
    n = int(line)
    start = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    sys.stdout.write(f"{start!r} {time.perf_counter()!r}\\n")
    sys.stdout.flush()
"""


class CapacityProbe:
    """``with CapacityProbe(2) as probe: probe.measure()`` -> cores got (None for one process)."""

    def __init__(self, processes: int) -> None:
        self.processes = max(1, processes)
        self._spinners: List[subprocess.Popen] = []
        self._loops = 0  # loop count of the parallel part, calibrated on first use

    def __enter__(self) -> "CapacityProbe":
        try:
            for _ in range(self.processes):
                # -I -S: no site, no user paths: a bare interpreter starts in ~15 ms and imports nothing
                self._spinners.append(subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _SPINNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    text=True, bufsize=1))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        spinners, self._spinners = self._spinners, []
        for spinner in spinners:
            try:
                if spinner.stdin:
                    spinner.stdin.close()  # end of input: the spinner's loop ends and it exits
                spinner.wait(timeout=1)  # a forked worker holding the pipe open: killed below
            except (OSError, subprocess.TimeoutExpired):
                spinner.kill()
                spinner.wait()
            if spinner.stdout:
                spinner.stdout.close()

    def _spin(self, spinners: List[subprocess.Popen], loops: int) -> List[List[float]]:
        for spinner in spinners:  # all told first, then all read: they start within microseconds
            assert spinner.stdin is not None
            spinner.stdin.write(f"{loops}\n")
        answers = []
        for spinner in spinners:
            assert spinner.stdout is not None
            line = spinner.stdout.readline()
            if not line:
                raise RuntimeError("a capacity probe process died")
            answers.append([float(value) for value in line.split()])
        return answers

    def _calibrate(self) -> None:
        (start, end), = self._spin(self._spinners[:1], CALIBRATION_LOOPS)
        per_loop = max(end - start, 1e-6) / CALIBRATION_LOOPS
        self._loops = max(1000, int(PARALLEL_SECONDS / per_loop))

    def _solo_cpus(self) -> List[Optional[int]]:
        """The CPUs the solo reference is pinned to in turn; [None] (unpinned) where pinning is impossible."""
        try:
            allowed = sorted(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            return [None]
        return list(allowed[:MAX_PINNED_CPUS]) if len(allowed) > 1 else [None]

    def _parallel_wall(self) -> float:
        """All spinners at once, one pinned to each CPU (where it can be): the wall time from the
        first start to the last end."""
        cpus = self._solo_cpus()
        pinned = []
        if cpus != [None]:
            allowed = os.sched_getaffinity(0)
            for spinner, cpu in zip(self._spinners, cpus * len(self._spinners)):
                try:
                    os.sched_setaffinity(spinner.pid, {cpu})
                    pinned.append(spinner)
                except OSError:  # the CPU went away, or pinning is not allowed: that one unpinned
                    pass
        try:
            answers = self._spin(self._spinners, self._loops)
        finally:
            for spinner in pinned:
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(spinner.pid, allowed)
        return max(end for _, end in answers) - min(start for start, _ in answers)

    def _solo_seconds(self, loops: int, cpu: Optional[int]) -> float:
        """One spinner alone, pinned to ``cpu`` (None: where the scheduler puts it), then unpinned."""
        spinner = self._spinners[0]
        if cpu is not None:
            try:
                allowed = os.sched_getaffinity(0)
                os.sched_setaffinity(spinner.pid, {cpu})
            except OSError:  # the CPU went away, or pinning is not allowed: unpinned
                cpu = None
        try:
            (start, end), = self._spin([spinner], loops)
        finally:
            if cpu is not None:
                os.sched_setaffinity(spinner.pid, allowed)
        return end - start

    def measure(self) -> Optional[float]:
        """Cores this process tree got just now: processes x solo time / parallel wall time (capped at
        the number of processes); None with a single process (one core is never in question)."""
        if self.processes < 2:
            return None
        if not self._spinners:
            raise RuntimeError("open the probe before measuring")
        if not self._loops:
            self._calibrate()
        first = self._reading()
        if first is None or first >= rules.MIN_CAPACITY_SHARE * self.processes:
            return first
        readings = [first] + [self._reading() for _ in range(rules.CAPACITY_READINGS - 1)]
        known = sorted(value for value in readings if value is not None)
        return known[len(known) // 2] if known else None

    def _reading(self) -> Optional[float]:
        """One reading: processes x fastest pinned solo time / parallel wall time, capped at processes."""
        solo_loops = max(1, int(self._loops * SOLO_FRACTION))
        solo = min(self._solo_seconds(solo_loops, cpu) for cpu in self._solo_cpus()) / solo_loops * self._loops
        wall = self._parallel_wall()
        return min(float(self.processes), self.processes * solo / wall) if wall > 0 else None


def needed_cores(workers: int, cpus: int, io_bound: bool) -> Optional[int]:
    """Cores a cell's speedup depends on: min(W, CPUs) for CPU-bound work at W >= 2; else None (no probe)."""
    if io_bound or workers < 2 or cpus < 2:
        return None
    return min(workers, cpus)

