"""A user's own workloads, as `python -m gilcore --workload byo_example:NAME` sees them."""
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


SQUARES = gilcore.Workload(
    name="squares",
    description="sum of squares, split into contiguous ranges",
    kernels={"python": sum_of_squares},
    split=contiguous_ranges,
    default_size=100_000,
    checksum=lambda n: (n - 1) * n * (2 * n - 1) // 6,
)
