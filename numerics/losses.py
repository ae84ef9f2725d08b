r"""Losses of the gradient experiments: :math:`\ell(h) = \tfrac12|h|^2` (``"square"``) or a
fixed linear functional :math:`\ell(h) = c^\top h` (a vector ``c``), with their gradients
:math:`\nabla\ell(h) = h` and :math:`c`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["LossSpec", "loss_fns"]

LossSpec = str | Sequence[float] | Tensor
Fn1 = Callable[[Tensor], Tensor]


def loss_fns(loss: LossSpec, width: int, dtype: torch.dtype,
             device: torch.device) -> tuple[Fn1, Fn1]:
    """(l(h) per sample, grad l(h)) for ``loss``."""
    if isinstance(loss, str):
        if loss != "square":
            raise ValueError(f"loss={loss!r}: use 'square' (|h|^2 / 2) or a vector c (c^T h)")
        return (lambda h: 0.5 * (h * h).sum(-1)), (lambda h: h)
    c = torch.as_tensor(loss, dtype=dtype, device=device)
    if c.shape != (width,):
        raise ValueError(f"loss vector has shape {tuple(c.shape)}; expected (width={width},)")
    return (lambda h: h @ c), (lambda h: c.expand_as(h))
