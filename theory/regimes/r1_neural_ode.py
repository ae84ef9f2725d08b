"""R1: the classical neural-ODE limit."""

from theory.claims import Claim
from theory.regime import Regime
from theory.scaling import Scaling, WeightLaw

GRADIENT_FAMILY = ("tanh", "gelu", "silu")
GRADIENT_NOTE = (
    "Backward claims leave out ReLU: sigma' jumps, so at coarse times where some a_i(t) is "
    "within O(1/L) of 0 the rescaled weight gradient is off by O(1); its sup-over-times error"
    " is heavy-tailed (inconclusive in 2 of 6 ci runs)."
)

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
    claims=(
        Claim(quantity="sup"),
        Claim(quantity="grad-input", activations=GRADIENT_FAMILY, notes=GRADIENT_NOTE),
        Claim(quantity="grad-weight", activations=GRADIENT_FAMILY, controls=("scaling+1/2",),
              notes=GRADIENT_NOTE),
    ),
)
