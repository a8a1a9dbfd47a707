"""Runs as the unit of replication: run identity, stored records grouped into runs, A/A per session."""
import math
import os
import subprocess
import sys

import pytest

from gilcore import replication, rules
from gilcore.cli import rounds


def test_this_run_is_one_per_process_and_a_fork_gets_its_own():
    first = replication.this_run()
    assert replication.this_run() == first and first["pid"] == os.getpid() and first["session"]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a run of its own
        os.write(write, replication.this_run()["id"].encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 100).decode() != first["id"]


def test_a_parent_names_the_run_and_session_of_a_child():
    code = "from gilcore import replication; r = replication.this_run(); print(r['id'], r['session'])"
    env = dict(os.environ, GILCORE_RUN_ID="r1", GILCORE_SESSION="s1")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["r1", "s1"]


def record(run_id, ratios, *, commit="c" * 40, env="virtualenv-py3.12", session=None, at=0.0, **extra):
    return {"benchmark": "bench_cpu.Countdown.track_speedup", "params": ["pool-fork", "2"], "commit": commit,
            "env": env, "measured_at": at, "limit": 2.1,
            "pairs": [{"serial": r, "parallel": 1.0} for r in ratios],
            **({"run": {"id": run_id, "session": session or run_id}} if run_id else {}), **extra}


def test_records_group_into_runs_tied_to_their_sessions_aa():
    records = [
        {"kind": "aa", "commit": "c" * 40, "env": "virtualenv-py3.12", "run": {"id": "n", "session": "s1"},
         "aa": {"ratio": 1.2, "spread": 0.3}, "measured_at": 0},
        record("r1", [1.9, 1.9], session="s1", at=1),
        record("r2", [2.0, 2.0], session="s2", at=2),
        record("r3", [1.8, 1.8], session="s2", at=3),
    ]
    (key, runs), = replication.group_records(records).items()
    assert key == ("bench_cpu.Countdown.track_speedup", ("pool-fork", "2"), "virtualenv-py3.12")
    assert [run.run_id for run in runs] == ["r1", "r2", "r3"]
    assert [run.aa_in_bounds for run in runs] == [False, None, None]
    cell = replication.estimate_cell(runs, 2.1)
    assert cell.runs_used == 2 and cell.counts["aa-out-of-bounds"] == 1  # r1's session failed its A/A


def test_each_run_is_judged_by_the_aa_control_nearest_to_it_in_its_session():
    def aa(ratio, at):
        return {"kind": "aa", "commit": "c" * 40, "env": "virtualenv-py3.12", "run": {"id": f"aa{at}", "session": "s1"},
                "aa": {"ratio": ratio, "spread": 0.03}, "measured_at": at}

    # one control per asv round: the first round's saw steal, the second's and third's were quiet
    records = [aa(1.12, 100), record("r1", [1.9, 1.9], session="s1", at=90),
               aa(1.00, 700), record("r2", [1.95, 1.9], session="s1", at=650),
               aa(1.01, 1300), record("r3", [1.9, 1.92], session="s1", at=1350)]
    (_, runs), = replication.group_records(records).items()
    assert [run.aa_in_bounds for run in runs] == [False, True, True]
    assert replication.estimate_cell(runs, 2.1).runs_used == 2
    assert replication.nearest_control([], 5.0) is None


def test_old_records_without_a_run_count_as_one_run_per_commit_and_environment():
    records = [record(None, [1.0, 1.0], at=1), record(None, [1.9, 1.9], at=2),  # a re-run: the newer counts
               record(None, [1.8, 1.8], commit="d" * 40, at=3),
               record(None, [1.7], env="virtualenv-py3.13", at=4)]
    grouped = replication.group_records(records)
    runs = grouped[("bench_cpu.Countdown.track_speedup", ("pool-fork", "2"), "virtualenv-py3.12")]
    assert [run.run_id for run in runs] == ["cccccccc-virtualenv-py3.12", "dddddddd-virtualenv-py3.12"]
    assert runs[0].estimate == pytest.approx(1.9)


def test_old_pair_flags_are_not_trusted_the_rules_of_today_apply():
    old = record(None, [], pairs=[{"serial": 2.5, "parallel": 1.0, "kept": False,
                                   "why_dropped": "beyond the physical limit"},
                                  {"serial": 1.9, "parallel": 1.0, "kept": True},
                                  {"serial": 1.0, "parallel": 1.0, "kept": False, "why_dropped": "under load",
                                   "steal": 0.4, "other_load": 0.0}])
    (run,) = next(iter(replication.group_records([old]).values()))
    assert [p["flags"] for p in run.pairs] == [["over-limit"], [], ["under-load"]]
    assert sorted(run.clean_ratios) == [1.9, 2.5]  # the high pair is back, the loaded one stays out


def test_cli_rounds_change_the_order_of_cells():
    cells = ["a", "b", "c"]
    assert [rounds.round_order(cells, i) for i in range(3)] == [["a", "b", "c"], ["a", "c", "b"], ["c", "a", "b"]]


def test_cli_records_aggregate_into_cells_over_runs():
    def cell_run(run_id, ratios, session):
        return {"record": "cell_run", "workload": "countdown", "strategy": "threads", "workers": 2,
                "benchmark": "countdown", "params": ["threads", "2"], "env": "py", "commit": "", "limit": 2.1,
                "measured_at": 0, "seconds": 0.1, "run": {"id": run_id, "session": session},
                "pairs": [{"serial": r, "parallel": 1.0} for r in ratios]}

    records = [{"record": "aa", "aa": {"ratio": 1.0, "spread": 0.01}, "env": "py", "commit": "",
                "run": {"id": "a", "session": "a"}},
               cell_run("a", [1.0, 1.1], "a"), cell_run("b", [1.0, 1.05], "b"), cell_run("c", [1.1, 1.1], "c")]
    (cell,) = rounds.aggregate(records)
    assert cell["evidence"] == "3x2" and cell["runs_used"] == 3 and cell["n"] == 6
    assert [m["aa_in_bounds"] for m in cell["run_measurements"]] == [True, None, None]
    assert len(cell["pairs"]) == 6 and cell["flags"] == [] and not cell["over_limit"]


def test_cli_rounds_measure_every_cell_in_the_minimum_runs_then_only_the_wide_ones(monkeypatch):
    import argparse
    import itertools
    from types import SimpleNamespace

    def planned(workload, strategy):
        return SimpleNamespace(workload=SimpleNamespace(name=workload), strategy=SimpleNamespace(name=strategy),
                               workers=2, size=10)

    cells = [planned("tight", "threads"), planned("wide", "threads"), planned("broken", "threads")]
    wide = itertools.cycle([1.2, 2.0])
    asked = []

    clock = [0.0]  # each round takes one second of a fake clock: the extra-run budget is a quarter of 3 s

    def fake_round(specs, args, on_record):
        clock[0] += 1.0
        asked.append([spec["workload"] for spec in specs])
        run = {"id": f"r{len(asked)}", "session": f"r{len(asked)}"}
        for spec in specs:
            if spec["workload"] == "broken":
                on_record({"record": "failure", "text": "boom", "workload": "broken", "strategy": "threads",
                           "workers": 2})
                continue
            ratio = 1.9 if spec["workload"] == "tight" else next(wide)
            on_record({"record": "cell_run", "workload": spec["workload"], "strategy": "threads", "workers": 2,
                       "benchmark": spec["workload"], "params": ["threads", "2"], "env": "py", "commit": "",
                       "limit": 2.1, "measured_at": 0, "run": run,
                       "pairs": [{"serial": ratio, "parallel": 1.0}] * 2})
        return True

    monkeypatch.setattr(rounds, "run_child_round", fake_round)
    monkeypatch.setattr(rounds, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    args = argparse.Namespace(runs=3, max_runs=5, workload=None)
    records = []
    rounds.measure_rounds(cells, args, records.append, lambda index, keys: None)
    assert [sorted(names) for names in asked[:3]] == [["broken", "tight", "wide"], ["tight", "wide"], ["tight", "wide"]]
    assert asked[3:] == [["wide"]]  # one more run, for the wide cell only, and the budget (3.75 s) is spent
    by_cell = {row["workload"]: row for row in rounds.aggregate(records)}
    assert by_cell["tight"]["evidence"] == "3x2" and set(by_cell) == {"tight", "wide"}


def test_runs_of_the_earlier_procedure_give_way_to_runs_with_ids():
    legacy = [record(None, [1.2, 1.3, 1.25], commit=c * 40, at=i) for i, c in enumerate("ab")]
    current = [record(f"r{i}", [1.9, 1.95, 1.92], at=10 + i) for i in range(3)]
    (runs,) = replication.group_records(legacy + current).values()
    counts = replication.rules.RuleCounts()
    kept = replication.current_procedure(runs, counts)
    assert [run.run_id for run in kept] == ["r0", "r1", "r2"] and counts["older-procedure"] == 2
    (alone,) = replication.group_records(legacy).values()  # legacy runs alone stay, one per commit
    assert len(replication.current_procedure(alone, counts)) == 2 and counts["older-procedure"] == 2


def _round_of_controls(ratios_each, at, session="s1"):
    """One asv round's four controls, a second apart, each of ten pairs with the given ratios."""
    return [{"kind": "aa", "commit": "c" * 40, "env": "virtualenv-py3.13", "run": {"id": f"aa{at}{i}", "session": session},
             "aa": {"ratios": ratios, "ratio": math.prod(ratios) ** (1 / len(ratios))}, "measured_at": at + i}
            for i, ratios in enumerate(ratios_each)]


def test_a_run_is_judged_by_its_rounds_four_controls_pooled_not_by_one_of_them():
    # 3.13 on 2026-12-02: one control of a round read x1.07 (its ten pairs leaning one way); the other
    # three, a second later, read x1.00. Alone, the first would have condemned the cells measured before it.
    leaning = [1.07] * 10
    calm = [0.99, 1.01] * 5
    controls = _round_of_controls([leaning, calm, calm, calm], at=1000)
    alone = replication.nearest_control([(c["measured_at"], c["aa"]) for c in controls[:1]], 900)
    assert rules.aa_in_bounds(alone) is False
    pooled = replication.nearest_control([(c["measured_at"], c["aa"]) for c in controls], 900)
    assert pooled["controls"] == 4 and len(pooled["ratios"]) == 40
    assert abs(pooled["ratio"] - 1.07 ** 0.25) < 1e-3 and rules.aa_in_bounds(pooled) is True
    runs = replication.group_records([*controls, record("r1", [1.9, 1.9, 1.92], session="s1", at=900,
                                                        env="virtualenv-py3.13")])
    (run,) = next(iter(runs.values()))
    assert run.aa_in_bounds is True and run.aa["controls"] == 4


def test_a_round_whose_every_control_leans_stays_out_and_rounds_minutes_apart_are_not_pooled():
    leaning, calm = [1.08] * 10, [1.0] * 10
    controls = [*_round_of_controls([leaning] * 4, at=1000), *_round_of_controls([calm] * 4, at=1300)]
    timed = [(c["measured_at"], c["aa"]) for c in controls]
    first, second = replication.nearest_control(timed, 950), replication.nearest_control(timed, 1290)
    assert rules.aa_in_bounds(first) is False and first["controls"] == 4
    assert rules.aa_in_bounds(second) is True and second["measured_at"] == 1300
    assert rules.AA_ROUND_GAP < 300  # asv rounds of the headline set are 3 minutes apart or more


def test_older_controls_without_their_ratios_are_never_pooled():
    old = [(0.0, {"ratio": 1.2, "spread": 0.3}), (1.0, {"ratio": 1.0, "spread": 0.01})]
    assert replication.nearest_control(old, 0.0)["ratio"] == 1.2
