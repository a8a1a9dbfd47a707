"""The one base class (named with an underscore, so asv does not collect it itself) every gilbench benchmark uses: parameters in, one gilcore call.

``setup`` opens a warm gilcore.Cell (workers started, checksum known, GIL
state checked against the environment's promise, one untimed run done); a
cell that cannot run here raises NotImplementedError so asv shows it as n/a
with the reason. ``time_run`` is warm work only (asv re-runs setup before each
sample, and setup ends with a warm run). ``track_speedup`` measures the very
cell setup opened against the serial run of the same kernel, in pairs, order
rotated, under the noise and capacity meters (gilcore.runner.measure_cell);
every pair, its meters' figures and the run (this process) go to
results/cells/ beside asv's result: each asv round is one run of the cell
(gilcore.replication).
"""
import math

import gilcore
from gilcore import cellstore
from gilcore.replication import this_run

WORKERS = gilcore.worker_counts()  # 1, 2, 4 ... up to this machine's cores
PROCESS_STRATEGIES = ["pool-fork", "pool-spawn", "pool-forkserver", "pool-default", "process-executor"]
INTERPRETER_STRATEGIES = ["subinterpreters", "interpreter-pool"]  # n/a before 3.12 / 3.14


class _Cell:
    """A workload x strategy x workers grid; subclasses set ``workload`` and ``params``."""

    workload = ""
    size = None  # each workload's own default
    param_names = ["strategy", "workers"]
    number = 1
    repeat = 1  # one time_run sample per asv round: -a rounds=3 gives 3, each a fresh process
    rounds = 1
    warmup_time = 0
    timeout = 300
    # Pairs per speedup and run: 3 kept, at most 2 re-measured. The interval comes from >= 3 runs (asv
    # rounds), not from the pairs of one, and a whole matrix of environments has to fit in an hour on
    # 2 cores: 3-6 pairs a run cost 15 min an environment-round here (2026-12-02); the CLI's --full allows 10.
    min_pairs, max_pairs, extra_pairs = 3, 3, 2

    def setup(self, strategy, workers):
        if strategy == "serial" and workers != 1:
            raise NotImplementedError("serial runs one worker")
        try:
            self.cell = gilcore.Cell(self.workload, strategy, workers, self.size).open()
        except gilcore.NotApplicable as reason:
            raise NotImplementedError(str(reason)) from None
        self.cell.run_once()  # untimed: first runs pay for page faults and caches

    def teardown(self, strategy, workers):
        cell = getattr(self, "cell", None)
        if cell is not None:
            cell.close()

    def time_run(self, strategy, workers):
        self.cell.run_once()

    def track_speedup(self, strategy, workers):
        result = gilcore.measure_cell(self.cell, repeats=self.min_pairs, max_repeats=self.max_pairs,
                                      extra_pairs=self.extra_pairs)
        cellstore.record(f"{type(self).__module__}.{type(self).__name__}.track_speedup",
                         [strategy, str(workers)], result)
        # Flagged (beyond what W workers can physically give, capacity-limited, noisy): never a plain
        # number on the graph (the cell store keeps every pair and its flags).
        return result.plain_speedup

    track_speedup.unit = "x"

    def track_time_ratio(self, strategy, workers):
        # asv reads a higher value as worse (its issue 1617), so its regression detection gets this
        # lower-is-better figure: parallel over serial time from the very pairs track_speedup measured
        # on this cell in this asv session (asv runs a class's benchmarks in name order), NaN where
        # that speedup is flagged. Only where there is no cell store (asv's `existing` environment
        # names no commit) or track_speedup recorded nothing are pairs measured here, the same way.
        result = cellstore.latest_result(f"{type(self).__module__}.{type(self).__name__}.track_speedup",
                                         [strategy, str(workers)], this_run()["session"])
        if result is None:
            result = gilcore.measure_cell(self.cell, repeats=self.min_pairs, max_repeats=self.max_pairs,
                                          extra_pairs=self.extra_pairs)
        speedup = result.plain_speedup
        return math.nan if math.isnan(speedup) else 1.0 / speedup

    track_time_ratio.unit = "parallel/serial"
