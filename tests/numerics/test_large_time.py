"""Large-time numerics (EGPZ; THEORY.md section 6): the identity and its negative control,
the certificate, the one-sided rate and its plateau twin, monotonicity, the solver's flag."""

import numpy as np
import pytest
import sympy as sp
import torch

from numerics.large_time.continuation import (
    continuation,
    direct_sweep,
    identity_defect,
    loglog_slope,
)
from numerics.large_time.dynamics import DYNAMICS, dynamics, flow
from numerics.large_time.problems import Objective, teacher_problem
from numerics.large_time.solver import levenberg_marquardt
from theory.homogeneity import homogeneity

HORIZONS = (1, 2, 4, 8, 16, 32)
LAM = 1e-2


def _problem(name, seed=1):
    return teacher_problem(dynamics(name, 2), n_points=3, steps=6, seed=seed)


@pytest.mark.parametrize("name", sorted(DYNAMICS))
def test_torch_and_sympy_forms_agree_on_the_degree(name):
    dyn = dynamics(name, 1, 1)
    expr, states, controls = dyn.sympy_scalar()
    h = homogeneity(expr, controls=controls, states=states)
    g = torch.Generator().manual_seed(3)
    xs = torch.randn(5, 1, generator=g, dtype=torch.float64)
    u = torch.randn(dyn.n_controls, generator=g, dtype=torch.float64)
    values = dict(zip(map(str, controls), u.tolist(), strict=True))
    sym = [float(expr.subs({states[0]: xv, **{c: values[str(c)] for c in controls}}))
           for xv in xs[:, 0].tolist()]
    assert np.allclose(dyn.f(xs, dyn.pack_scalar(values))[:, 0].numpy(), sym, atol=1e-12)
    scaled = dyn.f(xs, 3 * u)
    if h.degree is not None:
        assert torch.allclose(scaled, 3.0 ** float(h.degree) * dyn.f(xs, u), atol=1e-12)
    else:  # the negative control: no degree fits
        assert h.homogeneous is False
        ratio = (scaled / dyn.f(xs, u)).log() / np.log(3.0)
        assert float(ratio.max() - ratio.min()) > 1e-3


@pytest.mark.parametrize("name, holds", [("outer-linear", True), ("relu-outer", True),
                                         ("inner-relu", False), ("inner-tanh", False),
                                         ("inner-linear", False)])
def test_rescaling_identity_holds_only_for_degree_one(name, holds):
    p = _problem(name)
    g = torch.Generator().manual_seed(11)
    u = torch.randn(p.steps, p.dynamics.n_controls, generator=g, dtype=torch.float64)
    defects = [identity_defect(p, u / t, t, LAM) for t in (2.0, 8.0, 32.0)]
    if holds:
        assert max(defects) < 1e-13
    else:
        assert min(defects) > 0.1


def test_degree_one_certificate_rate_and_monotonicity():
    sweep = continuation(_problem("outer-linear"), HORIZONS, LAM)
    assert sweep.converged, [p.reason for p in sweep.points]
    e, cert = sweep.column("error"), sweep.column("certificate")
    assert np.all(e <= cert)
    slope = loglog_slope(np.array(HORIZONS[-3:]), e[-3:])
    assert slope <= -1                       # the EGPZ claim, one-sided
    assert -2.2 < slope < -1.8               # the sharp T^-2 of the squared loss
    assert loglog_slope(np.array(HORIZONS[-3:]), sweep.column("penalty")[-3:]) == \
        pytest.approx(-1, abs=0.1)
    norms = sweep.column("rescaled_norm_sq")
    assert np.all(np.diff(norms) >= -1e-9) and np.all(np.diff(e) <= 1e-12)
    assert norms[-1] <= _problem("outer-linear").ubar_norm_sq   # below the teacher's norm
    gaps = [float((p.u * p.horizon - sweep.points[-1].u * HORIZONS[-1]).norm())
            for p in sweep.points[:-1]]
    assert np.all(np.diff(gaps) < 0)           # Cauchy in T towards the minimal-norm limit


def test_degree_two_plateaus_the_twin_of_the_rate():
    sweep = direct_sweep(_problem("inner-linear"), HORIZONS, LAM, init_seed=7, gtol=1e-7)
    assert sweep.converged, [p.reason for p in sweep.points]
    slope = loglog_slope(np.array(HORIZONS[-3:]), sweep.column("error")[-3:])
    assert abs(slope) < 0.05 and not slope <= -1


@pytest.mark.slow
def test_non_homogeneous_error_plateaus():
    sweep = direct_sweep(_problem("inner-tanh"), (1, 4, 16), LAM, init_seed=7, gtol=1e-6,
                         max_iter=600)
    slope = loglog_slope(np.array((1, 4, 16)), sweep.column("error"))
    assert slope > -0.5


def test_non_converged_solve_is_flagged():
    p = _problem("inner-tanh")
    ob = Objective(p, 4.0, LAM)
    s = levenberg_marquardt(ob.data_residuals, torch.zeros(ob.shape, dtype=torch.float64) + 0.1,
                            ridge=ob.ridge, max_iter=2)
    assert not s.converged and "not converged" in s.reason and s.grad_norm > 1e-9


def test_teacher_interpolates_and_errors_say_how_to_fix():
    p = _problem("outer-linear")
    assert p.interpolation_error() < 1e-28
    with pytest.raises(ValueError, match="controls per step"):
        flow(p.dynamics, p.x0, torch.zeros(3, 5, dtype=torch.float64), 1.0)
    with pytest.raises(ValueError, match="direct_sweep"):
        continuation(_problem("inner-linear"), (1, 2), LAM)
    with pytest.raises(ValueError, match="strictly increasing"):
        continuation(p, (2, 1), LAM)
    assert sp.Symbol("x")  # sympy stays importable beside torch
