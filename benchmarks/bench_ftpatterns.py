"""Free-threading scaling patterns: which small pure-Python habits scale on threads.

Each pattern (gilcore.ftpatterns) touches one kind of shared object, or nothing
shared (the control). Under the GIL none scales; with the GIL off the control
should approach W x and the shared patterns show what contention costs.
"""
import gilcore
from gilcore import cellstore
from gilcore.ftpatterns import PATTERNS


class FreeThreadingPatterns:
    """Threads over serial for each pattern: strong (n split) and weak (n each) scaling."""

    params = [PATTERNS, gilcore.worker_counts()]
    param_names = ["pattern", "workers"]
    number = 1
    repeat = 1
    rounds = 1
    warmup_time = 0
    timeout = 120
    # A quarter of each pattern's default size, 3 pairs a run (at most 2 more where a meter flags
    # one: runner.EXTRA_PAIRS); 3-6 pairs took 3 min a round on 3.11 (2026-12-02).
    size_divisor = 4
    min_pairs, max_pairs = 3, 3

    def setup(self, pattern, workers):
        for name in (f"ft-{pattern}", f"ft-{pattern}-weak"):
            reason = gilcore.applicability(gilcore.WORKLOADS[name], gilcore.STRATEGIES["threads"])
            if reason:
                raise NotImplementedError(reason)

    def _measure(self, name, workers, track):
        size = gilcore.WORKLOADS[name].default_size // self.size_divisor
        result = gilcore.measure(name, "threads", workers, size, repeats=self.min_pairs, max_repeats=self.max_pairs)
        pattern = name[len("ft-"):].replace("-weak", "")
        cellstore.record(f"bench_ftpatterns.FreeThreadingPatterns.{track}", [pattern, str(workers)], result)
        return result.plain_speedup

    def track_strong_speedup(self, pattern, workers):
        return self._measure(f"ft-{pattern}", workers, "track_strong_speedup")

    def track_weak_speedup(self, pattern, workers):
        # The serial baseline runs the same W full-size chunks in turn: speedup = T1 x W / TW.
        return self._measure(f"ft-{pattern}-weak", workers, "track_weak_speedup")

    track_strong_speedup.unit = "x"
    track_weak_speedup.unit = "x"
