"""R2: the linearised ("alternative") ODE of CCRX21 when the weights shrink with L."""

import sympy as sp

from theory.claims import Claim
from theory.regime import Domain, Regime
from theory.scaling import Scaling, WeightLaw

beta = sp.Symbol("beta", positive=True)

GRADIENT_DOMAINS = {"beta": Domain(valid=(0, 1), typical=(0.6, 0.8), open_low=True,
                                   open_high=True)}
GRADIENT_NOTE = (
    "Backward claims are drawn with beta in [0.6, 0.8]: for 2 beta < 1 (tanh, sin) the "
    "gradient error is a smooth function of L^(-2 beta) whose second-order term is comparable"
    " to the first on 16..256 (sin, beta = 0.3: running orders 0.38, 0.42, 0.47, 0.50, 0.53 "
    "at L = 16..256 towards 0.6; gelu at beta = 0.2 fitted 0.12..0.17 against 0.2); these "
    "need the thorough ladder."
)

REGIME = Regime(
    name="R2",
    claim="Smooth weights of size L^-beta with alpha + beta = 1 and sigma(0) = 0: the limit is "
    "dH = s1 (Abar H + bbar) dt, sigma's nonlinearity disappears; sup error rate "
    "min(1, (m - 1) beta), m the first Taylor order beyond the linear one.",
    source="CCRX21 Hypothesis 1 with beta > 0 (limit); rate derived (Taylor remainder + Euler)",
    status="derived",
    block="I",
    activations=("tanh", "softplus_centered", "gelu", "sin"),
    scaling=Scaling(1 - beta, inner=WeightLaw.smooth_path(beta), bias=True),
    parameters={"beta": Domain(valid=(0, 1), typical=(0.1, 0.25), open_low=True,
                               open_high=True)},
    random_activations="smooth",
    claimed_kind="linear-ode",
    claims=(
        Claim(quantity="sup", controls=("neural-ode",)),
        Claim(quantity="grad-input", domains=GRADIENT_DOMAINS, notes=GRADIENT_NOTE),
        Claim(quantity="grad-weight", domains=GRADIENT_DOMAINS, controls=("scaling+1/2",),
              notes=GRADIENT_NOTE),
    ),
    notes="sigmoid(x) - 1/2 (s3/s1 = -1/2, four times smaller than tanh's) is left out of the "
    "family: at depths <= 256 its L^-2beta term is still below the Euler term, the fitted "
    "rate at beta = 0.25 was 0.64 against 0.5 (pre-asymptotic); it needs the thorough "
    "profile's deeper ladder. The typical range of beta keeps (m - 1) beta away from the "
    "Euler rate 1: where the two exponents are close the error is a blend of L^-1 and "
    "L^-(m-1)beta and depths <= 256 show an in-between order (softplus at beta = 0.78: "
    "running orders 0.93, 0.92, 0.90, 0.88 falling towards 0.78; sin at beta = 0.31: 0.82, "
    "0.80, 0.77, 0.75 falling towards 0.62), so beta is drawn in [0.1, 0.25], where "
    "1 - (m - 1) beta >= 0.5 for m <= 3.",
)
