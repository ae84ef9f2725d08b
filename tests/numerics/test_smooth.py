"""Smooth weight paths: one function per sample on every grid, marginal variance, kernel."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from numerics import FourierSeries, RBFProcess, smooth_weights, weights_at_depth
from numerics._util import make_generator
from numerics.smooth import sample_smooth


@pytest.mark.parametrize("process", [FourierSeries(n_modes=5), RBFProcess(length_scale=0.3)])
def test_same_function_on_every_grid(process: FourierSeries | RBFProcess) -> None:
    law = smooth_weights(process, beta=0.0)
    kw = dict(name="A", width=3, n_samples=4, seed=8, n_fine=64)
    a8, a32 = weights_at_depth(law, 8, **kw), weights_at_depth(law, 32, **kw)
    # t_k = k / 8 on depth 8 equals t_{4k} on depth 32
    torch.testing.assert_close(a8, a32[::4], rtol=1e-13, atol=1e-15)
    # smooth: consecutive layers differ by O(1/L)
    assert float((a32[1:] - a32[:-1]).abs().max()) < 0.5 * float(a32.abs().max())


def test_beta_scales_the_smooth_part() -> None:
    kw = dict(name="A", width=2, n_samples=3, seed=1, n_fine=16)
    a0 = weights_at_depth(smooth_weights(beta=0.0), 16, **kw)
    a1 = weights_at_depth(smooth_weights(beta=0.5), 16, **kw)
    torch.testing.assert_close(a1, a0 / 4.0)


@pytest.mark.parametrize("process", [FourierSeries(n_modes=6, decay=1.5), RBFProcess(0.2)])
def test_marginal_variance_and_rbf_covariance(process: FourierSeries | RBFProcess) -> None:
    v, m = 0.7, 20000
    process = type(process)(**{**process.__dict__, "variance": v})
    path = sample_smooth(
        process,
        n_samples=m,
        shape=(),
        default_variance=1.0,
        generator=make_generator(3, "s"),
        dtype=torch.float64,
        device=torch.device("cpu"),
    )
    t = torch.tensor([0.0, 0.1, 0.37, 0.9], dtype=torch.float64)
    x = path.values(t).numpy()  # (4, m)
    tol = 5 * v * math.sqrt(2 / m)
    assert np.abs(x.var(axis=1) - v).max() < tol
    if isinstance(process, RBFProcess):
        cov = (x[0] * x[1]).mean()
        assert abs(cov - v * math.exp(-(0.1**2) / (2 * 0.2**2))) < tol


def test_rbf_refuses_an_inaccurate_kernel() -> None:
    assert RBFProcess(length_scale=0.25, n_features=32).kernel_error() < 1e-8
    with pytest.raises(ValueError, match="raise n_features"):
        RBFProcess(length_scale=0.02, n_features=8).basis(1.0)


def test_deterministic_callable_path() -> None:
    law = smooth_weights(lambda t: torch.tensor([[math.sin(t), 0.0], [0.0, 1.0]]), beta=1.0)
    a = weights_at_depth(law, 4, name="A", width=2, n_samples=3, seed=0, n_fine=8)
    assert a.shape == (4, 3, 2, 2)
    assert float(a[2, 1, 0, 0]) == pytest.approx(math.sin(0.5) / 4)
