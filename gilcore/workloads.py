"""WHAT is computed: the workload registry.

A workload is a set of interchangeable kernels (pure Python, Cython nogil,
numpy, a C library, an I/O call) over chunks of one problem, plus how to split
a size into chunks, how to combine chunk results, and the value the combined
result must equal. Every kernel is a module-level function, so a process or a
subinterpreter can import it by name.

Imports that only some kernels need are made inside them: a subinterpreter
imports this module too, and should load no more than its kernel needs.

Kernel names: "python" (what serial, threads and processes run), "cython"
(a def wrapper whose loop runs with the GIL released), "prange" (all chunks
in one OpenMP team: ``f(chunks, num_threads)``), "async" (a coroutine for the
asyncio strategy), "numba" (an ``@njit(nogil=True)`` kernel) and
"numba-parallel" (``@njit(parallel=True)`` with prange, called like "prange").
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import operator
import os
import random
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Dict, List, Mapping, Optional, Sequence, Tuple

Chunk = Tuple[Any, ...]


@dataclass(frozen=True)
class Workload:
    """One problem with its kernels; see the module docstring for kernel names."""

    name: str
    description: str
    kernels: Mapping[str, Callable[..., Any]]
    split: Callable[[int, int], List[Chunk]]
    default_size: int
    combine: Callable[[Sequence[Any]], Any] = sum
    checksum: Optional[Callable[[int], Any]] = None
    kind: str = "cpu"
    sizes_by_kernel: Mapping[str, int] = field(default_factory=dict)
    # Starts what every chunk needs (a server, a file) and yields extra kernel arguments.
    resource: Optional[Callable[[], ContextManager[Tuple[Any, ...]]]] = None
    # Builds per-process caches; run in each worker before any chunk is timed.
    prepare: Optional[Callable[[], None]] = None
    uses_blas: bool = False
    # Modules the kernels import that a subinterpreter cannot load.
    needs_main_interpreter: bool = False
    # Strategy names this workload means something for; None: every strategy.
    only_strategies: Optional[Tuple[str, ...]] = None
    # Weak scaling: every worker gets the whole size (speedup = T1 x W / TW).
    weak_scaling: bool = False
    # A chunk that does no work: the kernel is called on it before timing (see _warmup.specialise).
    warm_chunk: Optional[Chunk] = None

    def size_for(self, kernel: str) -> int:
        return self.sizes_by_kernel.get(kernel, self.default_size)

    def chunks(self, size: int, parts: int) -> List[Chunk]:
        """The chunks for ``parts`` workers: a split of size, or size each when weak scaling."""
        if self.weak_scaling:
            return [chunk for _ in range(parts) for chunk in self.split(size, 1)]
        return self.split(size, parts)

    def expected(self, size: int, parts: int = 1) -> Any:
        """The value the chunks for ``parts`` workers must combine to."""
        if self.checksum is not None:
            one = self.checksum(size)
        else:
            one = _reference_value(self, size)
        return self.combine([one] * parts) if self.weak_scaling else one


_REFERENCE_CACHE: Dict[Tuple[str, int], Any] = {}


def _reference_value(workload: Workload, size: int) -> Any:
    """Serial pure-Python value in one chunk: the reference when no closed form exists."""
    key = (workload.name, size)
    if key not in _REFERENCE_CACHE:
        kernel = workload.kernels["python"]
        with (workload.resource() if workload.resource else contextlib.nullcontext(())) as extra:
            if workload.prepare:
                workload.prepare()
            results = [kernel(*chunk, *extra) for chunk in workload.split(size, 1)]
        _REFERENCE_CACHE[key] = workload.combine(results)
    return _REFERENCE_CACHE[key]


WORKLOADS: Dict[str, Workload] = {}


def register(workload: Workload) -> Workload:
    if workload.name in WORKLOADS:
        raise ValueError(f"workload {workload.name!r} is already registered")
    WORKLOADS[workload.name] = workload
    return workload


# --- splitting helpers --------------------------------------------------------

def even_counts(size: int, parts: int) -> List[Chunk]:
    """``size`` split into ``parts`` near-equal counts: [(n0,), (n1,), ...]."""
    base, extra = divmod(size, parts)
    return [(base + (1 if i < extra else 0),) for i in range(parts)]


def contiguous_ranges(size: int, parts: int) -> List[Chunk]:
    """range(size) as ``parts`` contiguous (start, stop) pieces."""
    chunks, start = [], 0
    for (count,) in even_counts(size, parts):
        chunks.append((start, start + count))
        start += count
    return chunks


def interleaved_ranges(size: int, parts: int) -> List[Chunk]:
    """range(size) dealt round-robin: (k, size, parts); balances work that grows with i."""
    return [(k, size, parts) for k in range(parts)]


def xor_all(values: Sequence[int]) -> int:
    return functools.reduce(operator.xor, values, 0)


# --- countdown: the reference article's loop ---------------------------------

def countdown(n: int) -> int:
    """Beazley's loop, as in the article; returns how many times it ran."""
    start = n
    while n > 0:
        n -= 1
    return start - n


register(Workload(
    name="countdown",
    description="the article's `while n > 0: n -= 1`, COUNT split across workers",
    kernels={"python": countdown},
    split=even_counts,
    default_size=10_000_000,
    checksum=lambda size: size,
    warm_chunk=(0,),
))


# --- primes: an integer kernel no compiler folds away -------------------------

def count_odd_primes(start: int, stop: int, step: int) -> int:
    """Count primes among the odd numbers 2*i+1 for i in range(start, stop, step)."""
    found = 0
    for i in range(start, stop, step):
        n = 2 * i + 1
        if n < 3:
            continue
        d = 3
        while d * d <= n:
            if n % d == 0:
                break
            d += 2
        else:
            found += 1
    return found


def odd_primes_below(limit: int) -> int:
    """Sieve of Eratosthenes: odd primes < limit (independent of the kernels)."""
    if limit < 4:
        return 0
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for p in range(2, int(limit ** 0.5) + 1):
        if sieve[p]:
            sieve[p * p::p] = bytes(len(range(p * p, limit, p)))
    return sum(sieve) - 1  # minus the prime 2


def _cython_kernel(name: str) -> Callable[..., Any]:
    """Resolve a Cython kernel lazily, so gilcore imports without the extension built."""
    module = importlib.import_module("gilcore._nogil")
    return getattr(module, name)


def count_odd_primes_cython(start: int, stop: int, step: int) -> int:
    return _cython_kernel("count_odd_primes")(start, stop, step)


def count_odd_primes_prange(chunks: List[Chunk], num_threads: int) -> List[int]:
    return _cython_kernel("count_odd_primes_prange")(list(chunks), num_threads)


def count_odd_primes_numba(start: int, stop: int, step: int) -> int:
    # gilcore.numba_kernels imports numba: only when a numba kernel first runs.
    return importlib.import_module("gilcore.numba_kernels").count_odd_primes(start, stop, step)


def count_odd_primes_numba_parallel(chunks: List[Chunk], num_threads: int) -> List[int]:
    return importlib.import_module("gilcore.numba_kernels").count_odd_primes_parallel(list(chunks), num_threads)


register(Workload(
    name="primes",
    description="count primes by trial division (pure Python vs Cython nogil vs numba, same algorithm)",
    kernels={"python": count_odd_primes, "cython": count_odd_primes_cython,
             "prange": count_odd_primes_prange, "numba": count_odd_primes_numba,
             "numba-parallel": count_odd_primes_numba_parallel},
    split=interleaved_ranges,
    default_size=120_000,
    sizes_by_kernel={"cython": 1_000_000, "prange": 1_000_000, "numba": 1_000_000, "numba-parallel": 1_000_000},
    checksum=lambda size: odd_primes_below(2 * size),
))


# --- numpy: matmul with BLAS pinned to one thread ------------------------------

MATRIX_N = 256


@functools.lru_cache(maxsize=None)
def _matrices() -> Tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(12345)
    # Small integers held as float64: every product and sum is exact, so the
    # result does not depend on summation order or on the split.
    a = rng.integers(0, 4, size=(MATRIX_N, MATRIX_N)).astype(np.float64)
    b = rng.integers(0, 4, size=(MATRIX_N, MATRIX_N)).astype(np.float64)
    return a, b


def prepare_matrices() -> None:
    _matrices()


def matmul_sum(count: int) -> int:
    """Sum of every entry of A @ B, ``count`` times (BLAS releases the GIL)."""
    a, b = _matrices()
    total = 0
    for _ in range(count):
        total += int((a @ b).sum())
    return total


def matmul_checksum(size: int) -> int:
    # sum(A @ B) = sum_k colsum(A)_k * rowsum(B)_k: a cheap identity, not the kernel.
    a, b = _matrices()
    per_product = sum(int(x) * int(y) for x, y in zip(a.sum(axis=0), b.sum(axis=1)))
    return size * per_product


register(Workload(
    name="numpy-matmul",
    description=f"numpy {MATRIX_N}x{MATRIX_N} matmul, BLAS pinned to 1 thread per worker",
    kernels={"python": matmul_sum},
    split=even_counts,
    default_size=300,
    checksum=matmul_checksum,
    kind="c",
    prepare=prepare_matrices,
    uses_blas=True,
    needs_main_interpreter=True,
))


# --- hashlib and zlib: C libraries that release the GIL ------------------------

BLOCK_BYTES = 1 << 20


@functools.lru_cache(maxsize=None)
def _data_block() -> bytes:
    """1 MiB of compressible, deterministic text-like bytes."""
    rng = random.Random(2024)
    words = [bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(512)]
    out = bytearray()
    while len(out) < BLOCK_BYTES:
        out += b" ".join(rng.choices(words, k=4096)) + b"\n"
    return bytes(out[:BLOCK_BYTES])


def prepare_data_block() -> None:
    _data_block()


def sha256_blocks(start: int, stop: int) -> int:
    """XOR of the first 8 digest bytes of sha256(i || block) for i in [start, stop)."""
    import hashlib  # imported here: CPython 3.12 crashes at exit after importing it in a subinterpreter

    block = _data_block()
    acc = 0
    for i in range(start, stop):
        h = hashlib.sha256(i.to_bytes(8, "little"))
        h.update(block)  # > 2 KiB: hashlib releases the GIL here
        acc ^= int.from_bytes(h.digest()[:8], "little")
    return acc


def zlib_blocks(start: int, stop: int) -> int:
    """Total compressed length of (i || block) for i in [start, stop), level 6."""
    block = _data_block()
    total = 0
    for i in range(start, stop):
        compressor = zlib.compressobj(6)
        out = compressor.compress(i.to_bytes(8, "little"))
        out += compressor.compress(block)  # deflate runs with the GIL released
        out += compressor.flush()
        total += len(out)
    return total


register(Workload(
    name="sha256",
    description="hashlib.sha256 over 1 MiB blocks",
    kernels={"python": sha256_blocks},
    split=contiguous_ranges,
    default_size=200,
    combine=xor_all,
    kind="c",
    prepare=prepare_data_block,
))

register(Workload(
    name="zlib",
    description="zlib level-6 compression of 1 MiB blocks",
    kernels={"python": zlib_blocks},
    split=contiguous_ranges,
    default_size=40,
    kind="c",
    prepare=prepare_data_block,
))


# --- I/O: sleep, a loopback socket, file reads --------------------------------

SLEEP_SECONDS = 0.005


def sleep_calls(count: int) -> int:
    for _ in range(count):
        time.sleep(SLEEP_SECONDS)
    return count


async def sleep_calls_async(count: int) -> int:
    import asyncio

    for _ in range(count):
        await asyncio.sleep(SLEEP_SECONDS)
    return count


register(Workload(
    name="sleep",
    description=f"time.sleep({SLEEP_SECONDS}) calls: pure waiting",
    kernels={"python": sleep_calls, "async": sleep_calls_async},
    split=even_counts,
    default_size=80,
    checksum=lambda size: size,
    kind="io",
))


def _loopback_server() -> ContextManager[Tuple[Any, ...]]:
    from gilcore import loopback

    return loopback.serve()


def socket_requests(count: int, host: str, port: int) -> int:
    """``count`` request/response round trips on one connection; returns bytes read."""
    import socket

    from gilcore.loopback import PAYLOAD_BYTES

    received = 0
    with socket.create_connection((host, port), timeout=30) as conn:
        for _ in range(count):
            conn.sendall(b"1\n")
            need = PAYLOAD_BYTES
            while need:
                data = conn.recv(need)
                if not data:
                    raise ConnectionError("loopback server closed the connection")
                need -= len(data)
                received += len(data)
        conn.sendall(b"\n")
    return received


async def socket_requests_async(count: int, host: str, port: int) -> int:
    import asyncio

    from gilcore.loopback import PAYLOAD_BYTES

    received = 0
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for _ in range(count):
            writer.write(b"1\n")
            await writer.drain()
            received += len(await reader.readexactly(PAYLOAD_BYTES))
        writer.write(b"\n")
        await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()
    return received


def _socket_checksum(size: int) -> int:
    from gilcore.loopback import PAYLOAD_BYTES

    return size * PAYLOAD_BYTES


register(Workload(
    name="socket",
    description="request/response over a loopback TCP socket to a server with 2 ms latency",
    kernels={"python": socket_requests, "async": socket_requests_async},
    split=even_counts,
    default_size=120,
    checksum=_socket_checksum,
    kind="io",
    resource=_loopback_server,
))


FILE_BYTES = 16 << 20


@contextlib.contextmanager
def _temp_file() -> Any:
    """A 16 MiB file of random bytes, removed afterwards whatever happens."""
    fd, path = tempfile.mkstemp(prefix="gilcore-", suffix=".bin")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(random.Random(7).randbytes(FILE_BYTES))
        yield (path,)
    finally:
        os.unlink(path)


def read_file(count: int, path: str) -> int:
    """Read the whole file ``count`` times in 1 MiB reads; returns bytes read."""
    buffer = bytearray(1 << 20)
    total = 0
    for _ in range(count):
        with open(path, "rb", buffering=0) as f:
            while True:
                n = f.readinto(buffer)
                if not n:
                    break
                total += n
    return total


register(Workload(
    name="file-read",
    description="reading a 16 MiB file (page cache) in 1 MiB reads",
    kernels={"python": read_file},
    split=even_counts,
    default_size=400,
    checksum=lambda size: size * FILE_BYTES,
    kind="io",
    resource=_temp_file,
))
