"""The noise meter: how far this environment's run could be trusted.

An A/A control (the same serial countdown timed against itself, interleaved,
order rotated) should give x1.00; how far its per-pair ratios stray is the
noise figure every speedup of the same run lives with. Steal and other load
are the worst seen during the control (gilcore.noise).
"""
from gilcore import cellstore
from gilcore.noise import aa_control


class NoiseControl:
    """A/A control, measured in every asv round (each track is a fresh process) and reported four ways.

    Each track measures a control of its own and stores it (gilcore.cellstore.record_aa) with its
    session and time, so every run of a cell is tied to the control measured nearest to it in its
    session (gilcore.replication.group_records): a run, not a whole asv session, is judged by it.
    Once per session (setup_cache) let one control of a few seconds condemn or clear half an hour of
    runs (3.11 on 2026-12-02: 10.5 % steal during the control, none in most cells' pairs). A control
    of 10 pairs of a 1.5 M countdown takes about a second.
    """

    number = 1
    repeat = 1
    rounds = 1
    timeout = 120

    def _control(self):
        control = aa_control(pairs=10).to_dict()
        cellstore.record_aa("bench_noise.NoiseControl", control)
        return control

    def track_aa_ratio(self):
        return self._control()["ratio"]

    track_aa_ratio.unit = "x"

    def track_aa_spread_percent(self):
        return 100 * self._control()["spread"]

    track_aa_spread_percent.unit = "%"

    def track_steal_percent(self):
        return 100 * (self._control()["steal"] or 0.0)

    track_steal_percent.unit = "%"

    def track_other_load_cores(self):
        return self._control()["other_load"] or 0.0

    track_other_load_cores.unit = "cores"
