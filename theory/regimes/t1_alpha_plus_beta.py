"""T1: trained ladders fit an O(1) target with effective increments delta_k A_k ~ 1/L."""

from theory.claims import Claim, Rate
from theory.regime import Regime
from theory.training import Training

REGIME = Regime.trained(
    name="T1",
    claim="Block I trained by Adam (the authors' configuration: tanh, shared delta, lr 1e-2, "
    "batch 32, xavier-depth init sd 0.01, the synthetic ODE task in d = 10) reaches weights "
    "whose effective increments scale like 1/L: max_k |delta A_k| ~ L^-(alpha + beta) with "
    "alpha + beta = 1, the alternative-ODE scale.",
    source="THEORY.md section 5, T1 [derived]; CCRX21 / CRX22 experiments "
    "(instadeepai/scaling-resnets)",
    status="derived",
    activations=("tanh",),
    training=Training(delta="shared", optimizer="adam"),
    claims=(Claim(quantity="increment-max", predicts=Rate(exponent=1),
                  source="THEORY.md T1: delta_k A_k ~ 1/L fits an O(1) target"),),
    notes="The product exponent drifts with training time (measured, d = 10, 8 training "
    "seeds, depths 8..128, mean +- s.e. over seeds): 0.976 +- 0.004 after 500 Adam steps, "
    "1.006 +- 0.004 after 1000, 1.138 +- 0.006 after 2000; the profile fixes the step count "
    "for every depth (THEORY.md pitfalls: early stopping makes depths incomparable).",
)
