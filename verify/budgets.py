"""The budgets of the claims that train: :class:`TrainingBudget` (trained-weight claims,
THEORY.md section 5) and :class:`HorizonBudget` (large-time claims over the horizon T,
section 6). Each profile of :mod:`verify.profiles` holds one of each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from theory.training import check_depths

__all__ = ["NO_TRAINING", "HorizonBudget", "TrainingBudget"]


@dataclass(frozen=True)
class TrainingBudget:
    """The budget of trained-weight claims (THEORY.md section 5): every depth of ``depths``
    and each of ``n_seeds`` training seeds is trained for the same ``steps`` (no early
    stopping: it makes depths incomparable); the training seeds are the samples of the rate
    fit (paired bootstrap over seeds). ``data_seeds`` are the data sets an example may draw
    (a small set: each example trains a whole ladder). A ladder is judged only if it fits the
    data: at every depth the training MSE (mean of the last ``loss_window`` minibatch losses,
    median over seeds) must be at most ``fit_fraction`` of the first step's (default 2%: 98%
    of the initial error removed; on the synthetic task the first loss is about 0.15, so 2%
    is 3e-3, against the authors' stopping threshold 1e-3 that ReLU with per-layer delta
    does not reach in 1000 Adam steps, 0.9-1.4e-3); otherwise the claim is inconclusive (a
    ladder that has not fitted says nothing about trained weights: one Adam step already
    gives every |A_k| about lr).

    ``outer_data`` (thorough): every example trains the ladder on each data set of
    ``data_seeds`` with ``n_seeds`` training seeds each, and the rate interval is a two-level
    bootstrap (data sets, then training seeds within each): the claim is then about the task,
    not one draw of its data."""

    depths: tuple[int, ...]
    n_seeds: int
    steps: int
    data_seeds: tuple[int, ...] = (0,)
    fit_fraction: float = 0.02
    loss_window: int = 20
    outer_data: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "depths", check_depths(self.depths, "TrainingBudget.depths"))
        if not (isinstance(self.n_seeds, int) and self.n_seeds >= 2):
            raise ValueError(f"TrainingBudget.n_seeds={self.n_seeds!r} must be an int >= 2 "
                             "(the bootstrap unit)")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ValueError(f"TrainingBudget.steps={self.steps!r} must be an int >= 1")
        if not (math.isfinite(self.fit_fraction) and 0 < self.fit_fraction < 1):
            raise ValueError(f"TrainingBudget.fit_fraction={self.fit_fraction!r} must lie in "
                             "(0, 1), e.g. 0.02")
        if not (isinstance(self.loss_window, int) and 1 <= self.loss_window <= self.steps):
            raise ValueError(f"TrainingBudget.loss_window={self.loss_window!r} must lie in "
                             f"[1, steps={self.steps}]")
        if self.outer_data and len(self.data_seeds) < 2:
            raise ValueError(f"TrainingBudget.outer_data needs >= 2 data_seeds (the outer "
                             f"level of the bootstrap); got {self.data_seeds!r}")
        if not self.data_seeds or len(set(self.data_seeds)) != len(self.data_seeds):
            raise ValueError(f"TrainingBudget.data_seeds={self.data_seeds!r} must be distinct "
                             "ints")

    def to_dict(self) -> dict[str, Any]:
        return {"depths": list(self.depths), "n_seeds": self.n_seeds, "steps": self.steps,
                "data_seeds": list(self.data_seeds), "fit_fraction": self.fit_fraction,
                "loss_window": self.loss_window, "outer_data": self.outer_data}


NO_TRAINING = TrainingBudget(depths=(4, 8, 16), n_seeds=2, steps=1, loss_window=1)
"""The training budget of a :class:`verify.profiles.Budget` built without one (one step)."""


@dataclass(frozen=True)
class HorizonBudget:
    """The budget of large-time claims (THEORY.md section 6, EGPZ): each check draws
    ``n_problems`` teacher problems from its seed (the samples: intervals come from the
    spread over problems) and solves each at every horizon of ``horizons`` (the axis of
    LT2, LT3; the fit window is the profile's ``window``), checks the identity at
    ``identity_horizons`` (LT1) and solves the turnpike at ``turnpike_horizons`` (LT4; a
    multiple of the step h each). A solve converges when the norm of the gradient of J is at
    most ``gtol`` (the degree-1 continuation, within ``max_iter`` Levenberg-Marquardt
    iterations) or ``direct_gtol`` (direct solves of other dynamics, the twins, within
    ``direct_max_iter``); a check with a
    non-converged solve is inconclusive, never a pass. ``max_candidates``: the turnpike's
    screen may reject problems, at most this many are drawn to find ``n_problems`` admitted
    ones (fewer: inconclusive). ``data_seeds``: the check seeds an example may draw (the
    property test's finite space). ``max_width``: the widest interval of a rate fitted over
    the horizons that may be judged consistent; the spread over problems is their
    heterogeneity, not only noise (a problem whose Jacobian at the minimal-norm interpolant
    is nearly singular reaches T^-2 late: at ci, 1 check in 10 fitted 1.25 in [1.22, 2.00]
    on T = 128..512), so it is wider than a depth fit's 0.5; a one-sided claim is still told
    apart from its too-fast twin by the resolution rule of :func:`verify.check.check`.

    Solver tolerances: the continuation's unit-horizon solves reach |grad J| <= 1e-9 in a
    few dozen Gauss-Newton iterations. Direct solves of the twins' dynamics use the exact
    curvature (``levenberg_marquardt(curvature="exact")``): their optimum does not
    interpolate and the Gauss-Newton model misses the residual curvature, comparable to the
    ridge lambda h, so with it 6 of 8 inner-linear problems stopped above 1e-7 after 300
    iterations (and at 1e-5, 8 of 20 ci checks still had one problem stopping at 1.0-4.3e-5,
    an inconclusive twin), and inner-tanh converged on 4 of 8 at 1e-5; with the exact
    curvature 16 of 16 problems of each converged to 1e-7 in 28-252 iterations per ladder of
    10 horizons."""

    horizons: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    n_problems: int = 8
    identity_horizons: tuple[float, ...] = (2.0, 8.0, 32.0)
    turnpike_horizons: tuple[float, ...] = (3.0, 6.0)
    gtol: float = 1e-9
    direct_gtol: float = 1e-7
    max_iter: int = 300
    direct_max_iter: int = 300
    max_candidates: int = 40
    data_seeds: tuple[int, ...] = (0,)
    max_width: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "horizons", check_depths(self.horizons,
                                                          "HorizonBudget.horizons"))
        if not (isinstance(self.n_problems, int) and self.n_problems >= 2):
            raise ValueError(f"HorizonBudget.n_problems={self.n_problems!r} must be an int >= 2 "
                             "(the bootstrap unit)")
        for name in ("identity_horizons", "turnpike_horizons"):
            value = tuple(float(t) for t in getattr(self, name))
            if len(value) < 2 or any(not t > 0 for t in value) or list(value) != sorted(
                    set(value)):
                raise ValueError(f"HorizonBudget.{name}={value!r} must be >= 2 increasing "
                                 "horizons > 0, e.g. (3.0, 6.0)")
            object.__setattr__(self, name, value)
        for name in ("gtol", "direct_gtol"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 < value < 1):
                raise ValueError(f"HorizonBudget.{name}={value!r} must lie in (0, 1), e.g. 1e-9")
        for name in ("max_iter", "direct_max_iter"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"HorizonBudget.{name}={value!r} must be an int >= 1")
        if not (isinstance(self.max_candidates, int) and self.max_candidates >= self.n_problems):
            raise ValueError(f"HorizonBudget.max_candidates={self.max_candidates!r} must be an "
                             f"int >= n_problems={self.n_problems}")
        if not self.data_seeds or len(set(self.data_seeds)) != len(self.data_seeds):
            raise ValueError(f"HorizonBudget.data_seeds={self.data_seeds!r} must be distinct "
                             "ints")
        if not (math.isfinite(self.max_width) and self.max_width > 0):
            raise ValueError(f"HorizonBudget.max_width={self.max_width!r} must be finite > 0")

    def to_dict(self) -> dict[str, Any]:
        return {"horizons": list(self.horizons), "n_problems": self.n_problems,
                "identity_horizons": list(self.identity_horizons),
                "turnpike_horizons": list(self.turnpike_horizons), "gtol": self.gtol,
                "direct_gtol": self.direct_gtol, "max_iter": self.max_iter,
                "direct_max_iter": self.direct_max_iter,
                "max_candidates": self.max_candidates, "data_seeds": list(self.data_seeds),
                "max_width": self.max_width}
