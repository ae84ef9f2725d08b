r"""The gradient limits on the coarse grid and the network's autograd gradients.

:class:`VariationRecorder` observes the :class:`~numerics.steppers.variation.FirstVariationStepper`
(``H``, ``J`` and the variants, packed) at the coarse times :math:`t_m = m / L_{\min}` and
:meth:`~VariationRecorder.finish` forms the adjoint :math:`P_{t_m} = J_{t_m}^{-\top}
J_1^\top\nabla\ell(H_1)` (:math:`P_0 = J_1^\top\nabla\ell(H_1)`) and the weight-gradient limit
:math:`G(t_m) = \mathrm{diag}(w(a_{t_m}, q_{t_m}))\,P_{t_m} H_{t_m}^\top`.
:func:`network_gradients` is the batched autograd of one ResNet of block I.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from numerics._util import matvec
from numerics.driver import Chunk
from numerics.ladder import run
from numerics.losses import LossSpec, loss_fns
from numerics.smooth import SmoothPath
from numerics.steppers.variation import FirstVariation, FirstVariationStepper

__all__ = ["LimitGradients", "VariationRecorder", "advance", "network_gradients",
           "solve_first_variation"]

Fn1 = Callable[[Tensor], Tensor]


@dataclass(frozen=True, eq=False)
class LimitGradients:
    """The limit on the coarse grid ``t_m = m / L_min`` (``m = 0..L_min``).

    ``H``: ``(L_min + 1, M, d)``; ``P``: adjoint ``(L_min + 1, M, d)`` (``P[0]`` is the input
    gradient limit, ``P[-1] = grad l(H_1)``); ``G``: weight-gradient limit ``(L_min, M, d, d)``
    at ``t_0..t_{L_min - 1}``; ``variants``: name -> (P, G) of each variant first variation;
    ``overflow``: ``(M,)`` non-finite or above the threshold.
    """

    H: Tensor
    P: Tensor
    G: Tensor
    variants: Mapping[str, tuple[Tensor, Tensor]]
    overflow: Tensor


def network_gradients(
    sigma: Fn1,
    A: Tensor,
    x0: Tensor,
    *,
    alpha: float,
    b: Tensor | None = None,
    loss: LossSpec = "square",
    layers: Sequence[int] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Autograd gradients of one batched ResNet: ``(h_L, dl/dh_0, dl/dA_k for k in layers)``.

    ``A``: ``(L, M, d, d)``, ``b``: ``(L, M, d)`` or None, ``x0``: ``(M, d)``. The graph holds
    all M samples and the loss is summed over them; as the samples share no parameter the
    gradients are the per-sample gradients. ``layers`` (default all): the layers whose weight
    gradients are returned, shape ``(len(layers), M, d, d)``, with
    ``dl/dA_k = L^{-alpha} diag(sigma'(A_k h_k + b_k)) p_{k+1} h_k^T``.
    """
    if A.ndim != 4 or A.shape[-1] != A.shape[-2] or A.shape[2] != x0.shape[-1]:
        raise ValueError(f"A has shape {tuple(A.shape)}; expected (L, M, d, d) with d = "
                         f"x0.shape[-1] = {x0.shape[-1]}")
    depth = A.shape[0]
    if b is not None and b.shape != A.shape[:3]:
        raise ValueError(f"b has shape {tuple(b.shape)}; expected {tuple(A.shape[:3])}")
    lfun, _ = loss_fns(loss, x0.shape[-1], x0.dtype, x0.device)
    delta = float(depth) ** (-alpha)
    with torch.enable_grad():
        h0 = x0.detach().clone().requires_grad_(True)
        a_leaf = A.detach().requires_grad_(True)
        h = h0
        for k, a_k in enumerate(a_leaf.unbind(0)):
            pre = matvec(a_k, h)
            if b is not None:
                pre = pre + b[k]
            h = h + delta * sigma(pre)
        total = lfun(h).sum()
        g_h0, g_a = torch.autograd.grad(total, (h0, a_leaf))
    idx = list(range(depth)) if layers is None else list(layers)
    return h.detach(), g_h0, g_a[idx]


class VariationRecorder:
    """Peaks of ``H`` and the packed state (and ``a``) on the coarse grid of ``l_min``
    intervals; :meth:`finish` turns them into the adjoint and weight-gradient limits."""

    def __init__(self, stepper: FirstVariationStepper, x: Tensor, *, l_min: int,
                 grad_l: Fn1, overflow_threshold: float) -> None:
        self.st, self.grad_l, self.thr = stepper, grad_l, overflow_threshold
        self.n_fine = stepper.n_steps
        self.per_coarse = self.n_fine // l_min
        self.dim = stepper.dim
        self.fv, self.jacs = stepper.fv, stepper.jacs
        self.j = 0
        self.x = x
        self.peak = x[..., 0].abs().amax(-1)
        self.coarse_x = [x.clone()]
        self.coarse_a = [stepper.a_at(0.0, x[..., 0])]

    def observe(self, i: int, k: int, state: Tensor) -> None:
        self.x, self.j = state, k
        if k % self.per_coarse == 0:  # overflow is checked on the coarse grid
            self.peak = torch.maximum(self.peak, state[..., 0].abs().amax(-1))
            self.coarse_x.append(state.clone())
            if k < self.n_fine:
                self.coarse_a.append(self.st.a_at(k / self.n_fine, state[..., 0]))

    def finish(self) -> LimitGradients:
        if self.j != self.n_fine:
            raise RuntimeError(f"limit advanced {self.j} of {self.n_fine} fine steps")
        xs = torch.stack(self.coarse_x)  # (l_min + 1, M, d, cols)
        hs = xs[..., 0]
        avs = torch.stack(self.coarse_a)  # (l_min, M, d)
        g1 = self.grad_l(hs[-1])
        wd = self.fv.weight_density(avs, self.st.q(hs[:-1]))
        dim = self.dim

        def adjoint(i: int) -> tuple[Tensor, Tensor]:
            jstack = xs[..., 1 + i * dim: 1 + (i + 1) * dim]  # (l_min + 1, M, d, d)
            c = matvec(jstack[-1].transpose(-1, -2), g1)  # J_1^T grad l(H_1)
            p = torch.linalg.solve(jstack.transpose(-1, -2), c.expand(jstack.shape[0], *c.shape))
            p[-1] = g1
            p[0] = c  # J_0 = I exactly
            gw = (wd * p[:-1]).unsqueeze(-1) * hs[:-1].unsqueeze(-2)
            return p, gw

        p, gw = adjoint(0)
        variants = {name: adjoint(i) for i, (name, _, _) in enumerate(self.jacs) if name}
        finite = torch.isfinite(xs).flatten(-2).all(-1).all(0) & torch.isfinite(p).all(-1).all(0)
        overflow = ~(self.peak <= self.thr) | ~finite
        return LimitGradients(H=hs, P=p, G=gw, variants=variants, overflow=overflow)


def advance(st: FirstVariationStepper, rec: VariationRecorder, ch: Chunk) -> None:
    """The steps of ``st`` that chunk ``ch`` completes, from the recorder's state."""
    (rec.x,) = run([st], rec.x, [ch], rec.observe, init=False)


def solve_first_variation(
    limit: FirstVariation,
    x0: Tensor,
    *,
    n_steps: int,
    coarse: int,
    increments: Tensor | None = None,
    a_path: SmoothPath | None = None,
    b_path: SmoothPath | None = None,
    loss: LossSpec = "square",
    overflow_threshold: float = 1e8,
) -> LimitGradients:
    """Solve H, J (and variants) on ``n_steps`` fine steps and return the adjoint and weight
    limits on the coarse grid of ``coarse`` intervals (``coarse`` must divide ``n_steps``).

    ``increments``: ``(n_steps, M, d, d)`` Brownian increments of M (SDE limits); ``a_path`` /
    ``b_path``: the smooth ``Abar`` / ``bbar`` (None: absent). For small cases and tests;
    :func:`gradient_table` streams the same computation.
    """
    if coarse < 1 or n_steps % coarse:
        raise ValueError(f"coarse={coarse} must divide n_steps={n_steps}")
    if increments is not None and increments.shape[0] != n_steps:
        raise ValueError(f"increments has {increments.shape[0]} steps; n_steps={n_steps}")
    _, grad_l = loss_fns(loss, x0.shape[-1], x0.dtype, x0.device)
    st = FirstVariationStepper(limit, a_path=a_path, b_path=b_path, n_fine=n_steps)
    if limit.is_sde and increments is None:
        raise ValueError("an SDE first variation needs the fine increments dws")
    rec = VariationRecorder(st, st.init(x0), l_min=coarse, grad_l=grad_l,
                             overflow_threshold=overflow_threshold)
    parts = {} if increments is None else {"A": [increments]}
    advance(st, rec, Chunk(0, n_steps, parts))
    return rec.finish()
