"""Error rates of the backward claims on the ci budget (slow: ``pytest -m slow``).

For each regime, 50 instances drawn like the property tests (plus 50 R5 instances with s2 != 0
for the no-Ito control): every true claim must be judged consistent in at least 98% of them
(false alarms <= 2%) and every negative control inconsistent in at least 95% (power). The same
numbers come from ``python -m verify.backward_claims --instances 50 --workers 2``.
"""

from __future__ import annotations

import os

import pytest

from verify.backward_claims import BACKWARD_REGIMES, error_rates
from verify.profiles import get_profile

N_INSTANCES = 50
MAX_FALSE_ALARM = 0.02
MIN_POWER = 0.95
GROUPS = [(name, None) for name in BACKWARD_REGIMES] + [
    ("R5", ("gelu", "silu", "softplus_centered"))]


@pytest.mark.slow
@pytest.mark.parametrize("name, activations", GROUPS,
                         ids=[n if a is None else f"{n}-s2" for n, a in GROUPS])
def test_false_alarms_and_power_on_the_ci_budget(name, activations):
    workers = max(1, min(4, os.cpu_count() or 1))
    tallies = error_rates(name, N_INSTANCES, get_profile("ci").budget,
                          activations=activations, workers=workers)
    lines, bad = [], []
    for key, cell in sorted(tallies.items()):
        lines.append(f"{key}: n={cell['n']} {cell['measure']} {cell['rate']:.3f}")
        limit_ok = (cell["rate"] <= MAX_FALSE_ALARM if cell["measure"] == "false alarm"
                    else cell["rate"] >= MIN_POWER)
        if not limit_ok:
            bad.append(f"{key}: {cell['measure']} {cell['rate']:.3f}; misses: "
                       + "; ".join(f"{m['sigma']} {m['parameters']} d={m['width']} "
                                   f"seed={m['seed']} {m['status']} {m['estimate']:.3f}"
                                   for m in cell["misses"]))
    print("\n".join(lines))
    assert not bad, "\n".join(bad)
    counted = {key: cell["n"] for key, cell in tallies.items()
               if activations is not None or "no Ito" not in key}
    assert all(n == N_INSTANCES for n in counted.values()), counted
