"""C code that releases the GIL: numpy (BLAS pinned to one thread), hashlib, zlib."""
from . import common
from .common import WORKERS

C_STRATEGIES = ["serial", "threads", "pool-fork", "process-executor"]


class NumpyMatmul(common._Cell):
    workload = "numpy-matmul"
    params = [C_STRATEGIES, WORKERS]


class Sha256(common._Cell):
    workload = "sha256"
    params = [C_STRATEGIES, WORKERS]


class Zlib(common._Cell):
    workload = "zlib"
    size = 12
    params = [C_STRATEGIES, WORKERS]
