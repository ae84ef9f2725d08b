"""R4: explosion when the residual branch is too large."""

import sympy as sp

from theory.claims import Claim, Growth
from theory.regime import Domain, Regime
from theory.scaling import Scaling, WeightLaw

alpha = sp.Symbol("alpha", positive=True)

REGIME = Regime(
    name="R4",
    claim="Block O with i.i.d. N(0, 1/d) weights, 0 <= alpha < 1/2 and width d >= 3: |h_L| "
    "grows without bound in probability (P(|h_L| <= K) -> 0 for every K) and in mean (E|h_L - "
    "h_0| at least like L^(1/2 - alpha)); detected and classified, never a crash.",
    source="MFBV (arXiv 2206.06929), i.i.d. initialisation; derived",
    status="derived",
    block="O",
    activations=("tanh", "relu"),
    scaling=Scaling(alpha, inner=WeightLaw.iid(), outer=WeightLaw.iid()),
    parameters={"alpha": Domain(valid=(0, 0.5), typical=(0.0, 0.3), open_high=True)},
    widths=(3, 5),
    claimed_kind="explosion",
    claims=(Claim(quantity="growth", predicts=Growth(), controls=("no-growth",)),),
    notes="Why d >= 3 [derived]: given h, the increment xi = L^-alpha V sigma(W h) is "
    "isotropic Gaussian, N(0, s^2 I) with s^2 = L^(-2 alpha) |sigma(W h)|^2 / d, so "
    "E[log|h + xi|^2 - log|h|^2] = (1 - 2/d) d s^2 / |h|^2 + O(s^4): log|h_L|^2 drifts by "
    "(1 - 2/d) L^(1 - 2 alpha) E|sigma(W e)|^2 (e = h/|h|, near 0 for tanh) against "
    "fluctuations of size L^(1/2 - alpha), so |h_L| -> oo in probability iff 1 - 2/d > 0. At "
    "d = 2 log|h| is harmonic: the mean-value property makes log|h_k| a martingale up to a drift "
    "E[log(|xi|/|h|)^+] that is exponentially small in L^alpha -- E|h_L|^2 still grows, but "
    "for ReLU (exactly multiplicative) about half the paths end below |h_0| at every depth; at "
    "d = 1 the drift is negative and |h_L| -> 0 in probability. Measured (M = 512, seed 3, "
    "h_0 ~ N(0, I/4), L = 16..1024), P(|h_L| < |h_0|): ReLU alpha = 0.3: d = 1 0.66 -> 0.93, "
    "d = 2 0.40 -> 0.50, d = 3 0.34 -> 0.20, d = 5 0.20 -> 0.03; alpha = 0.15: d = 2 0.37 -> "
    "0.47, d = 3 0.25 -> 0.01; tanh alpha = 0.3: d = 1 0.70 -> 0.87, d = 2 0.38 -> 0.37 (its "
    "saturation makes far steps additive), d = 3 0.27 -> 0.10. (At alpha = 0 the d = 2 "
    "drift is O(1) per layer and ReLU grows in probability too: 0.28 -> 0.00.) Widths are "
    "drawn in 3..5.",
)
