"""Horizon ladders as per-problem columns: what a large-time claim is measured on.

The problems are the samples: a check with seed ``s`` draws the teacher-problem seeds
:func:`problem_seeds` (an independent stream per check) and every column has one entry per
(axis point, problem), so that verify's fits bootstrap over problems. Three measurements
(EGPZ, Esteve, Geshkovski, Pighin, Zuazua, "Large-time asymptotics in deep learning";
THEORY.md section 6):

- :func:`identity_columns`: the relative defect of ``J_T^lambda(u) = J_1^(lambda/T)(T u)`` at a
  random control ``u / T`` per horizon, and of the wrong identity ``J_T^lambda(u) =
  J_1^lambda(T u)`` (the weight not divided by T);
- :func:`sweep_columns`: the optimum at every horizon, by continuation through the degree-1
  identity where the dynamics are homogeneous of degree 1 (decided exactly by
  :func:`theory.homogeneity.homogeneity`), else by direct solves at horizon T (with the
  exact curvature: Gauss-Newton converges only linearly at a non-interpolating optimum); the
  train
  error with its certificate, the rescaled control norm with the teacher's norm, the gap to
  the longest horizon's rescaled optimum, and each solve's gradient norm and convergence;
- :func:`turnpike_columns`: problems screened by the stated rule first (the
  :class:`theory.large_time.TurnpikeScreen`, from the data alone), then solved with (or,
  for the control, without) the running cost at each turnpike horizon; the late slope of
  log E(t), its LQR prediction, and the largest log-gap between the profiles of consecutive
  horizons on ``[0, T_short / 2]`` (the common range away from the short horizon's end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from numerics.large_time.continuation import continuation, direct_sweep, identity_defect
from numerics.large_time.dynamics import dynamics
from numerics.large_time.problems import Objective, TeacherProblem, teacher_problem
from numerics.large_time.turnpike import late_decay_slope, predict, solve_turnpike

__all__ = ["Columns", "degree", "identity_columns", "problem_seeds", "sweep_columns",
           "turnpike_columns"]


@dataclass(frozen=True)
class Columns:
    """Columns ``(len(at), n_problems)``, per-problem bounds of the same shape, and what the
    record must keep (seeds, gradient norms, convergence, the screen)."""

    at: tuple[float, ...]
    columns: dict[str, np.ndarray]
    bounds: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)


def problem_seeds(seed: int, n: int) -> tuple[int, ...]:
    """The ``n`` teacher-problem seeds of a check with seed ``seed`` (independent stream)."""
    state = np.random.SeedSequence([int(seed), 14]).generate_state(n, dtype=np.uint32)
    return tuple(int(x) & 0x7FFF_FFFF for x in state)


def _problem(name: str, sigma: str, d: int, n_points: int, steps: int,
             seed: int) -> TeacherProblem:
    dyn = dynamics(name, d)
    if hasattr(dyn, "sigma"):
        dyn = replace(dyn, sigma=sigma)
    return teacher_problem(dyn, n_points=n_points, steps=steps, seed=seed)


def degree(name: str) -> int | None:
    """The degree of homogeneity of the named dynamics in its controls (None: not
    homogeneous), decided exactly on its scalar sympy form."""
    from theory.homogeneity import homogeneity

    expr, states, controls = dynamics(name, 1).sympy_scalar()
    return homogeneity(expr, controls=controls, states=states).degree


def identity_columns(name: str, sigma: str, *, d: int, n_points: int, steps: int, lam: float,
                     seeds: Sequence[int], horizons: Sequence[float]) -> Columns:
    """``identity-defect`` and ``identity-defect:wrong-weight`` per horizon and problem, at
    the control ``u / T`` with ``u ~ N(0, I)`` drawn from the problem's seed."""
    defect = np.empty((len(horizons), len(seeds)))
    wrong = np.empty_like(defect)
    for j, s in enumerate(seeds):
        problem = _problem(name, sigma, d, n_points, steps, s)
        g = torch.Generator().manual_seed(10_000 + s)
        u = torch.randn(problem.steps, problem.dynamics.n_controls, generator=g,
                        dtype=torch.float64)
        for i, t in enumerate(horizons):
            defect[i, j] = identity_defect(problem, u / t, t, lam)
            j_t = Objective(problem, t, lam).parts(u / t)["J"]
            wrong[i, j] = abs(j_t - Objective(problem, 1.0, lam).parts(u)["J"]) / abs(j_t)
    return Columns(tuple(float(t) for t in horizons),
                   {"identity-defect": defect, "identity-defect:wrong-weight": wrong},
                   meta={"problem_seeds": list(seeds), "dynamics": name})


def sweep_columns(name: str, sigma: str, *, d: int, n_points: int, steps: int, lam: float,
                  seeds: Sequence[int], horizons: Sequence[int], gtol: float,
                  direct_gtol: float, max_iter: int, direct_max_iter: int | None = None
                  ) -> Columns:
    """The optimum of every problem at every horizon (module docstring): columns
    ``train-error``, ``control-norm``, ``control-gap``; bounds: the certificate and the
    teacher's norm; meta: the method, gradient norms and convergence per problem.
    ``direct_max_iter`` caps the direct solves (default ``max_iter``)."""
    hs = tuple(int(t) for t in horizons)
    homogeneous = degree(name) == 1
    shape = (len(hs), len(seeds))
    err, norm, gap, cert, teacher = (np.empty(shape) for _ in range(5))
    grad = np.empty(shape)
    converged = np.zeros(shape, dtype=bool)
    reasons = []
    for j, s in enumerate(seeds):
        problem = _problem(name, sigma, d, n_points, steps, s)
        sweep = (continuation(problem, hs, lam, gtol=gtol, max_iter=max_iter) if homogeneous
                 else direct_sweep(problem, hs, lam, init_seed=7 + s, gtol=direct_gtol,
                                   max_iter=direct_max_iter or max_iter, curvature="exact"))
        err[:, j] = sweep.column("error")
        norm[:, j] = sweep.column("rescaled_norm_sq")
        cert[:, j] = sweep.column("certificate")
        teacher[:, j] = problem.ubar_norm_sq
        grad[:, j] = sweep.column("grad_norm")
        converged[:, j] = [p.converged for p in sweep.points]
        last = sweep.points[-1]
        gap[:, j] = [float((p.u * p.horizon - last.u * last.horizon).norm())
                     for p in sweep.points]
        reasons += [f"problem seed {s}, T = {p.horizon:g}: {p.reason}"
                    for p in sweep.points if not p.converged]
    meta: dict[str, object] = {
        "method": "continuation" if homogeneous else "direct", "dynamics": name,
        "problem_seeds": list(seeds), "gtol": gtol if homogeneous else direct_gtol,
        "grad_norm": [float(v) for v in grad.max(axis=0)],
        "converged": [bool(v) for v in converged.all(axis=0)], "not_converged": reasons[:3]}
    return Columns(tuple(float(t) for t in hs),
                   {"train-error": err, "control-norm": norm, "control-gap": gap},
                   {"train-error": cert, "control-norm": teacher}, meta)


def turnpike_columns(name: str, sigma: str, *, d: int, n_points: int, steps: int, lam: float,
                     h: float, beta: float, running_cost: bool, seeds: Sequence[int],
                     n_problems: int, horizons: Sequence[float], gtol: float, max_iter: int,
                     screen=None) -> Columns:
    """Screen the candidate problems ``seeds`` in order (the rule reads the data only), keep
    the first ``n_problems`` admitted, solve each at every horizon; columns: the longest
    horizon's profile ``turnpike-error`` (times x problems) and, one row each,
    ``turnpike-error:slope`` (late slope of log E(t), NaN where no decay window exists),
    ``:predicted`` (the LQR slope) and ``:gap`` (the largest log-gap of consecutive
    horizons' profiles on ``[0, T_short / 2]``)."""
    from theory.large_time import TurnpikeScreen

    screen = screen or TurnpikeScreen()
    longest = max(horizons)
    admitted, rejected = [], []
    for s in seeds:
        problem = _problem(name, sigma, d, n_points, steps, s)
        pred = predict(problem, h=h, lam=lam, beta=beta, horizon=longest, screen=screen)
        (admitted if pred.admitted else rejected).append((s, problem, pred))
        if len(admitted) == n_problems:
            break
    meta: dict[str, object] = {
        "screen": (f"TurnpikeScreen(min_singular={screen.min_singular}, min_time_constants="
                   f"{screen.min_time_constants}) on sigma_min(B) at (x = y, u = 0) and "
                   f"T = {longest:g}, applied to the data before any solve"),
        "screened_out": [f"problem seed {s}: {p.screen_reason}" for s, _, p in rejected][:5],
        "n_screened_out": len(rejected), "problem_seeds": [s for s, _, _ in admitted],
        "dynamics": name, "running_cost": running_cost}
    if len(admitted) < n_problems:
        meta["not_judged"] = (f"the screen admitted {len(admitted)} of {len(seeds)} candidate "
                              f"problems, fewer than n_problems={n_problems}: raise "
                              "max_candidates or lengthen the horizons")
        return Columns((), {}, meta=meta)
    solve_beta = beta if running_cost else 0.0
    times = np.arange(round(longest / h) + 1) * h
    profile = np.empty((times.size, n_problems))
    slope, predicted, gap, grad = (np.empty((1, n_problems)) for _ in range(4))
    converged, reasons = [], []
    logs: dict[float, list[np.ndarray]] = {float(t): [] for t in horizons}
    for j, (s, problem, pred) in enumerate(admitted):
        solves = [solve_turnpike(problem, horizon=t, h=h, lam=lam, beta=solve_beta, gtol=gtol,
                                 max_iter=max_iter) for t in horizons]
        converged.append(all(x.solve.converged for x in solves))
        grad[0, j] = max(x.solve.grad_norm for x in solves)
        reasons += [f"problem seed {s}, T = {x.horizon:g}: {x.solve.reason}"
                    for x in solves if not x.solve.converged]
        for x in solves:
            logs[float(x.horizon)].append(np.log(x.profile))
        profile[:, j] = solves[-1].profile
        try:
            slope[0, j] = late_decay_slope(solves[-1].times, solves[-1].profile)[0]
        except ValueError:
            slope[0, j] = np.nan  # no decay window: the claimed decay is not seen
        predicted[0, j] = pred.error_slope
        gaps = []
        for short, long in zip(solves, solves[1:], strict=False):
            common = slice(0, len(short.times) // 2)
            gaps.append(float(np.abs(np.log(short.profile[common] / long.profile[common])
                                     ).max()))
        gap[0, j] = max(gaps)
    meta.update({"grad_norm": [float(v) for v in grad[0]], "converged": converged,
                 "not_converged": reasons[:3], "gtol": gtol,
                 "profiles": {f"{t:g}": [float(v) for v in np.mean(rows, axis=0)]
                              for t, rows in logs.items()},
                 "h": h, "predicted_slope": [float(v) for v in predicted[0]]})
    columns = {"turnpike-error": profile, "turnpike-error:slope": slope,
               "turnpike-error:predicted": predicted, "turnpike-error:gap": gap}
    return Columns(tuple(float(t) for t in times), columns, meta=meta)
