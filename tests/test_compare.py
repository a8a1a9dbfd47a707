"""Comparing two sets of cells: a seeded regression is caught and named alone, identical sets find
nothing, flagged cells are undecided, a higher speedup is an improvement; builds and machines."""
import json
import math
import random

import pytest

from gilcore import cellstore, cli, compare, provenance, ratios, replication

from .conftest import as_if_under_asv

BENCH = "bench_cpu.Countdown.track_speedup"
SPEEDUPS = {"threads": 0.95, "pool-fork": 1.9, "pool-spawn": 1.8, "cython-threads": 1.97}
ENVS = ("virtualenv-py3.12", "virtualenv-py3.13")
PYENV_ARGS = ("'--prefix=/root/.pyenv/versions/3.11.7' '--enable-shared' '--libdir=/root/.pyenv/versions/3.11.7/lib' "
              "'LDFLAGS=-L/root/.pyenv/versions/3.11.7/lib -Wl,-rpath,/root/.pyenv/versions/3.11.7/lib' "
              "'CPPFLAGS=-I/root/.pyenv/versions/3.11.7/include'")
DEBIAN_ARGS = ("'--enable-shared' '--prefix=/usr' '--libdir=/usr/lib/x86_64-linux-gnu' '--enable-ipv6' "
               "'--with-computed-gotos' '--enable-optimizations' '--with-lto' 'MKDIR_P=/bin/mkdir -p' "
               "'CC=x86_64-linux-gnu-gcc' 'CFLAGS=-g   -fstack-protector-strong -Wformat -Werror=format-security '")
BUILD = {"implementation": "cpython", "version": "3.12.1", "build": "GIL", "origin": "pyenv", "flags": ["shared"],
         "compiler": "GCC 12.2.0"}
MACHINE = {"cpu": "AMD EPYC", "cores": 2, "memory_gib": 24, "name": "amd-epyc-2c-24g"}


def cell_records(commit, env, seed, *, slower=(), runs=5, pairs=2, capacity=None):
    """One commit's cell records: every strategy in ``runs`` runs of ``pairs`` pairs, with ~2 % noise per
    run and per pair; each (strategy, env) in ``slower`` has its parallel time 25 % longer."""
    rng = random.Random(seed)
    records = []
    for run in range(runs):
        run_id = f"{commit[:4]}-{env}-{run}"
        for strategy, speedup in SPEEDUPS.items():
            run_luck = rng.lognormvariate(0, 0.02)
            out = []
            for _ in range(pairs):
                serial = 0.3 * run_luck * rng.lognormvariate(0, 0.02)
                parallel = 0.3 * run_luck * rng.lognormvariate(0, 0.02) / speedup
                if (strategy, env) in slower:
                    parallel *= 1.25
                out.append({"serial": serial, "parallel": parallel, "steal": 0.0, "other_load": 0.0,
                            "capacity": capacity, "capacity_needed": 2.0})
            records.append({"format": cellstore.FORMAT, "benchmark": BENCH, "params": [strategy, "2"],
                            "commit": commit, "env": env, "measured_at": run * 10.0, "limit": 2.1, "pairs": out,
                            "run": {"id": run_id, "session": run_id}, "build": BUILD, "machine": MACHINE})
    return records


def write_results(folder, records):
    cells = folder / "cells"
    cells.mkdir(parents=True, exist_ok=True)
    for record in records:
        path = cells / f"{record['commit'][:8]}-{record['env']}.jsonl"
        with open(path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
    return str(folder)


def run_compare(capsys, *argv):
    code = cli.main(["compare", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def changed_cells(document):
    return {(c["a"].split()[1], cell["cell"]) for c in document["comparisons"] for cell in c["cells"]
            if cell["status"] == "changed"}


def test_a_seeded_regression_is_caught_and_named_alone(tmp_path, capsys):
    before, after = "1" * 40, "2" * 40
    records = [r for env in ENVS for r in cell_records(before, env, seed=ENVS.index(env))]
    records += [r for env in ENVS for r in cell_records(after, env, seed=7 + ENVS.index(env),
                                                        slower={("pool-spawn", "virtualenv-py3.13")})]
    results = write_results(tmp_path / "results", records)
    code, out, _ = run_compare(capsys, "asv:1111..2222", "--results", results, "--json")
    document = json.loads(out)
    assert code == 0
    assert changed_cells(document) == {("virtualenv-py3.13", f"{BENCH}(pool-spawn, 2)")}
    (cell,) = [c for comp in document["comparisons"] for c in comp["cells"] if c["status"] == "changed"]
    speedup = next(change for change in cell["changes"] if change["quantity"] == "speedup")
    assert speedup["direction"] == "regression" and speedup["percent"] == pytest.approx(-20, abs=4)
    assert speedup["percent_interval"][1] < 0 and speedup["reliability"] > 0.975
    assert cell["changed"] == ["speedup", "parallel time"]  # the serial half did not move
    assert all(comp["counts"]["undecided"] == 0 for comp in document["comparisons"])
    # the table says the same in words, and CI's exit status follows the threshold it is given
    code, out, err = run_compare(capsys, "asv:1111..2222", "--results", results, "--fail-on-regression", "15")
    print(out)
    assert code == 1 and "pool-spawn, 2)" in err and "regression" in out
    assert out.count("regression") == 2 and "threads" not in out.split("changed beyond noise")[1].split("cells:")[0]
    assert run_compare(capsys, "asv:1111..2222", "--results", results, "--fail-on-regression", "30")[0] == 0
    code, out, _ = run_compare(capsys, "asv:1111..2222", "--results", results, "--min-change", "30")
    assert code == 0 and "no cell changed beyond its noise (at least 30 %" in out


def test_independently_noisy_sets_of_the_same_cells_find_nothing():
    for seed in range(20):
        a = replication.estimate_all(cell_records("1" * 40, ENVS[0], seed), label=lambda env: "")
        b = replication.estimate_all(cell_records("2" * 40, ENVS[0], seed + 100), label=lambda env: "")
        side = lambda label, cells: compare.Side(label, {k[:2]: v for k, v in cells.items()}, BUILD, MACHINE)
        result = compare.compare(side("A", a), side("B", b))
        assert result.counts()["changed"] == 0 and result.counts()["unchanged"] == len(SPEEDUPS)


def run_file(path, records):
    header = {"record": "header", "python": "cpython-3.12.1", "build": BUILD, "machine": MACHINE, "plan": []}
    lines = [header] + [dict(r, record="cell_run", workload="countdown", strategy=r["params"][0], workers=2,
                             benchmark="countdown", env="cpython-3.12.1") for r in records]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def test_two_identical_result_sets_find_nothing(tmp_path, capsys):
    records = cell_records("1" * 40, ENVS[0], seed=3)
    first, second = run_file(tmp_path / "a.jsonl", records), run_file(tmp_path / "b.jsonl", records)
    code, out, _ = run_compare(capsys, first, second, "--fail-on-regression", "1")
    assert code == 0, out
    assert "no cell changed beyond its noise" in out and f"0 changed, {len(SPEEDUPS)} unchanged" in out
    assert "builds and machines alike" in out


def test_a_flagged_cell_is_undecided_never_a_change(tmp_path, capsys):
    before = cell_records("1" * 40, ENVS[0], seed=1)
    after = cell_records("2" * 40, ENVS[0], seed=2, slower={("pool-fork", ENVS[0])}, capacity=1.0)  # one core
    results = write_results(tmp_path / "results", before + after)
    code, out, _ = run_compare(capsys, f"asv:1111..2222:{ENVS[0]}", "--results", results, "--json",
                               "--fail-on-regression", "5")
    (comparison,) = json.loads(out)["comparisons"]
    assert code == 0 and comparison["counts"]["changed"] == 0
    assert comparison["counts"]["undecided"] == len(SPEEDUPS)  # every cell of B ran on one core of two
    assert comparison["undecided_reasons"] == {"capacity-limited": len(SPEEDUPS)}
    few = replication.estimate_all(cell_records("1" * 40, ENVS[0], seed=1, runs=2), label=lambda env: "")
    cell = compare.compare_cell(("b", ()), few[(BENCH, ("threads", "2"), "")], few[(BENCH, ("threads", "2"), "")])
    assert cell.status == "undecided" and cell.reasons == ["too few runs (< 3)"]


def test_a_higher_speedup_is_an_improvement_and_fails_no_ci(tmp_path, capsys):
    before = cell_records("1" * 40, ENVS[0], seed=1, slower={("pool-fork", ENVS[0])})
    after = cell_records("2" * 40, ENVS[0], seed=2)  # pool-fork's parallel time back to normal: faster
    results = write_results(tmp_path / "results", before + after)
    code, out, _ = run_compare(capsys, f"asv:1111..2222:{ENVS[0]}", "--results", results, "--json",
                               "--fail-on-regression", "5")
    (comparison,) = json.loads(out)["comparisons"]
    (cell,) = [c for c in comparison["cells"] if c["status"] == "changed"]
    directions = {change["quantity"]: change["direction"] for change in cell["changes"]}
    assert code == 0 and cell["params"] == ["pool-fork", "2"]
    assert directions["speedup"] == "improvement" and directions["parallel time"] == "improvement"
    assert compare.Change("serial time", 1.0, 0.8, None).direction == "improvement"


def test_absolute_times_between_unlike_builds_are_marked_and_do_not_fail_ci(tmp_path, capsys):
    records = cell_records("1" * 40, ENVS[0], seed=3)
    slower = [dict(r, pairs=[dict(p, serial=p["serial"] * 1.3, parallel=p["parallel"] * 1.3) for p in r["pairs"]])
              for r in cell_records("1" * 40, ENVS[0], seed=4)]
    first = run_file(tmp_path / "a.jsonl", records)
    second = tmp_path / "b.jsonl"
    run_file(second, slower)
    second.write_text(second.read_text().replace('"origin": "pyenv"', '"origin": "Debian"', 1))
    code, out, _ = run_compare(capsys, first, str(second), "--fail-on-regression", "5")
    assert code == 0 and "differs: origin pyenv vs Debian" in out
    assert "serial time" in out and "* measured on unlike builds" in out


def test_a_file_of_a_python_run_counts_as_each_interpreter_in_it(tmp_path, capsys):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run_file(first, cell_records("1" * 40, ENVS[0], seed=3))
    run_file(second, cell_records("1" * 40, ENVS[0], seed=4, slower={("threads", ENVS[0])}))
    both = tmp_path / "both.jsonl"
    both.write_text(first.read_text() + second.read_text().replace("cpython-3.12.1", "cpython-3.13.0"))
    code, out, _ = run_compare(capsys, str(both), "--json")
    (comparison,) = json.loads(out)["comparisons"]
    assert code == 0 and (comparison["a"], comparison["b"]) == ("cpython-3.12.1 (both.jsonl)",
                                                                "cpython-3.13.0 (both.jsonl)")
    assert [cell["params"] for cell in comparison["cells"] if cell["status"] == "changed"] == [["threads", "2"]]


def test_options_for_measuring_are_told_apart_wherever_they_stand():
    from gilcore.cli.compare import split_measuring_options

    assert split_measuring_options(["--workload", "countdown", "3.11", "--json", "3.13t", "--runs=4", "--full"]) == (
        ["3.11", "--json", "3.13t"], ["--workload", "countdown", "--runs=4", "--full"])


@pytest.mark.parametrize("argv, message", [
    (["asv:nothing"], "asv selector reads"),
    (["asv:1111..9999"], "neither a commit nor an environment"),
    (["asv:1111..3.12"], "one commit and one environment"),
    (["asv:1111..2222:3.99"], "no environment 3.99"),
    (["asv:3.12..3.12@9999"], "no commit 9999"),
    (["one.jsonl"], "cannot read one.jsonl"),
    (["asv:1111..2222", "x.jsonl"], "give it alone"),
    (["asv:1111..2222", "--min-change", "nan"], "--min-change must be"),
    (["asv:1111..2222", "--workers", "2"], "options for measuring"),
    (["a.jsonl", "b.jsonl", "--bogus"], "unrecognized arguments: --bogus"),
    ([], "or --list for the commits measured"),
    (["--list", "a.jsonl"], "--list takes no sides"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    results = write_results(tmp_path / "results", cell_records("1" * 40, ENVS[0], 1, runs=1)
                            + cell_records("2" * 40, ENVS[0], 1, runs=1))
    code, out, err = run_compare(capsys, *argv, "--results", results)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


def test_welch_and_the_t_distribution():
    assert ratios.t_cdf(ratios.t95(4), 4) == pytest.approx(0.975, abs=1e-4)
    assert ratios.t_cdf(-1.0, 2) == pytest.approx(0.21132, abs=1e-4)
    test = compare.welch([0.0, 0.01, -0.01], [math.log(1.2) + x for x in (0.0, 0.01, -0.01)])
    assert test.ratio == pytest.approx(1.2) and test.interval[0] > 1.15 and test.reliability > 0.999
    assert compare.welch([0.0], [0.1, 0.2]) is None


# ------------------------------------------------------------------------------ provenance

def test_configure_flags_from_real_config_args():
    assert provenance.configure_flags(PYENV_ARGS) == ["shared"]
    assert provenance.configure_flags(DEBIAN_ARGS) == ["PGO", "LTO", "shared"]
    assert provenance.configure_flags("'--disable-gil' '--prefix=/root/.cache/gilbench/cpython-3.13.5t'") == []
    assert provenance.configure_flags("--with-lto=thin --enable-shared=no") == ["LTO"]
    assert provenance.configure_flags("'unbalanced") == []


def test_origin_and_what_differs_between_builds():
    assert provenance.origin_of("/root/.pyenv/versions/3.11.7") == "pyenv"
    assert provenance.origin_of("/root/.cache/gilbench/cpython-3.13.5t") == "source build"
    assert provenance.origin_of("/root/.cache/gilbench/debian-python3.14/usr") == "Debian"
    assert provenance.origin_of("/opt/python/3.12") == "other"
    pyenv = dict(BUILD, flags=provenance.configure_flags(PYENV_ARGS))
    debian = dict(BUILD, flags=provenance.configure_flags(DEBIAN_ARGS), origin="Debian", compiler="GCC 16.2.0")
    assert provenance.build_differences(pyenv, dict(pyenv, version="3.13.0")) == []  # the version is compared
    assert provenance.build_differences(pyenv, debian) == ["shared vs PGO+LTO+shared", "origin pyenv vs Debian",
                                                           "GCC 12.2.0 vs GCC 16.2.0"]
    assert provenance.build_differences(dict(pyenv, flags=[]), dict(pyenv, flags=["PGO", "LTO"])) == [
        "none vs PGO+LTO"]
    assert provenance.build_differences(None, pyenv) == ["build unknown"]
    this = provenance.this_build()
    assert this["version"].count(".") == 2 and this["build"] in ("GIL", "free-threaded") and "config_args" not in this


def test_hardware_identity_names_different_cpus_differently():
    epyc = provenance.machine_from_asv({"cpu": "AMD EPYC", "num_cpu": "2", "ram": "25276063744"})
    xeon = provenance.machine_from_asv({"cpu": "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "num_cpu": "2",
                                        "ram": "25276063744"})
    assert epyc["name"] == "amd-epyc-2c-24g" and xeon["name"] == "intel-xeon-platinum-8375c-2c-24g"
    assert provenance.machine_differences(epyc, xeon) == [
        "AMD EPYC vs Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"]
    assert provenance.machine_differences(epyc, None) == ["machine unknown"]
    here = provenance.this_machine()
    assert here["cores"] and here["name"].endswith(f"-{here['cores']}c-{here['memory_gib']}g")


def test_each_cell_record_and_run_header_carries_build_and_machine(tmp_path, monkeypatch):
    as_if_under_asv(monkeypatch, tmp_path, "virtualenv-py3.12")
    cellstore.record(BENCH, ["threads", 2], {"ratios": [1.0]})
    (line,) = cellstore.load(str(tmp_path / "results"))
    assert line["build"] == provenance.this_build() and line["machine"] == provenance.this_machine()
    from gilcore.cli.plan import make_plan

    header = cli.run_header(make_plan(["countdown"], ["threads"], [2], None), [])
    assert header["build"]["config_args"] is not None and header["machine"]["name"]


# ------------------------------------------------------------------------------ interpreters measured now

def test_an_interpreter_that_cannot_be_measured_is_one_line_exit_1(monkeypatch, tmp_path, capsys):
    from gilcore.cli import multipython
    from gilcore.pythons.interpreters import Interpreter

    broken = [Interpreter(name=f"cpython-3.9{n}.0", executable="/bin/false", version=f"3.9{n}.0") for n in (8, 9)]
    monkeypatch.setenv("GILBENCH_VENVS", str(tmp_path / "venvs"))
    monkeypatch.setattr(multipython, "resolve_all", lambda specs: broken)
    code, out, err = run_compare(capsys, "--workload", "countdown", "3.98", "3.99", "--strategy", "threads")
    assert code == 1 and out.startswith("gilcore compare: cpython-3.98.0: no venv: python -m venv failed")
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out + err


@pytest.mark.slow
def test_two_interpreters_measured_now_carry_their_own_builds(capsys):
    from tests.conftest import find_cpython
    from tests.test_multipython import cpythons

    two = cpythons(2)[:2]
    code, out, err = run_compare(capsys, two[0], two[1], "--workload", "countdown", "--strategy", "threads",
                                 "--workers", "1", "--repeats", "1", "--max-repeats", "1", "--json")
    assert code == 0, err[-2000:]
    (comparison,) = json.loads(out)["comparisons"]
    versions = [find_cpython(v).version for v in two]
    assert [comparison["a_build"]["version"], comparison["b_build"]["version"]] == versions
    assert comparison["a_machine"] == comparison["b_machine"] == provenance.this_machine()
    assert [c["params"] for c in comparison["cells"]] == [["threads", "1"]]


# ------------------------------------------------------------------------------ records older than this

def test_old_asv_records_take_their_machine_from_asvs_file_and_their_build_is_unknown(tmp_path, capsys):
    strip = lambda records: [{k: v for k, v in r.items() if k not in ("build", "machine")} for r in records]
    results = write_results(tmp_path / "results", strip(cell_records("1" * 40, ENVS[0], 1))
                            + strip(cell_records("2" * 40, ENVS[0], 2)))
    (tmp_path / "results" / "vm").mkdir()
    for commit, cpu in (("1" * 8, "AMD EPYC"), ("2" * 8, "Intel(R) Xeon(R) CPU @ 2.20GHz")):
        (tmp_path / "results" / "vm" / f"{commit}-{ENVS[0]}.json").write_text(json.dumps(
            {"params": {"cpu": cpu, "num_cpu": "2", "ram": "25276063744", "machine": "vm"}}))
    code, out, _ = run_compare(capsys, "asv:1111..2222", "--results", results, "--json")
    (comparison,) = json.loads(out)["comparisons"]
    assert comparison["a_build"] is None and comparison["build_differences"] == ["build unknown"]
    assert comparison["a_machine"]["name"] == "amd-epyc-2c-24g"
    assert comparison["machine_differences"] == ["AMD EPYC vs Intel(R) Xeon(R) CPU @ 2.20GHz"]
    assert all(change["mark"] for cell in comparison["cells"] for change in cell["changes"])  # other hardware


def test_a_run_file_from_before_runs_were_recorded_is_one_run_per_cell(tmp_path, capsys):
    def old_file(path, seed):
        rng = random.Random(seed)
        pairs = [{"serial": 0.3, "parallel": 0.3 / 1.9 * rng.lognormvariate(0, 0.02)} for _ in range(6)]
        lines = [{"record": "header", "python": "cpython-3.12.1", "plan": [["countdown", "pool-fork", 2]]},
                 {"record": "cell", "workload": "countdown", "strategy": "pool-fork", "workers": 2, "limit": 2.1,
                  "pairs": pairs}]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return str(path)

    code, out, _ = run_compare(capsys, old_file(tmp_path / "a.jsonl", 1), old_file(tmp_path / "b.jsonl", 2), "--json")
    (comparison,) = json.loads(out)["comparisons"]
    (cell,) = comparison["cells"]
    assert code == 0 and cell["status"] == "undecided" and cell["evidence"] == ["1x6", "1x6"]
    assert cell["reasons"] == ["too few runs (< 3)"] and comparison["build_differences"] == ["build unknown"]


def test_a_speedup_is_marked_only_where_the_machines_are_known_to_differ():
    cells = replication.estimate_all(cell_records("1" * 40, ENVS[0], 1), label=lambda env: "")
    slower = replication.estimate_all(cell_records("2" * 40, ENVS[0], 2, slower={("threads", ENVS[0])}),
                                      label=lambda env: "")
    side = lambda found, build, machine: compare.Side("x", {k[:2]: v for k, v in found.items()}, build, machine)
    xeon = dict(MACHINE, cpu="Intel Xeon")
    cases = [(BUILD, MACHINE, False, 2),  # alike: the speedup and the parallel time count for CI
             (dict(BUILD, origin="Debian"), None, False, 1),  # unlike build, machine unknown: the time is marked
             (BUILD, xeon, True, 0)]  # other hardware: both marked
    for b_build, b_machine, marked, regressions in cases:
        result = compare.compare(side(cells, BUILD, MACHINE), side(slower, b_build, b_machine))
        (cell,) = result.with_status("changed")
        assert bool(cell.changes[0].mark) == marked and len(result.regressions(10)) == regressions


def _run(logs, run_id):
    from gilcore import replication
    pairs = [{"serial": math.exp(x), "parallel": 1.0} for x in logs]
    return replication.RunMeasurement(run_id, "s", 0.0, replication.flagged_pairs(pairs, None), None)


def test_runs_that_disagree_beyond_their_pairs_are_told_from_runs_that_agree():
    from gilcore import replication
    tight_a, tight_b = [0.69, 0.70, 0.695, 0.70], [0.50, 0.505, 0.51, 0.50]  # x2.0 against x1.65, tight pairs
    apart = replication.CellEstimate([_run(tight_a, "a"), _run(tight_b, "b")], None)
    assert compare.runs_disagree(apart) is True
    wide = replication.CellEstimate([_run([0.5, 0.9, 0.6, 0.8], "a"), _run([0.55, 0.85, 0.6, 0.75], "b")], None)
    assert compare.runs_disagree(wide) is False
    assert compare.runs_disagree(replication.CellEstimate([_run(tight_a, "a")], None)) is None  # one run


def test_list_names_the_measured_commits_per_machine_and_environment_oldest_first(tmp_path, capsys):
    # asv compares measured commits (not main~1, main: commits that hold results): --list says which
    old, new = "1" * 40, "2" * 40
    records = cell_records(new, ENVS[0], 1, runs=3)  # carry their machine: amd-epyc-2c-24g
    records += [{k: v for k, v in r.items() if k != "machine"} for r in cell_records(old, ENVS[0], 1, runs=1)]
    results = write_results(tmp_path / "results", records)
    for machine, commit, date in (("vm", old, 1767225600000), ("vm", "3" * 40, 1767225600000 + 86400000),
                                  ("amd-epyc-2c-24g", new, 1767225600000 + 2 * 86400000)):
        (tmp_path / "results" / machine).mkdir(exist_ok=True)
        (tmp_path / "results" / machine / f"{commit[:8]}-{ENVS[0]}.json").write_text(json.dumps(
            {"commit_hash": commit, "env_name": ENVS[0], "date": date, "results": {}}))
        (tmp_path / "results" / machine / "machine.json").write_text("{}")
    code, out, _ = run_compare(capsys, "--list", "--results", results)
    rows = [line.split() for line in out.strip().splitlines()]
    assert code == 0 and rows[0] == ["machine", "environment", "commit", "date", "asv", "cell", "runs"]
    assert rows[1:] == [["amd-epyc-2c-24g", ENVS[0], "22222222", "2026-01-03", "yes", "3"],
                        ["vm", ENVS[0], "11111111", "2026-01-01", "yes", "1"],
                        ["vm", ENVS[0], "33333333", "2026-01-02", "yes", "0"]]
