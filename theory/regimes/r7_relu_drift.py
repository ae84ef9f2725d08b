"""R7: ReLU without outer weights: a deterministic drift at alpha = 1/2."""

import sympy as sp

from theory.claims import Claim
from theory.regime import Regime
from theory.scaling import Scaling, WeightLaw

REGIME = Regime(
    name="R7",
    claim="Block I, ReLU, weights of size L^-1/2 (Brownian increments) and alpha = 1/2: the "
    "fluctuations vanish and dH = |H| / sqrt(2 pi d) 1 dt remains (law of large numbers); "
    "E|h_L - H_1| falls like L^-1/2. At alpha = 0 the means add up to L^(1/2): no limit.",
    source="CCRX21 'neither' regime (ReLU); drift derived (LLN)",
    status="derived",
    block="I",
    activations=("relu",),
    scaling=Scaling(sp.Rational(1, 2), inner=WeightLaw.brownian(drift=False)),
    claimed_kind="drift-ode",
    claims=(Claim(quantity="strong"),),
)
