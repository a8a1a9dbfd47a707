"""The release page: a seeded regression between two releases is named alone, identical releases show
nothing, flagged cells are undecided and named as such, and the page is written beside the report."""
import json
import os
import random

import pytest

from gilcore.publish import releases, report, results, site
from tests.test_compare import cell_records, write_results
from tests.test_report import write_result

ENVS = {"3.12": "virtualenv-py3.12", "3.13": "virtualenv-py3.13"}
P99 = "bench_gil_behaviour.Convoy.track_p99"
CONVOY = [["'socket-process'"], ["'1 thread'"]]


def result_set(tmp_path, cells, probe_shift=1.0):
    """asv result files (5 runs of a GIL probe per environment, ~2 % apart) and the cell records."""
    folder = tmp_path / "results"
    machine = folder / "box"
    machine.mkdir(parents=True)
    rng = random.Random(5)
    for python in ENVS:
        for run in range(5):
            shift = probe_shift if python == "3.13" else 1.0
            path = write_result(machine, f"{run}" * 40, python, {}, {
                P99: ([20.0 * shift * rng.lognormvariate(0, 0.02)], CONVOY),
                "bench_gil.GilState.track_gil_enabled": ([1.0], [])})
            data = json.loads(path.read_text())  # the hardware of the cell records' MACHINE, as asv writes it
            path.write_text(json.dumps(dict(data, params={"cpu": "AMD EPYC", "num_cpu": "2", "ram": str(24 * 2 ** 30)})))
    write_results(folder, cells)
    return str(folder)


def page_of(tmp_path, folder):
    out = tmp_path / "out"
    assert report.main(["--results", folder, "--out", str(out)]) == 0
    assert (out / "gilcore-releases.html").read_text().startswith("<!doctype html>")
    assert "gilcore-releases.html" in (out / "gilcore-report.html").read_text()
    return (out / "gilcore-releases.md").read_text()


def table_rows(page):
    """Every row of the page's change tables (header rows left out)."""
    tables = page.split("## 3.12 → 3.13")[1]
    return [line for line in tables.splitlines() if line.startswith("| ") and not line.startswith(
        ("| cell |", "| GIL probe |"))]


def compared(folder):
    loaded = results.load(folder)
    return releases.compare_releases(loaded, loaded.provenance)


def test_a_seeded_regression_is_named_alone(tmp_path):
    commit = "a" * 40
    cells = cell_records(commit, ENVS["3.12"], seed=1) + cell_records(
        commit, ENVS["3.13"], seed=2, slower={("pool-spawn", ENVS["3.13"])})  # 25 % slower, 5 runs each
    folder = result_set(tmp_path, cells)
    (pair,) = compared(folder)
    assert (pair.a, pair.b) == ("3.12", "3.13")
    assert [releases.short_cell(cell) for cell in pair.changed_cells()] == ["Countdown.track_speedup(pool-spawn, 2)"]
    assert pair.undecided_cells() == [] and [probe.status for probe in pair.probes] == ["unchanged"]
    page = page_of(tmp_path, folder)
    section = page.split("## 3.12 → 3.13")[1]
    print(section)
    rows = table_rows(page)
    assert len(rows) == 2 and all(row.startswith("| Countdown.track_speedup(pool-spawn, 2) |") for row in rows)
    speedup = next(row for row in rows if "| speedup |" in row)
    assert "regression" in speedup and "| 5x2 / 5x2 |" in speedup and "%]" in speedup
    assert "3 unchanged within noise, 0 undecided" in section and "1 changed beyond noise" in section


def test_two_identical_result_sets_find_nothing(tmp_path):
    same = cell_records("a" * 40, ENVS["3.12"], seed=3)
    cells = same + [dict(record, env=ENVS["3.13"]) for record in same]
    page = page_of(tmp_path, result_set(tmp_path, cells))
    assert table_rows(page) == []
    assert "No workaround's speedup or overhead moved beyond its noise among the decided cells." in page
    assert "0 changed beyond noise, 4 unchanged within noise, 0 undecided" in page


def test_a_flagged_cell_is_undecided_never_a_change(tmp_path):
    cells = cell_records("a" * 40, ENVS["3.12"], seed=1) + cell_records(
        "a" * 40, ENVS["3.13"], seed=2, slower={("pool-fork", ENVS["3.13"])}, capacity=1.0)  # one core of two
    folder = result_set(tmp_path, cells)
    (pair,) = compared(folder)
    assert pair.changed_cells() == [] and len(pair.undecided_cells()) == 4
    page = page_of(tmp_path, folder)
    assert table_rows(page) == []
    line = next(line for line in page.splitlines() if line.startswith("- capacity-limited (4): "))
    assert "Countdown.track_speedup(pool-fork, 2)" in line
    assert "0 changed beyond noise, 0 unchanged within noise, 4 undecided" in page
    assert "no cell is decided" in page


def test_a_gil_probe_that_moved_is_named_with_its_runs_and_the_builds_mark(tmp_path):
    cells = cell_records("a" * 40, ENVS["3.12"], seed=1) + cell_records("a" * 40, ENVS["3.13"], seed=2)
    page = page_of(tmp_path, result_set(tmp_path, cells, probe_shift=1.5))
    (row,) = table_rows(page)
    assert row.startswith("| Convoy.track_p99(socket-process, 1 thread) |")
    assert "higher (worse)" in row and "| 5 / 5 |" in row and row.endswith("| alike |")


def test_release_pairs_follow_versions_and_pair_each_free_threaded_build_with_its_gil_build():
    envs = ["3.9", "3.10", "3.13", "3.13t GIL off", "3.13t GIL on", "3.13t default", "3.14"]
    assert releases.release_pairs(envs) == [("3.9", "3.10"), ("3.10", "3.13"), ("3.13", "3.14"),
                                            ("3.13", "3.13t GIL off"), ("3.13", "3.13t GIL on")]


def test_release_pairs_stay_within_one_machine():
    envs = ["3.12 @ amd", "3.13 @ amd", "3.12 @ intel", "3.13t GIL off @ intel", "3.13 @ intel"]
    assert releases.release_pairs(envs) == [("3.12 @ amd", "3.13 @ amd"), ("3.12 @ intel", "3.13 @ intel"),
                                            ("3.13 @ intel", "3.13t GIL off @ intel")]


def test_two_seven_is_compared_with_three_nine_through_the_interpreters_probed_from_one_environment(tmp_path):
    def probed(interpreter, seed, slower=()):
        return [dict(record, benchmark="bench_interpreters.Countdown.track_threads_speedup", params=[interpreter])
                for record in cell_records("a" * 40, ENVS["3.12"], seed=seed, slower=slower)
                if record["params"] == ["threads", "2"]]

    cells = (cell_records("a" * 40, ENVS["3.12"], seed=1) + cell_records("a" * 40, ENVS["3.13"], seed=2)
             + probed("cpython-2.7.18", 3) + probed("cpython-3.9.18", 4, slower={("threads", ENVS["3.12"])}))
    pairs = compared(result_set(tmp_path, cells))
    assert [(pair.a, pair.b) for pair in pairs] == [("cpython-2.7.18", "cpython-3.9.18"), ("3.12", "3.13")]
    assert [releases.short_cell(cell) for cell in pairs[0].changed_cells()] == [
        "Countdown.track_threads_speedup(from 3.12)"]
    assert pairs[1].changed_cells() == []


@pytest.mark.slow
def test_the_site_built_from_the_committed_results_links_the_release_page(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = tmp_path / "html"
    site.build(str(out), os.path.join(root, "results"), os.path.join(root, "asv.conf.json"),
               os.path.join(root, "report", "timelines"), log=lambda line: None)
    page = (out / "gilcore-releases.html").read_text()
    assert "<h1>What changed in each Python release</h1>" in page and "releases.svg" in page
    assert (out / "releases.svg").is_file() and not (out / "gilcore-releases.md").exists()
    for name in ("index.html", "gilcore-report.html", "gilcore-benchmarks.html"):
        assert "href='gilcore-releases.html'" in (out / name).read_text(), name
