"""R5: the diffusive SDE limit with its Ito correction."""

from theory.regime import Regime
from theory.scaling import Scaling, WeightLaw

REGIME = Regime(
    name="R5",
    claim="alpha = 0, A_k = Abar(t_k)/L + Brownian increments (entry variance 1/(dL)), sigma "
    "C^2 with sigma(0) = 0: dH = s1 dW H + s1 (Abar H + bbar) dt + (s2/2)(|H|^2/d) 1 dt (Ito); "
    "strong rate 1/2, weak rate 1.",
    source="CCRX21 Hypothesis 2; CRX22 (arXiv 2212.08199) diffusive limit; rates derived",
    status="derived",
    block="I",
    activations=("tanh", "softplus_centered", "silu", "gelu"),
    scaling=Scaling(0, inner=WeightLaw.brownian(), bias=True),
    random_activations="odd",
    claimed_kind="sde",
    metric="strong",
    notes="sigma = x + x^2/2 (THEORY.md's closed-form example, pinned exactly in "
    "tests/theory/test_limits.py) is left out of the simulated family: its Ito drift "
    "|H|^2/(2d) is superlinear, the SDE blows up in finite time with positive probability "
    "and E|h_L - H_1| is infinite; the theorems assume sigma with bounded derivatives. Even "
    "then the Ito drift (s2/2)|H|^2/d is quadratic in H whenever s2 != 0, so the limit SDE "
    "can leave every ball in finite time: the strong rate is checked on inputs h_0 ~ "
    "N(0, I/4), where that has negligible probability for the library family (s2 <= 0.8); "
    "random activations are drawn odd (s2 = 0), since a random s2 = -1 made a ladder "
    "overflow (sigma = -2 silu + 2 tanh, d = 2).",
)
