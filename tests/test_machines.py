"""Rule one-machine: results of different hardware are never pooled into one cell; the report's
environments say which machine their results come from."""
import json

import pytest

from gilcore import cellstore, rules
from gilcore.publish import results
from gilcore.runner import Pair, Result

EPYC = {"cpu": "AMD EPYC 7B13", "num_cpu": "2", "ram": str(24 * 2 ** 30)}
XEON = {"cpu": "Intel(R) Xeon(R) CPU @ 2.20GHz", "num_cpu": "2", "ram": str(24 * 2 ** 30)}
BENCH = "bench_cpu.Countdown.track_speedup"


def test_one_machine_keeps_the_plain_label():
    assert rules.machine_label("3.11", "amd-epyc-7b13-2c-24g", ["amd-epyc-7b13-2c-24g"]) == "3.11"


def test_two_machines_are_named_and_an_unknown_one_is_a_machine_of_its_own():
    machines = ["amd-epyc-7b13-2c-24g", None]
    assert rules.machine_label("3.11", "amd-epyc-7b13-2c-24g", machines) == "3.11 @ amd-epyc-7b13-2c-24g"
    assert rules.machine_label("3.11", None, machines) == "3.11 @ unknown machine"
    assert rules.RULES["one-machine"].effect == "separate"


def _asv_file(folder, commit, hardware, speedup):
    data = {"commit_hash": commit, "env_name": "virtualenv-py3.11", "date": 1, "python": "3.11",
            "params": {"arch": "x86_64", "machine": "vm", "os": "Linux", "python": "3.11", **hardware},
            "requirements": {}, "env_vars": {}, "result_columns": ["result", "params", "version"],
            "results": {BENCH: [[speedup], [["'threads'"], ["2"]], "v1"]}, "durations": {}, "version": 2}
    (folder / f"{commit[:8]}-virtualenv-py3.11.json").write_text(json.dumps(data))


def _cell_line(commit, speedup, machine, run_id):
    pairs = [Pair(serial=speedup * (1 + d), parallel=1.0, serial_first=i % 2 == 0)
             for i, d in enumerate((-0.01, 0.0, 0.01))]
    result = Result("countdown", "threads", "py", 2, 1, 0, 0, [1.0] * 3, [speedup] * 3, pairs=pairs, limit=2.1,
                    run={"id": run_id, "session": run_id})
    line = {"format": cellstore.FORMAT, "benchmark": BENCH, "params": ["threads", "2"], "commit": commit,
            "env": "virtualenv-py3.11", "env_vars": {}, "measured_at": 1, **result.to_dict()}
    if machine is not None:
        line["machine"] = machine
    return json.dumps(line) + "\n"


@pytest.fixture
def two_machines(tmp_path):
    folder = tmp_path / "vm"  # one asv machine name that covered both, as results/vm did
    folder.mkdir()
    (tmp_path / "benchmarks.json").write_text(json.dumps({BENCH: {"version": "v1"}, "version": 2}))
    _asv_file(folder, "a" * 40, EPYC, 1.9)
    _asv_file(folder, "b" * 40, XEON, 1.2)
    (tmp_path / "cells").mkdir()
    # the EPYC's line names no machine (written before records carried one): its asv file says
    (tmp_path / "cells" / "c.jsonl").write_text(
        _cell_line("a" * 40, 1.9, None, "r1")
        + _cell_line("b" * 40, 1.2, {"name": "intel-xeon-2c-24g", "cpu": "Intel Xeon"}, "r2"))
    return tmp_path


def test_two_machines_never_share_a_cell(two_machines):
    loaded = results.load(str(two_machines))
    epyc, xeon = "3.11 @ amd-epyc-7b13-2c-24g", "3.11 @ intel-xeon-2c-24g"
    assert loaded.environments == [epyc, xeon]
    assert loaded.machines == {epyc: ["amd-epyc-7b13-2c-24g"], xeon: ["intel-xeon-2c-24g"]}
    cells = loaded.cells[(BENCH, ("threads", "2"))]
    assert set(cells) == {epyc, xeon}
    assert cells[epyc].estimate == pytest.approx(1.9, rel=0.02)
    assert cells[xeon].estimate == pytest.approx(1.2, rel=0.02)
    assert loaded.series[(BENCH, ("threads", "2"))] == {epyc: [1.9], xeon: [1.2]}


def test_one_machine_keeps_plain_labels_and_says_which(two_machines):
    (two_machines / "vm" / f"{'b' * 8}-virtualenv-py3.11.json").unlink()
    (two_machines / "cells" / "c.jsonl").write_text(_cell_line("a" * 40, 1.9, None, "r1"))
    loaded = results.load(str(two_machines))
    assert loaded.environments == ["3.11"] and loaded.machines == {"3.11": ["amd-epyc-7b13-2c-24g"]}


BUILD_OLD = {"implementation": "cpython", "version": "3.11.6", "build": "GIL", "origin": "pyenv", "flags": ["shared"],
             "compiler": "GCC 12.2.0"}
BUILD_NEW = dict(BUILD_OLD, version="3.11.7")


def test_each_environment_has_its_build_and_machine(two_machines):
    # the Xeon's lines carry builds (the newer one counts); the EPYC's carry none and its asv file names it
    with open(two_machines / "cells" / "c.jsonl", "a") as handle:
        for at, build in ((5, BUILD_NEW), (2, BUILD_OLD)):
            line = json.loads(_cell_line("b" * 40, 1.2, {"name": "intel-xeon-2c-24g", "cpu": "Intel Xeon"}, f"x{at}"))
            handle.write(json.dumps(dict(line, build=build, measured_at=at)) + "\n")
    loaded = results.load(str(two_machines))
    epyc, xeon = (loaded.provenance[env] for env in loaded.environments)
    assert epyc.build is None and epyc.machine == {"cpu": "AMD EPYC 7B13", "cores": 2, "memory_gib": 24,
                                                   "name": "amd-epyc-7b13-2c-24g"}
    assert xeon.build == BUILD_NEW and xeon.machine_name == "intel-xeon-2c-24g"


def test_the_report_names_each_environments_machine_and_build(two_machines, tmp_path):
    from gilcore.publish import report

    (two_machines / "vm" / f"{'b' * 8}-virtualenv-py3.11.json").unlink()
    line = json.loads(_cell_line("a" * 40, 1.9, None, "r1"))
    (two_machines / "cells" / "c.jsonl").write_text(json.dumps(dict(line, build=BUILD_NEW)) + "\n")
    out = tmp_path / "out"
    assert report.main(["--results", str(two_machines), "--out", str(out)]) == 0
    page = (out / "gilcore-report.md").read_text()
    section = page.split("## Where each environment was measured")[1].split("\n## ")[0]
    assert ("| 3.11 | 3.11.7 GIL, pyenv, shared, GCC 12.2.0 | amd-epyc-7b13-2c-24g (AMD EPYC 7B13, 2 cores, 24 GiB) |"
            in section)
    speedups = page.split("## Speedup at 2 workers")[1].split("\n## ")[0]
    assert speedups.splitlines()[4] == "| measured on | amd-epyc-7b13-2c-24g |"  # each column's first row
    serial = page.split("## Serial cost of each Python")[1].split("\n## ")[0]
    assert "| build | 3.11.7 GIL, pyenv, shared, GCC 12.2.0 |" in serial
    releases_page = (out / "gilcore-releases.md").read_text()
    assert "| 3.11 | 3.11.7 GIL, pyenv, shared, GCC 12.2.0 | amd-epyc-7b13-2c-24g (AMD EPYC 7B13" in releases_page
