"""R5b: the diffusive scale with alpha > 0 separates odd from non-odd activations."""

import sympy as sp

from theory.regime import Domain, Regime
from theory.scaling import Scaling, WeightLaw

alpha = sp.Symbol("alpha", positive=True)

REGIME = Regime(
    name="R5b",
    claim="alpha + beta = 1/2, noise of size L^-beta, 0 < alpha < 1/3: odd sigma gives the SDE "
    "dH = s1 dW H without Ito drift (strong rate 1/2); s2 != 0 explodes (L^alpha).",
    source="derived (power count); THEORY.md R5b",
    status="derived",
    block="I",
    activations=("tanh", "sin"),
    scaling=Scaling(alpha, inner=WeightLaw.iid(beta=sp.Rational(1, 2) - alpha)),
    parameters={"alpha": Domain(valid=(0, 1 / 3), typical=(0.1, 0.3), open_low=True,
                                open_high=True)},
    random_activations="odd",
    claimed_kind="sde",
    metric="strong",
    notes="THEORY.md states 0 < alpha < 1/2. The power count finds that the 4th-order term "
    "(s4 z^4, mean 3 s4 q^2) adds up to L^(3 alpha - 1): for odd sigma s4 = 0, but order-4 "
    "terms of non-odd sigma with s2 = 0 explode for alpha > 1/3; we claim odd sigma on "
    "(0, 1/3) where every examined order is provably vanishing for any sigma.",
)
