"""Optional packages: which workload needs which, and the command that installs it.

A plain ``pip install gilcore`` has no numpy. Workloads that need it are
reported as unavailable with the install command, before anything runs, never
as an ImportError half-way through a run. The command names the gilcore extra
that carries the package when there is one (read from gilcore's own metadata),
else the package itself.
"""
from __future__ import annotations

import importlib.util
import re
from typing import List, Optional

from gilcore.workloads import Workload


def module_missing(module: str) -> bool:
    """True when ``module`` cannot be imported here; found without importing it."""
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a parent package missing, or a broken __spec__
        return True


def required_modules(workload: Workload) -> List[str]:
    """The optional top-level modules a workload's kernels import."""
    # BLAS-backed kernels are numpy's: threadpoolctl pins numpy's BLAS pool for them.
    return ["numpy"] if workload.uses_blas else []


def install_hint(module: str) -> str:
    """``pip install 'gilcore[numpy]'`` when an extra of gilcore carries the package, else pip install it."""
    extra = _extra_for(module)
    return f"pip install 'gilcore[{extra}]'" if extra else f"pip install {module}"


def missing_reason(workload: Workload) -> Optional[str]:
    """Why the workload cannot run here for want of a package, with the install command; None if it can."""
    missing = [module for module in required_modules(workload) if module_missing(module)]
    if not missing:
        return None
    hints = "; ".join(install_hint(module) for module in missing)
    return f"needs {', '.join(missing)}, which is not installed: {hints}"


def import_error_reason(error: ImportError) -> str:
    """The one line for an ImportError met while running (a user's kernel, a worker's import)."""
    name = getattr(error, "name", None)
    if name:
        return f"needs {name.split('.')[0]}, which is not installed: {install_hint(name.split('.')[0])}"
    return f"an import failed: {error}"


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)[^;]*;\s*extra\s*==\s*['\"]([^'\"]+)['\"]")


def _extra_for(module: str) -> Optional[str]:
    """The first extra of gilcore whose requirements name ``module`` (import name = project name here)."""
    try:
        from importlib.metadata import PackageNotFoundError, requires
    except ImportError:  # pragma: no cover - 3.8
        return None
    try:
        requirements = requires("gilcore") or []
    except PackageNotFoundError:  # running from a source tree that was never installed
        return None
    wanted = module.lower().replace("_", "-")
    for requirement in requirements:
        match = _REQUIREMENT.match(requirement)
        if match and match.group(1).lower().replace("_", "-") == wanted and match.group(2) != "test":
            return match.group(2)
    return None
