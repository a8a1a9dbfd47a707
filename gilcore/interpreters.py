"""Old path of gilcore.pythons.interpreters, kept for benchmarks/ (asv runs them against old commits)."""
import sys

from gilcore.pythons import interpreters

sys.modules[__name__] = interpreters  # the same module object: one set of globals, patchable as before
