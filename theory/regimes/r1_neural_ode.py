"""R1: the classical neural-ODE limit."""

from theory.regime import Regime
from theory.scaling import Scaling, WeightLaw

REGIME = Regime(
    name="R1",
    claim="With O(1) smooth weights and delta = 1/L the ResNet is the Euler scheme of the "
    "neural ODE dH = sigma(Abar(t) H + bbar(t)) dt; sup error falls like 1/L.",
    source="CCRX21 (ICML 2021) section 3; CRX22 (arXiv 2212.08199) Thm on Hyp. 1 with beta = 0",
    status="derived",
    block="I",
    activations=("tanh", "gelu", "silu", "relu"),
    scaling=Scaling(1, inner=WeightLaw.smooth_path(0), bias=True),
    random_activations="smooth",
    claimed_kind="neural-ode",
    metric="sup",
)
