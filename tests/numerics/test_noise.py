"""Coupled Brownian noise: exact dyadic coupling, Gaussian law, streaming determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from numerics import (
    BrownianPath,
    DyadicSplitter,
    block_sums,
    brownian_increments,
    brownian_weights,
    iid_gaussian,
    weights_at_depth,
)
from numerics._util import derive_seed


def test_depth_L_weights_are_block_sums_of_depth_2L_exactly() -> None:
    law = brownian_weights(variance=0.25)  # beta_r = 1/2: the raw increments
    kw = dict(name="A", width=3, n_samples=5, seed=11, n_fine=64)
    for depth in (4, 8, 16, 32):
        coarse = weights_at_depth(law, depth, **kw)
        fine = weights_at_depth(law, 2 * depth, **kw)
        assert coarse.shape == (depth, 5, 3, 3)
        assert torch.equal(coarse, block_sums(fine, 2))
    # ... and every depth is the block sum of the fine grid
    fine_incs = brownian_increments(
        n_samples=5, shape=(3, 3), n_steps=64, variance=0.25, seed=11, key="A"
    )
    assert torch.equal(weights_at_depth(law, 64, **kw), fine_incs)
    assert torch.equal(weights_at_depth(law, 8, **kw), block_sums(fine_incs, 8))


def test_coupling_with_iid_scaling_is_rescaled_block_sums() -> None:
    # beta_r = 0: A^(L) = L^{1/2} dW^(L), entries N(0, v) at every depth.
    law = iid_gaussian(variance=1.0)
    kw = dict(name="V", width=2, n_samples=3, seed=5, n_fine=32)
    a8, a16 = weights_at_depth(law, 8, **kw), weights_at_depth(law, 16, **kw)
    torch.testing.assert_close(a8, block_sums(a16 / 4.0, 2) * math.sqrt(8), rtol=1e-14, atol=0)


def test_a_different_path_breaks_the_coupling() -> None:
    # negative control: an independent path is not the block sum
    law = brownian_weights(variance=1.0)
    kw = dict(name="A", width=2, n_samples=4, n_fine=16)
    a = weights_at_depth(law, 8, seed=1, **kw)
    b = weights_at_depth(law, 16, seed=2, **kw)
    assert not torch.allclose(a, block_sums(b, 2))


@pytest.mark.parametrize("draw_dtype", [torch.float32, torch.float64])
def test_increments_are_gaussian_with_variance_v_over_L(draw_dtype: torch.dtype) -> None:
    v, n_fine = 0.5, 256
    law = brownian_weights(variance=v)
    for depth in (256, 16):
        w = weights_at_depth(
            law,
            depth,
            name="A",
            width=4,
            n_samples=40,
            seed=3,
            n_fine=n_fine,
            draw_dtype=draw_dtype,
        )
        z = (w / math.sqrt(v / depth)).flatten().numpy()
        assert stats.kstest(z, "norm").pvalue > 1e-3
        # variance: chi-square interval for n standard normals
        n = z.size
        lo, hi = stats.chi2.ppf([1e-4, 1 - 1e-4], n) / n
        assert lo < float(np.mean(z**2)) < hi
        # power: the same data rejects a wrong variance (2v / L)
        assert stats.kstest(z / math.sqrt(2.0), "norm").pvalue < 1e-6
    # independence across layers: lag-1 correlation of the fine increments
    w = weights_at_depth(law, 256, name="A", width=4, n_samples=40, seed=3, n_fine=n_fine)
    x = w.reshape(256, -1).numpy()
    r = np.corrcoef(x[:-1].ravel(), x[1:].ravel())[0, 1]
    assert abs(r) < 4 / math.sqrt(x[:-1].size)


def test_stream_does_not_depend_on_chunk_size() -> None:
    def incs(chunk: int) -> torch.Tensor:
        p = BrownianPath(n_samples=3, shape=(2, 2), n_steps=64, variance=1.0, seed=9, key="A")
        return torch.cat([c.clone() for c in p.chunks(chunk)])

    ref = incs(16)
    for c in (1, 2, 8, 64):
        assert torch.equal(incs(c), ref)


def test_splitter_matches_block_sums_for_every_level_and_chunk() -> None:
    x = torch.randn(64, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for chunk in (1, 4, 16, 64):
        sp = DyadicSplitter(5)
        got: list[list[torch.Tensor]] = [[] for _ in range(6)]
        for q in range(64 // chunk):
            for lev, t in enumerate(sp.split(x[q * chunk : (q + 1) * chunk])):
                got[lev].append(t.clone())  # outputs are reused buffers
        for lev in range(6):
            assert torch.equal(torch.cat(got[lev]), block_sums(x, 2**lev))


def test_paths_with_different_keys_or_seeds_are_independent() -> None:
    a = brownian_increments(n_samples=50, shape=(4,), n_steps=32, seed=1, key="A")
    b = brownian_increments(n_samples=50, shape=(4,), n_steps=32, seed=1, key="b")
    c = brownian_increments(n_samples=50, shape=(4,), n_steps=32, seed=2, key="A")
    a2 = brownian_increments(n_samples=50, shape=(4,), n_steps=32, seed=1, key="A")
    assert torch.equal(a, a2)
    for other in (b, c):
        r = np.corrcoef(a.flatten().numpy(), other.flatten().numpy())[0, 1]
        assert abs(r) < 4 / math.sqrt(a.numel())
    assert derive_seed(1, "path", "A") != derive_seed(1, "path", "b")


def test_argument_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="factor=3"):
        block_sums(torch.zeros(6), 3)
    with pytest.raises(ValueError, match="variance=-1"):
        BrownianPath(n_samples=1, shape=(1,), n_steps=4, variance=-1.0, seed=0, key="A")
    with pytest.raises(ValueError, match="seed="):
        derive_seed(-3, "x")
