"""T4: tanh with a shared, trained delta trains to weights smooth in the layer index."""

from theory.claims import Bound, Claim, Rate
from theory.regime import Regime
from theory.training import Training

REGIME = Regime.trained(
    name="T4",
    claim="Block I, tanh, shared trained delta, Adam (the authors' configuration): the trained "
    "weights are a smooth function of t = k/L, so the scale-free roughness index R_L = "
    "sum_k |A_(k+1) - A_k|^2 / sum_k |A_k|^2 falls at least like 1/L (L^-2 for Lipschitz "
    "weights, L^-1 for a Brownian path). Its twin is T4b's claim (R_L flat in L, rough "
    "weights), which must be rejected here.",
    source="THEORY.md section 5, T4 [derived]; CCRX21 (smooth trained weights for tanh)",
    status="derived",
    activations=("tanh",),
    training=Training(delta="shared", optimizer="adam"),
    claims=(Claim(quantity="roughness", predicts=Rate(exponent=1, bound=Bound.AT_LEAST),
                  controls=("flat",),
                  source="THEORY.md T4: R_L ~ L^-2 for Lipschitz, L^-1 for Brownian weights"),),
    notes="Measured slope of log R_L on log L (d = 10, 8 seeds, depths 8..128, all depths): "
    "1.54 after 500 Adam steps, 1.73 after 1000, 2.29 after 2000.",
)
