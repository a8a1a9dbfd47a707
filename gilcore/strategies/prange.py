"""Cython prange: one OpenMP team of W threads runs every chunk, never holding the GIL."""
from __future__ import annotations

from gilcore.strategies.base import OneCallSession, Strategy
from gilcore.strategies.cython_nogil import cython_unavailable_reason


class Prange(Strategy):
    name = "cython-prange"
    description = "Cython prange (OpenMP), num_threads=W, static schedule"
    kernel = "prange"
    baseline_kernel = "cython"
    requirement = staticmethod(cython_unavailable_reason)
    session = OneCallSession
