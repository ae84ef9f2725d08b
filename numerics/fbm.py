r"""Fractional Brownian increments by circulant embedding (Davies-Harte), fully vectorised.

Fractional Gaussian noise with Hurst index :math:`H \in (0, 1)` on a grid of step 1 has
autocovariance

.. math:: \gamma(k) = \tfrac12\left(|k + 1|^{2H} - 2|k|^{2H} + |k - 1|^{2H}\right).

Embed the ``n x n`` Toeplitz covariance into the circulant of size ``2n`` with first row
:math:`c = (\gamma(0), \dots, \gamma(n), \gamma(n - 1), \dots, \gamma(1))`, whose eigenvalues
:math:`\lambda = \mathrm{FFT}(c)` are non-negative for fGn. With :math:`W` a vector of i.i.d.
standard complex normals (real and imaginary parts :math:`\mathcal N(0, 1)`),
:math:`Y = \mathrm{FFT}(\sqrt{\lambda / 2n}\, W)` has :math:`E[Y Y^*] = 2C`, :math:`E[Y Y^T] = 0`,
so :math:`\mathrm{Re}\, Y_{0:n}` and :math:`\mathrm{Im}\, Y_{0:n}` are two *independent* fGn
samples; both are used. By self-similarity the increments of :math:`B^H` over a grid of step
:math:`1/n` on :math:`[0, 1]` with :math:`\mathrm{Var}\, B^H_1 = v` are
:math:`\sqrt v\, n^{-H}` times fGn. ``H = 1/2`` gives Brownian increments.

Block sums of the fine increments are increments of the same fBm path on coarser grids, so the
depth coupling of :mod:`numerics.noise` carries over. Unlike Brownian increments, fBm
increments cannot be streamed: :class:`FractionalPath` materialises all ``n`` steps (memory
``n * n_samples * numel``) and refuses beyond ``max_elements``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from numerics._util import make_generator, resolve_device, resolve_dtype
from numerics.noise import DEFAULT_CHUNK_STEPS, FineIncrementSource

__all__ = [
    "fgn_autocovariance",
    "circulant_eigenvalues",
    "fgn",
    "fgn_from_normals",
    "fbm_increments",
    "FractionalPath",
]

DEFAULT_MAX_ELEMENTS = 2**27


def _check_hurst(hurst: float) -> None:
    if not 0.0 < hurst < 1.0:
        raise ValueError(f"hurst={hurst} must lie in (0, 1); H = 0.5 is Brownian motion")


def fgn_autocovariance(k: Tensor, hurst: float) -> Tensor:
    """gamma(k) = (|k+1|^{2H} - 2|k|^{2H} + |k-1|^{2H}) / 2 for unit-step fGn."""
    _check_hurst(hurst)
    k = k.abs().to(torch.float64)
    two_h = 2.0 * hurst
    return 0.5 * ((k + 1).pow(two_h) - 2 * k.pow(two_h) + (k - 1).abs().pow(two_h))


def circulant_eigenvalues(n: int, hurst: float) -> Tensor:
    """Eigenvalues (length ``2n``) of the circulant embedding of ``n`` fGn steps (float64).

    Raises if an eigenvalue is negative beyond round-off (never for fGn, kept as a guard).
    """
    if n < 1:
        raise ValueError(f"n={n} must be >= 1")
    k = torch.arange(n + 1, dtype=torch.float64)
    gam = fgn_autocovariance(k, hurst)
    row = torch.cat([gam, gam[1:n].flip(0)])
    lam = torch.fft.fft(row).real
    tol = 1e-10 * float(lam.abs().max())
    if float(lam.min()) < -tol:
        raise ValueError(
            f"circulant embedding not non-negative for n={n}, hurst={hurst} "
            f"(min eigenvalue {float(lam.min()):.3e}); use another n"
        )
    return lam.clamp_min(0.0)


@functools.lru_cache(maxsize=128)
def _eigenvalues(n: int, hurst: float) -> Tensor:
    return circulant_eigenvalues(n, hurst)


def fgn_from_normals(z: Tensor, hurst: float, *, scale: float = 1.0,
                     work: Tensor | None = None, out: Tensor | None = None) -> Tensor:
    r"""``scale`` times unit-step fGn ``(n, ...)`` from standard normals ``z`` of shape
    ``(2n, ...)``, by the real-input Davies-Harte transform along the first axis: one ``irfft``
    of length ``2n`` per series, the series being the columns of ``z``.

    The Hermitian half ``w_0, ..., w_n`` takes its real parts from ``z[0 : n + 1]`` and the
    imaginary parts of ``w_1, ..., w_{n-1}`` from ``z[n + 1 : 2n]`` (``w_0``, ``w_n`` are real),
    scaled so that :math:`X = \mathrm{irfft}(\sqrt{2n\lambda}\, w)` has covariance the
    circulant :math:`c_{j-l}` (``1/\sqrt 2`` on the complex entries); its first ``n`` rows are
    fGn, returned as a contiguous view (no transpose: the layer index is already first).
    The eigenvalues of ``(n, hurst)`` are computed once and cached, so many Hurst indices on
    the same normals cost one multiply and one real FFT each (the regime map's rows). On the
    CPU the transform is numpy's pocketfft (about 1.8x torch's here along this axis).
    ``work`` (complex, ``(n + 1, ...)``) and ``out`` (real, ``(2n, ...)``, ``z``'s dtype) are
    reused instead of allocated when given (the first touch of fresh pages costs ten times
    their writing); the result is then a view of ``out``, valid until ``out`` is reused.
    """
    _check_hurst(hurst)
    two_n = z.shape[0] if z.dim() else 0
    if two_n < 2 or two_n % 2:
        raise ValueError(f"z has first axis {two_n}; give 2n standard normals per series "
                         "(axis 0), e.g. shape (2 * n_layers, *batch)")
    n = two_n // 2
    root = (two_n * scale**2 * _eigenvalues(n, float(hurst))).sqrt()
    root[1:n] *= 0.5**0.5
    cdtype = torch.complex64 if z.dtype == torch.float32 else torch.complex128
    shape = (n + 1, *z.shape[1:])
    if work is None or work.shape != shape or work.dtype != cdtype or work.device != z.device:
        work = torch.empty(shape, dtype=cdtype, device=z.device)
    col = (slice(None),) + (None,) * (z.dim() - 1)
    root = root.to(device=z.device, dtype=z.dtype)[col]
    parts = torch.view_as_real(work)
    torch.mul(z[: n + 1], root[: n + 1], out=parts[..., 0])
    parts[0, ..., 1] = 0.0
    parts[n, ..., 1] = 0.0
    if n > 1:
        torch.mul(z[n + 1 :], root[1:n], out=parts[1:n, ..., 1])
    full = (two_n, *z.shape[1:])
    if out is None or out.shape != full or out.dtype != z.dtype or out.device != z.device:
        out = torch.empty(full, dtype=z.dtype, device=z.device)
    if z.device.type == "cpu":
        np.fft.irfft(work.numpy(), n=two_n, axis=0, out=out.numpy())
    else:
        torch.fft.irfft(work, n=two_n, dim=0, out=out)
    return out[:n]


def fgn(
    n: int,
    hurst: float,
    batch_shape: Sequence[int],
    *,
    generator: torch.Generator,
    dtype: torch.dtype | str = torch.float64,
    device: str | torch.device = "cpu",
) -> Tensor:
    """Unit-step fractional Gaussian noise, shape ``(*batch_shape, n)``, Davies-Harte.

    All series are drawn at once: ``ceil(B / 2)`` complex normal vectors of length ``2n``
    (``B = prod(batch_shape)``), one FFT along the last axis, real and imaginary parts used.
    The draws come from ``generator`` (on ``generator.device``) in float64.
    """
    _check_hurst(hurst)
    dtype = resolve_dtype(dtype)
    batch = math.prod(batch_shape)
    if batch == 0:
        return torch.empty((*batch_shape, n), dtype=dtype, device=device)
    gdev = generator.device
    lam = circulant_eigenvalues(n, hurst).to(gdev)
    half = (batch + 1) // 2
    z = torch.randn((half, 2, 2 * n), generator=generator, dtype=torch.float64, device=gdev)
    w = torch.complex(z[:, 0], z[:, 1]) * torch.sqrt(lam / (2 * n))
    y = torch.fft.fft(w, dim=-1)[:, :n]
    x = torch.cat([y.real, y.imag], dim=0)[:batch]
    return x.reshape(*batch_shape, n).to(device=device, dtype=dtype)


def fbm_increments(
    *,
    n_samples: int,
    shape: Sequence[int],
    n_steps: int,
    hurst: float,
    variance: float = 1.0,
    seed: int,
    key: str = "B",
    dtype: torch.dtype | str = torch.float64,
    device: str | torch.device | None = "cpu",
) -> Tensor:
    r"""Increments ``(n_steps, n_samples, *shape)`` of fBm on ``[0, 1]``, ``Var B^H_1 = v``.

    Each entry of each sample is an independent fBm path; increments over step ``1/N`` have
    variance :math:`v N^{-2H}` and the fGn correlations. Stream ``derive_seed(seed, "fbm", key)``.
    """
    shape = tuple(int(s) for s in shape)
    if n_steps < 1 or n_samples < 1:
        raise ValueError(f"n_steps={n_steps} and n_samples={n_samples} must be >= 1")
    if not variance > 0:
        raise ValueError(f"variance={variance} must be > 0")
    g = make_generator(seed, "fbm", key)
    x = fgn(n_steps, hurst, (n_samples, *shape), generator=g)
    x = x * (math.sqrt(variance) * n_steps ** (-hurst))
    x = x.movedim(-1, 0).contiguous()
    return x.to(device=resolve_device(device), dtype=resolve_dtype(dtype))


class FractionalPath(FineIncrementSource):
    """Fine fBm increments as a chunk stream (materialised once; see module docstring).

    Args as :class:`numerics.noise.BrownianPath` plus ``hurst``; ``max_elements`` bounds
    ``n_steps * n_samples * numel(shape)`` (default 2**27, 1 GiB in float64).
    """

    def __init__(
        self,
        *,
        n_samples: int,
        shape: Sequence[int],
        n_steps: int,
        hurst: float,
        variance: float,
        seed: int,
        key: str,
        dtype: torch.dtype | str = torch.float64,
        device: str | torch.device | None = "cpu",
        max_elements: int = DEFAULT_MAX_ELEMENTS,
    ) -> None:
        _check_hurst(hurst)
        self.n_samples = int(n_samples)
        self.shape = tuple(int(s) for s in shape)
        self.n_steps = int(n_steps)
        self.hurst = float(hurst)
        self.variance = float(variance)
        self.seed = seed
        self.key = key
        self.dtype = resolve_dtype(dtype)
        self.device = resolve_device(device)
        total = self.n_steps * self.n_samples * math.prod(self.shape)
        if total > max_elements:
            raise ValueError(
                f"fractional path needs n_steps*n_samples*numel = {total} > max_elements="
                f"{max_elements} (fBm increments cannot be streamed); lower n_samples or the "
                "depth, run sample batches with different seeds, or raise max_elements"
            )

    def chunks(self, chunk_steps: int = DEFAULT_CHUNK_STEPS) -> Iterator[Tensor]:
        x = fbm_increments(
            n_samples=self.n_samples,
            shape=self.shape,
            n_steps=self.n_steps,
            hurst=self.hurst,
            variance=self.variance,
            seed=self.seed,
            key=self.key,
            dtype=self.dtype,
            device=self.device,
        )
        for start in range(0, self.n_steps, chunk_steps):
            yield x[start : start + chunk_steps]
