"""numerics depends on torch/numpy/scipy only: never on theory or verify."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_numerics_imports_neither_theory_nor_verify() -> None:
    code = (
        "import sys, numerics, numerics.bench; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('theory', 'verify')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    import numerics

    assert Path(numerics.__file__).resolve().parent == ROOT / "numerics"
