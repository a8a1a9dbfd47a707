"""Runs portable.py with another interpreter in a subprocess that is always killed on timeout.

Reuses gilcore.pythons.interpreters' runner (a session of its own, so one signal ends the
probe and every pool worker or echo server it started) and its environment
rules (no PYTHONPATH from this environment; PYTHON_GIL only for free-threaded
builds).
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from gilcore.pythons import discovery, interpreters

SCRIPT = Path(__file__).with_name("portable.py")
STARTUP_SECONDS = 30.0


def resolve_python(python: str) -> interpreters.Interpreter:
    """What ``--python`` names: a path, a version (3.12, 2.7) or a name ``python -m gilcore interpreters`` lists."""
    found = interpreters.discover()
    return interpreters.resolve(python, found)


def run_portable(python: str, probe: str, options: Dict[str, Any], timeout: Optional[float] = None) -> Dict[str, Any]:
    """portable.py PROBE OPTIONS with ``python``; its JSON line. ProbeError when it fails or times out."""
    interpreter = resolve_python(python)
    env = discovery.child_env(interpreter.free_threaded)
    seconds = STARTUP_SECONDS + (timeout or 60.0)
    command = [interpreter.executable, str(SCRIPT), probe, json.dumps(options)]
    returncode, stdout, stderr = interpreters.run_killable(_same_weight(command), seconds, env, interpreter.name)
    result = _parse(stdout, probe)
    if returncode != 0 or result is None:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        raise interpreters.ProbeError(f"{interpreter.name}: the {probe} probe exited with status {returncode}: {last}")
    result["name"] = interpreter.name
    return result


def autogroup_nice() -> int:
    """The nice value of this process's scheduling group on Linux (0 when there is none)."""
    try:
        with open("/proc/self/autogroup", encoding="ascii") as status:  # "/autogroup-17 nice 0"
            return int(status.read().rsplit("nice", 1)[1])
    except (OSError, ValueError, IndexError):
        return 0


def _same_weight(command: List[str]) -> List[str]:
    """The runner starts the probe in a session of its own, and Linux schedules each session as one
    group (autogroup, nice 0 when new): one that runs this process at a raised group weight gives
    the probe the same, so in-process and --python figures are taken alike."""
    nice = autogroup_nice()
    if nice == 0:
        return command
    return ["sh", "-c", f'echo {nice} > /proc/self/autogroup 2>/dev/null; exec "$@"', "sh", *command]


def _parse(stdout: str, probe: str) -> Optional[Dict[str, Any]]:
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                result = json.loads(line)
                if isinstance(result, dict) and result.get("probe") == probe:
                    return result
    return None
