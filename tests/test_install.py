"""The suite works outside this repository: build the wheel, install it into a fresh venv
together with a tiny distribution that registers one regime through the entry-point group
``resnet_limits.regimes``, and run ``resnet-limits verify --regime <it>`` there (slow; CI runs
it in its own step).

The fresh venv gets the heavy dependencies (torch, sympy, ...) by a path line pointing at this
environment's site-packages (a plain path: the editable install's finder there is not
activated), so the ``theory``/``numerics``/``verify`` it imports are the wheel's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_REGIME = '''
"""A user's regime: R3-iid restated, shipped by their own distribution."""
import sympy as sp

from theory.claims import Claim
from theory.regime import Domain, Regime
from theory.scaling import Scaling, WeightLaw

alpha = sp.Symbol("alpha", positive=True)

REGIME = Regime(
    name="Tiny-iid", claim="block O, i.i.d. weights, alpha > 1/2: identity at L^(1/2 - alpha)",
    source="a user's regime (test)", status="derived", block="O", activations=("tanh",),
    scaling=Scaling(alpha, inner=WeightLaw.iid(), outer=WeightLaw.iid()),
    parameters={"alpha": Domain(valid=(0.5, 2), typical=(0.7, 1.2), open_low=True)},
    claimed_kind="identity", claims=(Claim(quantity="identity"),),
)
'''


def _run(args, cwd, env=None, timeout=600):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_wheel_with_a_user_regime_verifies_outside_the_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(wheels), str(ROOT)], cwd=tmp_path)
    (wheel,) = wheels.glob("resnet_limits-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                cwd=tmp_path).stdout.strip()
    Path(site, "outer-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
         cwd=tmp_path)
    tiny = tmp_path / "tiny"
    (tiny / "tiny_regimes").mkdir(parents=True)
    (tiny / "tiny_regimes" / "__init__.py").write_text("")
    (tiny / "tiny_regimes" / "tiny_iid.py").write_text(TINY_REGIME)
    (tiny / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "tiny-regimes"
        version = "0.1"
        [project.entry-points."resnet_limits.regimes"]
        tiny = "tiny_regimes.tiny_iid"
        [tool.setuptools]
        packages = ["tiny_regimes"]
    """))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(wheels), str(tiny)], cwd=tmp_path)
    (tiny_wheel,) = wheels.glob("tiny_regimes-*.whl")
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(tiny_wheel)],
         cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST", "RESNET_LIMITS", "PYTHON")) and k != "CI"}
    where = _run([str(python), "-c", "import verify; print(verify.__file__)"], cwd=work, env=env)
    assert str(ROOT) not in where.stdout, where.stdout  # the wheel's package, not the checkout
    done = _run([str(venv / "bin" / "resnet-limits"), "verify", "--profile", "ci", "--regime",
                 "Tiny-iid", "--json"], cwd=work, env=env)
    summary = json.loads(done.stdout[done.stdout.index("\n{") + 1:done.stdout.rindex("}") + 1])
    (row,) = summary["regimes"]
    assert row["regime"] == "Tiny-iid" and row["outcome"] == "verified", done.stdout[-3000:]
    assert list((work / "reports" / "runs").glob("*-ci.json"))
