r"""Coupled noise: one Brownian path per Monte-Carlo sample on the finest grid, streamed.

A *path* is, for each of ``n_samples`` Monte-Carlo samples, a process :math:`B_t` valued in
:math:`\mathbb R^{\text{shape}}` (a ``(d, d)`` matrix for weights, ``(d,)`` for a bias or a
vector Brownian motion) on :math:`t \in [0, 1]`, observed through its increments on the fine
grid :math:`t_j = j / N`:

.. math:: \Delta_j = B_{t_{j+1}} - B_{t_j}, \qquad
          \Delta_j[i] \sim \mathcal N(0, v / N) \text{ i.i.d.}

(``v`` = entry variance per unit time). The increment of layer ``k`` at depth ``L`` (``N / L``
a power of two) is the block sum

.. math:: \Delta^{(L)}_k = \sum_{j = k N / L}^{(k + 1) N / L - 1} \Delta_j
          = \Delta^{(2L)}_{2k} + \Delta^{(2L)}_{2k + 1},

computed hierarchically (a dyadic tree of pairwise sums, each level from the one below), so the
depths ``L, 2L, 4L, ...`` and a limit solver on the fine grid see exactly the same path, and
depth ``L``'s increments equal the pairwise sums of depth ``2L``'s **bit for bit**.

Streaming: fine steps are produced in chunks of ``chunk_steps`` (a power of two); inside a chunk
the tree is built by vectorised pairwise sums, above it by one pending tensor per level. Memory
is ``O(chunk_steps * n_samples * numel(shape))``, independent of ``N``. Each fine step is drawn
by its own ``normal_`` call on a generator seeded from ``(seed, key)``, so the numbers depend
only on ``(seed, key, n_samples, shape, N, draw_dtype, noise device)`` -- not on the chunk size,
the ladder, the compute device or the other paths.

Draw precision: by default the increments are drawn in float32 (``normal_(0, sqrt(v/N))``,
measured about 6x cheaper than float64 on CPU, where drawing dominates the cost) and converted
exactly to float64 before any summation, so every sum is a float64 sum of the same float32
numbers and the coupling identities stay exact (the path's increments are float32 numbers,
relative rounding 6e-8). Pass ``draw_dtype=torch.float64`` for float64 draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from numerics._util import is_power_of_two, make_generator, resolve_device, resolve_dtype

__all__ = [
    "DEFAULT_CHUNK_STEPS",
    "BrownianPath",
    "FineIncrementSource",
    "DyadicSplitter",
    "brownian_increments",
    "block_sums",
]

DEFAULT_CHUNK_STEPS = 16


class FineIncrementSource:
    """Protocol-like base: something that streams fine increments in chunks.

    Subclasses set ``n_samples``, ``shape``, ``n_steps``, ``variance``, ``hurst`` and implement
    :meth:`chunks`, yielding tensors of shape ``(c, n_samples, *shape)`` whose first axes
    concatenate to the ``n_steps`` fine increments.
    """

    n_samples: int
    shape: tuple[int, ...]
    n_steps: int
    variance: float
    hurst: float

    def chunks(self, chunk_steps: int) -> Iterator[Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


class BrownianPath(FineIncrementSource):
    r"""Fine increments :math:`\Delta_j \sim \mathcal N(0, v/N)` of ``n_samples`` Brownian paths.

    Args:
        n_samples: Monte-Carlo samples ``M``.
        shape: shape of one increment (``(d, d)`` for a weight matrix, ``(d,)`` for a vector).
        n_steps: fine steps ``N`` on ``[0, 1]``.
        variance: entry variance per unit time ``v`` (``Var B_1[i] = v``).
        seed: master seed; the stream is ``derive_seed(seed, "path", key)``.
        key: name of the path (e.g. ``"A"``); different keys give independent paths.
        dtype: dtype of the returned increments (float64 default).
        draw_dtype: dtype of the standard normals (float32 default, see module docstring).
        device: device of the returned increments.
        noise_device: ``"cpu"`` (default: draw on a CPU generator and copy; identical numbers
            on every device) or ``"native"`` (draw on ``device``'s own generator: faster on
            CUDA, different numbers).
    """

    hurst = 0.5

    def __init__(
        self,
        *,
        n_samples: int,
        shape: Sequence[int],
        n_steps: int,
        variance: float,
        seed: int,
        key: str,
        dtype: torch.dtype | str = torch.float64,
        draw_dtype: torch.dtype | str = torch.float32,
        device: str | torch.device | None = "cpu",
        noise_device: str = "cpu",
    ) -> None:
        if n_samples < 1:
            raise ValueError(f"n_samples={n_samples} must be >= 1")
        if n_steps < 1:
            raise ValueError(f"n_steps={n_steps} must be >= 1")
        if not variance > 0 or not math.isfinite(variance):
            raise ValueError(f"variance={variance} must be a positive finite number")
        if noise_device not in ("cpu", "native"):
            raise ValueError(f"noise_device={noise_device!r}; use 'cpu' or 'native'")
        self.n_samples = int(n_samples)
        self.shape = tuple(int(s) for s in shape)
        self.n_steps = int(n_steps)
        self.variance = float(variance)
        self.seed = seed
        self.key = key
        self.dtype = resolve_dtype(dtype)
        self.draw_dtype = resolve_dtype(draw_dtype, "draw_dtype")
        self.device = resolve_device(device)
        self.noise_device = noise_device
        self._draw_device = torch.device("cpu") if noise_device == "cpu" else self.device

    def chunks(self, chunk_steps: int = DEFAULT_CHUNK_STEPS) -> Iterator[Tensor]:
        """Yield ``(c, n_samples, *shape)`` increments, ``c = chunk_steps`` (last may be less).

        The yielded tensor is a reused buffer, valid until the next chunk is requested.
        """
        if chunk_steps < 1:
            raise ValueError(f"chunk_steps={chunk_steps} must be >= 1")
        g = make_generator(self.seed, "path", self.key, device=self._draw_device)
        std = math.sqrt(self.variance / self.n_steps)
        shape = (chunk_steps, self.n_samples, *self.shape)
        # Persistent buffers: fresh multi-MB tensors per chunk cost page faults that were
        # measured to be as expensive as the draws themselves. The yielded tensor is reused:
        # consumers must copy what they keep beyond the next chunk.
        buf = torch.empty(shape, dtype=self.draw_dtype, device=self._draw_device)
        same = self.draw_dtype == self.dtype and self._draw_device == self.device
        out = buf if same else torch.empty(shape, dtype=self.dtype, device=self.device)
        done = 0
        while done < self.n_steps:
            c = min(chunk_steps, self.n_steps - done)
            for j in range(c):  # one draw per fine step: chunk-size independent stream
                buf[j].normal_(0.0, std, generator=g)
            if not same:
                out[:c].copy_(buf[:c])
            done += c
            yield out[:c]


def block_sums(x: Tensor, factor: int) -> Tensor:
    """Sums of consecutive blocks of ``factor`` rows along axis 0, by a dyadic tree.

    ``factor`` must be a power of two and divide ``x.shape[0]``. The tree order (pairwise
    ``x[0::2] + x[1::2]``, repeated) is the one the ladder uses, so results are bit-identical.
    """
    if not is_power_of_two(factor):
        raise ValueError(f"factor={factor} must be a power of two")
    if x.shape[0] % factor:
        raise ValueError(f"factor={factor} must divide x.shape[0]={x.shape[0]}")
    while factor > 1:
        x = x[0::2] + x[1::2]
        factor //= 2
    return x


class DyadicSplitter:
    """Turns a stream of fine chunks into the increments completed at each dyadic level.

    Level ``l`` holds increments over ``2**l`` fine steps. :meth:`split` takes one chunk
    ``(c, M, *shape)`` (``c`` a power of two, the same for every call) and returns a list whose
    entry ``l`` (``0 <= l <= n_levels``) holds the level-``l`` increments completed by this chunk,
    shape ``(n_l, M, *shape)`` with ``n_l`` possibly 0. Memory: one buffer per level (reused:
    the returned tensors are valid until the next call).
    """

    def __init__(self, n_levels: int) -> None:
        if n_levels < 0:
            raise ValueError(f"n_levels={n_levels} must be >= 0")
        self.n_levels = n_levels
        self._bufs: list[Tensor | None] = [None] * (n_levels + 1)
        self._pending: list[Tensor | None] = [None] * (n_levels + 1)
        self._has_pending = [False] * (n_levels + 1)

    def _buf(self, level: int, like: Tensor, n: int) -> Tensor:
        b = self._bufs[level]
        if b is None or b.shape[0] < n or b.shape[1:] != like.shape[1:] or b.dtype != like.dtype:
            b = torch.empty((n, *like.shape[1:]), dtype=like.dtype, device=like.device)
            self._bufs[level] = b
        return b[:n]

    def split(self, chunk: Tensor) -> list[Tensor]:
        if not is_power_of_two(chunk.shape[0]):
            raise ValueError(f"chunk length {chunk.shape[0]} must be a power of two")
        out = [chunk]
        x = chunk
        for level in range(1, self.n_levels + 1):
            n = x.shape[0]
            if n >= 2:
                x = torch.add(x[0::2], x[1::2], out=self._buf(level, x, n // 2))
            elif n == 1:
                if not self._has_pending[level]:
                    pend = self._pending[level]
                    if pend is None or pend.shape != x.shape:
                        pend = self._pending[level] = torch.empty_like(x)
                    pend.copy_(x)
                    self._has_pending[level] = True
                    x = x[:0]
                else:
                    x = torch.add(self._pending[level], x, out=self._buf(level, x, 1))
                    self._has_pending[level] = False
            out.append(x)
        return out


def brownian_increments(
    *,
    n_samples: int,
    shape: Sequence[int],
    n_steps: int,
    variance: float = 1.0,
    seed: int,
    key: str = "B",
    dtype: torch.dtype | str = torch.float64,
    draw_dtype: torch.dtype | str = torch.float32,
    device: str | torch.device | None = "cpu",
) -> Tensor:
    """All ``n_steps`` fine increments ``(n_steps, n_samples, *shape)`` of a :class:`BrownianPath`.

    For small problems and tests only (memory ``n_steps * n_samples * numel``); the numbers are
    those the streaming ladder draws for the same ``(seed, key, n_samples, shape, n_steps)``.
    """
    path = BrownianPath(
        n_samples=n_samples,
        shape=shape,
        n_steps=n_steps,
        variance=variance,
        seed=seed,
        key=key,
        dtype=dtype,
        draw_dtype=draw_dtype,
        device=device,
    )
    return torch.cat([c.clone() for c in path.chunks()], dim=0)
