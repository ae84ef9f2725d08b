"""Shared fixtures for the numerics tests: one torch thread, a bootstrap slope helper."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
import torch

# Small tensors: intra-op threads only add overhead, and they collapse under xdist or a busy
# machine (measured: tanh on 4000 doubles 6 us with one thread, 6.6 ms with two on a loaded
# 2-core box). One thread per process.
torch.set_num_threads(1)

SlopeFn = Callable[..., tuple[float, float, float]]


def _bootstrap_slope(
    depths: Sequence[int],
    per_sample: np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.99,
) -> tuple[float, float, float]:
    """Least-squares slope of log(mean error) vs log(depth) and a percentile bootstrap
    interval obtained by resampling the Monte-Carlo samples (the same resample for every
    depth, so the correlation across depths is respected)."""
    x = np.log(np.asarray(depths, dtype=np.float64))
    e = np.asarray(per_sample, dtype=np.float64)
    assert e.ndim == 2 and e.shape[0] == x.size and np.isfinite(e).all()
    xc = x - x.mean()

    def slope(means: np.ndarray) -> np.ndarray:
        y = np.log(means)
        return (y - y.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, e.shape[1], size=(n_boot, e.shape[1]))
    boots = slope(e[:, idx].mean(axis=2).T)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return float(slope(e.mean(axis=1))), float(lo), float(hi)


@pytest.fixture
def bootstrap_slope() -> SlopeFn:
    return _bootstrap_slope
