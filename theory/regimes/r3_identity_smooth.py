"""R3 (smooth weights): the network tends to the identity."""

import sympy as sp

from theory.claims import Claim
from theory.regime import Domain, Regime
from theory.scaling import Scaling, WeightLaw

alpha = sp.Symbol("alpha", nonnegative=True)
beta = sp.Symbol("beta", positive=True)

REGIME = Regime(
    name="R3-smooth",
    claim="Smooth weights of size L^-beta with alpha + beta > 1: h_L -> h_0 with "
    "|h_L - h_0| ~ L^(1 - alpha - beta).",
    source="derived (power count); MFBV section 3 for the MFBV scaling",
    status="derived",
    block="I",
    activations=("tanh", "gelu", "softplus_centered"),
    scaling=Scaling(1 + alpha - beta, inner=WeightLaw.smooth_path(beta)),
    parameters={
        "alpha": Domain(valid=(0, 2), typical=(0.25, 0.75), open_low=True),
        "beta": Domain(valid=(0, 1), typical=(0.25, 0.75), open_low=True),
    },
    random_activations="smooth",
    claimed_kind="identity",
    claims=(Claim(quantity="identity"),),
    notes="parametrised by the excess alpha: residual exponent 1 + alpha - beta, so that "
    "alpha_residual + beta = 1 + alpha > 1 on the whole domain; predicted rate = alpha.",
)
