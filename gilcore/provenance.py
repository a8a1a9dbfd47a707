"""Which build and which hardware a number was measured on, and what differs between two of them.

A speedup is a ratio taken inside one process, so it compares across builds
fairly well; an absolute time does not: pyenv's CPythons are built
``--enable-shared`` without PGO or LTO, a distribution's often with both, and
"3.14 is faster" may then be compiler flags. Every record therefore carries
``build`` (this_build()) and ``machine`` (this_machine()), and a comparison
asks ``build_differences`` / ``machine_differences`` before it compares
times. Records written before these existed read as unknown, never as alike.

Both functions run inside the interpreter measured (an asv benchmark process,
a CLI run of a --python venv): a venv reports the build it was made from
(``sys.base_prefix``).
"""
from __future__ import annotations

import functools
import os
import platform
import re
import shlex
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

# configure options that change how fast the interpreter runs, in the words tables use
OPTIMISATION_FLAGS = (("--enable-optimizations", "PGO"), ("--with-lto", "LTO"), ("--enable-shared", "shared"))
GILBENCH_CACHE_PART = os.sep + os.path.join(".cache", "gilbench") + os.sep  # scripts/setup-interpreters' builds
UNKNOWN = "unknown"


def configure_flags(config_args: str) -> List[str]:
    """'PGO', 'LTO', 'shared' named in a CONFIG_ARGS string (quoted as sysconfig gives it), in that order.
    ``--with-lto=thin`` counts as LTO; ``--disable-shared`` or ``--with-lto=no`` do not."""
    try:
        words = shlex.split(config_args or "")
    except ValueError:  # an unbalanced quote: fall back to whitespace
        words = (config_args or "").split()
    found = []
    for option, name in OPTIMISATION_FLAGS:
        for word in words:
            head, _, value = word.partition("=")
            if head == option and value.lower() not in ("no", "false", "0"):
                found.append(name)
                break
    return found


def origin_of(prefix: str) -> str:
    """Where an interpreter installed at ``prefix`` came from: pyenv, Debian (the system's, or a
    Debian package unpacked by scripts/setup-interpreters), a source build in ~/.cache/gilbench, or other."""
    path = os.path.realpath(prefix) if prefix else ""
    if re.search(r"/\.?pyenv/versions/", path):
        return "pyenv"
    if GILBENCH_CACHE_PART in path + os.sep:
        return "Debian" if re.search(r"/debian-python[\d.]+t?/", path + os.sep) else "source build"
    if path in ("/usr", "/usr/local") and os.path.isfile("/etc/debian_version"):
        return "Debian" if path == "/usr" else "other"
    return "other"


@functools.lru_cache(maxsize=2)
def this_build(with_config_args: bool = False) -> Dict[str, Any]:
    """This interpreter's build: version, GIL or free-threaded, origin, configure flags, compiler; the
    whole CONFIG_ARGS too when asked (a run's header keeps it, each cell line only the flags)."""
    import sysconfig

    config_args = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    free = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    build = {"implementation": sys.implementation.name, "version": platform.python_version(),
             "build": "free-threaded" if free else "GIL", "origin": origin_of(sys.base_prefix),
             "flags": configure_flags(config_args), "compiler": platform.python_compiler(),
             "cc": str(sysconfig.get_config_var("CC") or "")}
    return {**build, "config_args": config_args} if with_config_args else build


def _cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Processor", "cpu model") and value.strip():
            return " ".join(value.split())
    return platform.processor() or platform.machine() or UNKNOWN


def machine_name(cpu: str, cores: Optional[int], memory_gib: Optional[int]) -> str:
    """A short name that changes when the hardware does: 'amd-epyc-2c-24g'."""
    words = re.sub(r"\((?:R|TM|tm)\)|\bCPU\b|\bProcessor\b|@.*$|\d+-Core", " ", cpu)
    slug = "-".join(re.findall(r"[a-z0-9]+", words.lower())[:4]) or "cpu"
    return f"{slug}-{cores or 0}c-{memory_gib or 0}g"


@functools.lru_cache(maxsize=1)
def this_machine() -> Dict[str, Any]:
    """CPU model (/proc/cpuinfo), cores, memory in GiB and the name derived from them."""
    def read(path: str) -> str:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    cpu = _cpu_model(read("/proc/cpuinfo"))
    memory = re.search(r"^MemTotal:\s+(\d+)\s*kB", read("/proc/meminfo"), re.M)
    memory_gib = round(int(memory.group(1)) / 2 ** 20) if memory else None
    cores = os.cpu_count()
    return {"cpu": cpu, "cores": cores, "memory_gib": memory_gib, "name": machine_name(cpu, cores, memory_gib)}


def machine_from_asv(params: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The same description from an asv result file's ``params`` (cpu, num_cpu, ram in bytes): what the
    records written before ``machine`` existed can still be tied to."""
    if not params.get("cpu"):
        return None
    try:
        cores: Optional[int] = int(params.get("num_cpu") or 0) or None
        memory_gib: Optional[int] = round(int(params.get("ram") or 0) / 2 ** 30) or None
    except (TypeError, ValueError):
        cores, memory_gib = None, None
    cpu = str(params["cpu"])
    return {"cpu": cpu, "cores": cores, "memory_gib": memory_gib, "name": machine_name(cpu, cores, memory_gib)}


def describe_build(build: Optional[Mapping[str, Any]]) -> str:
    """'3.11.7 GIL, pyenv, shared, GCC 12.2.0' (the column heading's provenance)."""
    if not build:
        return "build unknown"
    flags = "+".join(build.get("flags") or []) or "no PGO/LTO"
    return f"{build.get('version', '?')} {build.get('build', '?')}, {build.get('origin', '?')}, {flags}, " \
           f"{build.get('compiler') or '?'}"


def describe_machine(machine: Optional[Mapping[str, Any]]) -> str:
    """'amd-epyc-2c-24g (AMD EPYC 7B13, 2 cores, 24 GiB)': the name and what it stands for."""
    if not machine:
        return "machine unknown"
    parts = [str(machine.get("cpu") or "?")]
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    if machine.get("memory_gib"):
        parts.append(f"{machine['memory_gib']} GiB")
    return f"{machine.get('name') or '?'} ({', '.join(parts)})"


Aspect = Tuple[str, Callable[[Mapping[str, Any]], Any]]  # (how a difference is introduced, what is read)
BUILD_ASPECTS: Tuple[Aspect, ...] = (
    ("", lambda b: b.get("implementation")), ("", lambda b: b.get("build")),
    ("", lambda b: "+".join(b.get("flags") or []) or "none"), ("origin ", lambda b: b.get("origin")),
    ("", lambda b: b.get("compiler")))
MACHINE_ASPECTS: Tuple[Aspect, ...] = (
    ("", lambda m: m.get("cpu")), ("cores ", lambda m: m.get("cores")),
    ("memory ", lambda m: f"{m.get('memory_gib')} GiB"))


def _differences(a: Optional[Mapping[str, Any]], b: Optional[Mapping[str, Any]], aspects: Sequence[Aspect],
                 unknown: str) -> List[str]:
    if not a or not b:
        return [unknown]
    return [f"{name}{read(a)} vs {read(b)}" for name, read in aspects if read(a) != read(b)]


def build_differences(a: Optional[Mapping[str, Any]], b: Optional[Mapping[str, Any]]) -> List[str]:
    """What differs between two builds besides their version (the thing compared): [] when alike,
    e.g. ['PGO+LTO vs none', 'origin pyenv vs Debian']; ['build unknown'] when either is not recorded."""
    return _differences(a, b, BUILD_ASPECTS, "build unknown")


def machine_differences(a: Optional[Mapping[str, Any]], b: Optional[Mapping[str, Any]]) -> List[str]:
    """What differs between two machines: [] when the same hardware; ['machine unknown'] when not recorded."""
    return _differences(a, b, MACHINE_ASPECTS, "machine unknown")
