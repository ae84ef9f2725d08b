"""T3: freezing delta at 1/L gives ODE-scaled weights (beta = 0); trained delta does not."""

from theory.claims import Claim, Rate
from theory.regime import Regime
from theory.training import Training

REGIME = Regime.trained(
    name="T3",
    claim="Block I with delta frozen at 1/L, trained by Adam on the synthetic ODE task (tanh, "
    "the authors' configuration otherwise): the trained weights are ODE-scaled, max_k |A_k| "
    "of order 1 in L (beta = 0). Its twin is the same claim for the ladder whose shared delta "
    "is trained, which must be rejected: trained weights are not ODE-scaled.",
    source="THEORY.md section 5, T3 [derived]",
    status="derived",
    activations=("tanh",),
    training=Training(delta="frozen", optimizer="adam"),
    claims=(Claim(quantity="weight-max", predicts=Rate(exponent=0),
                  controls=("trained-delta",),
                  source="THEORY.md T3: with delta = 1/L the ODE scale needs A_k of order 1"),),
    notes="Measured (d = 10, 8 training seeds, depths 8..128, mean +- s.e.): beta = 0.006 +- "
    "0.000 after 200 Adam steps, -0.001 after 1000; the shared-delta ladder gives beta = "
    "0.27-0.29 at 500-1000 steps.",
)
