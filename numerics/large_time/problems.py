"""Teacher problems with an exactly interpolating control, and the objectives of EGPZ.

A teacher problem (Esteve, Geshkovski, Pighin, Zuazua, "Large-time asymptotics in deep
learning"; THEORY.md section 6) draws inputs ``x_i`` and a control ``ubar`` from one seed and
sets the targets ``y_i = x_i(1)``, the Euler flow on horizon 1 under ``ubar`` (P = identity):
``ubar`` interpolates exactly (to round-off) and certifies ``E(u*_T) <= lambda ||ubar||^2 / T``
for degree-1 dynamics. The objective at horizon T with weight lambda and running weight beta is

    J(u) = E_L + lambda h sum_k |u_k|^2 + beta h sum_{k=1}^{L-1} E_k,   h = T / L,
    E_k = (1/N) sum_i |x_i(t_k) - y_i|^2,

written as a sum of squares ``|r(u)|^2`` for the least-squares solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from numerics.large_time.dynamics import Dynamics, flow

__all__ = ["Objective", "TeacherProblem", "teacher_problem"]


@dataclass(frozen=True)
class TeacherProblem:
    """Inputs ``x0`` (N, d), targets ``y`` (N, d) and the interpolating control ``ubar``
    (L, m) on horizon 1; ``seed`` made all three."""

    dynamics: Dynamics
    x0: Tensor
    y: Tensor
    ubar: Tensor
    seed: int

    @property
    def steps(self) -> int:
        return self.ubar.shape[0]

    @property
    def ubar_norm_sq(self) -> float:
        """``||ubar||^2_{L^2(0,1)} = (1/L) sum_k |ubar_k|^2``."""
        return float(self.ubar.pow(2).sum() / self.steps)

    def interpolation_error(self) -> float:
        """E of ``ubar`` on horizon 1: zero up to round-off by construction."""
        return float(error(flow(self.dynamics, self.x0, self.ubar, 1.0)[-1], self.y))


def teacher_problem(dyn: Dynamics, *, n_points: int, steps: int, seed: int,
                    control_scale: float = 1.0, input_scale: float = 1.0) -> TeacherProblem:
    """Draw a teacher problem from ``torch.Generator().manual_seed(seed)`` (float64):
    ``x0 ~ input_scale N(0, I)``, ``ubar ~ control_scale N(0, I)``, ``y = x(1)``."""
    if n_points < 1 or steps < 1 or not control_scale > 0 or not input_scale > 0:
        raise ValueError(f"n_points={n_points}, steps={steps}, control_scale={control_scale}, "
                         f"input_scale={input_scale}: need n_points, steps >= 1, scales > 0")
    g = torch.Generator().manual_seed(seed)
    x0 = input_scale * torch.randn(n_points, dyn.d, generator=g, dtype=torch.float64)
    ubar = control_scale * torch.randn(steps, dyn.n_controls, generator=g, dtype=torch.float64)
    y = flow(dyn, x0, ubar, 1.0)[-1]
    return TeacherProblem(dyn, x0, y, ubar, seed)


def error(x: Tensor, y: Tensor) -> Tensor:
    """``(1/N) sum_i |x_i - y_i|^2`` over the last two dimensions (..., N, d)."""
    return (x - y).pow(2).sum(dim=(-2, -1)) / y.shape[-2]


@dataclass(frozen=True)
class Objective:
    """``J`` of the module docstring for one problem at one horizon, as residuals."""

    problem: TeacherProblem
    horizon: float
    lam: float
    beta: float = 0.0
    steps: int | None = None   # None: the teacher's L

    def __post_init__(self) -> None:
        if not (self.horizon > 0 and self.lam > 0 and self.beta >= 0):
            raise ValueError(f"horizon={self.horizon}, lam={self.lam}, beta={self.beta}: need "
                             "horizon > 0, lam > 0 and beta >= 0")

    @property
    def n_steps(self) -> int:
        return self.problem.steps if self.steps is None else self.steps

    @property
    def h(self) -> float:
        return self.horizon / self.n_steps

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_steps, self.problem.dynamics.n_controls)

    @property
    def ridge(self) -> float:
        """The weight of ``|u|^2`` in J: ``lambda h``."""
        return self.lam * self.h

    def data_residuals(self, u: Tensor) -> Tensor:
        """The nonlinear residuals (terminal and running): ``J = |r|^2 + ridge |u|^2``."""
        return self.residuals(u, with_ridge=False)

    def residuals(self, u: Tensor, with_ridge: bool = True) -> Tensor:
        """``r(u)`` with ``|r|^2 = J``; ``u`` (L, m), flattened or not."""
        u = u.reshape(*u.shape[:-1], *self.shape) if u.shape[-2:] != self.shape else u
        p = self.problem
        states = flow(p.dynamics, p.x0, u, self.horizon)
        n = p.y.shape[0]
        parts = [((states[..., -1, :, :] - p.y) / math.sqrt(n)).flatten(-2)]
        if with_ridge:
            parts.append(math.sqrt(self.ridge) * u.flatten(-2))
        if self.beta > 0:
            run = (states[..., 1:-1, :, :] - p.y) * math.sqrt(self.beta * self.h / n)
            parts.append(run.flatten(-3))
        return torch.cat(parts, dim=-1)

    def parts(self, u: Tensor) -> dict[str, float]:
        """The terms of J at ``u``: error, penalty, running cost, J, and the rescaled norm
        ``||T u(T .)||_{L^2(0,1)}^2 = T ||u||^2_{L^2(0,T)}``."""
        u = u.reshape(self.shape)
        states = flow(self.problem.dynamics, self.problem.x0, u, self.horizon)
        errors = error(states, self.problem.y)
        norm_sq = float(self.h * u.pow(2).sum())
        running = float(self.beta * self.h * errors[1:-1].sum())
        e = float(errors[-1])
        return {"error": e, "penalty": self.lam * norm_sq, "running": running,
                "J": e + self.lam * norm_sq + running, "norm_sq": norm_sq,
                "rescaled_norm_sq": self.horizon * norm_sq}
