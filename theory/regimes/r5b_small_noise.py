"""R5b: the diffusive scale with alpha > 0 separates odd from non-odd activations."""

import sympy as sp

from theory.claims import Claim
from theory.regime import Domain, Regime
from theory.scaling import Scaling, WeightLaw

alpha = sp.Symbol("alpha", positive=True)

REGIME = Regime(
    name="R5b",
    claim="alpha + beta = 1/2, i.i.d. weights of size L^-beta, 0 < alpha < 1/2: odd sigma "
    "(symmetric noise) gives the SDE dH = s1 dW H without Ito drift, strong rate "
    "min(1/2, 1 - 2 alpha); s2 != 0 explodes (|h_L| grows like L^alpha).",
    source="derived (power count); THEORY.md R5b",
    status="derived",
    block="I",
    activations=("tanh", "sin"),
    scaling=Scaling(alpha, inner=WeightLaw.iid(beta=sp.Rational(1, 2) - alpha)),
    parameters={"alpha": Domain(valid=(0, 0.5), typical=(0.05, 0.2), open_low=True,
                                open_high=True)},
    random_activations="odd",
    claimed_kind="sde",
    claims=(Claim(quantity="strong"),),
    notes="Odd sigma and symmetric noise: every Taylor term of an increment, the remainder "
    "included, is odd in the noise, so it has mean 0 and adds only a fluctuation; the power "
    "count reads it so (theory/terms.py) and finds the limit on the whole window 0 < alpha < "
    "1/2, the z^3 term (a martingale of size L^(2 alpha - 1)) giving the rate min(1/2, 1 - "
    "2 alpha). (Read as drifts, the order-7 remainder made alpha > 5/12 an 'explosion'.) "
    "Typical range measured on the ci ladder (16..256, M = 256, fit on the 4 deepest depths, "
    "widths 2..5, 4 seeds each): alpha <= 0.2 is asymptotic for tanh and sin (fitted 0.43..0.54 "
    "against 0.5); above it tanh is pre-asymptotic -- its Taylor variable L^-beta |h|/sqrt(d) "
    "shrinks like L^(alpha - 1/2) -- fitting 0.37..0.41 at alpha = 0.25 (pred 0.5), 0.29..0.33 "
    "at 0.3 (0.4), 0.21..0.24 at 0.35 (0.3), 0.14..0.16 at 0.4 (0.2), with running orders "
    "0.15..0.12 up to L = 2048 at alpha = 0.4, d = 3; sin follows min(1/2, 1 - 2 alpha) on the "
    "whole window (0.34..0.40 at 0.3, 0.27..0.31 at 0.35, 0.18..0.21 at 0.4, 0.09..0.11 at "
    "0.45). The part alpha > 1/4 where 1 - 2 alpha is the rate is pinned exactly in "
    "tests/theory/test_derive_soundness.py.",
)
