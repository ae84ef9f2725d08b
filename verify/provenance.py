"""Provenance of a run and JSON safety: git commit, package versions, machine, worker id,
and :func:`jsonable` (numpy values, tuples, ``to_dict()`` objects and non-finite floats made
strict-JSON-safe). Used by :mod:`verify.ledger`, which re-exports these names."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import numpy as np

__all__ = ["collect_versions", "git_commit", "jsonable", "machine_info", "worker_id"]

_VERSIONED_PACKAGES = ("numpy", "scipy", "torch", "sympy", "hypothesis")


def jsonable(value: Any) -> Any:
    """Convert ``value`` to strict-JSON-safe Python data (see the module docstring)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    raise TypeError(
        f"value={value!r} of type {type(value).__name__} is not JSON-serialisable; pass numbers, "
        "strings, lists, dicts or objects with a to_dict() method"
    )


def worker_id() -> str:
    """The pytest-xdist worker id (``PYTEST_XDIST_WORKER``, e.g. ``gw0``), else ``"main"``."""
    raw = os.environ.get("PYTEST_XDIST_WORKER", "") or "main"
    return re.sub(r"[^A-Za-z0-9_-]", "_", raw)


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str:
    """``git rev-parse HEAD`` in ``cwd``, or ``"unknown"`` (no git, no repo, no commit)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = out.stdout.strip()
    if out.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40,64}", sha):
        return "unknown"
    return sha


def collect_versions() -> dict[str, str]:
    """Versions of Python and the numeric stack; packages not installed are left out.

    Read from package metadata, so that torch is never imported just to learn its version.
    """
    versions = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def machine_info(device: str = "cpu") -> dict[str, Any]:
    """Platform string, architecture, CPU count and the caller's device string."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "device": str(device),
    }
