"""The libraries people reach for: joblib (loky, threading), numba (nogil threads, parallel), dask.distributed.

Same workloads and rules as the stdlib workarounds (bench_cpu, bench_c_code,
bench_pools): speedup over the serial run of the same kernel, start-up apart,
checksum checked, nothing left running. numba runs the primes workload's
numba kernel (the Cython kernel's algorithm), so bench_cpu.Primes'
cython-threads / cython-prange and Primes' numba-threads / numba-parallel are
one comparison. A library this environment lacks is n/a with the reason.
"""
import subprocess
import sys

import gilcore

from . import bench_pools, common
from .common import WORKERS

# In the order of the published table: what scikit-learn, threaded C code and clusters use.
LIBRARY_STRATEGIES = ["joblib-loky", "joblib-threads", "dask-distributed"]
NUMBA_STRATEGIES = ["numba-threads", "numba-parallel"]


class Countdown(common._Cell):
    """The reference article's countdown through joblib and dask."""

    workload = "countdown"
    params = [LIBRARY_STRATEGIES, WORKERS]


class Primes(common._Cell):
    """Trial division: the Python kernel through joblib and dask, the numba kernel from threads and prange."""

    workload = "primes"
    params = [LIBRARY_STRATEGIES + NUMBA_STRATEGIES, WORKERS]


class NumpyMatmul(common._Cell):
    """numpy matmul (BLAS pinned to one thread per worker) through joblib and dask."""

    workload = "numpy-matmul"
    params = [LIBRARY_STRATEGIES, WORKERS]


class LibraryStartup(bench_pools.PoolStartup):
    """Start W workers (a loky executor, a thread pool, a LocalCluster), warm them, shut them down."""

    params = [LIBRARY_STRATEGIES, WORKERS]
    timeout = 300


_COLD_COMPILE = "from gilcore import numba_kernels; print(numba_kernels.first_compile_seconds())"


class NumbaCompile:
    """numba's JIT compile of the primes kernels (nogil and parallel), cold, in a fresh process.

    No cache on disk (the kernels use cache=False), so this is what every new
    process pays once before its first call; it is start-up, never part of a
    speedup.
    """

    number = 1
    repeat = 3
    rounds = 1
    warmup_time = 0
    timeout = 300

    def setup(self):
        reason = gilcore.STRATEGIES["numba-threads"].unavailable_reason()
        if reason:
            raise NotImplementedError(reason)

    def track_compile_seconds(self):
        out = subprocess.run([sys.executable, "-c", _COLD_COMPILE], capture_output=True, text=True, timeout=240,
                             check=True)
        return float(out.stdout.split()[-1])

    track_compile_seconds.unit = "seconds"
