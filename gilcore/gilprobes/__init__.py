"""Probes of the GIL itself: switching, the convoy effect, contention, and timelines you can see.

    >>> from gilcore import gilprobes
    >>> gilprobes.switching.run([1, 5])                  # 2 threads vs serial per switch interval
    >>> gilprobes.convoy.run()                           # I/O latency beside CPU-bound work
    >>> gilprobes.contention.run()                       # share of time threads wait
    >>> gilprobes.timeline.record("threads").write_svg("threads.svg")

``portable.py`` holds the loops that also run on CPython 2.7 (through
``--python``); ``python -m gilcore gil ...`` is the command line.
"""
from gilcore.gilprobes import contention, convoy, switching, timeline

__all__ = ["contention", "convoy", "switching", "timeline"]
