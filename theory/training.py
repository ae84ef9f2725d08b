r"""The training protocol a trained-weight claim is about (THEORY.md section 5 [CCRX21, CRX22]).

Block I, :math:`h_{k+1} = h_k + \delta_k \sigma(A_k h_k + b_k)`, trained on a regression task
with MSE loss; ``delta`` is ``shared`` (one trained scalar, used as :math:`|\delta|`,
initialised :math:`1/L`), ``multi`` (one per layer, initialised :math:`N(0, 1/L^2)`),
``frozen`` (:math:`\delta = 1/L`, not trained) or ``none`` (:math:`\delta = 1`). Defaults are
the authors' committed configuration (instadeepai/scaling-resnets): the synthetic ODE task in
d = 10, Adam with learning rate 1e-2, batch 32, ``xavier-depth`` initialisation with sd 0.01.

What a trained ladder is measured by (the quantities of :class:`theory.claims.Quantity`), with
:math:`X_k = A_k` (or :math:`|\delta_k| A_k` for per-layer delta) and Frobenius norms:

===================  ==========================================================================
``weight-max``       :math:`\max_k |X_k| \sim L^{-\beta}`
``weight-rms``       :math:`(\frac1L \sum_k |X_k|^2)^{1/2}`: the outlier-robust companion
``delta-max``        :math:`\max_k |\delta_k| \sim L^{-\alpha}`
``increment-max``    :math:`\max_k |\delta_k A_k| \sim L^{-(\alpha + \beta)}` (T1)
``roughness``        :math:`R_L = QV / \sum_k |X_k|^2`, scale-free [derived]: :math:`\sim L^{-2}`
                     for a Lipschitz function of k/L, :math:`\sim L^{-1}` for a Brownian path,
                     :math:`\to 2` for i.i.d. mean-zero weights (T4)
===================  ==========================================================================

The training steps, the depth ladder and the number of training seeds are the profile's
(:class:`verify.profiles.TrainingBudget`): one step count for every depth (early stopping
makes depths incomparable, THEORY.md pitfalls).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, final

__all__ = ["DELTA_MODES", "OPTIMIZERS", "TASKS", "TRAINED_QUANTITIES", "Training",
           "check_depths"]

DELTA_MODES = ("shared", "multi", "frozen", "none")
OPTIMIZERS = ("adam", "sgd")
TASKS = ("ode", "eeg")
STOPPING = ("fixed", "authors")
TRAINED_QUANTITIES = ("weight-max", "weight-rms", "delta-max", "increment-max", "roughness")
"""The quantities a trained ladder is measured by (each a column over depth x training seed)."""


def check_depths(depths: Any, where: str) -> tuple[int, ...]:
    """``depths`` as a tuple of at least 3 strictly increasing positive ints, else ValueError
    naming ``where``."""
    d = tuple(depths)
    if len(d) < 3 or any(not isinstance(x, int) or x < 1 for x in d) or any(
            b <= a for a, b in zip(d, d[1:], strict=False)):
        raise ValueError(f"{where}={depths!r} must be >= 3 strictly increasing positive ints, "
                         "e.g. (8, 16, 32, 64)")
    return d


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Training:
    """One training protocol, applied to every depth and training seed of a ladder.

    ``task``: ``"ode"`` (the authors' synthetic data) or ``"eeg"`` (matplotlib's bundled EEG
    sample as a forecasting task); ``width`` is the data dimension d; ``delta``, ``optimizer``,
    ``lr``, ``batch_size``, ``init_sd`` as in the module doc. ``depths``: the protocol's own
    depth grid (None: the profile's ladder); ``stopping``: ``"fixed"`` (the profile's step
    count for every depth) or ``"authors"`` (their early-stopping rule: epoch-mean MSE below
    1e-3, or 5 epochs without a 1% improvement; for reproducing their numbers only)."""

    delta: str = "shared"
    optimizer: str = "adam"
    lr: float = 1e-2
    batch_size: int = 32
    init_sd: float = 0.01
    task: str = "ode"
    width: int = 10
    bias: bool = True
    depths: tuple[int, ...] | None = None
    stopping: str = "fixed"

    def __post_init__(self) -> None:
        for name, value, known in (("delta", self.delta, DELTA_MODES),
                                   ("optimizer", self.optimizer, OPTIMIZERS),
                                   ("task", self.task, TASKS)):
            if value not in known:
                raise ValueError(f"Training.{name}={value!r} is unknown; use one of {known}")
        if self.stopping not in STOPPING:
            raise ValueError(f"Training.stopping={self.stopping!r} is unknown; use one of "
                             f"{STOPPING}")
        if self.depths is not None:  # None: the profile's ladder
            object.__setattr__(self, "depths", check_depths(self.depths, "Training.depths"))
        for name in ("lr", "init_sd"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"Training.{name}={value!r} must be a finite number > 0, "
                                 "e.g. 0.01")
        for name, low in (("batch_size", 1), ("width", 1)):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= low):
                raise ValueError(f"Training.{name}={value!r} must be an int >= {low}")

    def describe(self) -> str:
        """One line: the trained block and the protocol."""
        delta = {"shared": "delta shared (trained, init 1/L)",
                 "multi": "delta_k per layer (trained, init N(0, 1/L^2))",
                 "frozen": "delta = 1/L frozen", "none": "delta = 1"}[self.delta]
        grid = "" if self.depths is None else (
            f"; depths {self.depths[0]}..{self.depths[-1]} ({len(self.depths)} depths)")
        stop = "" if self.stopping == "fixed" else "; the authors' early stopping"
        return (f"h_(k+1) = h_k + delta_k sigma(A_k h_k + b_k), {delta}; {self.optimizer} "
                f"lr {self.lr:g}, batch {self.batch_size}, init sd {self.init_sd:g}/(L d); "
                f"task {self.task} (d = {self.width}), MSE{grid}{stop}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["depths"] = None if self.depths is None else list(self.depths)
        return out
