"""Small pure-Python patterns that scale well, or badly, on free-threaded CPython.

In the spirit of CPython's Tools/ftscalingbench: with the GIL off, threads that
only touch their own objects run in parallel, but every thread that touches one
*shared* object writes to that object's reference count (or takes its lock), so
the cache line holding it bounces between cores and the threads queue up.
Immortal objects are exempt: free-threaded 3.13 makes modules, functions,
classes and code immortal once a second thread starts, so sharing those is free
there. Under the GIL none of the patterns scales; on a free-threaded build the
gap between the control (local-arith) and the rest is the cost of sharing.

Each kernel is ``f(n) -> int``: n iterations of one pattern, returning how many
it did, so the checksum is n (strong scaling: n split over W threads) or n x W
(weak scaling: every thread does all n). Each pattern is registered twice:
``ft-<pattern>`` (strong) and ``ft-<pattern>-weak``.
"""
from __future__ import annotations

import sys
import threading
from typing import Callable, Dict, List

from gilcore.workloads import Workload, even_counts, register

# --- shared state the kernels touch (module level: every thread sees the same objects)

class Stepper:
    """A tiny object with one read-only method; its step is always 1."""

    def __init__(self) -> None:
        self.stride = 1

    def step(self) -> int:
        return self.stride


SHARED_STEPPER = Stepper()


class Point:
    """A small class whose instances the create-object pattern makes."""

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


def one() -> int:
    """Called through this module's attribute by the module-call pattern."""
    return 1


_THIS_MODULE = sys.modules[__name__]

THREAD_LOCAL = threading.local()

SHARED_LIST: List[int] = []


class LockedCounter:
    """A counter every thread increments, guarded by one threading.Lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value = 0


SHARED_COUNTER = LockedCounter()


# --- the kernels --------------------------------------------------------------
#
# Constants in the kernels are small ints (-5..256), None and strings only: those
# are immortal everywhere. A larger literal such as 0xFFFF is an ordinary object
# in the code object's constants, shared by every thread; free-threaded 3.13
# immortalizes it when the module comes from a .pyc but not when it is compiled
# from source, and its refcount alone stops a loop from scaling (measured: 1.2x
# instead of 1.9x on 2 threads). tests/test_ftpatterns.py checks this rule.

def local_arith(n: int) -> int:
    """Control: integer arithmetic on locals only; nothing shared, should scale everywhere."""
    done = 0
    x = 1
    for _ in range(n):
        x = (x * 5 + 3) & 255  # small ints only: see the note above the kernels
        done += 1
    return done


def local_method(n: int) -> int:
    """Method calls on a Stepper made by this call: only its class and method are shared."""
    stepper = Stepper()
    done = 0
    for _ in range(n):
        done += stepper.step()
    return done


def shared_method(n: int) -> int:
    """Method calls on one module-level Stepper: every load of it writes its shared refcount."""
    done = 0
    for _ in range(n):
        done += SHARED_STEPPER.step()
    return done


def module_call(n: int) -> int:
    """``module.one()`` calls: every one loads the shared module and function objects."""
    done = 0
    for _ in range(n):
        done += _THIS_MODULE.one()
    return done


def create_object(n: int) -> int:
    """New Point instances: each one takes a reference to the shared class object."""
    done = 0
    for _ in range(n):
        point = Point(done, 1)
        done += point.y
    return done


def create_closure(n: int) -> int:
    """A new closure each iteration: each function object references the shared code and globals."""
    stride = 1
    done = 0
    for _ in range(n):
        def step():  # no annotations: their tuple would be one more shared constant
            return stride
        done += step()
    return done


def create_dict(n: int) -> int:
    """A new one-key dict each iteration: only the (immortal) key string is shared."""
    done = 0
    for _ in range(n):
        entry = {"step": 1}
        done += entry["step"]
    return done


def thread_local_read(n: int) -> int:
    """Reads of one module-level threading.local: per-thread values behind one shared object."""
    THREAD_LOCAL.stride = 1
    done = 0
    for _ in range(n):
        done += THREAD_LOCAL.stride
    return done


def shared_list(n: int) -> int:
    """Append then pop on one module-level list: its per-object lock and refcount are shared."""
    done = 0
    for _ in range(n):
        SHARED_LIST.append(1)
        done += SHARED_LIST.pop()  # maybe another thread's 1: still 1, never empty
    return done


def locked_counter(n: int) -> int:
    """Increments of one shared counter under its threading.Lock: the threads take turns."""
    counter = SHARED_COUNTER
    for _ in range(n):
        with counter.lock:
            counter.value += 1
    return n


# --- the registry ---------------------------------------------------------------

# pattern name -> kernel, in the order reports show them
_KERNELS: Dict[str, Callable[[int], int]] = {
    "local-arith": local_arith,
    "local-method": local_method,
    "shared-method": shared_method,
    "module-call": module_call,
    "create-object": create_object,
    "create-closure": create_closure,
    "create-dict": create_dict,
    "thread-local": thread_local_read,
    "shared-list": shared_list,
    "locked-counter": locked_counter,
}
# pattern name -> default size: one serial run takes ~0.15 s on CPython 3.11 here
_DEFAULT_SIZES: Dict[str, int] = {
    "local-arith": 4_000_000,
    "local-method": 5_000_000,
    "shared-method": 5_000_000,
    "module-call": 5_000_000,
    "create-object": 1_500_000,
    "create-closure": 2_000_000,
    "create-dict": 3_000_000,
    "thread-local": 4_000_000,
    "shared-list": 3_000_000,
    "locked-counter": 1_200_000,
}

PATTERNS: List[str] = list(_KERNELS)


def _register_pattern(pattern: str, kernel: Callable[[int], int], size: int) -> None:
    doc = (kernel.__doc__ or pattern).strip().splitlines()[0]
    for weak in (False, True):
        register(Workload(
            name=f"ft-{pattern}-weak" if weak else f"ft-{pattern}",
            description=f"{doc} ({'each thread does all n' if weak else 'n split over the threads'})",
            kernels={"python": kernel},
            split=even_counts,
            default_size=size,
            checksum=lambda n: n,  # kernels return the iterations done; weak scaling multiplies by W
            kind="ft-pattern",
            only_strategies=("serial", "threads"),
            weak_scaling=weak,
        ))


for _pattern in PATTERNS:
    _register_pattern(_pattern, _KERNELS[_pattern], _DEFAULT_SIZES[_pattern])
del _pattern
