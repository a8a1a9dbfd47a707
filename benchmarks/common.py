"""The one base class (named with an underscore, so asv does not collect it itself) every gilbench benchmark uses: parameters in, one gilcore call.

``setup`` opens a warm gilcore.Cell (workers started, checksum known, GIL
state checked against the environment's promise); a cell that cannot run here
raises NotImplementedError so asv shows it as n/a with the reason. ``time_run``
is warm work only; ``track_speedup`` is serial time over parallel time, both
measured inside one call, so a noisy machine still gives a sound ratio.
"""
import gilcore

WORKERS = [1, 2]
PROCESS_STRATEGIES = ["pool-fork", "pool-spawn", "pool-forkserver", "process-executor"]
INTERPRETER_STRATEGIES = ["subinterpreters", "interpreter-pool"]  # n/a before 3.12 / 3.14


class _Cell:
    """A workload x strategy x workers grid; subclasses set ``workload`` and ``params``."""

    workload = ""
    size = None  # each workload's own default
    param_names = ["strategy", "workers"]
    number = 1
    repeat = 3
    rounds = 1
    warmup_time = 0
    timeout = 180
    repeats_for_speedup = 3

    def setup(self, strategy, workers):
        if strategy == "serial" and workers != 1:
            raise NotImplementedError("serial runs one worker")
        try:
            self.cell = gilcore.Cell(self.workload, strategy, workers, self.size).open()
        except gilcore.NotApplicable as reason:
            raise NotImplementedError(str(reason)) from None

    def teardown(self, strategy, workers):
        cell = getattr(self, "cell", None)
        if cell is not None:
            cell.close()

    def time_run(self, strategy, workers):
        self.cell.run_once()

    def track_speedup(self, strategy, workers):
        return gilcore.measure(self.workload, strategy, workers, self.size,
                               repeats=self.repeats_for_speedup).speedup

    track_speedup.unit = "x"
