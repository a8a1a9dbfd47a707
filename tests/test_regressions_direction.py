"""asv reads a higher value as worse (its issue 1617): the site's Regressions tab (asv publish with the
project's asv.conf.json) must never list a speedup gain, and must list a seeded slowdown.

A real asv publish over a throw-away repository of six commits: one speedup rises by 60 % (a gain),
another cell gets 60 % slower (its time ratio rises): only the latter is named."""
import json
import os
import subprocess
import sys

from gilcore.publish import site

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MACHINE = "test-machine"
COMMITS = 6


def _benchmark(kind, method, unit):
    name = f"bench_cpu.Countdown.{method}"
    return name, {"code": method, "name": name, "param_names": ["strategy", "workers"],
                  "params": [["'threads'", "'pool-fork'"], ["2"]], "timeout": 60, "type": kind,
                  "unit": unit, "version": "1" * 64}


def _values(step, threads, pool_fork):
    """One result per param combination: threads rises at commit 3, pool-fork falls (slower)."""
    late = step >= COMMITS // 2
    return [threads[late], pool_fork[late]]


def _seeded(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q", "-b", "main"], check=True)
    commits = []
    for step in range(COMMITS):
        (repo / "f").write_text(str(step))
        subprocess.run(git + ["add", "f"], check=True)
        subprocess.run(git + ["commit", "-q", "-m", f"c{step}", "--date", f"2026-01-0{step + 1}T00:00:00"],
                       check=True)
        commits.append(subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True,
                                      check=True).stdout.strip())
    results = tmp_path / "results"
    (results / MACHINE).mkdir(parents=True)
    benchmarks = dict([_benchmark("track", "track_speedup", "x"),
                       _benchmark("track", "track_time_ratio", "parallel/serial")])
    (results / "benchmarks.json").write_text(json.dumps({**benchmarks, "version": 2}))
    machine = {"arch": "x86_64", "cpu": "Test CPU", "machine": MACHINE, "num_cpu": "2", "os": "Linux",
               "ram": "1000", "version": 1}
    (results / MACHINE / "machine.json").write_text(json.dumps(machine))
    for step, commit in enumerate(commits):
        speedup = _values(step, (1.0, 1.6), (2.0, 1.25))  # threads gains, pool-fork loses
        ratio = [1 / value for value in speedup]
        data = {"commit_hash": commit, "env_name": "virtualenv-py3.11", "date": 1767225600000 + step * 86400000,
                "params": {**{k: v for k, v in machine.items() if k != "version"}, "python": "3.11"},
                "python": "3.11", "requirements": {}, "env_vars": {},
                "result_columns": ["result", "params", "version", "started_at", "duration"],
                "results": {name: [values, entry["params"], entry["version"], 0, 1.0]
                            for (name, entry), values in zip(benchmarks.items(), (speedup, ratio))},
                "durations": {}, "version": 2}
        (results / MACHINE / f"{commit[:8]}-virtualenv-py3.11.json").write_text(json.dumps(data))
    return repo, results


def _regressions(tmp_path, conf_changes=None):
    repo, results = _seeded(tmp_path)
    scratch, html = tmp_path / "scratch", tmp_path / "html"
    scratch.mkdir()
    conf = site.temporary_config(os.path.join(ROOT, "asv.conf.json"), str(results), str(html), str(scratch))
    with open(conf) as handle:
        data = json.load(handle)
    data.update(repo=str(repo), **(conf_changes or {}))
    with open(conf, "w") as handle:
        json.dump(data, handle)
    done = subprocess.run([sys.executable, "-m", "asv", "publish", "--no-pull", "--config", conf],
                          capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr + done.stdout
    with open(html / "regressions.json") as handle:
        return sorted(entry[0] for entry in json.load(handle)["regressions"])


def test_a_gain_is_not_a_regression_and_a_slowdown_is(tmp_path):
    listed = _regressions(tmp_path)
    print("Regressions tab:", listed)
    assert listed == ["bench_cpu.Countdown.track_time_ratio('pool-fork', 2)"]


def test_without_the_exclusion_asv_lists_the_gain(tmp_path):
    # The control: the seeded data does show asv's inversion when the project's setting is left out.
    listed = _regressions(tmp_path, {"regressions_first_commits": {}})
    assert "bench_cpu.Countdown.track_speedup('threads', 2)" in listed
