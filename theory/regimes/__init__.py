"""The registry of regimes: every module in this folder defining ``REGIME``, plus regimes
from other distributions through the entry-point group ``resnet_limits.regimes`` (each entry
point names a module defining ``REGIME``). Adding a regime is adding one file.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from importlib.metadata import entry_points

from theory.regime import Regime

ENTRY_POINT_GROUP = "resnet_limits.regimes"


class RegimeFileError(ValueError):
    """A regime file that does not define a valid REGIME."""


def _load(module_name: str, origin: str) -> Regime:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the file's own error, reported with its name
        raise RegimeFileError(f"{origin}: cannot be loaded: {type(exc).__name__}: {exc}") from exc
    regime = getattr(module, "REGIME", None)
    if not isinstance(regime, Regime):
        raise RegimeFileError(f"{origin}: must define REGIME = Regime(...); found "
                              f"{type(regime).__name__}")
    return regime


@lru_cache(maxsize=1)
def registry() -> dict[str, Regime]:
    """name -> Regime for every registered regime, in file order."""
    found: dict[str, Regime] = {}
    sources: list[tuple[str, str]] = [
        (f"{__name__}.{info.name}", f"theory/regimes/{info.name}.py")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
        if not info.name.startswith("_")
    ]
    sources += [(ep.value, f"entry point {ep.name}") for ep in entry_points(
        group=ENTRY_POINT_GROUP)]
    for module_name, origin in sources:
        regime = _load(module_name, origin)
        if regime.name in found:
            raise RegimeFileError(f"{origin}: regime name {regime.name!r} is already taken")
        found[regime.name] = regime
    return found


def get(name: str) -> Regime:
    """The regime called ``name``; KeyError listing the known names otherwise."""
    regimes = registry()
    if name not in regimes:
        raise KeyError(f"unknown regime {name!r}; known: {', '.join(regimes)}")
    return regimes[name]
