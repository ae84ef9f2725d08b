"""The regime map's row pass (numerics.measure.map_rows): the hand-written backward is the
autograd gradient, for both blocks; the fast fGn has the fGn covariance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from numerics.fbm import fgn_autocovariance, fgn_from_normals
from numerics.measure.map_rows import RowWeights, derivative, measure_row


def _autograd_row(block, weights, sigma, x0, u, alphas, depth):
    """The same row by torch autograd (the reference)."""
    v, w = weights["V"], weights.get("W")
    m, d = v.shape[1], v.shape[2]
    n_in, n_a = x0.shape[1], alphas.numel()
    delta = (float(depth) ** -alphas).repeat_interleave(n_in).to(v.dtype)
    h0 = x0.repeat(1, n_a).to(v.dtype)[None].expand(m, d, n_a * n_in).clone().requires_grad_()
    h = h0
    for k in range(depth):
        inner = h if block == "S" else torch.bmm(w[k], h)
        h = h + torch.bmm(v[k], sigma(inner)) * delta
    uu = u.repeat(1, n_a).to(v.dtype)[None].expand_as(h)
    (g0,) = torch.autograd.grad((h * uu).sum(), h0)
    ratio = ((h - h0).norm(dim=1) / h0.norm(dim=1)).detach()
    lr = ratio.log10().reshape(m, n_a, n_in).permute(1, 0, 2).reshape(n_a, -1)
    lg = g0.norm(dim=1).log10().reshape(m, n_a, n_in).permute(1, 0, 2).reshape(n_a, -1)
    return np.median(lr.numpy(), axis=1), np.median(lg.numpy(), axis=1)


@pytest.mark.parametrize("block", ["S", "O"])
@pytest.mark.parametrize("sigma", [torch.relu, torch.tanh, torch.nn.functional.silu])
@pytest.mark.parametrize("kind, hurst", [("iid", None), ("fbm", 0.3)])
def test_hand_backward_is_the_autograd_gradient(block, sigma, kind, hurst) -> None:
    depth, d, n_in = 24, 5, 3
    rw = RowWeights(names=("V", "W") if block == "O" else ("V",), depth=depth, width=d,
                    n_draws=2, seed=1, dtype=torch.float64)
    weights = {k: 3.0 * x for k, x in rw(kind, hurst).items()}  # far from the identity
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(d, n_in, generator=gen, dtype=torch.float64)
    u = torch.randn(d, n_in, generator=gen, dtype=torch.float64)
    x0, u = x0 / x0.norm(dim=0), u / u.norm(dim=0)
    alphas = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    hid, grad, exploded = measure_row(block, weights, derivative(sigma), x0, u, alphas, depth)
    ref_h, ref_g = _autograd_row(block, weights, sigma, x0, u, alphas, depth)
    np.testing.assert_allclose(hid, ref_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, ref_g, rtol=1e-10, atol=1e-12)
    assert (exploded == 0).all()
    assert np.abs(grad[0]) > 0.05  # the control: at alpha = 0 the gradient ratio is not 1


@pytest.mark.parametrize("hurst", [0.2, 0.8])
def test_fast_fgn_has_the_fgn_covariance(hurst: float) -> None:
    """Lags 0..3 of 4000 series of length 32 within 5 SE of gamma_H(k); the control (the
    covariance of H' = 1 - H) is rejected at lag 1."""
    n, b = 32, 4000
    z = torch.randn(b, 2 * n, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    x = fgn_from_normals(z, hurst)
    assert x.shape == (b, n)
    for lag in range(4):
        prod = (x[:, : n - lag] * x[:, lag:]).mean(dim=1)
        est, se = float(prod.mean()), float(prod.std() / math.sqrt(b))
        true = float(fgn_autocovariance(torch.tensor([lag]), hurst))
        assert abs(est - true) < 5 * se, (lag, est, true)
        if lag == 1:
            wrong = float(fgn_autocovariance(torch.tensor([1]), 1 - hurst))
            assert abs(est - wrong) > 5 * se


def test_fast_fgn_rejects_odd_lengths() -> None:
    with pytest.raises(ValueError, match="2n standard normals"):
        fgn_from_normals(torch.zeros(3, 7), 0.3)
