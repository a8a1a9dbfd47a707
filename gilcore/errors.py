"""The errors every layer may raise: a user's mistake is one line and a non-zero exit, never a traceback.

UsageError, and UsageParser: the argparse parser every command uses, whose errors are UsageErrors.
"""
from __future__ import annotations

import argparse


class UsageError(ValueError):
    """Bad input from a user: one line, nothing started."""


class UsageParser(argparse.ArgumentParser):
    """An argument parser whose errors are UsageErrors: one line and exit 2, through gilcore.cli."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)
