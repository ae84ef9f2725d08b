"""The exact-curvature option of the Levenberg-Marquardt solver: at an optimum that does not
interpolate (the degree-2 control), Newton's model converges where Gauss-Newton crawls."""

from __future__ import annotations

import pytest
import torch

from numerics.large_time.dynamics import dynamics
from numerics.large_time.problems import Objective, teacher_problem
from numerics.large_time.solver import levenberg_marquardt


def _objective() -> tuple[Objective, torch.Tensor]:
    problem = teacher_problem(dynamics("inner-linear", 2), n_points=3, steps=6, seed=3)
    g = torch.Generator().manual_seed(10)
    u0 = 0.5 * torch.randn(problem.steps, problem.dynamics.n_controls, generator=g,
                           dtype=torch.float64)
    return Objective(problem, 1.0, 1e-2), u0


def test_exact_curvature_converges_where_gauss_newton_is_linear():
    obj, u0 = _objective()
    exact = levenberg_marquardt(obj.data_residuals, u0, ridge=obj.ridge, gtol=1e-9,
                                max_iter=300, curvature="exact")
    gn = levenberg_marquardt(obj.data_residuals, u0, ridge=obj.ridge, gtol=1e-9,
                             max_iter=exact.iterations)
    assert exact.converged and exact.grad_norm <= 1e-9
    assert not gn.converged  # the same number of Gauss-Newton steps is not enough
    assert exact.cost <= gn.cost + 1e-12


def test_an_unknown_curvature_names_the_choices():
    obj, u0 = _objective()
    with pytest.raises(ValueError, match="curvature='newton'"):
        levenberg_marquardt(obj.data_residuals, u0, curvature="newton")
