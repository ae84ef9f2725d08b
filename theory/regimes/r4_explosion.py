"""R4: explosion when the residual branch is too large."""

import sympy as sp

from theory.regime import Domain, Regime
from theory.scaling import Scaling, WeightLaw

alpha = sp.Symbol("alpha", positive=True)

REGIME = Regime(
    name="R4",
    claim="Block O with i.i.d. N(0, 1/d) weights and alpha < 1/2: |h_L| grows without bound "
    "(at least like L^(1/2 - alpha)); detected and classified, never a crash.",
    source="MFBV (arXiv 2206.06929), i.i.d. initialisation; derived",
    status="derived",
    block="O",
    activations=("tanh", "relu"),
    scaling=Scaling(alpha, inner=WeightLaw.iid(), outer=WeightLaw.iid()),
    parameters={"alpha": Domain(valid=(0, 0.5), typical=(0.0, 0.3), open_high=True)},
    claimed_kind="explosion",
    metric="growth",
)
