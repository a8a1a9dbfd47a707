"""Ctrl-C for the CLI: a clean shutdown first, and a bounded one.

The first SIGINT raises KeyboardInterrupt as usual, so every session shuts
its workers down and the run keeps what it measured; it also starts a
watchdog. Should that shutdown not finish within ``SHUTDOWN_GRACE`` seconds
(a worker that ignores its pool's terminate, a thread the interpreter waits
for at exit), or should a second SIGINT come, every child process is killed
and the process exits with 130 at once: a Ctrl-C never hangs.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any, Optional, Type

SHUTDOWN_GRACE = 30.0  # seconds a clean shutdown may take after the first Ctrl-C
INTERRUPTED_EXIT = 130


def force_exit(why: str) -> None:
    """Kills every child process, says why on stderr, exits 130 without further clean-up."""
    try:
        import psutil

        children = psutil.Process().children(recursive=True)
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(children, timeout=5)
    finally:
        os.write(sys.stderr.fileno(), f"gilcore: interrupted; {why}: every worker was killed\n".encode())
        os._exit(INTERRUPTED_EXIT)


class BoundedInterrupt:
    """Within ``with BoundedInterrupt():`` a Ctrl-C shuts down cleanly within ``grace`` seconds, or is forced."""

    def __init__(self, grace: float = SHUTDOWN_GRACE) -> None:
        self.grace = grace
        self._watchdog: Optional[threading.Timer] = None
        self._previous: Any = None

    def __enter__(self) -> "BoundedInterrupt":
        # Signal handlers live in the main thread; a SIGINT ignored from the start (nohup, `cmd &` in a
        # script) stays ignored, as the user asked.
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) != signal.SIG_IGN):
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def _on_interrupt(self, signum: int, frame: Optional[FrameType]) -> None:
        if self._watchdog is not None:
            force_exit("interrupted a second time")
        self._watchdog = threading.Timer(self.grace, force_exit, args=(f"shutting down took over {self.grace:g} s",))
        self._watchdog.daemon = True  # it must outlive the main thread's wait for other threads at exit
        self._watchdog.start()
        raise KeyboardInterrupt

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        # The handler stays while the interrupted run unwinds: a second Ctrl-C still forces the exit,
        # and the watchdog, once started, runs until the process is gone.
        if self._watchdog is None and self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
