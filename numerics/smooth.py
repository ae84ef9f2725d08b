r"""Smooth weight paths: a random smooth function :math:`\bar A(t)` per Monte-Carlo sample.

Each law draws, for every sample and entry, Gaussian coefficients of a fixed basis
:math:`\varphi_1, \dots, \varphi_K` on :math:`[0, 1]`,

.. math:: \bar A(t) = \sum_{j=1}^K \varphi_j(t)\, c_j, \qquad c_j[i] \sim \mathcal N(0, 1),

so :math:`\bar A` can be evaluated at any ``t`` and every depth sees the *same* function
(``t_k = k / L`` on any grid). The basis is scaled so that :math:`\mathrm{Var}\,\bar A(t)[i] = v`
for every ``t``. Evaluation at ``n_t`` times is one matrix product
``(n_t, K) @ (K, M * numel)``.

* :class:`FourierSeries`: :math:`\varphi = (1, n^{-s}\cos 2\pi n t, n^{-s}\sin 2\pi n t)_{n \le K}`
  (periodic; decay ``s > 3/2`` gives a :math:`C^1` path).
* :class:`RBFProcess`: a stationary Gaussian process with kernel close to
  :math:`v\exp(-(s - t)^2 / 2\ell^2)`: the spectral measure :math:`\mathcal N(0, \ell^{-2})` is
  replaced by its Gauss-Hermite quadrature, :math:`k(\tau) \approx \sum_n p_n \cos(\omega_n\tau)`,
  and :math:`\varphi = (\sqrt{p_n}\cos\omega_n t, \sqrt{p_n}\sin\omega_n t)`. Conditionally
  exact Gaussian; the kernel error on :math:`|\tau| \le 1` is checked at construction (``tol``).
* :class:`DeterministicPath`: a user callable ``fn(t) -> Tensor`` (the same for all samples,
  or one per sample with a leading ``n_samples`` axis).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "SmoothPath",
    "BasisPath",
    "CallablePath",
    "FourierSeries",
    "RBFProcess",
    "DeterministicPath",
    "SmoothProcess",
    "sample_smooth",
]


class SmoothPath:
    """A sampled smooth function; ``values(times)`` has shape ``(n_t, M or 1, *shape)``."""

    shape: tuple[int, ...]

    def values(self, times: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, t: float) -> Tensor:
        """Value at one time ``t``: shape ``(M or 1, *shape)``."""
        return self.values(torch.tensor([float(t)], dtype=torch.float64))[0]


class BasisPath(SmoothPath):
    """``sum_j basis_j(t) * coeffs[j]`` with ``coeffs`` of shape ``(K, M, *shape)``."""

    def __init__(self, basis: Callable[[Tensor], Tensor], coeffs: Tensor) -> None:
        self.basis = basis
        self.coeffs = coeffs
        self.shape = tuple(coeffs.shape[2:])
        self._flat = coeffs.reshape(coeffs.shape[0], -1)

    def values(self, times: Tensor) -> Tensor:
        times = times.to(device=self.coeffs.device, dtype=torch.float64)
        phi = self.basis(times).to(self.coeffs.dtype)  # (n_t, K)
        out = phi @ self._flat
        return out.reshape(times.shape[0], *self.coeffs.shape[1:])


class CallablePath(SmoothPath):
    """Wraps ``fn(t: float) -> Tensor`` of shape ``shape`` or ``(M, *shape)``."""

    def __init__(
        self,
        fn: Callable[[float], Tensor],
        shape: Sequence[int],
        n_samples: int,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.fn = fn
        self.shape = tuple(shape)
        self.n_samples = n_samples
        self.dtype = dtype
        self.device = device

    def values(self, times: Tensor) -> Tensor:
        outs = []
        for t in times.tolist():
            v = torch.as_tensor(self.fn(float(t)), dtype=self.dtype, device=self.device)
            if tuple(v.shape) == self.shape:
                v = v.unsqueeze(0)
            elif tuple(v.shape) != (self.n_samples, *self.shape):
                raise ValueError(
                    f"DeterministicPath fn(t) returned shape {tuple(v.shape)}; expected "
                    f"{self.shape} or {(self.n_samples, *self.shape)}"
                )
            outs.append(v)
        return torch.stack(outs)


@dataclass(frozen=True)
class FourierSeries:
    """Random Fourier series with ``n_modes`` frequencies and coefficient decay ``n^{-decay}``.

    ``variance`` is the marginal entry variance (``None``: 1/width, set by the caller).
    """

    n_modes: int = 8
    decay: float = 2.0
    variance: float | None = None

    def __post_init__(self) -> None:
        if self.n_modes < 0:
            raise ValueError(f"n_modes={self.n_modes} must be >= 0")
        if self.variance is not None and not self.variance > 0:
            raise ValueError(f"variance={self.variance} must be > 0 or None (1/width)")

    def n_basis(self) -> int:
        return 1 + 2 * self.n_modes

    def basis(self, variance: float) -> Callable[[Tensor], Tensor]:
        n = torch.arange(1, self.n_modes + 1, dtype=torch.float64)
        amp = n.pow(-self.decay)
        norm = math.sqrt(variance / (1.0 + float((amp**2).sum())))

        def phi(t: Tensor) -> Tensor:
            a = amp.to(t.device)
            w = 2 * math.pi * n.to(t.device) * t[:, None]
            ones = torch.ones_like(t)[:, None]
            return norm * torch.cat([ones, a * torch.cos(w), a * torch.sin(w)], dim=1)

        return phi


@dataclass(frozen=True)
class RBFProcess:
    """Stationary GP, kernel ``v exp(-(s-t)^2 / (2 length_scale^2))``, ``n_features`` nodes."""

    length_scale: float = 0.25
    n_features: int = 32
    variance: float | None = None
    tol: float = 1e-6

    def __post_init__(self) -> None:
        if not self.length_scale > 0:
            raise ValueError(f"length_scale={self.length_scale} must be > 0")
        if self.n_features < 1:
            raise ValueError(f"n_features={self.n_features} must be >= 1")
        if self.variance is not None and not self.variance > 0:
            raise ValueError(f"variance={self.variance} must be > 0 or None (1/width)")

    def _nodes(self) -> tuple[np.ndarray, np.ndarray]:
        x, w = np.polynomial.hermite_e.hermegauss(self.n_features)
        w = w / math.sqrt(2 * math.pi)
        keep = x >= 0
        w = np.where(x > 0, 2 * w, w)[keep]
        return x[keep] / self.length_scale, w

    def kernel_error(self) -> float:
        """max over |tau| <= 1 of |quadrature kernel - RBF kernel| (unit variance)."""
        om, p = self._nodes()
        tau = np.linspace(0.0, 1.0, 2001)
        approx = (p[None, :] * np.cos(om[None, :] * tau[:, None])).sum(1)
        return float(np.abs(approx - np.exp(-(tau**2) / (2 * self.length_scale**2))).max())

    def n_basis(self) -> int:
        om, _ = self._nodes()
        return 2 * len(om)

    def basis(self, variance: float) -> Callable[[Tensor], Tensor]:
        err = self.kernel_error()
        if err > self.tol:
            raise ValueError(
                f"RBFProcess(length_scale={self.length_scale}, n_features={self.n_features}): "
                f"kernel error {err:.2e} > tol={self.tol}; raise n_features"
            )
        om_np, p_np = self._nodes()
        om = torch.from_numpy(om_np)
        sq = torch.from_numpy(np.sqrt(p_np * variance))

        def phi(t: Tensor) -> Tensor:
            w = om.to(t.device) * t[:, None]
            s = sq.to(t.device)
            return torch.cat([s * torch.cos(w), s * torch.sin(w)], dim=1)

        return phi


@dataclass(frozen=True)
class DeterministicPath:
    """A given smooth function ``fn(t) -> Tensor`` (shape ``shape`` or ``(M, *shape)``)."""

    fn: Callable[[float], Tensor]


SmoothProcess = FourierSeries | RBFProcess | DeterministicPath


def sample_smooth(
    process: SmoothProcess,
    *,
    n_samples: int,
    shape: Sequence[int],
    default_variance: float,
    generator: torch.Generator,
    dtype: torch.dtype,
    device: torch.device,
) -> SmoothPath:
    """Draw one smooth function per sample (coefficients from ``generator``, float64 draws)."""
    shape = tuple(shape)
    if isinstance(process, DeterministicPath):
        return CallablePath(process.fn, shape, n_samples, dtype, device)
    if not isinstance(process, FourierSeries | RBFProcess):
        raise TypeError(
            f"smooth process {process!r} is not FourierSeries, RBFProcess or DeterministicPath"
        )
    variance = default_variance if process.variance is None else process.variance
    basis = process.basis(variance)
    k = process.n_basis()
    coeffs = torch.randn((k, n_samples, *shape), generator=generator, dtype=torch.float64)
    return BasisPath(basis, coeffs.to(device=device, dtype=dtype))
