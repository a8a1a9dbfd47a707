"""gilcore.gilprobes: parsing, metrics, the SVG, short runs of every probe, other interpreters, the CLI."""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from gilcore import cli
from gilcore.gilprobes import contention, convoy, portable, switching, svg, timeline
from gilcore.gilprobes.timeline import Timeline, WorkerTrace
from gilcore.errors import UsageError

from .conftest import need_cpython

MS = 1_000_000


def cython_built():
    try:
        from gilcore import _nogil  # noqa: F401
    except ImportError:
        return False
    return True


def two_workers(first, second, start=0, stop=100 * MS):
    return Timeline(python="CPython 3.x", strategy="threads", gil="on", start_ns=start, stop_ns=stop,
                    gap_ns=200_000, workers=[WorkerTrace("thread 1", 1, 1, first), WorkerTrace("thread 2", 1, 2, second)])


# --------------------------------------------------------------------------- metrics, no threads

def test_turn_taking_has_no_overlap_and_half_the_time_waiting():
    tl = two_workers([(0, 25 * MS), (50 * MS, 75 * MS)], [(25 * MS, 50 * MS), (75 * MS, 100 * MS)])
    assert tl.running_fractions() == [0.5, 0.5]
    assert tl.overlaps() == []
    assert tl.overlap_fraction() == 0
    assert tl.wait_fraction() == pytest.approx(0.5)
    assert tl.pauses_per_second() == pytest.approx(2 / 0.1)


def test_overlap_is_the_time_both_ran_clipped_to_the_run():
    tl = two_workers([(-10 * MS, 60 * MS)], [(40 * MS, 200 * MS)])
    assert tl.overlaps() == [(40 * MS, 60 * MS)]
    assert tl.overlap_fraction() == pytest.approx(0.2)
    assert tl.running_fractions() == [pytest.approx(0.6), pytest.approx(0.6)]


def test_best_of_keeps_the_least_disturbed_run():
    runs = iter([two_workers([(0, 10 * MS)], []), two_workers([(0, 60 * MS)], [(0, 50 * MS)]),
                 two_workers([(0, 30 * MS)], [])])
    kept = timeline.best_of(3, lambda: next(runs))
    assert kept.total_running() == pytest.approx(1.1) and "of 3 runs" in kept.note
    with pytest.raises(UsageError):
        timeline.best_of(0, lambda: None)


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert portable.percentile(values, 0.5) == 50
    assert portable.percentile(values, 0.99) == 99
    assert portable.percentile([7], 0.99) == 7
    assert portable.percentile([], 0.5) is None
    summary = portable.summarize([MS, 2 * MS, 3 * MS], 0.5)
    assert summary["p50_ms"] == 2.0 and summary["ops_per_second"] == 6.0 and summary["max_ms"] == 3.0


# --------------------------------------------------------------------------- the SVG

def _widths(root, fill):
    return sum(float(r.get("width")) for r in root.iter("{http://www.w3.org/2000/svg}rect")
               if r.get("fill") == fill and r.get("height") == str(svg.ROW))


def test_svg_has_one_row_per_worker_plus_overlap_title_and_legend(tmp_path):
    tl = two_workers([(0, 30 * MS), (60 * MS, 90 * MS)], [(20 * MS, 70 * MS)])
    path = tl.write_svg(tmp_path / "t.svg")
    root = ET.parse(path).getroot()  # well-formed XML
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert tl.title in texts and tl.summary in texts
    assert {"thread 1", "thread 2", "2+ at once", "running"} <= set(texts)
    plot = svg.WIDTH - svg.LEFT - svg.RIGHT
    # solid green covers the running time (within a pixel per stretch), blue the overlap
    assert _widths(root, svg.RUN) == pytest.approx(1.1 * plot, abs=4)
    assert _widths(root, svg.OVERLAP) == pytest.approx(0.2 * plot, abs=3)
    assert "0" in texts and "100" in texts  # the axis spans the run in ms
    assert os.listdir(tmp_path) == ["t.svg"]  # the atomic write left no temp file


def test_svg_blends_stretches_shorter_than_a_pixel():
    # 2.7-like: 10,000 stretches of 5 us, every 10 us: running half of every pixel
    dense = [(i * 10_000, i * 10_000 + 5_000) for i in range(10_000)]
    text = svg.render(two_workers(dense, [], stop=100 * MS))
    assert text.count(f"fill='{svg.RUN}'") == 1  # only the legend is solid green
    assert text.count(f"fill='{svg._mix(svg.WAIT, svg.RUN, 0.5)}'") >= 1
    assert len(text) < 20_000  # one rect per run of equal pixels, not per stretch


def test_svg_escapes_text():
    tl = two_workers([(0, MS)], [])
    tl.strategy = "<b>&"
    assert "&lt;b&gt;&amp;" in svg.render(tl)


# --------------------------------------------------------------------------- input checks

@pytest.mark.parametrize("text, expected", [
    ("idle,threads:1,processes:3", [("idle", 0), ("threads", 1), ("processes", 3)]),
    ("idle, cython:2", [("idle", 0), ("cython", 2)]),
])
def test_parse_loads(text, expected):
    assert convoy.parse_loads(text) == expected


@pytest.mark.parametrize("text", ["", "gpu:2", "threads:x", "threads:0", "threads:65"])
def test_parse_loads_rejects(text):
    with pytest.raises(UsageError):
        convoy.parse_loads(text)


@pytest.mark.parametrize("args, message", [
    (["gil"], "required"),
    (["gil", "nope"], "invalid choice"),
    (["gil", "timeline", "--workers", "0"], "--workers"),
    (["gil", "timeline", "--duration-ms", "nan"], "--duration-ms"),
    (["gil", "timeline", "--gap-us", "0"], "--gap-us"),
    (["gil", "timeline", "--strategy", "nope"], "unknown strategy"),
    (["gil", "timeline", "--strategy", "serial"], "nothing to overlap"),
    (["gil", "timeline", "--out", "/no/such/folder/t.svg"], "does not exist"),
    (["gil", "timeline", "--best-of", "0"], "--best-of"),
    (["gil", "timeline", "--python", sys.executable, "--strategy", "cython-threads"], "only threads and processes"),
    (["gil", "convoy", "--loads", "gpu"], "unknown load"),
    (["gil", "convoy", "--kinds", "pigeon"], "unknown wait kind"),
    (["gil", "convoy", "--budget", "0"], "--budget"),
    (["gil", "convoy", "--max-ops", "0"], "--max-ops"),
    (["gil", "convoy", "--python", "/no/such/python"], "not an executable"),
    (["gil", "convoy", "--python", "no-such-name"], "no such interpreter here"),
    (["gil", "convoy", "--python", sys.executable, "--loads", "cython:2"], "only in this interpreter"),
    (["gil", "switch", "--intervals", "a,b"], "--intervals"),
    (["gil", "switch", "--intervals", "0"], "switch interval"),
    (["gil", "switch", "--count", "1"], "--count"),
    (["gil", "contention", "--methods", "guess"], "unknown contention method"),
    (["gil", "contention", "--workers", "0"], "--workers"),
    (["gil", "contention", "--seconds", "100"], "--seconds"),
    (["gil", "contention", "--python", sys.executable, "--methods", "cpu-time"], "only the checkpoints"),
])
def test_bad_input_exits_2_with_one_line(args, message, capsys, no_leaks):
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gilcore: error:") and message in err


# --------------------------------------------------------------------------- short runs in this process

def test_timeline_of_threads_records_every_worker(tmp_path, no_leaks):
    tl = timeline.record("threads", 2, duration_ms=30, gap_us=200)
    assert len(tl.workers) == 2 and tl.strategy == "threads"
    assert len({w.thread for w in tl.workers}) == 2
    for worker in tl.workers:
        assert worker.slices and all(a <= b for a, b in worker.slices)
        assert worker.slices[0][0] >= tl.start_ns and worker.slices[-1][1] >= tl.stop_ns
    assert 0 <= tl.overlap_fraction() <= 1 and 0 <= tl.wait_fraction() <= 1
    assert tl.gil in ("on", "off")
    tl.write_svg(tmp_path / "threads.svg")


@pytest.mark.skipif(not cython_built(), reason="gilcore._nogil is not built")
def test_timeline_of_cython_threads_uses_the_nogil_kernel(no_leaks):
    tl = timeline.record("cython-threads", 2, duration_ms=30)
    assert len(tl.workers) == 2 and all(w.cpu_seconds is not None for w in tl.workers)


def test_busy_slices_kernel_reads_the_same_clock_as_python():
    if not cython_built():
        pytest.skip("gilcore._nogil is not built")
    import time

    from gilcore import _nogil

    before = time.monotonic_ns()
    slices = _nogil.busy_slices(before + 5 * MS, 200_000)
    after = time.monotonic_ns()
    assert before <= slices[0][0] <= slices[-1][1] <= after
    with pytest.raises(ValueError):
        _nogil.busy_slices(before, 1, 0)


def test_timeline_of_a_process_pool_labels_rows_by_pid(no_leaks):
    tl = timeline.record("process-executor", 2, duration_ms=30)
    assert len({w.pid for w in tl.workers}) == 2 and tl.workers[0].label.startswith("process 1 (pid ")


def test_switch_probe_restores_the_interval(no_leaks):
    before = sys.getswitchinterval()
    rows = switching.run([0.5, 5], count=20_000, repeats=1)
    assert sys.getswitchinterval() == before
    assert [r.interval_ms for r in rows] == [0.5, 5]
    assert all(r.speedup > 0 and r.switches_per_second >= 0 for r in rows)
    assert "switches/s" in switching.format_table(rows, "CPython x")


def test_counted_countdown_counts_hand_overs():
    last = [-1]
    assert switching.counted_countdown(10, 0, last) == 1
    assert switching.counted_countdown(10, 0, last) == 0
    assert switching.counted_countdown(10, 1, last) == 1


def test_convoy_short_run_closes_everything(no_leaks):
    result = convoy.run([("idle", 0), ("threads", 1)], budget_s=0.05, max_ops=20)
    assert [(r.kind, r.load) for r in result.rows] == [(k, load) for load in ("idle", "threads") for k in convoy.KINDS]
    for row in result.rows:
        assert 1 <= row.ops <= 20 and row.p50_ms <= row.p99_ms <= row.max_ms
    assert all(r.p99_over_idle == 1.0 for r in result.rows if r.load == "idle")
    assert "p99/idle" in convoy.format_table(result)


@pytest.mark.slow
def test_convoy_with_process_and_cython_loads_closes_everything(no_leaks):
    loads = [("idle", 0), ("processes", 2)] + ([("cython", 2)] if cython_built() else [])
    result = convoy.run(loads, budget_s=0.1, max_ops=50)
    assert {r.load for r in result.rows} == {name for name, _ in loads}


def test_contention_direct_methods(no_leaks):
    rows = contention.run(["checkpoints", "cpu-time"], [1, 2], seconds=0.05)
    assert [(r.method, r.workers) for r in rows] == [("checkpoints", 1), ("cpu-time", 1),
                                                      ("checkpoints", 2), ("cpu-time", 2)]
    for row in rows:
        assert -0.2 <= row.wait_fraction <= 1 and len(row.per_worker) == row.workers
    assert "wait" in contention.format_table(rows, "CPython x")


@pytest.mark.slow
def test_contention_by_py_spy_or_its_reason(no_leaks):
    row = contention.measure("py-spy", 2, 1.0)
    if row.wait_fraction is None:
        assert row.note  # not installed, a free-threaded build, or no ptrace: said in one line
        return
    assert 0 <= row.wait_fraction <= 1 and len(row.per_worker) == 2


# --------------------------------------------------------------------------- other interpreters, the CLI

def test_portable_probe_with_this_python_through_the_subprocess_runner(no_leaks):
    tl = timeline.record_external(sys.executable, "threads", 2, duration_ms=20)
    assert len(tl.workers) == 2 and tl.python.startswith("CPython 3.")


def test_cli_timeline_writes_the_svg(tmp_path, capsys, no_leaks):
    out = tmp_path / "t.svg"
    assert cli.main(["gil", "timeline", "--duration-ms", "20", "--out", str(out)]) == 0
    assert ET.parse(out).getroot().tag.endswith("svg")
    assert f"wrote {out}" in capsys.readouterr().out


def test_portable_is_python_2_7_syntax():
    python = need_cpython("2.7").executable
    done = subprocess.run([python, "-c", "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')",
                           portable.__file__], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_python_2_7_timeline_and_convoy(tmp_path, no_leaks):
    python = need_cpython("2.7").executable
    tl = timeline.record_external(python, "processes", 2, duration_ms=30)
    assert tl.python == "CPython 2.7.18" and len({w.pid for w in tl.workers}) == 2
    result = convoy.run_external(python, [("idle", 0), ("threads", 1)], budget_s=0.05, max_ops=20)
    assert result.python == "CPython 2.7.18" and len(result.rows) == 2 * len(convoy.KINDS)
    assert cli.main(["gil", "timeline", "--python", python, "--duration-ms", "20",
                     "--out", str(tmp_path / "t.svg")]) == 0


@pytest.mark.slow
def test_cli_every_probe_runs(capsys, no_leaks):
    assert cli.main(["gil", "switch", "--intervals", "1,5", "--count", "20000", "--repeats", "1"]) == 0
    assert cli.main(["gil", "convoy", "--loads", "idle,threads:1", "--budget", "0.05", "--json"]) == 0
    assert cli.main(["gil", "contention", "--methods", "checkpoints", "--seconds", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "switches/s" in out and '"p99_ms"' in out and "checkpoints" in out


# --------------------------------------------------------------------------- the asv classes

def test_benchmarks_say_why_a_cell_cannot_run():
    from benchmarks import bench_gil_behaviour as bench

    reason = timeline.timeline_strategy_reason("interpreter-pool")
    if reason:
        with pytest.raises(NotImplementedError, match="3.14"):
            bench.Overlap().setup("interpreter-pool")
    with pytest.raises(NotImplementedError, match="_nogil"):
        bench.Convoy().setup({}, "event", f"{bench.N} cython threads")
    row = {"p50_ms": 1.0, "p99_ms": 2.0, "p99_over_idle": 20.0, "ops_per_second": 5.0}
    cell = bench.Convoy()
    cell.setup({("event", "threads", 1): row}, "event", "1 thread")
    assert cell.track_p99_over_idle(None, "event", "1 thread") == 20.0
    with pytest.raises(NotImplementedError, match="py-spy"):
        bench.Contention().setup({("py-spy", 2): {"wait_fraction": None, "note": "no py-spy binary"}}, "py-spy", 2)
