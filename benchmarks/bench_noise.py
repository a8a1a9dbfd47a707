"""The noise meter: how far this environment's run could be trusted.

An A/A control (the same serial countdown timed against itself, interleaved,
order rotated) should give x1.00; how far its per-pair ratios stray is the
noise figure every speedup of the same run lives with. Steal and other load
are the worst seen during the control (gilcore.noise).
"""
from gilcore import cellstore
from gilcore.noise import aa_control


class NoiseControl:
    """A/A control, measured once per environment (setup_cache) and reported four ways."""

    number = 1
    repeat = 1
    rounds = 1
    timeout = 120

    def setup_cache(self):
        # Once per `asv run` of an environment (asv caches it over rounds): stored with its session
        # (gilcore.replication), so every cell measured in the same session is tied to it.
        control = aa_control(pairs=10).to_dict()
        cellstore.record_aa("bench_noise.NoiseControl", control)
        return control

    setup_cache.timeout = 120

    def track_aa_ratio(self, control):
        return control["ratio"]

    track_aa_ratio.unit = "x"

    def track_aa_spread_percent(self, control):
        return 100 * control["spread"]

    track_aa_spread_percent.unit = "%"

    def track_steal_percent(self, control):
        return 100 * (control["steal"] or 0.0)

    track_steal_percent.unit = "%"

    def track_other_load_cores(self, control):
        return control["other_load"] or 0.0

    track_other_load_cores.unit = "cores"
