"""The numpy stream (numerics.blocked) and the fused kernel (numerics.fused): same
increments as the pure-torch fallback, chunk-size free, the right law, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.blocked import SAMPLE_BLOCK, BlockedNumpyPath
from numerics.fused import fused_available, fused_unsupported, linear_u, run_fused
from numerics.ladder import run_ladder
from numerics.laws import GaussianInput, brownian_weights, iid_gaussian
from numerics.solvers import EulerMaruyama, Heun, LimitSpec, MatrixNoise

LIMIT = LimitSpec(EulerMaruyama(), noise=MatrixNoise(u=linear_u, source="A"))
needs_numba = pytest.mark.skipif(not fused_available(), reason="numba not installed")


def _path(n_samples: int, n_steps: int = 16, variance: float = 1.0) -> BlockedNumpyPath:
    return BlockedNumpyPath(n_samples=n_samples, shape=(3, 3), n_steps=n_steps,
                            variance=variance, seed=7, key="A")


def test_stream_does_not_depend_on_chunk_size() -> None:
    whole = [c.clone() for c in _path(13).chunks(16)][0]
    for chunk in (1, 2, 8):
        parts = torch.cat([c.clone() for c in _path(13).chunks(chunk)])
        assert torch.equal(parts, whole), chunk


def test_sample_keeps_its_numbers_when_more_blocks_are_added() -> None:
    small = torch.cat([c.clone() for c in _path(SAMPLE_BLOCK).chunks(4)])
    large = torch.cat([c.clone() for c in _path(3 * SAMPLE_BLOCK + 1).chunks(4)])
    assert torch.equal(large[:, :SAMPLE_BLOCK], small)
    assert not torch.equal(large[:, SAMPLE_BLOCK: 2 * SAMPLE_BLOCK], small)


@pytest.mark.parametrize("variance, accept", [(2.0, True), (4.0, False)])
def test_stream_has_variance_v_over_n(variance: float, accept: bool) -> None:
    """Entries N(0, v / N): the sample variance of 4e4 increments (times N) is within 5 SE of
    v = 2; the control claims v = 4 for a path of variance 2 and must be rejected."""
    incs = torch.cat([c.clone() for c in _path(256, 16, 2.0).chunks(16)]).double()
    est = float(incs.var() * 16)
    se = variance * np.sqrt(2.0 / incs.numel())
    assert bool(abs(est - variance) < 5 * se) is accept


@needs_numba
@pytest.mark.parametrize("n_samples, refine, alpha", [(13, 1, 0.0), (8, 0, 0.3)])
def test_kernel_matches_the_torch_fallback(n_samples: int, refine: int, alpha: float) -> None:
    kw = dict(alpha=alpha, weights={"A": brownian_weights()}, x0=GaussianInput(), width=4,
              depths=(4, 8, 16), n_samples=n_samples, seed=3, limit=LIMIT, refine=refine)
    fused, ref = run_fused(backend="numba", **kw), run_fused(backend="torch", **kw)
    assert fused.meta["backend"] == "numba" and ref.meta["backend"] == "torch"
    # same draws and dyadic sums: the linear limit agrees exactly, the network to round-off
    assert torch.equal(fused.limit_coarse, ref.limit_coarse)
    torch.testing.assert_close(fused.coarse, ref.coarse, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(fused.peak, ref.peak, rtol=1e-12, atol=1e-13)
    assert not torch.equal(fused.coarse[:, 1:], run_fused(
        backend="numba", **{**kw, "seed": 4}).coarse[:, 1:])


@needs_numba
def test_kernel_flags_overflow_like_the_fallback() -> None:
    kw = dict(alpha=0.0, weights={"A": iid_gaussian(400.0)}, x0=GaussianInput(), width=3,
              depths=(8, 16), n_samples=9, seed=1, overflow_threshold=5.0)
    fused, ref = run_fused(backend="numba", **kw), run_fused(backend="torch", **kw)
    assert fused.overflow.any() and torch.equal(fused.overflow, ref.overflow)


def test_unsupported_workloads_are_named_and_fall_back() -> None:
    assert fused_unsupported("I", torch.tanh, {"A": brownian_weights()}, LIMIT) is None
    assert "block" in fused_unsupported("O", torch.tanh, {"V": brownian_weights()}, None)
    assert "tanh" in fused_unsupported("I", torch.relu, {"A": brownian_weights()}, None)
    heun = LimitSpec(Heun(), drift=lambda t, h: h)
    assert "limit" in fused_unsupported("I", torch.tanh, {"A": brownian_weights()}, heun)
    kw = dict(alpha=0.0, weights={"A": brownian_weights()}, x0=GaussianInput(), width=2,
              depths=(4,), n_samples=2, seed=0, limit=heun)
    with pytest.raises(ValueError, match="cannot run"):
        run_fused(backend="numba", **kw)
    assert run_fused(backend="auto", **kw).meta["backend"].startswith("torch (")


def test_numpy_stream_draws_float64_only() -> None:
    with pytest.raises(ValueError, match="float64"):
        run_ladder("I", torch.tanh, alpha=0.0, weights={"A": brownian_weights()},
                   x0=GaussianInput(), width=2, depths=(4,), n_samples=2, seed=0,
                   device="cpu", stream="numpy")
