"""A user's own workloads, as `python -m gilcore --workload byo_example:NAME` sees them, and mistakes in them."""
import gilcore
from gilcore.workloads import contiguous_ranges


def sum_of_squares(start, stop):
    """Sum of i*i over a range: gilcore hands each worker a contiguous piece."""
    return sum(i * i for i in range(start, stop))


def spin(n):
    """n turns of a loop: gilcore hands each worker a count; the counts add up."""
    for _ in range(n):
        pass
    return n


def not_additive(n):
    """Its parts do not sum to the whole, so its checksum must fail."""
    return n * n


def raises(start, stop):
    """Fails on every call, the parent's check included."""
    return (stop - start) / 0


def returns_none(n):
    """Forgets its return statement."""
    sum(range(n))


def raises_in_workers(start, stop):
    """Right on the parent's one-chunk runs (start 0), wrong on any later piece: only workers see it."""
    if start > 0:
        raise ValueError(f"no piece may start at {start}")
    return stop - start


def none_in_workers(start, stop):
    """A number on the parent's one-chunk runs, None on any later piece."""
    return stop - start if start == 0 else None


SQUARES = gilcore.Workload(
    name="squares",
    description="sum of squares, split into contiguous ranges",
    kernels={"python": sum_of_squares},
    split=contiguous_ranges,
    default_size=100_000,
    checksum=lambda n: (n - 1) * n * (2 * n - 1) // 6,
)
