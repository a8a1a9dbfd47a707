"""A seeded asv history for tests of what the site's Regressions tab lists: a throw-away git repository
of some commits, one asv result file per commit (one machine, one environment), and ``asv publish`` run
on them with the project's own asv.conf.json (a real asv, so its step fit decides what it lists)."""
import json
import os
import subprocess
import sys

from gilcore.publish import site

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MACHINE = "test-machine"
ENV = "virtualenv-py3.11"
MACHINE_JSON = {"arch": "x86_64", "cpu": "Test CPU", "machine": MACHINE, "num_cpu": "2", "os": "Linux",
                "ram": "1000", "version": 1}
DAY_MS = 86400000
FIRST_DATE_MS = 1767225600000  # 2026-01-01


def benchmark(kind, name, unit, param_names, params):
    """(name, benchmarks.json entry); ``params`` as asv writes them (reprs: "'threads'", "2")."""
    return name, {"code": name, "name": name, "param_names": param_names, "params": params, "timeout": 60,
                  "type": kind, "unit": unit, "version": "1" * 64}


def repository(tmp_path, count):
    """A git repository of ``count`` commits, one a day: (folder, full hashes oldest first)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q", "-b", "main"], check=True)
    commits = []
    for step in range(count):
        (repo / "f").write_text(str(step))
        subprocess.run(git + ["add", "f"], check=True)
        subprocess.run(git + ["commit", "-q", "-m", f"c{step}", "--date", f"2026-01-{step + 1:02d}T00:00:00"],
                       check=True)
        commits.append(subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True,
                                      check=True).stdout.strip())
    return repo, commits


def write_results(results, commits, benchmarks, values_at):
    """benchmarks.json, machine.json and one asv result file per commit; ``values_at(step)`` gives
    {benchmark name: [one value per parameter combination]}."""
    (results / MACHINE).mkdir(parents=True, exist_ok=True)
    (results / "benchmarks.json").write_text(json.dumps({**benchmarks, "version": 2}))
    (results / MACHINE / "machine.json").write_text(json.dumps(MACHINE_JSON))
    for step, commit in enumerate(commits):
        values = values_at(step)
        data = {"commit_hash": commit, "env_name": ENV, "date": FIRST_DATE_MS + step * DAY_MS,
                "params": {**{k: v for k, v in MACHINE_JSON.items() if k != "version"}, "python": "3.11"},
                "python": "3.11", "requirements": {}, "env_vars": {},
                "result_columns": ["result", "params", "version", "started_at", "duration"],
                "results": {name: [values[name], entry["params"], entry["version"], 0, 1.0]
                            for name, entry in benchmarks.items() if name in values},
                "durations": {}, "version": 2}
        (results / MACHINE / f"{commit[:8]}-{ENV}.json").write_text(json.dumps(data))


def publish(tmp_path, repo, results, conf_changes=None):
    """``asv publish`` of ``results`` with the project's asv.conf.json (and ``conf_changes``): the html folder."""
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
    return html


def listed(html):
    """The names the Regressions tab lists, sorted."""
    with open(html / "regressions.json") as handle:
        return sorted(entry[0] for entry in json.load(handle)["regressions"])
