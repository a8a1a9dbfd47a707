"""CPU-bound pure Python: the GIL's home ground, and what gets around it."""
import gilcore

from . import common
from .common import INTERPRETER_STRATEGIES, PROCESS_STRATEGIES, WORKERS

CPU_STRATEGIES = ["serial", "threads", *PROCESS_STRATEGIES, *INTERPRETER_STRATEGIES]


class Countdown(common._Cell):
    """The reference article's countdown, COUNT = 10,000,000 split across workers."""

    workload = "countdown"
    params = [CPU_STRATEGIES, WORKERS]


class Primes(common._Cell):
    """Trial-division prime counting: pure Python, or the same loop in Cython nogil."""

    workload = "primes"
    params = [["serial", "threads", "pool-fork", "process-executor", *INTERPRETER_STRATEGIES,
               "cython-threads", "cython-prange"], WORKERS]


class PrimesKernels:
    """Pure Python over Cython for the same algorithm and size, serial, one call."""

    number = 1
    repeat = 1
    rounds = 1
    timeout = 120
    unit = "x"

    def setup(self):
        if gilcore.STRATEGIES["cython-threads"].unavailable_reason():
            raise NotImplementedError(gilcore.STRATEGIES["cython-threads"].unavailable_reason())

    def track_python_over_cython(self):
        seconds = gilcore.kernel_seconds("primes", 150_000)
        return seconds["python"] / seconds["cython"]

    track_python_over_cython.unit = "x"
