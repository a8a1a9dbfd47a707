"""Serial: every chunk in turn in the calling thread; the baseline of every speedup."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

from gilcore.strategies.base import DEFAULT_TIMEOUT, Session, Strategy, call_kernel
from gilcore.workloads import Chunk


class _SerialSession(Session):
    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        return [call_kernel(self.kernel, chunk, self.extra) for chunk in chunks]


class Serial(Strategy):
    description = "one thread, chunks in turn"

    def __init__(self, kernel: str = "python") -> None:
        self.kernel = kernel
        self.name = "serial" if kernel == "python" else f"serial-{kernel}"

    def unavailable_reason(self) -> Optional[str]:
        if self.kernel in ("cython", "prange"):
            from gilcore.strategies.cython_nogil import cython_unavailable_reason

            return cython_unavailable_reason()
        return None

    session = _SerialSession
