"""The turnpike: training with a running cost, its error profile and the LQR prediction.

With the running cost ``beta int_0^T E(t) dt`` (``p = 2``: ``|P x(t) - y|^2`` averaged over the
data, P = identity) EGPZ (Esteve, Geshkovski, Pighin, Zuazua, "Large-time asymptotics in deep
learning") prove ``E(t) <= C exp(-mu t)`` with C, mu independent of T. The rate predicted here
[derived]: linearise at ``(x = y, u = 0)``; for dynamics with ``f(x, 0) = 0`` the Euler steps are
``z_{k+1} = z_k + h B v_k``, B the Jacobian of the stacked field ``(f(y_i, u))_i`` in u at 0,
and the discrete LQR with running weight ``q = beta / N`` and control weight lambda has the
slowest closed-loop factor of :func:`theory.large_time.lqr_factor` at ``sigma_min(B)``.
The step ``h`` is fixed and ``L = T / h`` grows with T, so the discrete rate is the same at
every T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.func import jacrev

from numerics.large_time.dynamics import flow
from numerics.large_time.problems import Objective, TeacherProblem, error
from numerics.large_time.solver import Solve, levenberg_marquardt
from theory.large_time import TurnpikePrediction, TurnpikeScreen, turnpike_decay

__all__ = ["TurnpikeSolve", "control_jacobian", "dare_factor", "late_decay_slope",
           "predict", "running_cost", "solve_turnpike"]


def control_jacobian(problem: TeacherProblem) -> Tensor:
    """B = d/du of the stacked field ``(f(y_i, u))_i`` at u = 0: (N d, m), exact (autograd)."""
    dyn, y = problem.dynamics, problem.y
    zero = torch.zeros(dyn.n_controls, dtype=torch.float64)
    return jacrev(lambda u: dyn.f(y, u).reshape(-1))(zero)


def predict(problem: TeacherProblem, *, h: float, lam: float, beta: float, horizon: float,
            screen: TurnpikeScreen | None = None) -> TurnpikePrediction:
    """The LQR prediction and the screen's verdict, from the problem's data alone."""
    zero = torch.zeros(problem.dynamics.n_controls, dtype=torch.float64)
    if float(problem.dynamics.f(problem.y, zero).abs().max()) > 0:
        raise ValueError(f"{problem.dynamics.name}: f(y, 0) != 0, so (y, 0) is no equilibrium "
                         "and the A = I linearisation does not apply")
    b = control_jacobian(problem)
    n = problem.y.shape[0]
    values = torch.linalg.svdvals(b).tolist()
    values += [0.0] * (b.shape[0] - len(values))  # more states than controls: uncontrolled
    return turnpike_decay(values, h=h, lam=lam, q=beta / n, horizon=horizon,
                          screen=screen or TurnpikeScreen())


def dare_factor(b: np.ndarray, *, h: float, lam: float, q: float, iterations: int = 20000,
                tol: float = 1e-14) -> float:
    """Spectral radius of the closed loop ``I - h B K`` from the discrete Riccati recursion
    (A = I, B_d = h B, Q = h q I, R = h lam I) iterated to a fixed point: an independent
    check of the closed form."""
    n, m = b.shape
    bd, qd, rd = h * b, h * q * np.eye(n), h * lam * np.eye(m)
    p = qd.copy()
    for _ in range(iterations):
        gain = np.linalg.solve(rd + bd.T @ p @ bd, bd.T @ p)
        new = qd + p - p @ bd @ gain
        if np.max(np.abs(new - p)) <= tol * max(1.0, np.max(np.abs(p))):
            p = new
            break
        p = new
    gain = np.linalg.solve(rd + bd.T @ p @ bd, bd.T @ p)
    return float(np.max(np.abs(np.linalg.eigvals(np.eye(n) - bd @ gain))))


@dataclass(frozen=True)
class TurnpikeSolve:
    """The optimum at horizon T: times ``t_k`` (L + 1), the error profile ``E_T(t_k)``, the
    controls (L, m), and the solve (converged, gradient norm)."""

    horizon: float
    times: np.ndarray
    profile: np.ndarray
    u: Tensor
    solve: Solve


def solve_turnpike(problem: TeacherProblem, *, horizon: float, h: float, lam: float,
                   beta: float, gtol: float = 1e-9, max_iter: int = 300,
                   u0: Tensor | None = None) -> TurnpikeSolve:
    """Minimise ``E_L + lambda h sum |u_k|^2 + beta h sum_{0<k<L} E_k`` with L = T / h steps
    (``beta = 0``: the no-running-cost control), from ``u0`` (default 0)."""
    steps = round(horizon / h)
    if abs(steps * h - horizon) > 1e-9 * horizon or steps < 1:
        raise ValueError(f"horizon={horizon} is not a multiple of h={h}; choose T = L h")
    objective = Objective(problem, horizon, lam, beta, steps=steps)
    start = torch.zeros(objective.shape, dtype=torch.float64) if u0 is None else u0
    solve = levenberg_marquardt(objective.data_residuals, start, ridge=objective.ridge,
                                gtol=gtol, max_iter=max_iter)
    u = solve.u.reshape(objective.shape)
    states = flow(problem.dynamics, problem.x0, u, horizon)
    profile = error(states, problem.y).detach().numpy()
    return TurnpikeSolve(horizon, np.arange(steps + 1) * h, profile, u, solve)


def running_cost(states: Tensor, y: Tensor, h: float, p: float = 2.0) -> float:
    """``h sum_{k<L} (1/N) sum_i |x_i(t_k) - y_i|^p``: the turnpike cost for any p >= 1
    (the solver handles p = 2)."""
    if p < 1:
        raise ValueError(f"p={p} must be >= 1")
    dist = (states[..., :-1, :, :] - y).norm(dim=-1).pow(p).mean(dim=-1)
    return float(h * dist.sum())


def late_decay_slope(times: np.ndarray, profile: np.ndarray, *, high: float = 1e-3,
                     low: float = 1e-10) -> tuple[float, tuple[float, float]]:
    """Slope of log E(t) against t over the window rule fixed before judging: the times where
    ``low <= E(t) / E(0) <= high`` up to the first time E falls below ``low E(0)`` (above the
    solver's accuracy floor). Returns (slope, (t_first, t_last))."""
    rel = np.asarray(profile, dtype=np.float64) / profile[0]
    below = np.nonzero(rel < low)[0]
    end = below[0] if below.size else rel.size
    window = np.nonzero(rel[:end] <= high)[0]
    if window.size < 3:
        raise ValueError(f"only {window.size} times with {low:g} <= E/E(0) <= {high:g}: the "
                         "horizon is too short or the decay too slow; lengthen T")
    t, e = times[window], np.log(profile[window])
    return float(np.polyfit(t, e, 1)[0]), (float(t[0]), float(t[-1]))
