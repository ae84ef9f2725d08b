r"""One row of the regime map: its weights and its batched forward and backward pass.

Weights (entry variance ``1/d`` in every layer; ``V`` and, for block O, an independent ``W``):

* ``iid``: :math:`\mathcal N(0, 1/d)` entries, independent over layers (torch stream
  ``(seed, "map", "iid", name)``);
* ``fbm``: unit-step fractional Gaussian noise of Hurst index ``H`` times :math:`d^{-1/2}`,
  i.e. :math:`L^H (B^H_{(k+1)/L} - B^H_{k/L})` with :math:`\mathrm{Var} B^H_1 = 1/d`, from
  :func:`numerics.fbm.fgn_from_normals` on ``(2L, draws, d, d)`` normals drawn once per map
  (stream ``(seed, "map", "fbm", name)``) and shared by every Hurst row (common random
  numbers), transformed along the layer axis (no transpose);
* ``smooth``: :math:`\bar V(k/L)` for an RBF Gaussian process (length scale 1/4; stream
  ``(seed, "map", "smooth")`` for ``V``, ``(seed, "map", "smooth", "W")`` for ``W``).

The pass (block S: :math:`h_{k+1} = h_k + \delta V_k \sigma(h_k)`; block O:
:math:`h_{k+1} = h_k + \delta V_k \sigma(W_k h_k)`, :math:`\delta = L^{-\alpha}` per column)
advances all columns (exponent x input) and draws as one ``(draws, d, columns)`` state with
batched products, keeps only :math:`s_k = \delta \sigma'(\cdot)` per layer, and backpropagates
:math:`g_L = u` by hand: :math:`g_k = g_{k+1} + s_k \odot V_k^\top g_{k+1}` (S) or
:math:`g_k = g_{k+1} + W_k^\top (s_k \odot V_k^\top g_{k+1})` (O). This is the gradient torch
autograd gives (tested), with half its memory traffic.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from numerics._util import make_generator
from numerics.fbm import fgn_from_normals
from numerics.measure.scaled_step import ScaledDerivative, derivative
from numerics.smooth import RBFProcess, sample_smooth

__all__ = ["SMOOTH_LENGTH_SCALE", "RowWeights", "derivative", "measure_row"]

SMOOTH_LENGTH_SCALE = 0.25


class RowWeights:
    """Draws the weights of every row of one map (normals for fBm rows drawn once)."""

    def __init__(self, *, names: tuple[str, ...], depth: int, width: int, n_draws: int,
                 seed: int, dtype: torch.dtype) -> None:
        self.names, self.depth, self.width, self.n_draws = names, depth, width, n_draws
        self.seed, self.dtype = seed, dtype
        self._normals: dict[str, Tensor] = {}
        self._work: Tensor | None = None
        self._out: dict[str, Tensor] = {}

    def __call__(self, kind: str, hurst: float | None) -> dict[str, Tensor]:
        """``{name: (L, n_draws, d, d)}`` for the row ``(kind, hurst)``. An fBm row's tensors
        are views of buffers the next fBm row overwrites (no fresh pages per row)."""
        return {nm: self._one(nm, kind, hurst) for nm in self.names}

    def _one(self, name: str, kind: str, hurst: float | None) -> Tensor:
        L, d, m = self.depth, self.width, self.n_draws
        if kind == "iid":
            g = make_generator(self.seed, "map", "iid", name)
            return torch.randn((L, m, d, d), generator=g, dtype=self.dtype) / math.sqrt(d)
        if kind == "fbm":
            assert hurst is not None
            z = self._normals.get(name)
            if z is None:
                g = make_generator(self.seed, "map", "fbm", name)
                z = self._normals[name] = torch.randn((2 * L, m, d, d), generator=g,
                                                      dtype=self.dtype)
            if self._work is None:  # one complex buffer for every name and row
                cdtype = torch.complex64 if self.dtype == torch.float32 else torch.complex128
                self._work = torch.empty((L + 1, m, d, d), dtype=cdtype)
            if name not in self._out:  # one output per name: V and W are alive together
                self._out[name] = torch.empty((2 * L, m, d, d), dtype=self.dtype)
            return fgn_from_normals(z, hurst, scale=d**-0.5, work=self._work,
                                    out=self._out[name])  # (L, m, d, d)
        if kind == "smooth":
            keys = ("map", "smooth") if name == "V" else ("map", "smooth", name)
            g = make_generator(self.seed, *keys)
            path = sample_smooth(RBFProcess(length_scale=SMOOTH_LENGTH_SCALE), n_samples=m,
                                 shape=(d, d), default_variance=1.0 / d, generator=g,
                                 dtype=self.dtype, device=torch.device("cpu"))
            return path.values(torch.arange(L, dtype=torch.float64) / L).contiguous()
        raise ValueError(f"kind={kind!r} is unknown; use 'iid', 'fbm' or 'smooth'")


def measure_row(block: str, weights: dict[str, Tensor], step: ScaledDerivative, x0: Tensor,
                u: Tensor, alphas: Tensor, depth: int, store: Tensor | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median ``log10`` displacement and gradient ratios and the exploded fraction per
    exponent of one row (``x0``, ``u``: ``(d, n_inputs)`` unit columns; ``step`` from
    :func:`derivative`). ``store``: a reused ``(L, draws, d, columns)`` buffer for the ``s_k``
    in ``step.store_dtype`` (a fresh one per row costs its page faults: measured as much as the
    products). The layer loops allocate nothing: every product and activation writes into one
    work buffer."""
    v = weights["V"]
    w = weights.get("W")
    dtype = v.dtype
    m, d = v.shape[1], v.shape[2]
    n_in, n_a = x0.shape[1], alphas.numel()
    cols = n_a * n_in  # column c = (alpha index) * n_inputs + (input index)
    delta = (float(depth) ** -alphas).repeat_interleave(n_in).to(dtype)
    h0 = x0.repeat(1, n_a).to(dtype)[None].expand(m, d, cols).contiguous()
    shape = (depth, m, d, cols)
    s_dtype = step.store_dtype or dtype
    s = (store if store is not None and store.shape == shape and store.dtype == s_dtype
         else torch.empty(shape, dtype=s_dtype))
    h = h0.clone()
    z = torch.empty_like(h)
    with torch.no_grad():
        for k in range(depth):  # h <- h + V_k (delta sigma(.)): the add fused into the GEMM
            if block == "S":
                z.copy_(h)
            else:
                torch.bmm(w[k], h, out=z)
            step.forward(z, delta, s[k])
            h.baddbmm_(v[k], z)
        g = u.repeat(1, n_a).to(dtype)[None].expand(m, d, cols).contiguous()
        for k in range(depth - 1, -1, -1):
            torch.bmm(v[k].transpose(1, 2), g, out=z)
            step.backward(z, delta, s[k])
            if block == "S":
                g.add_(z)
            else:
                g.baddbmm_(w[k].transpose(1, 2), z)
        ratio = (h - h0).norm(dim=1) / h0.norm(dim=1)  # (m, cols)
        grad = g.norm(dim=1)  # |dl/dh_L| = |u| = 1
    bad = ~(torch.isfinite(ratio) & torch.isfinite(grad))
    out = []
    for values in (ratio, grad):
        lv = values.to(torch.float64).log10()
        lv = torch.where(bad, torch.full_like(lv, math.inf), lv)
        per_cell = lv.reshape(m, n_a, n_in).permute(1, 0, 2).reshape(n_a, m * n_in).numpy()
        out.append(np.median(per_cell, axis=1))
    exploded = bad.to(torch.float64).reshape(m, n_a, n_in).mean(dim=(0, 2)).numpy()
    return out[0], out[1], exploded
