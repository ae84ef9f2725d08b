"""Every registered claim, verified as a property test beside its wrong twins.

``test_claim`` is the package's own claim test (:mod:`verify.claim_tests`), collected here so
that the repository's ``pytest`` runs every claim; the plugin parametrises it over (regime,
claim) with ids such as ``R5/strong``. The symbolic test below checks, in every profile, that
every activation a regime admits (random ones included) derives to the claimed kind with a
finite prediction for each of its claims.
"""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from theory.claims import SameLaw
from theory.limits import a, q
from verify.claim_tests import test_claim  # noqa: F401  (collected here)
from verify.strategies import instances


@given(data=st.data())
def test_every_admitted_activation_keeps_the_claimed_limit(claim_case, data):
    regime, claim = claim_case
    if regime.status == "conjecture":
        pytest.skip("a conjecture is judged by simulation, not by its derivation")
    if regime.protocol is not None:
        pytest.skip("a trained-weight or large-time claim has no derived limit (its "
                    "prediction is stated)")
    instance = data.draw(instances(regime, claim, include_random=True), label="instance")
    limit = instance.limit
    assert limit.kind == regime.claimed_kind, limit.summary()
    pred = instance.predicted(claim)
    if not isinstance(pred, SameLaw):
        assert math.isfinite(float(pred.exponent))
    if limit.kind not in ("identity", "explosion", "undetermined") and not limit.drift.atoms(
            sp.core.function.AppliedUndef):
        av, qv = 0.37, 0.81
        exact = float(limit.drift.subs({a: av, q: qv}).subs(sp.Symbol("d", positive=True,
                                                                         integer=True), 3))
        got = limit.drift_torch()(torch.tensor([av], dtype=torch.float64),
                                  torch.tensor([qv], dtype=torch.float64))
        assert float(got[0]) == pytest.approx(exact, rel=1e-12, abs=1e-15)
