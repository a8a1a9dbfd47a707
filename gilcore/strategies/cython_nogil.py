"""Cython nogil: Python threads calling a ``def`` wrapper whose loop runs in ``with nogil:``.

This is the reference article's second workaround done right. The article
puts ``with nogil:`` around the code that *starts* Python threads; Cython
rejects that (the block touches Python objects), and it would not help: the
threads' own Python code still needs the GIL. The GIL is released inside the
compiled kernel instead (see gilcore/_nogil.pyx), and ordinary threads call it.
"""
from __future__ import annotations

import importlib
from typing import Optional

from gilcore.strategies.threads import Threads


def cython_unavailable_reason() -> Optional[str]:
    try:
        importlib.import_module("gilcore._nogil")
    except ImportError as error:
        return f"the Cython extension gilcore._nogil is not built ({error})"
    return None


class CythonThreads(Threads):
    name = "cython-threads"
    description = "W threads calling a Cython kernel that releases the GIL"
    kernel = "cython"
    requirement = staticmethod(cython_unavailable_reason)
