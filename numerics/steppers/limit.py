r"""The limit solvers and the exact solutions as steppers on the driver.

* :class:`LimitStepper` (level 0, the fine grid, :math:`\Delta t = 1/N`, :math:`t_k = k\Delta t`):
  an ODE scheme of :mod:`numerics.solvers` (:math:`dH = f(t, H)\,dt`: Euler, Heun, RK4) or an
  Ito SDE scheme (:math:`dH = f\,dt + \text{noise}(t, H, dW)`: Euler-Maruyama, Milstein) on the
  fine increments of its ``source`` path; it declares the scheme's orders.
* :class:`ExactStepper` (level :math:`\log_2(N / L_{\min})`, the coarse grid): a closed form
  :math:`H_{t} = \text{solution}(t, h_0, W_t)` of the running sum :math:`W_t` of its path's
  coarse increments (``order = inf``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from torch import Tensor

from numerics.solvers import DriftFn, Exact, LimitSpec, ODESolver, SDESolver
from numerics.steppers.base import Stepper

__all__ = ["ExactStepper", "LimitStepper", "limit_stepper"]


class LimitStepper(Stepper):
    """``spec.solver`` on ``n_fine`` steps; ``source``: the driver key of its noise path
    (None: no noise path), ``variance`` its entry variance per unit time (Milstein)."""

    def __init__(self, spec: LimitSpec, drift: DriftFn | None, *, n_fine: int,
                 source: str | None, variance: float) -> None:
        solver = spec.solver
        if not isinstance(solver, ODESolver | SDESolver):
            raise TypeError(f"solver={solver!r}: LimitStepper takes an ODE/SDE solver")
        self.solver, self.noise, self.drift = solver, spec.noise, drift
        self.level, self.n_steps = 0, n_fine
        self.source, self.variance = source, variance
        self.sources = () if source is None else (source,)
        self.order, self.strong_order = solver.order, solver.strong_order
        self.weak_order = solver.weak_order

    def init(self, x0: Tensor) -> Tensor:
        return x0.clone()

    def step(self, state: Tensor, k: int, dw: Mapping[str, Tensor]) -> Tensor:
        dt = self.dt
        t = k * dt
        if isinstance(self.solver, ODESolver):
            assert self.drift is not None
            return self.solver.step(self.drift, t, dt, state)
        inc = None if self.source is None else dw[self.source]
        return self.solver.step(self.drift, self.noise, t, dt, state, inc, self.variance)


class ExactStepper(Stepper):
    """``solution((k + 1) / n_coarse, x0, W)`` after step ``k``; ``W`` the running sum of the
    increments of ``source`` on the coarse grid (None: ``W`` is None)."""

    order = strong_order = weak_order = math.inf

    def __init__(self, exact: Exact, *, n_fine: int, n_coarse: int,
                 source: str | None) -> None:
        self.exact, self.source = exact, source
        self.level = (n_fine // n_coarse).bit_length() - 1
        self.n_steps = n_coarse
        self.sources = () if source is None else (source,)
        self._x0: Tensor | None = None
        self._w: Tensor | None = None

    def init(self, x0: Tensor) -> Tensor:
        self._x0, self._w = x0, None
        return x0.clone()

    def step(self, state: Tensor, k: int, dw: Mapping[str, Tensor]) -> Tensor:
        assert self._x0 is not None
        if self.source is not None:
            inc = dw[self.source]
            self._w = inc.clone() if self._w is None else self._w + inc
        return self.exact.solution((k + 1) / self.n_steps, self._x0, self._w)


def limit_stepper(spec: LimitSpec, drift: DriftFn | None, *, n_fine: int, n_coarse: int,
                  source: str | None, variance: float) -> Stepper:
    """The stepper of ``spec``: exact on the coarse grid, else the scheme on the fine grid."""
    if isinstance(spec.solver, Exact):
        return ExactStepper(spec.solver, n_fine=n_fine, n_coarse=n_coarse, source=source)
    return LimitStepper(spec, drift, n_fine=n_fine, source=source, variance=variance)
