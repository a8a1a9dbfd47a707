"""What each strategy costs per task, next to the stdlib primitive it wraps.

gilcore.overhead runs the same no-op tasks through gilcore's warm session and
through the raw primitive (ThreadPoolExecutor.map, Pool.map per start method,
ProcessPoolExecutor.map, InterpreterPoolExecutor.map, one exec on a subinterpreter),
interleaved in one process: the ratio is the suite's own overhead.
"""
import gilcore
from gilcore import overhead


class PerTaskOverhead:
    """Microseconds per no-op task on one warm worker: gilcore's session, the stdlib's, their ratio."""

    params = [overhead.STRATEGIES]
    param_names = ["strategy"]
    number = 1
    repeat = 1
    rounds = 1
    warmup_time = 0
    timeout = 60  # the tracks only read setup_cache's figures

    def setup_cache(self):
        """Every strategy measured once, in one process: asv runs each track in a fresh one."""
        figures = {}
        for strategy in overhead.STRATEGIES:
            try:
                figures[strategy] = overhead.per_task_us(strategy)
            except gilcore.NotApplicable as reason:
                figures[strategy] = NotImplementedError(str(reason))
        return figures

    setup_cache.timeout = 120  # seven strategies, a few seconds each on 2 cores

    def setup(self, figures, strategy):
        outcome = figures[strategy]
        if isinstance(outcome, Exception):
            raise outcome  # NotImplementedError: asv shows n/a with the reason
        self.figures = outcome

    def track_gilcore_us_per_task(self, figures, strategy):
        return self.figures["gilcore_us"]

    track_gilcore_us_per_task.unit = "us"

    def track_stdlib_us_per_task(self, figures, strategy):
        return self.figures["stdlib_us"]

    track_stdlib_us_per_task.unit = "us"

    def track_overhead_ratio(self, figures, strategy):
        return self.figures["ratio"]

    track_overhead_ratio.unit = "x"
