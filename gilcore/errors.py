"""What every layer may raise for bad input: the one UsageError, and the parser that raises it."""
from __future__ import annotations

import argparse


class UsageError(ValueError):
    """Bad input from a user: one line, nothing started."""


class UsageParser(argparse.ArgumentParser):
    """An argument parser whose errors are UsageErrors: one line and exit 2, through gilcore.cli."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)
