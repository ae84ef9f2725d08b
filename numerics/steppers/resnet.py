r"""The ResNet of depth :math:`L` as a stepper: one layer per step of its dyadic level.

Blocks (:math:`\delta_L = L^{-\alpha}`, :math:`\sigma` elementwise, :math:`t_k = k / L`):

* ``"I"``: :math:`h_{k+1} = h_k + \delta_L\,\sigma(A_k h_k + b_k)`;
* ``"O"``: :math:`h_{k+1} = h_k + \delta_L\,V_k\,\sigma(W_k h_k)`;
* ``"S"``: :math:`h_{k+1} = h_k + \delta_L\,V_k\,\sigma(h_k)`,

each weight :math:`M^{(L)}_k = L^{-\beta_s}\bar M(t_k) + L^{H - \beta_r}\Delta^{(L)}_k B` with
its smooth part :math:`\bar M` (a :class:`numerics.smooth.SmoothPath`) and the increment of its
rough path ``B`` at level :math:`\log_2(N / L)`. The products are formed without the matrix:
:math:`c\,(\Delta h) + s\,(\bar M h)`. It is a discretisation of the limit, not a solver of it,
so it declares no order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from numerics._util import matvec
from numerics.laws import WeightLaw
from numerics.smooth import SmoothPath
from numerics.steppers.base import Stepper

__all__ = ["ResNet"]


class _Weight:
    """Per-depth view of one weight: rough scale ``c``, smooth scale ``s``, smooth path."""

    def __init__(self, law: WeightLaw, depth: int, smooth: SmoothPath | None) -> None:
        self.c = law.rough_scale(depth) if law.rough is not None else None
        self.s = law.smooth_scale(depth) if law.smooth is not None else None
        self.smooth = smooth


def _apply(w: _Weight, rough: Tensor | None, smooth: Tensor | None, x: Tensor) -> Tensor:
    """``(c * rough + s * smooth) @ x`` without forming the matrix."""
    out: Tensor | None = None
    if rough is not None:
        out = matvec(rough, x)
        if w.c != 1.0:
            out = out.mul_(w.c)
    if smooth is not None:
        y = matvec(smooth, x)
        out = y.mul_(w.s) if out is None else out.add_(y, alpha=w.s)
    assert out is not None
    return out


def _add_vec(w: _Weight, rough: Tensor | None, smooth: Tensor | None, pre: Tensor) -> Tensor:
    if rough is not None:
        pre = pre.add_(rough, alpha=w.c)
    if smooth is not None:
        pre = pre.add_(smooth, alpha=w.s)
    return pre


class ResNet(Stepper):
    """Depth ``depth`` of block ``block`` on a fine grid of ``n_fine`` steps.

    Args:
        block: ``"I"``, ``"O"`` or ``"S"``.
        sigma: the activation.
        alpha: residual exponent, ``delta = depth**-alpha``.
        weights: name -> law; ``smooth``: name -> the sampled smooth part (shared by all
            depths); ``rough``: the names with a rough path (the driver's keys);
            ``device``: where the smooth parts are evaluated.
    """

    def __init__(self, block: str, sigma: Callable[[Tensor], Tensor], *, alpha: float,
                 depth: int, n_fine: int, weights: Mapping[str, WeightLaw],
                 smooth: Mapping[str, SmoothPath], rough: tuple[str, ...],
                 device: torch.device) -> None:
        if n_fine % depth or (n_fine // depth) & (n_fine // depth - 1):
            raise ValueError(f"n_fine={n_fine} / depth={depth} must be a power of two")
        self.block, self.sigma, self.depth = block, sigma, depth
        self.level = (n_fine // depth).bit_length() - 1
        self.n_steps = depth
        self.delta = float(depth) ** (-alpha)
        self.names = tuple(weights)
        self.sources = tuple(nm for nm in rough if nm in weights)
        self.ws = {nm: _Weight(weights[nm], depth, smooth.get(nm)) for nm in weights}
        self.smooth = {nm: sp for nm, sp in smooth.items() if nm in weights}
        self._svals: dict[str, Tensor] = {}
        self._k0 = 0
        self.device = device

    def init(self, x0: Tensor) -> Tensor:
        return x0.clone()

    def window(self, k0: int, k1: int) -> None:
        self._k0 = k0
        if self.smooth:
            times = torch.arange(k0, k1, dtype=torch.float64, device=self.device) / self.depth
            self._svals = {nm: sp.values(times) for nm, sp in self.smooth.items()}

    def step(self, state: Tensor, k: int, dw: Mapping[str, Tensor]) -> Tensor:
        kk = k - self._k0
        r = {nm: dw.get(nm) for nm in self.names}
        s = {nm: (self._svals[nm][kk] if nm in self._svals else None) for nm in self.names}
        ws, h, delta = self.ws, state, self.delta
        if self.block == "I":
            pre = _apply(ws["A"], r["A"], s["A"], h)
            if "b" in ws:
                pre = _add_vec(ws["b"], r["b"], s["b"], pre)
            return torch.add(h, self.sigma(pre), alpha=delta)
        if self.block == "O":
            u = self.sigma(_apply(ws["W"], r["W"], s["W"], h))
            return torch.add(h, _apply(ws["V"], r["V"], s["V"], u), alpha=delta)
        return torch.add(h, _apply(ws["V"], r["V"], s["V"], self.sigma(h)), alpha=delta)
