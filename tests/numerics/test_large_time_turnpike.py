"""The turnpike: the LQR closed form against the Riccati recursion, the late decay rate
against the prediction, profiles that coincide across T, and the no-running-cost control."""

import numpy as np
import pytest
import torch

from numerics.large_time.dynamics import dynamics
from numerics.large_time.problems import teacher_problem
from numerics.large_time.turnpike import (
    control_jacobian,
    dare_factor,
    late_decay_slope,
    predict,
    running_cost,
    solve_turnpike,
)

H, LAM, BETA = 0.1, 1e-2, 1.0


@pytest.fixture(scope="module")
def problem():
    return teacher_problem(dynamics("outer-linear", 2), n_points=3, steps=4, seed=2)


def test_closed_form_matches_the_riccati_recursion(problem):
    pred = predict(problem, h=H, lam=LAM, beta=BETA, horizon=6.0)
    b = control_jacobian(problem).numpy()
    assert dare_factor(b, h=H, lam=LAM, q=BETA / 3) == pytest.approx(pred.factor, rel=1e-10)
    assert pred.admitted, pred.screen_reason
    # negative control: another weight gives another factor
    assert dare_factor(b, h=H, lam=10 * LAM, q=BETA / 3) > pred.factor + 0.05


def test_late_decay_matches_lqr_and_profiles_coincide(problem):
    pred = predict(problem, h=H, lam=LAM, beta=BETA, horizon=6.0)
    short = solve_turnpike(problem, horizon=3.0, h=H, lam=LAM, beta=BETA)
    long = solve_turnpike(problem, horizon=6.0, h=H, lam=LAM, beta=BETA)
    assert short.solve.converged and long.solve.converged
    slope, _ = late_decay_slope(long.times, long.profile)
    assert slope == pytest.approx(pred.error_slope, rel=0.05)
    common = slice(0, len(short.times) // 2)
    gap = np.abs(np.log(short.profile[common]) - np.log(long.profile[common])).max()
    assert gap < 0.1
    # the control: without the running cost the profile stretches with T
    s0 = solve_turnpike(problem, horizon=3.0, h=H, lam=LAM, beta=0.0)
    l0 = solve_turnpike(problem, horizon=6.0, h=H, lam=LAM, beta=0.0)
    assert s0.solve.converged and l0.solve.converged
    gap0 = np.abs(np.log(s0.profile[common]) - np.log(l0.profile[common])).max()
    assert gap0 > 0.4   # measured 0.86 (seed 2) against 0.1 for the turnpike
    mid = (long.profile[len(long.times) // 2], l0.profile[len(l0.times) // 2])
    assert mid[0] < 1e-4 * mid[1]       # E_T(T/2) decays with the running cost, not without
    states = torch.stack([torch.from_numpy(np.zeros((3, 2))), problem.y, problem.y])
    assert running_cost(states, problem.y, H) == pytest.approx(
        H * float((problem.y.norm(dim=-1) ** 2).mean()))   # only t_0 is off target
