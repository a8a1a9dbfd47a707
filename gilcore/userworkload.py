"""A user's own function as a workload (``--workload mymod:work``), and its mistakes as one line.

The function runs wherever a strategy runs its kernel (this thread, a thread,
a process, a subinterpreter), always through ``UserFunction``, which never
raises there: a raise, or a result that is not a number, comes back as a
``Failure`` that names the function, what went wrong and where (file:line).
Combining the results, which happens in the caller, turns a Failure into
``UserFunctionError``. So every strategy reports the same one line, and its
workers are closed as after any run, with nothing left running.

Most mistakes never get that far: ``load_workload`` imports the module (a syntax error
is one line too) and calls the function once on a small chunk, in the caller
and in serial, before any pool exists.
"""
from __future__ import annotations

import importlib
import inspect
import numbers
import os
import reprlib
import sysconfig
import traceback
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence

from gilcore.errors import UsageError
from gilcore.workloads import Workload, contiguous_ranges, even_counts

# The size ``load_workload`` tries the function on: a few iterations, whatever one of them costs.
CHECK_SIZE = 10
_GILCORE = os.path.dirname(os.path.abspath(__file__))
_LIBRARIES = {os.path.abspath(path) for key in ("stdlib", "platstdlib", "purelib", "platlib")
              if (path := sysconfig.get_paths().get(key))}


class UserFunctionError(UsageError):
    """A user's workload function or module failed; the message names it and says what went wrong."""


@dataclass(frozen=True)
class Failure:
    """What a chunk gave instead of a number: travels back from any worker like a result."""

    message: str


@dataclass(frozen=True)
class UserFunction:
    """The kernel of a user's workload: the function, its result checked, its raise reported."""

    name: str
    function: Callable[..., Any]

    def __call__(self, *chunk: Any) -> Any:
        try:
            value = self.function(*chunk)
        except Exception as error:
            return Failure(f"{self.name} raised {describe(error)}")
        if not isinstance(value, numbers.Number):
            shown = "None" if value is None else f"{reprlib.repr(value)} (a {type(value).__name__})"
            return Failure(f"{self.name} returned {shown}; a number is needed")
        return value


def sum_results(results: Sequence[Any]) -> Any:
    """The combined value of a user's workload; raises UserFunctionError for a chunk that failed."""
    for result in results:
        if isinstance(result, Failure):
            raise UserFunctionError(result.message)
    return sum(results)


def describe(error: BaseException) -> str:
    """'ZeroDivisionError: division by zero at mymod.py:3', on one line."""
    text = " ".join(str(error).split())
    kind = type(error).__name__ + (f": {text}" if text else "")
    where = _where(traceback.extract_tb(error.__traceback__))
    return f"{kind} at {where}" if where else kind


def _where(frames: List[traceback.FrameSummary]) -> Optional[str]:
    """The deepest line of the user's own code (not the standard library's, a package's or gilcore's)."""
    def under(path: str, folders: Any) -> bool:
        path = os.path.abspath(path)
        return any(path == folder or path.startswith(folder + os.sep) for folder in folders)

    outside_gilcore = [f for f in frames if not under(f.filename, [_GILCORE])]
    own = [f for f in outside_gilcore if not under(f.filename, _LIBRARIES)]
    chosen = (own or outside_gilcore or frames or [None])[-1]
    return None if chosen is None else f"{shown_path(chosen.filename)}:{chosen.lineno}"


def shown_path(path: Optional[str]) -> str:
    """A path relative to the current folder when it is inside it, as the user would type it."""
    if not path:
        return "?"
    relative = os.path.relpath(os.path.abspath(path))
    return path if relative.startswith(os.pardir) else relative


def workload_from_function(function: Any, name: Optional[str] = None) -> Workload:
    """A user's module-level function as a workload, its results summed.

    ``f(start, stop)`` gets contiguous pieces of range(size); ``f(n)`` gets
    near-equal counts that add up to size (work units, like countdown). The
    serial one-chunk run is the reference value, so a function whose parts do
    not sum to the whole fails its checksum instead of giving a wrong table.
    """
    name = name or f"{function.__module__}:{function.__qualname__}"
    try:
        arity = len(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        arity = 1
    if arity not in (1, 2):
        raise UsageError(f"{name!r} must take (n) or (start, stop), not {arity} arguments")
    return Workload(
        name=name,
        description=((function.__doc__ or "").strip().splitlines() or ["user workload"])[0],
        kernels={"python": UserFunction(name, function)},
        split=contiguous_ranges if arity == 2 else even_counts,
        default_size=int(getattr(function, "default_size", 1_000_000)),
        combine=sum_results,
    )


def load_workload(spec: str) -> Workload:
    """'package.module:name' (a Workload or a function), imported and, for a function, tried once."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as error:  # also IndentationError, TabError; maybe in a module it imports
        raise UserFunctionError(f"{module_name}: syntax error at {shown_path(error.filename)}:{error.lineno}: "
                                f"{error.msg}") from None
    except ImportError as error:
        raise UsageError(f"cannot load workload {spec!r}: {error}") from None
    except Exception as error:  # the module's own code failed while it was imported
        raise UserFunctionError(f"{module_name}: importing it raised {describe(error)}") from None
    try:
        target = getattr(module, attribute)
    except AttributeError as error:
        raise UsageError(f"cannot load workload {spec!r}: {error}") from None
    if isinstance(target, Workload):
        return target
    if not callable(target):
        raise UsageError(f"{spec!r} is neither a Workload nor a function")
    workload = workload_from_function(target, spec)
    check(workload)
    return workload


def check(workload: Workload) -> None:
    """Call the function once on a small chunk, here and in serial: most mistakes show before any pool."""
    kernel = workload.kernels["python"]
    sum_results([kernel(*chunk) for chunk in workload.split(CHECK_SIZE, 1)])
