"""I/O that releases the GIL: threads and asyncio overlap the waiting."""
from . import common
from .common import WORKERS

IO_STRATEGIES = ["serial", "threads", "asyncio", "pool-fork", "subinterpreters"]


class Sleep(common._Cell):
    workload = "sleep"
    size = 40
    params = [IO_STRATEGIES, WORKERS]


class Socket(common._Cell):
    workload = "socket"
    size = 60
    params = [IO_STRATEGIES, WORKERS]


class FileRead(common._Cell):
    workload = "file-read"
    params = [IO_STRATEGIES, WORKERS]
