"""Fractional Brownian increments (Davies-Harte): covariance, H = 1/2, coupling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from numerics import FractionalBrownian, WeightLaw, block_sums, fbm_increments, weights_at_depth
from numerics.fbm import circulant_eigenvalues, fgn_autocovariance


@pytest.mark.parametrize("hurst", [0.1, 0.3, 0.5, 0.75, 0.95])
def test_circulant_embedding_is_nonnegative(hurst: float) -> None:
    for n in (1, 7, 64, 1000):
        assert float(circulant_eigenvalues(n, hurst).min()) >= 0.0


@pytest.mark.parametrize("hurst", [0.2, 0.5, 0.8])
def test_fbm_increment_covariance_matches_theory(hurst: float) -> None:
    n, m, v = 32, 4000, 2.0
    x = fbm_increments(n_samples=m, shape=(2,), n_steps=n, hurst=hurst, variance=v, seed=4)
    assert x.shape == (n, m, 2)
    x = x.reshape(n, -1).numpy()
    emp = x @ x.T / x.shape[1]  # (n, n) empirical covariance (mean zero)
    k = torch.arange(n, dtype=torch.float64)
    lag = (k[:, None] - k[None, :]).abs()
    theo = (v * n ** (-2 * hurst) * fgn_autocovariance(lag, hurst)).numpy()
    se = math.sqrt(2.0 / x.shape[1]) * v * n ** (-2 * hurst)  # sd of a variance estimate
    assert np.abs(emp - theo).max() < 5 * se
    # path endpoint variance: Var B_1 = v
    b1 = x.sum(axis=0)
    assert abs(b1.var() / v - 1) < 5 * math.sqrt(2 / b1.size)


def test_hurst_half_has_uncorrelated_increments_and_other_h_do_not() -> None:
    def lag1(h: float) -> float:
        x = fbm_increments(n_samples=2000, shape=(), n_steps=64, hurst=h, seed=1).numpy()
        return float(np.mean(x[1:] * x[:-1]) / np.mean(x**2))

    assert abs(lag1(0.5)) < 0.02
    assert lag1(0.8) == pytest.approx(2 ** (2 * 0.8 - 1) - 1, abs=0.03)  # fGn rho(1)
    assert lag1(0.2) < -0.2


def test_fractional_weights_are_coupled_across_depths() -> None:
    law = WeightLaw(rough=FractionalBrownian(hurst=0.3))  # beta = H: raw increments
    kw = dict(name="A", width=2, n_samples=3, seed=2, n_fine=64)
    a16, a32 = weights_at_depth(law, 16, **kw), weights_at_depth(law, 32, **kw)
    assert torch.equal(a16, block_sums(a32, 2))


def test_fbm_refuses_paths_too_large_to_hold() -> None:
    from numerics.fbm import FractionalPath

    with pytest.raises(ValueError, match="max_elements"):
        FractionalPath(
            n_samples=10,
            shape=(4, 4),
            n_steps=64,
            hurst=0.3,
            variance=1.0,
            seed=0,
            key="A",
            max_elements=100,
        )
    with pytest.raises(ValueError, match="hurst=1.2"):
        fbm_increments(n_samples=1, shape=(), n_steps=4, hurst=1.2, seed=0)
