"""Cython prange: one OpenMP team of W threads runs every chunk, never holding the GIL."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

from gilcore.strategies.base import DEFAULT_TIMEOUT, Session, Strategy
from gilcore.strategies.cython_nogil import cython_unavailable_reason
from gilcore.workloads import Chunk


class _PrangeSession(Session):
    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        # An OpenMP region cannot be interrupted, so ``timeout`` cannot apply here.
        return list(self.kernel(list(chunks), self.workers))


class Prange(Strategy):
    name = "cython-prange"
    description = "Cython prange (OpenMP), num_threads=W, static schedule"
    kernel = "prange"
    baseline_kernel = "cython"

    def unavailable_reason(self) -> Optional[str]:
        return cython_unavailable_reason()


    session = _PrangeSession
