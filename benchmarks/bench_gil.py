"""The GIL state each environment actually runs with: a measured fact, not an assumption."""
import gilcore
from gilcore.gil import check_gil_state


class GilState:
    number = 1
    timeout = 60
    repeat = 1
    rounds = 1
    unit = "enabled"

    def setup(self):
        import gilcore._nogil  # noqa: F401  the extension must not turn the GIL back on
        import numpy  # noqa: F401

    def track_gil_enabled(self):
        # Fails loudly when the state differs from what the environment promises.
        observed = check_gil_state()
        return int(gilcore.gil_enabled()) if observed is not None else float("nan")

    track_gil_enabled.unit = "enabled"
