"""The GIL state of this interpreter: observed, and promised by its environment."""
from __future__ import annotations

import os
import sys
import sysconfig
from typing import Optional


class GilStateError(RuntimeError):
    """The GIL is not in the state this environment promised."""


def free_threaded_build() -> bool:
    """True on a CPython built with --disable-gil (3.13t and later)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> Optional[bool]:
    """Whether the GIL is on right now; None on interpreters that have none to ask.

    ``sys._is_gil_enabled()`` exists from 3.13. Older CPythons always run with
    the GIL, so they answer True; other implementations answer None.
    """
    probe = getattr(sys, "_is_gil_enabled", None)
    if probe is not None:
        return bool(probe())
    if sys.implementation.name == "cpython":
        return True
    return None


def promised_gil_state() -> Optional[bool]:
    """The GIL state this environment promises: PYTHON_GIL=0/1 on a free-threaded build.

    With PYTHON_GIL unset a free-threaded build promises nothing: that is the
    default a user gets, where importing an extension not declared
    free-threading compatible turns the GIL back on; the state is recorded, not checked.
    """
    if sys.implementation.name != "cpython":
        return None
    if not free_threaded_build():
        return True
    setting = os.environ.get("PYTHON_GIL", "")
    if setting in ("0", "1"):
        return setting == "1"
    return None


def check_gil_state(observed: Optional[bool] = None) -> Optional[bool]:
    """Raise GilStateError when the observed GIL state breaks the environment's promise."""
    if observed is None:
        observed = gil_enabled()
    promised = promised_gil_state()
    if promised is not None and observed is not None and observed != promised:
        raise GilStateError(
            f"GIL is {'on' if observed else 'off'} but this environment promises it "
            f"{'on' if promised else 'off'}: an extension imported in this process that is "
            "not declared free-threading compatible re-enables it"
        )
    return observed


def describe_interpreter() -> str:
    """One short label: implementation, version, 't' for free-threaded, and PYTHON_GIL if set."""
    version = ".".join(map(str, sys.version_info[:3]))
    label = f"{sys.implementation.name}-{version}{'t' if free_threaded_build() else ''}"
    if free_threaded_build() and os.environ.get("PYTHON_GIL"):
        label += f" PYTHON_GIL={os.environ['PYTHON_GIL']}"
    return label
