"""The backward claims (THEORY.md section 4): input and rescaled weight gradients of R1, R2 and
R5 converge to their backpropagation limits at the predicted rates, each beside negative
controls of the same shape on the same simulation (a wrong rate, the first variation without
its Ito term, a wrong weight scaling) that the same budget must reject.

Parametrised over the regimes with a backward limit (not over the forward ``regime`` fixture);
predictions come from :mod:`theory.backward`, draws from
:data:`verify.backward_claims.BACKWARD_FAMILIES`. Every judged claim and control is recorded.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.backward_claims import (
    BACKWARD_FAMILIES,
    BACKWARD_REGIMES,
    backward_limit,
    check_gradient_claims,
)


def _draw_instance(data, name: str) -> tuple[str, dict[str, float], int, int]:
    family = BACKWARD_FAMILIES[name]
    sigma = data.draw(st.sampled_from(sorted(family)), label="sigma")
    params = {}
    for pname, (lo, hi) in family[sigma].items():
        value = data.draw(st.floats(lo, hi).map(lambda v: round(v, 2)), label=pname)
        params[pname] = min(max(value, lo), hi)
    width = data.draw(st.integers(2, 5), label="width")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    return sigma, params, width, seed


def _check_and_record(name, sigma, params, width, seed, profile, claim_recorder):
    results = check_gradient_claims(name, sigma, params, width=width, seed=seed,
                                    budget=profile.budget)
    for r in results:
        claim_recorder(**r.record())
    return results


@pytest.mark.parametrize("name", BACKWARD_REGIMES)
@given(data=st.data())
def test_gradient_claims_hold_and_controls_are_rejected(name, profile, claim_recorder, data):
    sigma, params, width, seed = _draw_instance(data, name)
    results = _check_and_record(name, sigma, params, width, seed, profile, claim_recorder)
    roles = {(r.quantity, r.role) for r in results}
    assert {("input", "claim"), ("weight", "claim"), ("input", "control: rate"),
            ("weight", "control: scaling")} <= roles
    bad = [r.describe() for r in results if not r.ok]
    assert not bad, "\n\n".join(bad)


# A quarter of the profile's examples: the combined test above already draws R5 with these
# activations; this one makes sure the no-Ito control runs on every profile.
@pytest.mark.parametrize("sigma", ["softplus_centered", "silu"])
@settings(max_examples=max(2, settings.default.max_examples // 4))
@given(seed=st.integers(0, 2**31 - 1), width=st.integers(2, 5))
def test_r5_gradients_without_ito_term_are_rejected(sigma, seed, width, profile,
                                                    claim_recorder):
    assert backward_limit("R5", sigma).has_ito_term
    results = _check_and_record("R5", sigma, {}, width, seed, profile, claim_recorder)
    controls = [r for r in results if r.role == "control: no Ito term"]
    assert [r.quantity for r in controls] == ["input", "weight"]
    bad = [r.describe() for r in results if not r.ok]
    assert not bad, "\n\n".join(bad)
