"""What a pool costs before it does any work, and what its workers hold in memory."""
import gilcore

from .common import INTERPRETER_STRATEGIES, PROCESS_STRATEGIES, WORKERS


class PoolStartup:
    """Start W workers, warm them (imports, caches, a barrier), shut them down."""

    params = [["threads", *PROCESS_STRATEGIES, *INTERPRETER_STRATEGIES], WORKERS]
    param_names = ["strategy", "workers"]
    number = 1
    repeat = 3
    rounds = 1
    warmup_time = 0
    timeout = 120

    def setup(self, strategy, workers):
        reason = gilcore.applicability(gilcore.WORKLOADS["countdown"], gilcore.STRATEGIES[strategy])
        if reason:
            raise NotImplementedError(reason)

    def time_start_and_stop(self, strategy, workers):
        gilcore.Cell("countdown", strategy, workers, 1).open().close()


class ProcessMemory:
    """Peak memory of the parent (asv's peakmem) and of every worker process (VmHWM)."""

    params = [PROCESS_STRATEGIES, [2]]
    param_names = ["strategy", "workers"]
    number = 1
    repeat = 1
    rounds = 1
    timeout = 120

    def setup(self, strategy, workers):
        self.cell = gilcore.Cell("numpy-matmul", strategy, workers, 50).open()

    def teardown(self, strategy, workers):
        self.cell.close()

    def peakmem_parent(self, strategy, workers):
        self.cell.run_once()

    def track_workers_peak_mib(self, strategy, workers):
        self.cell.run_once()
        return gilcore.peak_rss_mib(self.cell.worker_pids())

    track_workers_peak_mib.unit = "MiB"
