"""The site's Regressions tab lists only changes beyond their measured noise (gilcore.publish.regressions).

A seeded history of 8 commits, every figure stepping at commit 4, published by a real asv (which lists
all of them: the control), then judged by gilcore's between-run test:

- a speedup cell 25 % slower whose 3 runs per commit agree (its time ratio and its parallel time rise):
  both stay;
- a speedup cell whose asv values step by the same 25 % but whose runs spread from x0.6 to x1.6: dropped;
- a GIL latency (p99) 25 % higher in every run: stays; one whose runs scatter (one low run before the step):
  dropped; one whose step leaves only 2 runs after it: dropped as too few runs, and counted. The last
  commit's A/A control saw load (rule loaded-run): its probe values are left out (1 run after that step).
"""
import json

import pytest

from gilcore.publish import regressions, results
from tests import asv_seed

COMMITS, STEP = 8, 4
RATIO = "bench_cpu.Countdown.track_time_ratio"
TIME = "bench_cpu.Countdown.time_run"  # judged by the cell's parallel time, run by run
P99 = "bench_gil_behaviour.Convoy.track_p99"
NOISE = "bench_noise.NoiseControl."
LOADED = COMMITS - 1  # the commit whose run's A/A control saw 30 % steal
LIMIT = 2.1  # 2 workers on 2 cores
# speedup before / after the step, and each run's factor on it (3 runs a commit; asv keeps the last)
CELLS = {"pool-fork": (1.6, 1.28, (0.98, 1.02, 1.0)), "threads": (1.0, 0.8, (0.6, 1.6, 1.0))}
LATENCY = {
    "clear": [2.00, 2.04, 1.98, 2.02, 2.50, 2.55, 2.47, 2.52],
    "noisy": [1.87, 2.24, 1.61, 1.61, 2.97, 1.91, 2.30, 2.26],
    "thin": [2.00, 2.02, 1.98, 2.01, 1.99, 2.00, 2.60, 2.62],
}

# each run's A/A control (bench_noise.NoiseControl): quiet but for the steal at commit LOADED
CONTROL = {"track_aa_ratio": 1.0, "track_aa_spread_percent": 2.0, "track_steal_percent": 0.0,
           "track_other_load_cores": 0.0}


def _cell_record(commit, strategy, step, run, speedup):
    # 4 pairs a run, each a little apart, so that a run's estimate is its speedup
    pairs = [{"serial": 1.0 + 0.01 * k, "parallel": (1.0 + 0.01 * k) / speedup} for k in range(4)]
    return {"format": 1, "benchmark": "bench_cpu.Countdown.track_speedup", "params": [strategy, "2"],
            "commit": commit, "env": asv_seed.ENV, "measured_at": 1767225600 + step * 86400 + run * 600,
            "limit": LIMIT, "pairs": pairs, "run": {"id": f"r{step}-{run}-{strategy}", "session": f"s{step}-{run}"}}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("seeded")
    repo, commits = asv_seed.repository(tmp_path, COMMITS)
    folder = tmp_path / "results"
    benchmarks = dict([
        asv_seed.benchmark("track", RATIO, "parallel/serial", ["strategy", "workers"],
                           [[repr(s) for s in CELLS], ["2"]]),
        asv_seed.benchmark("time", TIME, "seconds", ["strategy", "workers"], [[repr(s) for s in CELLS], ["2"]]),
        asv_seed.benchmark("track", P99, "ms", ["io_wait", "cpu_load"],
                           [["'socket-thread'"], [repr(c) for c in LATENCY]]),
        *(asv_seed.benchmark("track", NOISE + name, "", [], []) for name in CONTROL)])

    def speedup(strategy, step):
        before, after, _ = CELLS[strategy]
        return after if step >= STEP else before

    asv_seed.write_results(folder, commits, benchmarks, lambda step: {
        RATIO: [1 / speedup(strategy, step) for strategy in CELLS],
        TIME: [1 / speedup(strategy, step) for strategy in CELLS],
        P99: [values[step] for values in LATENCY.values()],
        **{NOISE + name: [30.0 if name == "track_steal_percent" and step == LOADED else value]
           for name, value in CONTROL.items()}})
    (folder / "cells").mkdir()
    for step, commit in enumerate(commits):
        lines = [_cell_record(commit, strategy, step, run, speedup(strategy, step) * factor)
                 for strategy, (_, _, factors) in CELLS.items() for run, factor in enumerate(factors)]
        (folder / "cells" / f"{commit[:8]}-{asv_seed.ENV}.jsonl").write_text(
            "".join(json.dumps(line) + "\n" for line in lines))
    html = asv_seed.publish(tmp_path, repo, folder)
    listed_by_asv = asv_seed.listed(html)
    feed_by_asv = (html / "regressions.xml").read_text()
    judged = regressions.judge_site(str(html), results.load(str(folder)))
    return html, listed_by_asv, feed_by_asv, judged


def test_asv_lists_every_seeded_step(published):
    # the control: asv's threshold alone lists noise and real changes alike
    _, listed_by_asv, _, _ = published
    assert listed_by_asv == sorted([f"{name}('{strategy}', 2)" for name in (RATIO, TIME) for strategy in CELLS]
                                   + [f"{P99}('socket-thread', '{case}')" for case in LATENCY])


def test_only_the_changes_beyond_noise_stay(published):
    html, _, _, judged = published
    for verdict in judged.verdicts:
        print(verdict.entry, verdict.runs, verdict.source, verdict.reason or "kept", verdict.change)
    assert asv_seed.listed(html) == [f"{TIME}('pool-fork', 2)", f"{RATIO}('pool-fork', 2)",
                                     f"{P99}('socket-thread', 'clear')"]
    by_entry = {verdict.entry: verdict for verdict in judged.verdicts}
    kept = by_entry[f"{RATIO}('pool-fork', 2)"]
    assert kept.source == "cell runs" and kept.runs == (12, 12) and kept.change.percent == pytest.approx(-20)
    assert by_entry[f"{P99}('socket-thread', 'clear')"].runs == (4, 3)  # the loaded run left out
    assert by_entry[f"{TIME}('pool-fork', 2)"].change.percent == pytest.approx(25)
    assert by_entry[f"{RATIO}('threads', 2)"].reason == by_entry[f"{TIME}('threads', 2)"].reason == "within noise"
    assert by_entry[f"{P99}('socket-thread', 'noisy')"].reason == "within noise"
    thin = by_entry[f"{P99}('socket-thread', 'thin')"]
    assert thin.reason == "too few runs (< 3)" and thin.runs == (6, 1)


def test_the_tab_says_how_many_were_dropped_and_why(published):
    _, _, _, judged = published
    assert judged.listed == 7 and len(judged.kept) == 3
    assert dict(judged.dropped) == {"within noise": 3, "too few runs (< 3)": 1}
    note = regressions.add_tab_note('<div id="regressions-display">\n<div id="regressions-body">', judged)
    assert "asv listed 7 regression(s); 3 changed beyond their measured noise and stay; 4 dropped " \
           "(3 within noise, 1 too few runs (&lt; 3))" in note
    assert note.index("gilbench-regressions-note") < note.index('id="regressions-body"')
    page = regressions.page_body(judged)
    assert page.count("<td>kept</td>") == 3 and page.count("dropped: ") == 4


def test_the_feed_keeps_only_the_kept_steps(published):
    html, _, feed_by_asv, _ = published
    feed = (html / "regressions.xml").read_text()
    assert feed_by_asv.count("<entry>") == 7 and feed.count("<entry>") == 3
    assert "pool-fork" in feed and "clear" in feed and "threads" not in feed and "noisy" not in feed


def test_each_step_is_judged_between_its_neighbours():
    # two steps: the first is judged against what came before it and up to the second, not beyond
    points = [(rev, 1.0) for rev in range(9)]
    judged = regressions.sides(points, [[5, 6, 1.0, 1.0], [None, 2, 1.0, 1.0]])
    assert [(jump[1], [r for r, _ in a], [r for r, _ in b]) for jump, a, b in judged] == [
        (2, [0, 1], [2, 3, 4, 5]), (6, [2, 3, 4, 5], [6, 7, 8])]
