"""T5b: the authors' code reports beta = 0.5 for ReLU with per-layer delta; is it stable?"""

from theory.claims import Claim, Rate
from theory.regime import Regime
from theory.regimes.t5_authors_beta import AUTHORS_DEPTHS
from theory.training import Training

REGIME = Regime.trained(
    name="T5b",
    claim="The other number of the authors' code, reproduced: block I, ReLU, one trained "
    "delta_k per layer, otherwise their configuration (Adam lr 1e-2, batch 32, xavier-depth "
    "init sd 0.01, the synthetic ODE task, the grid floor(1.2^n) from 3 to 850, their "
    "early-stopping rule): the effective weights |delta_k| A_k have max_k ~ L^-beta with "
    "beta = 0.5, fitted on every depth of the grid. THEORY.md asks whether that number is "
    "stable in training time before calling it reproduced: the report draws the exponent "
    "against training step.",
    source="THEORY.md section 5, T5 [code] (instadeepai/scaling-resnets; MNIST gives 0.4)",
    status="empirical",
    activations=("relu",),
    training=Training(delta="multi", optimizer="adam", depths=AUTHORS_DEPTHS,
                      stopping="authors"),
    claims=(Claim(quantity="weight-max", predicts=Rate(exponent="1/2"),
                  window=len(AUTHORS_DEPTHS), profiles=("thorough",),
                  source="the code's reported beta for ReLU with per-layer delta, one decimal"),),
)
