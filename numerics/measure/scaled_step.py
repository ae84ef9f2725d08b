r"""The activation step of the regime map's hand-written pass, in place.

Per layer the forward pass needs :math:`\delta\,\sigma(z)` and keeps, for the backward pass,
:math:`s_k = \delta\,\sigma'(z)` (``delta`` per column: :math:`L^{-\alpha}`); the backward
pass multiplies a vector by :math:`s_k`. A :class:`ScaledDerivative` does both in place on a
work buffer, and says in which dtype ``s_k`` is kept:

* ReLU with numba: ``s_k`` kept as a ``uint8`` mask :math:`1\{z > 0\}` (NaN counts as 1, so
  it propagates as in torch), one fused pass each way; the store is 4x smaller than float32,
  which matters where first-touching fresh pages costs ten times writing them. The products
  are the same floats as the torch path's (``z * (delta * 1)``).
* ReLU and tanh in torch: closed forms, ``s_k`` in the state's dtype with ``delta`` folded in.
* any other activation: autograd for :math:`\sigma'`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["ScaledDerivative", "derivative"]

try:  # numba is optional: without it the torch steps run
    import numba as _numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    _numba = None


@dataclass(frozen=True)
class ScaledDerivative:
    """``forward(z, delta, s)``: ``z <- delta * sigma(z)``, ``s <-`` the code of
    ``delta * sigma'(z)``; ``backward(y, delta, s)``: ``y <- y * delta * sigma'(z)`` from that
    code; ``store_dtype``: the dtype of ``s`` (``None``: the state's)."""

    forward: Callable[[Tensor, Tensor, Tensor], None]
    backward: Callable[[Tensor, Tensor, Tensor], None]
    store_dtype: torch.dtype | None = None


def _mul_stored(y: Tensor, delta: Tensor, s: Tensor) -> None:
    y.mul_(s)  # s = delta * sigma'(z) already


def _relu_forward(z: Tensor, delta: Tensor, s: Tensor) -> None:
    torch.sign(z.relu_(), out=s)  # 1 where z > 0: no bool mask to convert
    s.mul_(delta)
    z.mul_(delta)


def _tanh_forward(z: Tensor, delta: Tensor, s: Tensor) -> None:
    z.tanh_()
    torch.mul(z, z, out=s)
    s.sub_(1.0).mul_(-delta)  # delta (1 - tanh^2)
    z.mul_(delta)


def _autograd(sigma: Callable[[Tensor], Tensor]) -> Callable[[Tensor, Tensor, Tensor], None]:
    def forward(z: Tensor, delta: Tensor, s: Tensor) -> None:
        with torch.enable_grad():
            zz = z.detach().requires_grad_(True)
            y = sigma(zz)
            (dy,) = torch.autograd.grad(y.sum(), zz)
        torch.mul(dy, delta, out=s)
        torch.mul(y.detach(), delta, out=z)
    return forward


@functools.cache
def _relu_mask_kernels():
    def forward(z, delta, mask):  # z: (rows, cols) float, delta: (cols,), mask: uint8
        rows, cols = z.shape
        for i in range(rows):
            for j in range(cols):
                v = z[i, j]
                if v > 0:
                    z[i, j] = v * delta[j]
                    mask[i, j] = 1
                elif v <= 0:
                    z[i, j] = 0.0
                    mask[i, j] = 0
                else:  # NaN: kept, and propagated backward as torch's sign would
                    mask[i, j] = 1

    def backward(y, delta, mask):
        rows, cols = y.shape
        for i in range(rows):
            for j in range(cols):
                y[i, j] *= mask[i, j] * delta[j]

    jit = _numba.njit(nogil=True, cache=True)
    return jit(forward), jit(backward)


def _relu_mask() -> ScaledDerivative:
    fwd, bwd = _relu_mask_kernels()  # compiled once per process (and cached on disk)

    def flat(x: Tensor):
        return x.numpy().reshape(-1, x.shape[-1])

    def forward(z: Tensor, delta: Tensor, s: Tensor) -> None:
        fwd(flat(z), delta.numpy(), flat(s))

    def backward(y: Tensor, delta: Tensor, s: Tensor) -> None:
        bwd(flat(y), delta.numpy(), flat(s))

    return ScaledDerivative(forward, backward, torch.uint8)


def derivative(sigma: Callable[[Tensor], Tensor], *, kernel: bool = True) -> ScaledDerivative:
    """The in-place :class:`ScaledDerivative` of ``sigma``: the numba ReLU mask when numba
    imports and ``kernel``, else closed forms for relu and tanh, autograd otherwise."""
    if sigma is torch.relu:
        if kernel and _numba is not None:
            return _relu_mask()
        return ScaledDerivative(_relu_forward, _mul_stored)
    if sigma is torch.tanh:
        return ScaledDerivative(_tanh_forward, _mul_stored)
    return ScaledDerivative(_autograd(sigma), _mul_stored)
