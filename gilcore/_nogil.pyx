# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""C kernels that run with the GIL released.

The reference article wraps Python-level threads in ``with nogil:``. That is
wrong twice over: Cython refuses to compile it (the block creates Python
objects), and releasing the GIL around code that *starts* threads would not
make the Python code inside those threads run in parallel anyway. The right
shape is the one below: a ``cdef ... noexcept nogil`` function that touches no
Python object, called from a ``def`` wrapper inside ``with nogil:``. Plain
Python threads calling the wrapper then run the loop truly in parallel.

``freethreading_compatible`` matters on a free-threaded CPython: without it,
importing this module silently turns the GIL back on for the whole process.
"""
from array import array

from cython.parallel cimport prange
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec


cdef inline bint _is_odd_prime(long long n) noexcept nogil:
    cdef long long d = 3
    if n < 3:
        return False
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


cdef long long _count_odd_primes(long long start, long long stop, long long step) noexcept nogil:
    """Same algorithm as gilcore.workloads.count_odd_primes, in C."""
    cdef long long i = start
    cdef long long found = 0
    while i < stop:
        if _is_odd_prime(2 * i + 1):
            found += 1
        i += step
    return found


def count_odd_primes(long long start, long long stop, long long step=1):
    """Count primes among 2*i+1 for i in range(start, stop, step), GIL released."""
    cdef long long found
    if step < 1:
        raise ValueError("step must be >= 1")
    with nogil:
        found = _count_odd_primes(start, stop, step)
    return found


def count_odd_primes_prange(list chunks, int num_threads):
    """Count odd primes of every (start, stop, step) chunk in one OpenMP team.

    One chunk per iteration, static schedule, ``num_threads`` threads: the team
    never holds the GIL. Returns the per-chunk counts, in chunk order.
    """
    cdef Py_ssize_t n_chunks = len(chunks)
    cdef Py_ssize_t i
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    for c in chunks:
        if c[2] < 1:
            raise ValueError("step must be >= 1")
    # Typed memoryviews over C arrays: the parallel region may not touch Python objects.
    cdef long long[::1] starts = array("q", [c[0] for c in chunks])
    cdef long long[::1] stops = array("q", [c[1] for c in chunks])
    cdef long long[::1] steps = array("q", [c[2] for c in chunks])
    cdef long long[::1] counts = array("q", [0] * n_chunks)
    if n_chunks == 0:
        return []
    for i in prange(n_chunks, nogil=True, num_threads=num_threads, schedule="static", chunksize=1):
        counts[i] = _count_odd_primes(starts[i], stops[i], steps[i])
    return list(counts)


cdef inline long long _monotonic_ns() noexcept nogil:
    # CLOCK_MONOTONIC: what time.monotonic_ns() reads on Linux, in every process
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <long long>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef Py_ssize_t _busy_slices(long long stop_ns, long long gap_ns, long long* out,
                             Py_ssize_t max_slices) noexcept nogil:
    cdef long long first = _monotonic_ns()
    cdef long long last = first
    cdef long long now
    cdef unsigned long long x = 88172645463325252ULL
    cdef Py_ssize_t n = 0
    cdef int i
    while last < stop_ns:
        for i in range(64):  # a unit of work of about 100 ns between two clock reads
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
        now = _monotonic_ns()
        if now - last > gap_ns and n < max_slices - 1:
            out[2 * n] = first
            out[2 * n + 1] = last
            n += 1
            first = now
        last = now
    out[2 * n] = first
    out[2 * n + 1] = last
    return n + 1 + (x == 0)  # x is never 0: using it keeps the compiler from dropping the work


def busy_slices(long long stop_ns, long long gap_ns, Py_ssize_t max_slices=100000):
    """Spin with the GIL released until time.monotonic_ns() reaches stop_ns (gilcore gil timeline).

    Returns the stretches [(start_ns, end_ns), ...] the thread ran without a gap
    between two clock reads longer than gap_ns: the gaps are when it did not run.
    """
    if max_slices < 1:
        raise ValueError("max_slices must be >= 1")
    cdef long long[::1] out = array("q", [0]) * (2 * max_slices)
    cdef Py_ssize_t n
    with nogil:
        n = _busy_slices(stop_ns, gap_ns, &out[0], max_slices)
    return [(out[2 * i], out[2 * i + 1]) for i in range(n)]
