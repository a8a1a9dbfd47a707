"""Peak resident memory of worker processes, read from /proc (Linux)."""
from __future__ import annotations

from typing import Iterable


def peak_rss_mib(pids: Iterable[int]) -> float:
    """Sum of the peak resident set (VmHWM) of each process, in MiB."""
    total_kib = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        total_kib += int(line.split()[1])
                        break
        except FileNotFoundError:
            raise NotImplementedError(f"no /proc/{pid}/status: peak memory needs Linux and a live worker")
    return total_kib / 1024
