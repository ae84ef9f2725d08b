"""R6': block S with Gaussian i.i.d. outer weights is an exact Euler-Maruyama scheme."""

import sympy as sp

from theory.claims import Claim
from theory.regime import Regime
from theory.scaling import Scaling, WeightLaw

REGIME = Regime(
    name="R6'",
    claim="Block S, V i.i.d. N(0, 1/d), alpha = 1/2: the ResNet is the Euler-Maruyama scheme of "
    "dH = dB sigma(H) with B a matrix Brownian motion of entry variance 1/d; strong rate 1/2.",
    source="MFBV (arXiv 2206.06929) res-1; derived (exact EM coupling)",
    status="derived",
    block="S",
    activations=("tanh", "sin", "gelu"),
    scaling=Scaling(sp.Rational(1, 2), outer=WeightLaw.iid()),
    random_activations="smooth",
    claimed_kind="sde",
    claims=(Claim(quantity="strong"),),
)
