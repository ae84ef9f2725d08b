r"""The large-time protocol a horizon claim is about (THEORY.md section 6; EGPZ, Esteve,
Geshkovski, Pighin, Zuazua, "Large-time asymptotics in deep learning", arXiv 2008.02491).

A :class:`LargeTime` value names the neural ODE ``x' = f(x, u(t))`` (``dynamics``, by the
names of :mod:`numerics.large_time.dynamics`), the teacher problems it is trained on (N =
``n_points`` inputs in dimension ``width``, targets ``y_i = x_i(1)`` under a random control
``ubar`` of ``steps`` Euler steps) and the objective

.. math::

    J_T^\lambda(u) = E(u) + \lambda \|u\|^2_{L^2(0,T)}
    \;[+\, \beta \textstyle\int_0^T E(t)\,dt \text{ (turnpike)}].

What a horizon ladder is measured by (the quantities of :class:`theory.claims.Quantity`), one
column per horizon T and problem (the problems, drawn from the check's seed, are the samples):

====================  =========================================================================
``identity-defect``   :math:`|J_T^\lambda(u) - J_1^{\lambda/T}(T u)| / J_T^\lambda(u)` at a random
                      control: round-off for degree-1 dynamics, O(1) otherwise (LT1)
``train-error``       :math:`E(u^*_T)`, with the certificate :math:`\lambda\|\bar u\|^2/T` (LT2)
``control-norm``      :math:`\|v_T\|^2_{L^2(0,1)}`, :math:`v_T = T u^*_T(T\,\cdot)`, bounded by
                      the teacher's :math:`\|\bar u\|^2` (LT3)
``control-gap``       :math:`\|v_T - v_{T_{max}}\|`: the rescaled optima are Cauchy in T (LT3)
``turnpike-error``    :math:`E_T(t)` with the running cost, step ``h`` fixed (LT4)
====================  =========================================================================

The horizons, the number of problems per check and the solver tolerances are the profile's
(:class:`verify.profiles.HorizonBudget`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, final

__all__ = ["DYNAMICS_NAMES", "HORIZON_QUANTITIES", "LargeTime"]

HORIZON_QUANTITIES = ("identity-defect", "train-error", "control-norm", "control-gap",
                      "turnpike-error")
"""The quantities a horizon ladder is measured by."""
DYNAMICS_NAMES = ("outer-linear", "relu-outer", "inner-relu", "inner-tanh", "inner-linear")
"""The dynamics of :data:`numerics.large_time.dynamics.DYNAMICS` (a test keeps them equal)."""


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class LargeTime:
    """One large-time protocol, applied to every problem and horizon of a check.

    ``dynamics``: the neural ODE (its degree of homogeneity, decided exactly by
    :func:`theory.homogeneity.homogeneity`, chooses the solve: continuation through the
    degree-1 identity, else direct solves at each horizon); ``lam``: the weight lambda;
    ``n_points``, ``width`` (d), ``steps``: the teacher problems of the horizon ladder;
    ``h``, ``beta``, ``turnpike_steps``: the turnpike's fixed Euler step, running-cost weight
    and teacher steps; ``running_cost``: whether the turnpike solve includes the running
    cost (False: the control twin; the prediction and the screen always read ``beta``)."""

    dynamics: str = "outer-linear"
    lam: float = 1e-2
    n_points: int = 3
    width: int = 2
    steps: int = 6
    h: float = 0.1
    beta: float = 1.0
    turnpike_steps: int = 4
    running_cost: bool = True

    def __post_init__(self) -> None:
        if self.dynamics not in DYNAMICS_NAMES:
            raise ValueError(f"LargeTime.dynamics={self.dynamics!r} is unknown; use one of "
                             f"{DYNAMICS_NAMES}")
        for name in ("lam", "h", "beta"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"LargeTime.{name}={value!r} must be a finite number > 0, "
                                 "e.g. 0.01")
        for name in ("n_points", "width", "steps", "turnpike_steps"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"LargeTime.{name}={value!r} must be an int >= 1")

    def describe(self) -> str:
        """One line: the dynamics, the objective and the problems."""
        run = (f"; turnpike h = {self.h:g}, beta = {self.beta:g}"
               + ("" if self.running_cost else " (solved without the running cost)"))
        return (f"x' = f(x, u) {self.dynamics} (d = {self.width}), E(u) + {self.lam:g} "
                f"|u|^2_L2(0,T); teacher problems N = {self.n_points}, L = {self.steps}{run}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
