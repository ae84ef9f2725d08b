"""Training error against the horizon T: continuation through the degree-1 identity, direct
solves for the controls, and the identity's own check.

For degree-1 dynamics the Euler ResNet with L steps of T/L and controls u equals the one with
L steps of 1/L and controls T u, so ``J_T^lambda(u) = J_1^{lambda/T}(T u)`` [derived, THEORY.md
section 6; EGPZ, Esteve, Geshkovski, Pighin, Zuazua, "Large-time asymptotics in deep
learning"]. :func:`continuation` therefore solves the horizon-1 problem with weight
``lambda/T`` for increasing T, each solve warm-started at the previous optimum, maps back
``u_T = v_T / T`` and evaluates every reported number with the horizon-T flow itself.
:func:`direct_sweep` solves at horizon T (the negative controls), warm-started from the previous
horizon's optimum scaled by ``sqrt(T_prev / T)`` (a starting guess only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from numerics.large_time.problems import Objective, TeacherProblem
from numerics.large_time.solver import Solve, levenberg_marquardt

__all__ = ["HorizonPoint", "HorizonSweep", "continuation", "direct_sweep", "identity_defect",
           "loglog_slope"]


@dataclass(frozen=True)
class HorizonPoint:
    """One horizon: the optimum's error, penalty, J, rescaled norm ``||T u_T(T .)||^2`` on
    (0, 1), the certificate ``lambda ||ubar||^2 / T``, the horizon-T gradient norm at ``u``
    and whether the solve converged (``reason`` says why it stopped)."""

    horizon: float
    error: float
    penalty: float
    J: float
    rescaled_norm_sq: float
    certificate: float
    grad_norm: float
    converged: bool
    iterations: int
    reason: str
    u: Tensor


@dataclass(frozen=True)
class HorizonSweep:
    """A horizon ladder for one problem; columns as numpy arrays."""

    dynamics: str
    seed: int
    lam: float
    method: str
    points: tuple[HorizonPoint, ...]

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(p, name) for p in self.points], dtype=np.float64)

    @property
    def converged(self) -> bool:
        return all(p.converged for p in self.points)


def _gradient_norm(objective: Objective, u: Tensor) -> float:
    v = u.detach().clone().requires_grad_(True)
    r = objective.residuals(v)
    (g,) = torch.autograd.grad(r @ r, v)
    return float(g.norm())


def _point(objective: Objective, u: Tensor, solve: Solve, certificate: float) -> HorizonPoint:
    u = u.reshape(objective.shape).detach()
    parts = objective.parts(u)
    return HorizonPoint(objective.horizon, parts["error"], parts["penalty"], parts["J"],
                        parts["rescaled_norm_sq"], certificate, _gradient_norm(objective, u),
                        solve.converged, solve.iterations, solve.reason, u)


def _check(horizons: Sequence[float]) -> tuple[float, ...]:
    hs = tuple(float(t) for t in horizons)
    if not hs or any(not t > 0 for t in hs) or list(hs) != sorted(set(hs)):
        raise ValueError(f"horizons={hs!r} must be positive and strictly increasing, e.g. "
                         "(1, 2, 4, 8)")
    return hs


def continuation(problem: TeacherProblem, horizons: Sequence[float], lam: float, *,
                 gtol: float = 1e-9, max_iter: int = 300, v0: Tensor | None = None) -> HorizonSweep:
    """Degree-1 dynamics only: solve ``J_1^{lambda/T}(v)`` along ``horizons`` with warm starts
    (the first from ``v0``, default the teacher ``ubar``) and report ``u_T = v_T / T``."""
    hs = _check(horizons)
    from theory.homogeneity import homogeneity
    expr, states, controls = problem.dynamics.sympy_scalar()
    degree = homogeneity(expr, controls=controls, states=states)
    if degree.degree != 1:
        raise ValueError(f"continuation needs degree-1 dynamics; {problem.dynamics.name} is "
                         f"{degree.status.value} ({degree.reason}). Fix: use direct_sweep")
    v = problem.ubar.clone() if v0 is None else v0.clone()
    points = []
    for t in hs:
        unit = Objective(problem, 1.0, lam / t)
        solve = levenberg_marquardt(unit.data_residuals, v, ridge=unit.ridge, gtol=gtol,
                                    max_iter=max_iter)
        v = solve.u.reshape(unit.shape)
        points.append(_point(Objective(problem, t, lam), v / t, solve,
                             lam * problem.ubar_norm_sq / t))
    return HorizonSweep(problem.dynamics.name, problem.seed, lam, "continuation", tuple(points))


def direct_sweep(problem: TeacherProblem, horizons: Sequence[float], lam: float, *,
                 init_seed: int, init_scale: float = 0.5, gtol: float = 1e-9,
                 max_iter: int = 300, curvature: str = "gauss-newton") -> HorizonSweep:
    """Solve at each horizon T directly; the first start is ``init_scale N(0, I) / sqrt(T)``
    from ``init_seed``, later ones the previous optimum times ``sqrt(T_prev / T)``."""
    hs = _check(horizons)
    g = torch.Generator().manual_seed(init_seed)
    shape = (problem.steps, problem.dynamics.n_controls)
    u = init_scale * torch.randn(shape, generator=g, dtype=torch.float64) / math.sqrt(hs[0])
    points, previous = [], hs[0]
    for t in hs:
        objective = Objective(problem, t, lam)
        u = u * math.sqrt(previous / t)
        solve = levenberg_marquardt(objective.data_residuals, u, ridge=objective.ridge,
                                    gtol=gtol, max_iter=max_iter, curvature=curvature)
        u, previous = solve.u.reshape(shape), t
        points.append(_point(objective, u, solve, lam * problem.ubar_norm_sq / t))
    return HorizonSweep(problem.dynamics.name, problem.seed, lam, "direct", tuple(points))


def identity_defect(problem: TeacherProblem, u: Tensor, horizon: float, lam: float) -> float:
    """``|J_T^lambda(u) - J_1^{lambda/T}(T u)| / J_T^lambda(u)``: round-off for degree 1,
    O(1) otherwise."""
    j_t = Objective(problem, horizon, lam).parts(u)["J"]
    j_1 = Objective(problem, 1.0, lam / horizon).parts(horizon * u)["J"]
    return abs(j_t - j_1) / abs(j_t)


def loglog_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y against log x (a plain fit; the judge is verify's)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.size < 2 or not (np.all(x > 0) and np.all(y > 0)):
        raise ValueError(f"need >= 2 positive pairs of equal shape; got x={x}, y={y}")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])
