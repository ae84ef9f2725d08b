"""R6: block O with i.i.d. outer and inner weights, an SDE in law."""

import sympy as sp

from theory.claims import Claim, SameLaw
from theory.regime import Regime
from theory.scaling import Scaling, WeightLaw

REGIME = Regime(
    name="R6",
    claim="Block O, V and W i.i.d. N(0, 1/d), alpha = 1/2: h_L converges in law to H_1, "
    "dH = Sigma(H)^(1/2) dB, Sigma(h) = E_{z ~ N(0, |h|^2/d)} sigma(z)^2 Id (ReLU: "
    "|h|^2/(2d) Id).",
    source="MFBV (arXiv 2206.06929) res-3 with i.i.d. initialisation; covariance by CLT "
    "(derived)",
    status="derived",
    block="O",
    activations=("relu", "tanh"),
    scaling=Scaling(sp.Rational(1, 2), inner=WeightLaw.iid(), outer=WeightLaw.iid()),
    claimed_kind="sde",
    claims=(Claim(quantity="law", predicts=SameLaw(), controls=("noise-x2",)),),
)
