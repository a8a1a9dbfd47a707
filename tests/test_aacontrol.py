"""Each run's A/A control: read from asv's result file, tied to its cells, described per environment."""
from gilcore import aacontrol, replication

COLUMNS = ["result", "params", "version"]


def asv_file(ratio, spread_percent, version="v1"):
    return {"commit_hash": "c" * 40, "env_name": "virtualenv-py3.12", "result_columns": COLUMNS,
            "results": {aacontrol.AA_RATIO: [[ratio], [], version],
                        aacontrol.AA_SPREAD_PERCENT: [[spread_percent], [], version]}}


def test_an_asv_files_control_is_a_control_record_of_its_commit_and_environment():
    record = aacontrol.from_asv_file(asv_file(1.01, 12.0))
    assert record["kind"] == "aa" and record["commit"] == "c" * 40 and record["env"] == "virtualenv-py3.12"
    assert record["aa"] == {"ratio": 1.01, "spread": 0.12}
    assert aacontrol.from_asv_file({"results": {}, "result_columns": COLUMNS}) is None
    # measured by an older version of the control benchmark: still the control of its own file's run
    assert aacontrol.from_asv_file(asv_file(1.01, 12.0, version="v0")) == record


def test_cells_without_a_run_id_are_tied_to_their_files_control():
    cell = {"benchmark": "b.B.track_speedup", "params": ["threads", "2"], "commit": "c" * 40,
            "env": "virtualenv-py3.12", "measured_at": 5.0, "limit": 2.1,
            "pairs": [{"serial": 2.0, "parallel": 1.0}] * 3}
    for spread, usable in ((12.0, True), (28.0, False)):
        grouped = replication.group_records([aacontrol.from_asv_file(asv_file(1.0, spread)), cell])
        (run,) = grouped[("b.B.track_speedup", ("threads", "2"), "virtualenv-py3.12")]
        assert run.usable is usable and run.aa == {"ratio": 1.0, "spread": spread / 100}


def run(commit, session, aa, at=0.0):
    return replication.RunMeasurement(session, session, at, [], None, None, commit, "env", aa)


def test_few_runs_are_listed_each_with_its_control_many_are_summarised_with_n():
    runs = [run("d" * 40, "s1", {"ratio": 1.0, "spread": 0.28}, 1.0),
            run("7" * 40, "s2", {"ratio": 1.0, "spread": 0.12}, 2.0),
            run("7" * 40, "s2", {"ratio": 1.0, "spread": 0.12}, 3.0), run("2" * 40, "s3", None, 4.0)]
    text = aacontrol.describe(aacontrol.controls_of(runs))
    assert text == "ddddddd ±28% (x1.00) OUT OF BOUNDS; 7777777 ±12% (x1.00); 2222222 no A/A"
    many = runs + [run("e" * 40, "s4", {"ratio": 1.0, "spread": 0.05}, 5.0)]
    assert aacontrol.describe(aacontrol.controls_of(many)) == (
        "4 runs: 2 in bounds (±5–12%), 1 OUT OF BOUNDS (±28–28%), 1 without A/A")
    assert aacontrol.describe([]) == "—"


def test_one_reader_serves_the_asv_file_and_the_gil_probes_run():
    from gilcore import proberuns, rules

    figures = {aacontrol.AA_RATIO: 1.02, aacontrol.AA_SPREAD_PERCENT: 7.0, aacontrol.STEAL_PERCENT: 30.0,
               aacontrol.OTHER_LOAD_CORES: 0.1}
    data = asv_file(1.02, 7.0)
    data["results"].update({aacontrol.STEAL_PERCENT: [[30.0], [], "v1"], aacontrol.OTHER_LOAD_CORES: [[0.1], [], "v1"]})
    probe_run = proberuns.ProbeRun("c" * 40, "3.12", {(name, ()): value for name, value in figures.items()})
    expected = {"ratio": 1.02, "spread": 0.07, "steal": 0.30, "other_load": 0.1}
    assert probe_run.control == expected == aacontrol.control(figures.get)
    assert probe_run.loaded is rules.loaded_run(expected)
    # the record the cells are tied to keeps what rule 'aa-out-of-bounds' reads, as before
    assert aacontrol.from_asv_file(data)["aa"] == {"ratio": 1.02, "spread": 0.07}
    assert proberuns.ProbeRun("c" * 40, "3.12", {}).control is None
