"""Keep results/benchmarks.json in step with benchmarks/, without running a benchmark.

asv writes benchmarks.json when ``asv run`` discovers the suite, and ``asv
publish`` shows only the results of benchmarks listed there: a stale file
silently drops whole benchmark files from the site. ``discover()`` runs asv's
own discovery (``asv run --bench just-discover``) with this interpreter as an
existing environment, into a scratch folder, in a few seconds.

    python -m gilcore.benchmarks_json            rewrite results/benchmarks.json
    python -m gilcore.benchmarks_json --check    exit 1, listing the differences, if it is stale
                                                 (a benchmark's version hash included)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Sequence

from gilcore.atomic import write_atomic

DISCOVERY_TIMEOUT = 600
MACHINE = "gilbench-discovery"  # a throwaway asv machine name, kept in a scratch HOME


class DiscoveryError(Exception):
    """asv could not discover the suite; the message is one line."""


def _asv(args: List[str], home: str, cwd: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, HOME=home)  # asv's machine file goes to the scratch HOME, not the user's
    return subprocess.run([sys.executable, "-m", "asv", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=DISCOVERY_TIMEOUT, env=environment, stdin=subprocess.DEVNULL)


def discover(config: str = "asv.conf.json", python: Optional[str] = None) -> Dict[str, dict]:
    """benchmarks.json as asv would write it now, from the benchmarks on disk."""
    from gilcore.publish.site import temporary_config

    if not os.path.isfile(config):
        raise DiscoveryError(f"no asv config {config!r}: run from the repository")
    cwd = os.path.dirname(os.path.abspath(config))
    with tempfile.TemporaryDirectory(prefix="gilcore-discover-") as scratch:
        results = os.path.join(scratch, "results")
        conf = temporary_config(config, results, os.path.join(scratch, "html"), scratch)
        steps = [["machine", "--yes", "--machine", MACHINE],
                 ["run", "--config", conf, "--machine", MACHINE, "--bench", "just-discover",
                  "-E", f"existing:{python or sys.executable}"]]
        for step in steps:
            try:
                done = _asv(step, scratch, cwd)
            except subprocess.TimeoutExpired:
                raise DiscoveryError(f"asv {step[0]} took more than {DISCOVERY_TIMEOUT} s") from None
            if done.returncode != 0:
                last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
                raise DiscoveryError(f"asv {step[0]} failed: {last}")
        path = os.path.join(results, "benchmarks.json")
        if not os.path.isfile(path):
            raise DiscoveryError("asv discovered no benchmark (is benchmark_dir right?): " +
                                 ((done.stderr or done.stdout).strip().splitlines() or ["no output"])[-1])
        with open(path) as handle:
            return json.load(handle)


# Benchmarks whose parameters are what this machine has (the interpreters found), not code:
# a machine with other interpreters discovers other values without the file being stale.
MACHINE_PARAMETERS = ("bench_interpreters.", "bench_gil_behaviour.ConvoyOtherPythons.")


def differences(old: Dict[str, dict], new: Dict[str, dict]) -> List[str]:
    """What a stale benchmarks.json gets wrong: benchmarks missing or gone, code or parameters changed.

    ``version`` is asv's hash of a benchmark's code (its body and setups): when it
    changes, asv files the new results apart from the committed history.
    """
    lines = []
    names_old = {n for n, e in old.items() if isinstance(e, dict)}
    names_new = {n for n, e in new.items() if isinstance(e, dict)}
    lines += [f"missing: {name}" for name in sorted(names_new - names_old)]
    lines += [f"no longer in benchmarks/: {name}" for name in sorted(names_old - names_new)]
    for name in sorted(names_old & names_new):
        keys = ("version", "param_names") if name.startswith(MACHINE_PARAMETERS) else ("version", "param_names", "params")
        for key in keys:
            if old[name].get(key) != new[name].get(key):
                lines.append(f"{key} changed: {name}: {old[name].get(key)} -> {new[name].get(key)}")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    from gilcore.errors import UsageError, UsageParser

    parser = UsageParser(prog="python -m gilcore.benchmarks_json", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="asv results directory (default: results)")
    parser.add_argument("--config", default="asv.conf.json", help="the asv config (default: asv.conf.json)")
    parser.add_argument("--check", action="store_true", help="only report differences; exit 1 if any")
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
        current = discover(args.config)
    except UsageError as error:
        print(f"gilcore: error: {error}", file=sys.stderr)
        return 2
    except DiscoveryError as error:
        print(f"gilcore benchmarks_json: error: {error}", file=sys.stderr)
        return 1
    path = os.path.join(args.results, "benchmarks.json")
    try:
        with open(path) as handle:
            stored = json.load(handle)
    except (OSError, ValueError):
        stored = {}
    changes = differences(stored, current)
    if args.check:
        for line in changes:
            print(line)
        print(f"{path}: " + (f"stale ({len(changes)} differences); refresh: python -m gilcore.benchmarks_json"
                             if changes else f"current ({sum(isinstance(e, dict) for e in current.values())} benchmarks)"))
        return 1 if changes else 0
    write_atomic(path, json.dumps(current, indent=4, sort_keys=True) + "\n")
    print(f"wrote {path}: {sum(isinstance(e, dict) for e in current.values())} benchmarks ({len(changes)} changes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
