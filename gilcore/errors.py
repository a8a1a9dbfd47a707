"""The errors every layer may raise: a user's mistake is one line and a non-zero exit, never a traceback."""


class UsageError(ValueError):
    """Bad input from a user: one line, nothing started."""
