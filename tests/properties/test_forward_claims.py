"""The forward claims R1-R7, each verified on Hypothesis-drawn instances, each beside a wrong
twin (its negative control) that the same budget must reject.

Parametrised over every registered regime by the verify.plugin (``--regime`` selects).
Predictions are read from the regimes; nothing is tabulated here.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify.claims import check_claim, control, drop_ito, neural_ode_instead


def _draw_instance(data, regime) -> tuple[str, dict[str, float], int, int]:
    sigma = data.draw(st.sampled_from(regime.activations), label="sigma")
    params = {}
    for name, dom in regime.parameters.items():
        lo, hi = dom.typical
        value = data.draw(st.floats(lo, hi).map(lambda v: round(v, 2)), label=name)
        params[name] = min(max(value, lo), hi)
    width = data.draw(st.integers(2, 5), label="width")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    return sigma, params, width, seed




@given(data=st.data())
def test_claim_is_consistent(regime, profile, claim_recorder, data):
    sigma, params, width, seed = _draw_instance(data, regime)
    result = check_claim(regime, sigma, params, width=width, seed=seed, budget=profile.budget)
    claim_recorder(**result.record(), role="claim")
    assert result.verdict.status == "consistent", (
        f"{regime.name} {sigma} {params} d={width} seed={seed}: {result.verdict.message()}")


@given(data=st.data())
def test_negative_control_is_rejected(regime, profile, claim_recorder, data):
    sigma, params, width, seed = _draw_instance(data, regime)
    wrong, transform, role = control(regime, sigma, params)
    result = check_claim(regime, sigma, params, width=width, seed=seed, budget=profile.budget,
                         claimed_rate=wrong, transform=transform)
    claim_recorder(**result.record(), role=f"control: {role}")
    assert result.verdict.status == "inconsistent", (
        f"control {regime.name} {sigma} ({role}): {result.verdict.message()}")


@pytest.mark.parametrize("sigma", ["softplus_centered", "silu"])
@given(seed=st.integers(0, 2**31 - 1), width=st.integers(2, 5))
def test_r5_without_ito_drift_is_rejected(sigma, seed, width, profile, claim_recorder):
    from theory.regimes import get

    regime = get("R5")
    assert regime.limit(sigma).ito_correction != 0
    result = check_claim(regime, sigma, {}, width=width, seed=seed, budget=profile.budget,
                         transform=drop_ito)
    claim_recorder(**result.record(), role="control: no Ito drift")
    assert result.verdict.status == "inconsistent", result.verdict.message()


@given(seed=st.integers(0, 2**31 - 1), width=st.integers(2, 5),
       beta=st.floats(0.3, 0.7).map(lambda v: round(v, 2)))
def test_r2_with_neural_ode_limit_is_rejected(seed, width, beta, profile, claim_recorder):
    from theory.regimes import get

    regime = get("R2")
    result = check_claim(regime, "tanh", {"beta": beta}, width=width, seed=seed,
                         budget=profile.budget, transform=neural_ode_instead)
    claim_recorder(**result.record(), role="control: neural ODE")
    assert result.verdict.status == "inconsistent", result.verdict.message()
