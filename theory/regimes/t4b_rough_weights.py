"""T4b: ReLU with a per-layer trained delta keeps white-noise-like weights."""

from theory.claims import Claim, Rate
from theory.regime import Regime
from theory.training import Training

REGIME = Regime.trained(
    name="T4b",
    claim="Block I, ReLU, one trained delta_k per layer, Adam: the effective weights |delta_k| "
    "A_k stay white-noise-like, the roughness index R_L = QV / SSQ of order 1 and flat in L "
    "(i.i.d. mean-zero weights give R_L -> 2). Its twin is T4's claim (R_L falls at least "
    "like 1/L, smooth weights), which must be rejected here.",
    source="THEORY.md section 5, T4 [derived]; CCRX21 (rough trained weights for ReLU)",
    status="derived",
    activations=("relu",),
    training=Training(delta="multi", optimizer="adam"),
    claims=(Claim(quantity="roughness", predicts=Rate(exponent=0), controls=("smooth",),
                  source="THEORY.md T4: R_L of order 1 for white-noise-like weights"),),
    notes="Measured (d = 10, 8 seeds, depths 8..128): median R_L 1.1-1.8 at every depth "
    "after 200-1000 Adam steps, slope of log R_L on log L between -0.05 and 0.07.",
)
