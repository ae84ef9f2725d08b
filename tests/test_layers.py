"""One-way dependencies theory <- numerics <- verify, and the packages resolve in this repo."""

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _imported(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {m.split(".")[0] for m in json.loads(out.stdout)}


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("theory.limits", {"numerics", "verify", "torch"}),
        ("theory.regimes", {"numerics", "verify"}),
        ("numerics", {"verify"}),
        # the pure statistics and the record type: numpy/scipy only
        ("verify.rates", {"numerics", "theory", "torch"}),
        ("verify.rate_fit", {"numerics", "theory", "torch"}),
        ("verify.verdict", {"numerics", "theory", "torch"}),
        ("verify.verdict_horizon", {"numerics", "theory", "torch"}),
        ("verify.record", {"numerics", "theory", "torch"}),
        # rendering reads records only
        ("verify.render", {"numerics", "torch"}),
        ("verify.outcomes", {"numerics", "theory", "torch"}),
    ],
)
def test_layers_import_only_downwards(module, forbidden):
    assert not (_imported(module) & forbidden)


def test_packages_resolve_inside_the_repo():
    for name in ("theory", "numerics", "verify"):
        module = __import__(name)
        assert pathlib.Path(module.__file__).resolve().is_relative_to(ROOT), module.__file__
