"""A Levenberg-Marquardt solver for ``min_u |r(u)|^2 + ridge |u|^2``, exact Jacobian, float64.

The large-time problems are small (tens to hundreds of controls), so each iteration forms the
Jacobian ``Jr`` of the nonlinear residuals exactly (``torch.func.jacrev`` when there are fewer
residuals than controls, else ``jacfwd``; the ridge term's Jacobian is the constant
``sqrt(ridge) I`` and is never formed) and solves the damped Gauss-Newton system
``(Jr^T Jr + (ridge + mu) I) delta = -(Jr^T r + ridge u)`` by Cholesky. ``mu`` follows
Nielsen's gain-ratio rule (K. Madsen, H. B. Nielsen, O. Tingleff, "Methods for non-linear
least squares problems", 2004, section 3.2). Converged means the gradient
``g = 2 (Jr^T r + ridge u)`` of the objective satisfies ``|g| <= gtol`` (absolute: the
problems are scaled to J = O(1)); a solve that stops otherwise says why and is reported
``converged=False``, never silently accepted.

``curvature="exact"`` replaces ``Jr^T Jr`` by the exact half-Hessian of ``|r|^2`` (``Jr^T Jr +
sum_i r_i Hess r_i``, by ``torch.func.hessian``; the damping and the gain ratio are the
same, a Cholesky failure raises ``mu``): at an optimum that does not interpolate the
residual curvature is comparable to the ridge and Gauss-Newton converges only linearly
(direct solves of the degree-2 and non-homogeneous controls stopped at |g| = 1-4e-5 after
300 iterations); Newton's model converges quadratically there.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import hessian, jacfwd, jacrev

with warnings.catch_warnings():  # jacfwd imports this lazily; in torch 2.13 it warns that
    warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated
    import torch._decomp.decompositions_for_jvp  # noqa: F401

__all__ = ["Solve", "levenberg_marquardt"]


@dataclass(frozen=True)
class Solve:
    """Result: the minimiser ``u`` (flat), ``cost`` = |r|^2 + ridge |u|^2, ``grad_norm`` = the
    norm of the objective's gradient at ``u``, ``converged``, ``iterations`` and ``reason``."""

    u: Tensor
    cost: float
    grad_norm: float
    converged: bool
    iterations: int
    reason: str


def levenberg_marquardt(residuals: Callable[[Tensor], Tensor], u0: Tensor, *, ridge: float = 0.0,
                        gtol: float = 1e-9, max_iter: int = 300, mu0: float = 1e-3,
                        curvature: str = "gauss-newton") -> Solve:
    """Minimise ``|residuals(u)|^2 + ridge |u|^2`` from ``u0`` (``residuals`` takes the shape
    of ``u0``; the returned ``u`` is flat); ``curvature``: ``"gauss-newton"`` or ``"exact"``
    (module docstring)."""
    if curvature not in ("gauss-newton", "exact"):
        raise ValueError(f"curvature={curvature!r}: use 'gauss-newton' or 'exact'")
    if not (gtol > 0 and max_iter >= 1 and mu0 > 0 and ridge >= 0):
        raise ValueError(f"gtol={gtol}, max_iter={max_iter}, mu0={mu0}, ridge={ridge}: need "
                         "gtol > 0, max_iter >= 1, mu0 > 0 and ridge >= 0 (e.g. gtol=1e-9)")
    shape = u0.shape

    def r_flat(v: Tensor) -> Tensor:
        return residuals(v.reshape(shape))

    u = u0.detach().reshape(-1).to(torch.float64).clone()
    r = r_flat(u)
    jacobian = jacrev(r_flat) if r.numel() < u.numel() else jacfwd(r_flat)

    def half_square(v: Tensor) -> Tensor:
        res = r_flat(v)
        return 0.5 * (res @ res)

    half_hessian = hessian(half_square) if curvature == "exact" else None

    def linearise(v: Tensor, res: Tensor) -> tuple[Tensor, Tensor]:
        jac = jacobian(v)
        curv = jac.T @ jac if half_hessian is None else half_hessian(v)
        return curv, jac.T @ res + ridge * v

    def cost_of(v: Tensor, res: Tensor) -> float:
        return float(res @ res) + ridge * float(v @ v)

    cost = cost_of(u, r)
    a, g = linearise(u, r)
    eye = torch.eye(u.numel(), dtype=torch.float64)
    mu = mu0 * max(float(a.diagonal().max()), ridge, 1e-12)
    nu = 2.0
    for it in range(max_iter):
        grad_norm = 2 * float(g.norm())
        if grad_norm <= gtol:
            return Solve(u, cost, grad_norm, True, it, f"|grad J| = {grad_norm:.3g} <= {gtol}")
        chol, info = torch.linalg.cholesky_ex(a + (ridge + mu) * eye)
        if int(info) != 0:
            mu, nu = mu * nu, nu * 2
            continue
        step = -torch.cholesky_solve(g.unsqueeze(-1), chol).squeeze(-1)
        if float(step.norm()) <= 1e-15 * (1 + float(u.norm())):
            return Solve(u, cost, grad_norm, False, it,
                         f"step below round-off with |grad J| = {grad_norm:.3g} > gtol={gtol}: "
                         "float64 cannot lower the gradient further; loosen gtol or rescale")
        trial = u + step
        r_trial = r_flat(trial)
        cost_trial = cost_of(trial, r_trial)
        predicted = float(step @ (mu * step - g))  # model decrease of |r|^2 + ridge |u|^2
        gain = (cost - cost_trial) / predicted if predicted > 0 else -1.0
        if gain > 0 and bool(torch.isfinite(r_trial).all()):
            u, r, cost = trial, r_trial, cost_trial
            a, g = linearise(u, r)
            mu *= max(1 / 3, 1 - (2 * gain - 1) ** 3)
            nu = 2.0
        else:
            mu, nu = mu * nu, nu * 2
            if mu > 1e30:
                break
    grad_norm = 2 * float(g.norm())
    converged = grad_norm <= gtol
    return Solve(u, cost, grad_norm, converged, max_iter,
                 f"|grad J| = {grad_norm:.3g} {'<=' if converged else '>'} gtol={gtol} when "
                 "stopped" + ("" if converged else ": not converged; raise max_iter or rescale"))
