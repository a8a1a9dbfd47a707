"""asv reads a higher value as worse (its issue 1617): the site's Regressions tab (asv publish with the
project's asv.conf.json) must never list a speedup gain, and must list a seeded slowdown.

A real asv publish over a throw-away repository of six commits: one speedup rises by 60 % (a gain),
another cell gets 60 % slower (its time ratio rises): only the latter is named."""
from tests import asv_seed

COMMITS = 6
PARAMS = [["'threads'", "'pool-fork'"], ["2"]]


def _values(step, threads, pool_fork):
    """One result per param combination: threads rises at commit 3, pool-fork falls (slower)."""
    late = step >= COMMITS // 2
    return [threads[late], pool_fork[late]]


def _regressions(tmp_path, conf_changes=None):
    repo, commits = asv_seed.repository(tmp_path, COMMITS)
    results = tmp_path / "results"
    benchmarks = dict(asv_seed.benchmark("track", f"bench_cpu.Countdown.{method}", unit, ["strategy", "workers"],
                                         PARAMS)
                      for method, unit in (("track_speedup", "x"), ("track_time_ratio", "parallel/serial")))

    def values_at(step):
        speedup = _values(step, (1.0, 1.6), (2.0, 1.25))  # threads gains, pool-fork loses
        return {"bench_cpu.Countdown.track_speedup": speedup,
                "bench_cpu.Countdown.track_time_ratio": [1 / value for value in speedup]}

    asv_seed.write_results(results, commits, benchmarks, values_at)
    return asv_seed.listed(asv_seed.publish(tmp_path, repo, results, conf_changes))


def test_a_gain_is_not_a_regression_and_a_slowdown_is(tmp_path):
    listed = _regressions(tmp_path)
    print("Regressions tab:", listed)
    assert listed == ["bench_cpu.Countdown.track_time_ratio('pool-fork', 2)"]


def test_without_the_exclusion_asv_lists_the_gain(tmp_path):
    # The control: the seeded data does show asv's inversion when the project's setting is left out.
    listed = _regressions(tmp_path, {"regressions_first_commits": {}})
    assert "bench_cpu.Countdown.track_speedup('threads', 2)" in listed
