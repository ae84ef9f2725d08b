"""T2: plain SGD conserves delta^2 - sum_k |A_k|^2 + |b_k|^2, which with T1 forces beta = 3/4."""

from theory.claims import Claim, Rate
from theory.regime import Regime
from theory.training import Training

REGIME = Regime.trained(
    name="T2",
    claim="Block I with a positively homogeneous activation (ReLU), one shared trained delta "
    "and small initialisation, trained by plain SGD: gradient flow conserves delta^2 - sum_k "
    "(|A_k|^2 + |b_k|^2) ((delta, A, b) -> (c delta, A/c, b/c) is a symmetry of the block), "
    "so delta^2 ~ sum_k |A_k|^2; with T1 (delta A_k ~ 1/L) this forces max_k |A_k| ~ "
    "L^-3/4 (beta = 3/4) and delta ~ L^-1/4 (alpha = 1/4). Adam's per-coordinate "
    "normalisation breaks the conservation: the same claims on the Adam-trained ladder are "
    "the twins that must be rejected.",
    source="THEORY.md section 5, T2 [derived]",
    status="derived",
    activations=("relu",),
    training=Training(delta="shared", optimizer="sgd", lr=0.3),
    claims=(Claim(quantity="weight-max", predicts=Rate(exponent="3/4"), controls=("adam",),
                  source="THEORY.md T2: balance delta^2 = sum |A_k|^2 and alpha + beta = 1"),
            Claim(quantity="delta-max", predicts=Rate(exponent="1/4"), controls=("adam",),
                  source="THEORY.md T2")),
    notes="Why ReLU and lr 0.1 [measured, d = 10, 8 training seeds, depths 4..64, window "
    "8..64, 95% bootstrap intervals over seeds]: the symmetry needs sigma(z/c) = sigma(z)/c; "
    "with tanh (SGD lr 1, depths 8..128) beta = 0.42, alpha = 0.43 and delta^2 is far below "
    "sum |A_k|^2 at L = 128: the balance does not hold once A is O(1). With ReLU, SGD lr 1 "
    "diverges; lr 0.1 gives beta = 0.703 [0.685, 0.724], alpha = 0.220 [0.216, 0.223] after "
    "1000 steps and 0.707, 0.223 after 3000 (stable in training time), delta^2 = sum |A|^2 + "
    "|b|^2 to 1e-2 (e.g. L = 8: 1.726 against 1.720); lr 0.3 reaches the same in 300-500 "
    "steps (beta 0.700 / 0.704 / 0.705 after 300 / 500 / 1000 steps; alpha 0.221 / 0.225 / "
    "0.228), hence lr 0.3. Adam (lr 1e-2) on the same block: beta = 0.23 after 500 steps "
    "and 0.11 after 1000, alpha 0.62-0.68.",
)
