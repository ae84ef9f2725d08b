r"""The sample-blocked numpy stream: Brownian increments drawn by numpy's ``Generator``.

Same law as :class:`numerics.noise.BrownianPath` (i.i.d. :math:`\mathcal N(0, v/N)` fine
increments), different numbers. The ``M`` samples are cut into blocks of
:data:`SAMPLE_BLOCK`; block ``b`` has its own PCG64 generator seeded from
``derive_seed(seed, "path", key, "block", b)`` and draws, fine step after fine step, its
``(B, *shape)`` standard normals in C order, each multiplied by ``sqrt(v / N)``. The numbers
depend only on ``(seed, key, shape, N)`` and the block a sample falls in: not on the chunk size,
the ladder or the device, and sample ``m`` keeps its numbers when ``M`` grows.

Why: numpy draws float64 normals about 1.3-1.8x faster than torch on CPU (measured in
``python -m numerics.bench``), and the fused kernel (:mod:`numerics.fused`) draws exactly this
stream inside its loop (numba's ``Generator`` reproduces numpy's bit for bit), so the kernel and
this pure numpy/torch source give the same increments.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from numerics._util import derive_seed, resolve_device, resolve_dtype
from numerics.noise import DEFAULT_CHUNK_STEPS, FineIncrementSource

__all__ = ["SAMPLE_BLOCK", "STREAMS", "BlockedNumpyPath", "block_generators"]

SAMPLE_BLOCK = 8
"""Samples per generator: small enough that a block's state, pending dyadic sums and one
step's draws stay in the L1/L2 cache of the fused kernel."""

STREAMS = ("torch", "numpy")
"""``"torch"``: :class:`numerics.noise.BrownianPath` (one ``normal_`` per fine step on a torch
generator); ``"numpy"``: :class:`BlockedNumpyPath` (this module)."""


def block_generators(seed: int, key: str, n_samples: int) -> list[np.random.Generator]:
    """One PCG64 generator per block of :data:`SAMPLE_BLOCK` samples (the last may be short)."""
    n_blocks = -(-n_samples // SAMPLE_BLOCK)
    return [np.random.Generator(np.random.PCG64(derive_seed(seed, "path", key, "block", str(b))))
            for b in range(n_blocks)]


class BlockedNumpyPath(FineIncrementSource):
    """Fine Brownian increments ``(c, M, *shape)`` from the sample-blocked numpy stream.

    Draws are float64 (the only dtype of this stream); ``dtype`` is the dtype yielded.
    """

    hurst = 0.5

    def __init__(self, *, n_samples: int, shape: Sequence[int], n_steps: int, variance: float,
                 seed: int, key: str, dtype: torch.dtype | str = torch.float64,
                 device: str | torch.device | None = "cpu") -> None:
        if n_samples < 1:
            raise ValueError(f"n_samples={n_samples} must be >= 1")
        if n_steps < 1:
            raise ValueError(f"n_steps={n_steps} must be >= 1")
        if not variance > 0 or not math.isfinite(variance):
            raise ValueError(f"variance={variance} must be a positive finite number")
        self.n_samples = int(n_samples)
        self.shape = tuple(int(s) for s in shape)
        self.n_steps = int(n_steps)
        self.variance = float(variance)
        self.seed = seed
        self.key = key
        self.dtype = resolve_dtype(dtype)
        self.device = resolve_device(device)

    def chunks(self, chunk_steps: int = DEFAULT_CHUNK_STEPS) -> Iterator[Tensor]:
        """Yield ``(c, n_samples, *shape)`` increments (a reused buffer, as BrownianPath)."""
        if chunk_steps < 1:
            raise ValueError(f"chunk_steps={chunk_steps} must be >= 1")
        gens = block_generators(self.seed, self.key, self.n_samples)
        std = math.sqrt(self.variance / self.n_steps)
        m, blk = self.n_samples, SAMPLE_BLOCK
        buf = np.empty((chunk_steps, m, *self.shape))
        tmp = np.empty((chunk_steps, blk, *self.shape))
        cpu = torch.from_numpy(buf)
        on_dev = self.dtype == torch.float64 and self.device.type == "cpu"
        out = cpu if on_dev else torch.empty(cpu.shape, dtype=self.dtype, device=self.device)
        done = 0
        while done < self.n_steps:
            c = min(chunk_steps, self.n_steps - done)
            for b, g in enumerate(gens):  # one generator per block of samples
                b0, b1 = b * blk, min(m, (b + 1) * blk)
                if b1 - b0 == blk:
                    g.standard_normal(out=tmp[:c])
                    buf[:c, b0:b1] = tmp[:c]
                else:  # the short last block
                    buf[:c, b0:b1] = g.standard_normal((c, b1 - b0, *self.shape))
            buf[:c] *= std
            if not on_dev:
                out[:c].copy_(cpu[:c])
            done += c
            yield out[:c]
