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


@pytest.mark.parametrize("block", ["S", "O"])
def test_relu_mask_kernel_gives_the_torch_numbers(block) -> None:
    """The numba uint8-mask ReLU step and the torch step give the same medians and the same
    exploded fractions (float32; weights x 40 (S) or 8 (O) so that small exponents overflow:
    inf and NaN must propagate alike); the control: tanh's numbers differ."""
    from numerics.measure.scaled_step import _numba

    if _numba is None:
        pytest.skip("numba is not installed")
    depth, d, n_in = 40, 6, 4
    rw = RowWeights(names=("V", "W") if block == "O" else ("V",), depth=depth, width=d,
                    n_draws=3, seed=2, dtype=torch.float32)
    scale = 40.0 if block == "S" else 8.0  # block O multiplies two scaled matrices
    weights = {k: scale * x for k, x in rw("fbm", 0.7).items()}
    gen = torch.Generator().manual_seed(1)
    x0, u = (torch.randn(d, n_in, generator=gen, dtype=torch.float64) for _ in range(2))
    x0, u = x0 / x0.norm(dim=0), u / u.norm(dim=0)
    alphas = torch.tensor([0.0, 0.3, 0.6, 1.0, 1.3], dtype=torch.float64)
    kernel = derivative(torch.relu)
    assert kernel.store_dtype == torch.uint8
    fast = measure_row(block, weights, kernel, x0, u, alphas, depth)
    slow = measure_row(block, weights, derivative(torch.relu, kernel=False), x0, u, alphas, depth)
    assert 0 < fast[2][0] and fast[2][-1] == 0  # alpha = 0 overflows, alpha = 1.3 does not
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    other = measure_row(block, weights, derivative(torch.tanh), x0, u, alphas, depth)
    assert np.abs(other[1][-2:] - fast[1][-2:]).max() > 1e-3


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("hurst", [0.2, 0.8])
def test_fast_fgn_has_the_fgn_covariance(hurst: float, dtype: torch.dtype) -> None:
    """Lags 0..3 of 4000 series of length 32 (the series along axis 0) within 5 SE of
    gamma_H(k) times scale^2; the control (the covariance of H' = 1 - H) is rejected at
    lag 1."""
    n, b, scale = 32, 4000, 0.5
    z = torch.randn(2 * n, b, generator=torch.Generator().manual_seed(5), dtype=dtype)
    x = fgn_from_normals(z, hurst, scale=scale).to(torch.float64)
    assert x.shape == (n, b) and x.is_contiguous()
    for lag in range(4):
        prod = (x[: n - lag] * x[lag:]).mean(dim=0) / scale**2
        est, se = float(prod.mean()), float(prod.std() / math.sqrt(b))
        true = float(fgn_autocovariance(torch.tensor([lag]), hurst))
        assert abs(est - true) < 5 * se, (lag, est, true)
        if lag == 1:
            wrong = float(fgn_autocovariance(torch.tensor([1]), 1 - hurst))
            assert abs(est - wrong) > 5 * se


def test_fast_fgn_is_the_documented_transform() -> None:
    """The pocketfft path with a reused buffer equals torch's irfft of the half spectrum as the
    docstring writes it (real parts z[0:n+1], imaginary parts z[n+1:2n]), to round-off."""
    from numerics.fbm import circulant_eigenvalues

    n, b, hurst = 16, 6, 0.3
    z = torch.randn(2 * n, b, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    work = torch.empty((n + 1, b, 3), dtype=torch.complex128)
    x = fgn_from_normals(z, hurst, work=work)
    assert torch.equal(x, fgn_from_normals(z, hurst))
    lam = circulant_eigenvalues(n, hurst)[: n + 1]
    imag = torch.zeros_like(z[: n + 1])
    imag[1:n] = z[n + 1 :]
    w = torch.complex(z[: n + 1], imag) / math.sqrt(2)
    w[0], w[n] = z[0], z[n]
    ref = torch.fft.irfft(w * (2 * n * lam).sqrt()[:, None, None], n=2 * n, dim=0)[:n]
    np.testing.assert_allclose(x.numpy(), ref.numpy(), rtol=0, atol=1e-13)


def test_fast_fgn_rejects_odd_lengths() -> None:
    with pytest.raises(ValueError, match="2n standard normals"):
        fgn_from_normals(torch.zeros(7, 3), 0.3)
