"""T4b: ReLU with a per-layer trained delta keeps white-noise-like weights."""

from theory.claims import Claim, Rate
from theory.regime import Regime
from theory.training import Training

REGIME = Regime.trained(
    name="T4b",
    claim="Block I, ReLU, one trained delta_k per layer, Adam: the effective weights |delta_k| "
    "A_k stay rough, the roughness index R_L = QV / SSQ of order 1: it falls at most like "
    "L^-1/4 (i.i.d. mean-zero weights give a flat R_L -> 2, a Brownian path L^-1, weights "
    "that are a Lipschitz function of k/L L^-2). Its twins: T4's claim (R_L falls at least "
    "like 1/L, smooth weights) and a rate at least 0.65, which must be rejected here.",
    source="THEORY.md section 5, T4 [derived]; CCRX21 (rough trained weights for ReLU)",
    status="derived",
    activations=("relu",),
    training=Training(delta="multi", optimizer="adam"),
    claims=(Claim(quantity="roughness", predicts=Rate(exponent="1/4", bound="at-most"),
                  controls=("smooth",),
                  source="THEORY.md T4: R_L of order 1 for white-noise-like weights"),),
    notes="Measured (d = 10, 8 seeds, depths 8..128): median R_L 1.1-1.8 at every depth "
    "after 200-1000 Adam steps, slope of log R_L on log L between -0.05 and 0.07. The claim "
    "was 'R_L flat' (rate 0, sharp) until the ci power study with 16 training seeds (20 data "
    "sets, both retest stages): 2 of 20 data sets gave a roughness rate of 0.121 and 0.127 "
    "in both stages (fresh training seeds), outside the band +-0.03, so flatness is not a "
    "property of every data set at 500 steps on 8..64; what separates rough from smooth "
    "here is the order of the fall (at most 1/4 against a Brownian 1 or a Lipschitz 2), "
    "which is the claim now.",
)
