"""R3 (i.i.d. weights, MFBV scaling): the network tends to the identity."""

import sympy as sp

from theory.claims import Claim
from theory.regime import Domain, Regime
from theory.scaling import Scaling, WeightLaw

alpha = sp.Symbol("alpha", positive=True)

REGIME = Regime(
    name="R3-iid",
    claim="Block O with i.i.d. N(0, 1/d) weights and delta = L^-alpha, alpha > 1/2: "
    "|h_L - h_0| ~ L^(1/2 - alpha).",
    source="MFBV (arXiv 2206.06929) Prop. on i.i.d. initialisation; exponent derived",
    status="derived",
    block="O",
    activations=("tanh", "relu", "gelu"),
    scaling=Scaling(alpha, inner=WeightLaw.iid(), outer=WeightLaw.iid()),
    parameters={"alpha": Domain(valid=(0.5, 2), typical=(0.7, 1.2), open_low=True)},
    random_activations="smooth",
    claimed_kind="identity",
    claims=(Claim(quantity="identity"),),
)
