r"""Gradients of the batched ResNet and their large-depth limits, on one coupled path.

Network (block I): :math:`h_{k+1} = h_k + L^{-\alpha}\sigma(A_k h_k + b_k)`, loss
:math:`\ell(h_L)` (``"square"``: :math:`\tfrac12|h|^2`, or a fixed linear functional
:math:`c^\top h`). For every depth of a dyadic ladder this module computes, by autograd on ONE
graph holding all ``M`` samples (loss = sum over samples; the samples share no parameter, so
one backward pass returns every per-sample gradient):

* the input gradient :math:`p_0 = \partial\ell/\partial h_0`, ``(M, d)``;
* the weight gradients :math:`\partial\ell/\partial A_k`, rescaled by :math:`L^{e}` (``e`` =
  ``weight_exponent``, alpha for the claims), at the layers :math:`k = m L / L_{\min}` of the
  coarse grid :math:`t_m = m / L_{\min}`, ``m < L_min``.

The weights are exactly those of :func:`numerics.ladder.weights_at_depth` /
:func:`numerics.ladder.run_ladder` for the same seed (same noise streams: ``BrownianPath`` with
key ``"A"``, dyadic block sums, the same smooth path), so depth ``L``, ``2L`` and the limit
share one path. The limit is solved in the same streaming pass on the fine grid
(``N = L_max 2^refine`` steps): the state :math:`H` and its first variation
:math:`J_t = \partial H_t / \partial h_0` (``J_0 = I``),

.. math::

    dH = f(a, q)\,dt \;[+\, g\,dM_t\,c(H)], \qquad
    dJ = D_h f\,J\,dt \;[+\, g\,dM_t\,(c'(H) \odot J)], \qquad
    D_h f = \mathrm{diag}(f_a)\,\bar A(t) + f_q\,2v\,\mathbf 1 H^\top,

with ``a = Abar(t) H + bbar(t)``, ``q = v |H|^2`` (:mod:`theory.backward`), by Heun (ODE; order 2,
so the reference error is negligible against the ResNet's) or Euler-Maruyama (SDE; ``refine``
= 4 by default: 16 fine steps per layer of the deepest network, as the forward claims).
Then :math:`P_0 = J_1^\top \nabla\ell(H_1)`, :math:`P_{t_m} = J_{t_m}^{-\top} J_1^\top
\nabla\ell(H_1)` (the adjoint, :math:`J_{t\to1}^\top\nabla\ell(H_1)`), and the weight-gradient
limit :math:`G(t_m) = \mathrm{diag}(w(a_{t_m}, q_{t_m}))\,P_{t_m} H_{t_m}^\top`.

Errors (an :class:`numerics.metrics.ErrorTable`, per sample and depth):

* ``"grad-input"``: :math:`|p_0^{(L)} - P_0|`;
* ``"grad-weight"``: :math:`\max_{m < L_{\min}} \| L^{e} \partial\ell/\partial A_{mL/L_{\min}}
  - G(t_m) \|_F`;
* ``"grad-input:<v>"`` / ``"grad-weight:<v>"`` against a *variant* first variation (another
  Jacobian, e.g. without the Ito term: a control), solved on the same path beside ``J``;
* ``"grad-weight:<name>"`` for extra weight exponents (``weight_exponents``, a control of the
  scaling).

Cost: one draw of the fine path (``N M d^2`` normals), ``sum(depths)`` autograd layers, ``N``
limit steps of ``(M, d, d)`` products. Memory ``O(L_max M d^2)`` (autograd keeps the weights).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from numerics._util import make_generator, matvec, resolve_device, resolve_dtype
from numerics.ladder import auto_chunk_steps, coupled_smooth_path, validate_depths
from numerics.laws import Brownian, InputLaw, WeightLaw
from numerics.metrics import ErrorTable
from numerics.noise import BrownianPath, DyadicSplitter
from numerics.smooth import SmoothPath

__all__ = [
    "FirstVariation",
    "GradientInputs",
    "LimitGradients",
    "coupled_weights",
    "gradient_inputs",
    "gradient_table",
    "network_gradients",
    "solve_first_variation",
]

Fn2 = Callable[[Tensor, Tensor], Tensor]
Fn1 = Callable[[Tensor], Tensor]
LossSpec = str | Sequence[float] | Tensor


Coef = Fn2 | float


@dataclass(frozen=True)
class FirstVariation:
    """Torch coefficients of a backward limit (block I), componentwise in (a, q).

    Attributes:
        drift: f(a, q).
        drift_a: f_a, a function of (a, q) or a constant (float: no evaluation per step).
        drift_q: f_q, a function, a constant, or None (f does not depend on q).
        weight_density: w(a, q) of the weight-gradient limit ``diag(w) P H^T``.
        q_variance: v in ``q = v |H|^2`` (None: no rough inner part, q = 0).
        noise_row: g of the matrix noise ``g dM c(H)`` (None: an ODE limit).
        noise_col, noise_col_prime: c(u) and c'(u); None (the default) means c(u) = u, the
            linear noise of R5, for which ``g dM J`` is one batched product.
        variants: name -> (drift_a, drift_q) of extra first variations solved on the same
            path with the same H (controls, e.g. the Jacobian without its Ito term).
    """

    drift: Fn2
    drift_a: Coef
    drift_q: Coef | None
    weight_density: Fn2
    q_variance: float | None = None
    noise_row: float | None = None
    noise_col: Fn1 | None = None
    noise_col_prime: Fn1 | None = None
    variants: Mapping[str, tuple[Coef, Coef | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.noise_col is None) != (self.noise_col_prime is None):
            raise ValueError("give both noise_col=c(u) and noise_col_prime=c'(u), or neither "
                             "(c(u) = u)")
        qs = [self.drift_q, *(fq for _, fq in self.variants.values())]
        if any(fq is not None for fq in qs) and self.q_variance is None:
            raise ValueError("drift_q is set but q_variance=None: give v (q = v |H|^2)")
        for name in self.variants:
            if not name or ":" in name:
                raise ValueError(f"variant name {name!r} must be non-empty without ':'")

    @property
    def is_sde(self) -> bool:
        return self.noise_row is not None


@dataclass(frozen=True)
class GradientInputs:
    """What :func:`gradient_table` needs besides the budget (from :func:`gradient_inputs`)."""

    sigma: Fn1
    alpha: float
    weights: dict[str, WeightLaw]
    limit: FirstVariation
    weight_exponent: float


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


# --------------------------------------------------------------------------- losses
def _loss_fns(loss: LossSpec, width: int, dtype: torch.dtype,
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


# --------------------------------------------------------------------------- network
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
    lfun, _ = _loss_fns(loss, x0.shape[-1], x0.dtype, x0.device)
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


# --------------------------------------------------------------------------- limit
class _LimitSolver:
    """H, J and the variant J's on the fine grid, recording at the coarse times.

    The state is packed as one tensor ``X = [H | J | J_v1 | ...]`` of shape
    ``(M, d, 1 + n_J d)`` so that a step costs three batched products (``Abar X``, ``H^T X``,
    ``dM X``) whatever the number of variants.
    """

    def __init__(self, fv: FirstVariation, x0: Tensor, *, a_path: SmoothPath | None,
                 b_path: SmoothPath | None, n_fine: int, l_min: int, grad_l: Fn1,
                 overflow_threshold: float) -> None:
        m, dim = x0.shape
        self.fv, self.a_path, self.b_path = fv, a_path, b_path
        self.n_fine, self.l_min, self.grad_l = n_fine, l_min, grad_l
        self.per_coarse = n_fine // l_min
        self.dt = 1.0 / n_fine
        self.thr = overflow_threshold
        self.dim = dim
        self.jacs: list[tuple[str, Coef, Coef | None]] = [("", fv.drift_a, fv.drift_q)]
        self.jacs += [(k, fa, fq) for k, (fa, fq) in fv.variants.items()]
        fas = [fa for _, fa, _ in self.jacs]
        self.fa_shared = fas[0] if all(fa is fas[0] or fa == fas[0] for fa in fas) else None
        fqs = [fq for _, _, fq in self.jacs]
        self.any_q = any(fq is not None for fq in fqs) and fv.q_variance is not None
        self.fq_cols: Tensor | None = None
        if self.any_q and all(fq is None or isinstance(fq, float | int) for fq in fqs):
            scale = [2.0 * float(fv.q_variance) * float(fq or 0.0) for fq in fqs]
            self.fq_cols = torch.tensor(scale, dtype=x0.dtype, device=x0.device
                                        ).repeat_interleave(dim)
        eye = torch.eye(dim, dtype=x0.dtype, device=x0.device).expand(m, dim, dim)
        self.x = torch.cat([x0.unsqueeze(-1)] + [eye] * len(self.jacs), dim=-1)
        self.j = 0
        self.peak = x0.abs().amax(-1)
        self.coarse_x = [self.x.clone()]
        self.coarse_a = [self._a_at(0.0, x0)]

    def _abar(self, times: Tensor) -> tuple[Tensor | None, Tensor | None]:
        ab = None if self.a_path is None else self.a_path.values(times)
        bb = None if self.b_path is None else self.b_path.values(times)
        return ab, bb

    def _a_at(self, t: float, h: Tensor) -> Tensor:
        """a = Abar(t) H + bbar(t) (zeros without smooth parts)."""
        ab, bb = self._abar(torch.tensor([t], dtype=torch.float64))
        out = torch.zeros_like(h) if ab is None else matvec(ab[0], h)
        return out if bb is None else out + bb[0]

    def _q(self, h: Tensor) -> Tensor:
        v = self.fv.q_variance
        if v is None:
            return torch.zeros_like(h)
        return (v * (h * h).sum(-1, keepdim=True)).expand_as(h)

    def _rhs(self, x: Tensor, ab: Tensor | None, bb: Tensor | None) -> Tensor:
        """The drift of the packed state: ``[f(t, H) | D_h f J | D'_h f J' ...]``."""
        fv, dim = self.fv, self.dim
        h = x[..., 0]
        ax = None if ab is None else torch.matmul(ab, x)
        av = torch.zeros_like(h) if ax is None else ax[..., 0]
        if bb is not None:
            av = av + bb
        qv = self._q(h)
        out = torch.empty_like(x)
        out[..., 0] = fv.drift(av, qv)
        jx = out[..., 1:]

        def coef(fn: Coef) -> Tensor | float:
            return float(fn) if isinstance(fn, float | int) else fn(av, qv).unsqueeze(-1)

        if ax is None:
            jx.zero_()
        elif self.fa_shared is not None:
            torch.mul(ax[..., 1:], coef(self.fa_shared), out=jx)
        else:
            for i, (_, fa, _) in enumerate(self.jacs):
                sl = slice(i * dim, (i + 1) * dim)
                torch.mul(ax[..., 1:][..., sl], coef(fa), out=jx[..., sl])
        if self.any_q:
            hx = (h.unsqueeze(-1) * x[..., 1:]).sum(-2, keepdim=True)  # H^T J: (M, 1, cols)
            if self.fq_cols is not None:
                jx.add_(hx * self.fq_cols)
            else:
                v2 = 2.0 * float(fv.q_variance)
                for i, (_, _, fq) in enumerate(self.jacs):
                    if fq is not None:
                        sl = slice(i * dim, (i + 1) * dim)
                        jx[..., sl].add_(v2 * coef(fq) * hx[..., sl])
        return out

    def advance(self, dws: Tensor | None, n_steps: int) -> None:
        """``n_steps`` fine steps; ``dws``: ``(n_steps, M, d, d)`` increments (SDE) or None."""
        fv, dt = self.fv, self.dt
        if fv.is_sde and dws is None:
            raise ValueError("an SDE first variation needs the fine increments dws")
        times = (self.j + torch.arange(n_steps + 1, dtype=torch.float64)) * dt
        ab_all, bb_all = self._abar(times)
        for r in range(n_steps):
            ab = None if ab_all is None else ab_all[r]
            bb = None if bb_all is None else bb_all[r]
            k1 = self._rhs(self.x, ab, bb)
            if fv.is_sde:
                assert dws is not None and fv.noise_row is not None
                y = self.x
                if fv.noise_col is not None and fv.noise_col_prime is not None:
                    h = self.x[..., 0]
                    y = torch.empty_like(self.x)
                    y[..., 0] = fv.noise_col(h)
                    y[..., 1:] = fv.noise_col_prime(h).unsqueeze(-1) * self.x[..., 1:]
                new_x = torch.baddbmm(torch.add(self.x, k1, alpha=dt), dws[r], y,
                                      alpha=fv.noise_row)
            else:  # Heun
                ab2 = None if ab_all is None else ab_all[r + 1]
                bb2 = None if bb_all is None else bb_all[r + 1]
                k2 = self._rhs(self.x + dt * k1, ab2, bb2)
                new_x = self.x + (0.5 * dt) * (k1 + k2)
            self.x = new_x
            self.j += 1
            if self.j % self.per_coarse == 0:  # overflow is checked on the coarse grid
                self.peak = torch.maximum(self.peak, new_x[..., 0].abs().amax(-1))
                self.coarse_x.append(self.x.clone())
                if self.j < self.n_fine:
                    self.coarse_a.append(self._a_at(self.j / self.n_fine, self.x[..., 0]))

    def finish(self) -> LimitGradients:
        if self.j != self.n_fine:
            raise RuntimeError(f"limit advanced {self.j} of {self.n_fine} fine steps")
        xs = torch.stack(self.coarse_x)  # (l_min + 1, M, d, cols)
        hs = xs[..., 0]
        avs = torch.stack(self.coarse_a)  # (l_min, M, d)
        g1 = self.grad_l(hs[-1])
        wd = self.fv.weight_density(avs, self._q(hs[:-1]))
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
    _, grad_l = _loss_fns(loss, x0.shape[-1], x0.dtype, x0.device)
    solver = _LimitSolver(limit, x0, a_path=a_path, b_path=b_path, n_fine=n_steps,
                          l_min=coarse, grad_l=grad_l, overflow_threshold=overflow_threshold)
    solver.advance(increments, n_steps)
    return solver.finish()


# --------------------------------------------------------------------------- ladder
def _chunk_len(n_fine: int, chunk_steps: int) -> int:
    c = 1
    while c < chunk_steps and n_fine % (2 * c) == 0:
        c *= 2
    return c


def _resolve_x0(x0: InputLaw | Tensor, n_samples: int, width: int, seed: int) -> Tensor:
    if isinstance(x0, Tensor):
        x = x0.detach().to(device="cpu", dtype=torch.float64)
        if x.ndim == 1:
            x = x.expand(n_samples, x.shape[0]).clone()
        if x.shape != (n_samples, width):
            raise ValueError(f"x0 has shape {tuple(x0.shape)}; expected (d,) or "
                             f"(n_samples={n_samples}, width={width})")
        return x
    if isinstance(x0, InputLaw):
        return x0.sample(n_samples, width, make_generator(seed, "x0"))
    raise TypeError(f"x0={x0!r} must be a Tensor (d,) / (M, d) or an InputLaw")


def _check_weights(weights: Mapping[str, WeightLaw]) -> None:
    names = set(weights)
    if "A" not in names or names - {"A", "b"}:
        raise ValueError(f"weights={sorted(names)}: block I gradients need 'A' and optionally "
                         "'b' (blocks O and S are not supported)")
    for nm, law in weights.items():
        if law.rough is not None and not isinstance(law.rough, Brownian):
            raise ValueError(f"weights[{nm!r}].rough={law.rough!r}: only Brownian rough parts "
                             "have a strong first-variation limit here")
    if weights.get("b") is not None and weights["b"].rough is not None:
        raise ValueError("weights['b'] with a rough part is not supported (no limit noise term)")


def _mean_se(vals: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    means, ses = [], []
    for row, ok in zip(vals, valid, strict=True):
        v = row[ok]
        means.append(float(v.mean()) if v.size else math.nan)
        ses.append(float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan)
    return np.array(means), np.array(ses)


def _ro(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, copy=True)
    out.flags.writeable = False
    return out


def coupled_weights(
    weights: Mapping[str, WeightLaw],
    depths: Sequence[int],
    *,
    width: int,
    n_samples: int,
    seed: int,
    refine: int = 0,
    dtype: torch.dtype | str = torch.float64,
    draw_dtype: torch.dtype | str = torch.float32,
    device: str | torch.device | None = "cpu",
    chunk_steps: int | None = None,
    on_fine: Callable[[Mapping[str, SmoothPath]], Callable[[Tensor | None, int], None]]
    | None = None,
) -> dict[int, tuple[Tensor, Tensor | None]]:
    """The block I weights ``(A, b)`` of every depth, ``A``: ``(L, M, d, d)``, ``b``:
    ``(L, M, d)`` or None, in one pass over the fine path (``N = max(depths) 2^refine``).

    Bit for bit the numbers of :func:`numerics.ladder.weights_at_depth` (same streams: the
    ``BrownianPath`` keyed ``"A"``, the dyadic tree of pairwise sums, the smooth paths keyed
    ``("smooth", name)``), so all depths share one path. ``on_fine(smooth)`` is called once
    with the sampled smooth paths and returns a consumer called with every chunk of fine
    increments ``(c, M, d, d)`` (None without a rough part) and its length: the hook through
    which a limit solver walks the same path in the same pass.
    """
    _check_weights(weights)
    ladder, n_fine = validate_depths(depths, refine)
    dtype = resolve_dtype(dtype)
    draw_dtype = resolve_dtype(draw_dtype, "draw_dtype")
    dev = resolve_device(device)
    m = int(n_samples)
    law_a, law_b = weights["A"], weights.get("b")
    smooth: dict[str, SmoothPath] = {}
    for nm, law in sorted(weights.items()):
        if law.smooth is not None:
            shape = (width,) if nm == "b" else (width, width)
            smooth[nm] = coupled_smooth_path(law, nm, seed=seed, n_samples=m, shape=shape,
                                             width=width, dtype=dtype, device=dev)
    consume = on_fine(smooth) if on_fine is not None else None
    levels = [int(math.log2(n_fine // dd)) for dd in ladder]
    incs: dict[int, list[Tensor]] = {dd: [] for dd in ladder}
    if law_a.rough is not None:
        rough = law_a.rough
        assert isinstance(rough, Brownian)
        path = BrownianPath(n_samples=m, shape=(width, width), n_steps=n_fine,
                            variance=1.0 / width if rough.variance is None else rough.variance,
                            seed=seed, key="A", dtype=dtype, draw_dtype=draw_dtype, device=dev)
        splitter = DyadicSplitter(max(levels))
        chunk = _chunk_len(n_fine, chunk_steps or auto_chunk_steps(m, width * width))
        for ch in path.chunks(chunk):
            parts = splitter.split(ch)
            for dd, lev in zip(ladder, levels, strict=True):
                if parts[lev].shape[0]:
                    incs[dd].append(parts[lev].clone())
            if consume is not None:
                consume(parts[0], ch.shape[0])
    elif consume is not None:
        consume(None, n_fine)
    out: dict[int, tuple[Tensor, Tensor | None]] = {}
    for dd in ladder:
        amat = torch.zeros((dd, m, width, width), dtype=dtype, device=dev)
        if law_a.rough is not None:
            amat = amat + law_a.rough_scale(dd) * torch.cat(incs.pop(dd), dim=0)
        times = torch.arange(dd, dtype=torch.float64, device=dev) / dd
        if law_a.smooth is not None:
            amat = amat + law_a.smooth_scale(dd) * smooth["A"].values(times)
        bvec = None
        if law_b is not None:
            bvec = torch.zeros((dd, m, width), dtype=dtype, device=dev)
            bvec = bvec + law_b.smooth_scale(dd) * smooth["b"].values(times)
        out[dd] = (amat, bvec)
    return out


def gradient_table(
    sigma: Fn1,
    *,
    alpha: float,
    weights: Mapping[str, WeightLaw],
    limit: FirstVariation,
    x0: InputLaw | Tensor,
    depths: Sequence[int],
    n_samples: int,
    seed: int,
    width: int,
    weight_exponent: float | None = None,
    weight_exponents: Mapping[str, float] | None = None,
    loss: LossSpec = "square",
    refine: int | None = None,
    device: str | torch.device | None = "cpu",
    dtype: torch.dtype | str = torch.float64,
    draw_dtype: torch.dtype | str = torch.float32,
    overflow_threshold: float = 1e8,
    chunk_steps: int | None = None,
) -> ErrorTable:
    """Network gradients at every depth and their limits on one coupled path: the errors.

    Args:
        sigma, alpha, weights: the block I ResNet (``weights`` = {"A": law, "b": law?}, as
            :func:`numerics.ladder.run_ladder`).
        limit: the backward limit's coefficients (:func:`gradient_inputs` builds them).
        weight_exponent: ``e`` in ``L^e dl/dA_k`` (default ``alpha``).
        weight_exponents: extra exponents name -> e, each giving a ``"grad-weight:<name>"``
            column (controls of the scaling).
        loss: ``"square"`` or a vector c (``c^T h``).
        refine: fine grid = max depth * 2**refine (default 4 for SDE limits, 1 for ODEs).
        Others as :func:`numerics.ladder.run_ladder`.

    Returns an :class:`numerics.metrics.ErrorTable` with the columns of the module docstring
    (per-sample values ``(n_depths, M)``; NaN where the network or the limit overflowed).
    """
    t_start = time.perf_counter()
    _check_weights(weights)
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width={width!r} must be a positive int")
    if n_samples < 2:
        raise ValueError(f"n_samples={n_samples} must be >= 2 (errors are bootstrapped)")
    if refine is None:
        refine = 4 if limit.is_sde else 1
    ladder, n_fine = validate_depths(depths, refine)
    dtype = resolve_dtype(dtype)
    draw_dtype = resolve_dtype(draw_dtype, "draw_dtype")
    dev = resolve_device(device)
    e_main = float(alpha if weight_exponent is None else weight_exponent)
    extra = dict(weight_exponents or {})
    for name in extra:
        if not name or ":" in name or name in limit.variants:
            raise ValueError(f"weight_exponents name {name!r} must be non-empty, without ':', "
                             "and differ from the variant names")
    m, l_min = int(n_samples), ladder[0]
    x0_t = _resolve_x0(x0, m, width, seed).to(device=dev, dtype=dtype)

    if limit.is_sde and weights["A"].rough is None:
        raise ValueError("limit is an SDE (noise_row set) but weights['A'] has no rough part")
    _, grad_l = _loss_fns(loss, width, dtype, dev)
    holder: list[_LimitSolver] = []

    def start(smooth: Mapping[str, SmoothPath]) -> Callable[[Tensor | None, int], None]:
        solver = _LimitSolver(limit, x0_t, a_path=smooth.get("A"), b_path=smooth.get("b"),
                              n_fine=n_fine, l_min=l_min, grad_l=grad_l,
                              overflow_threshold=overflow_threshold)
        holder.append(solver)
        return lambda dws, n: solver.advance(dws if limit.is_sde else None, n)

    per_depth = coupled_weights(weights, ladder, width=width, n_samples=m, seed=seed,
                                refine=refine, dtype=dtype, draw_dtype=draw_dtype, device=dev,
                                chunk_steps=chunk_steps, on_fine=start)
    lim = holder[0].finish()

    names = ["grad-input", "grad-weight"]
    names += [f"grad-{q}:{v}" for v in limit.variants for q in ("input", "weight")]
    names += [f"grad-weight:{n}" for n in extra]
    nd = len(ladder)
    samples = {n: np.full((nd, m), np.nan) for n in names}
    overflow = np.zeros((nd, m), dtype=bool)
    for i, dd in enumerate(ladder):
        amat, bvec = per_depth.pop(dd)
        layers = [k * (dd // l_min) for k in range(l_min)]
        h_l, p0, ga = network_gradients(sigma, amat, x0_t, alpha=alpha, b=bvec, loss=loss,
                                        layers=layers)
        over = ~(h_l.abs().amax(-1) <= overflow_threshold) | ~torch.isfinite(p0).all(-1)
        overflow[i] = over.cpu().numpy()

        def werr(g_lim: Tensor, e: float, ga: Tensor = ga, dd: int = dd) -> Tensor:
            diff = float(dd) ** e * ga - g_lim
            return diff.flatten(-2).norm(dim=-1).amax(0)

        cols = {"grad-input": (p0 - lim.P[0]).norm(dim=-1), "grad-weight": werr(lim.G, e_main)}
        for v, (pv, gv) in lim.variants.items():
            cols[f"grad-input:{v}"] = (p0 - pv[0]).norm(dim=-1)
            cols[f"grad-weight:{v}"] = werr(gv, e_main)
        for n, e in extra.items():
            cols[f"grad-weight:{n}"] = werr(lim.G, float(e))
        for n, col in cols.items():
            samples[n][i] = col.detach().cpu().numpy()
    lim_over = lim.overflow.cpu().numpy()
    valid = ~overflow & ~lim_over[None, :]
    means, ses = {}, {}
    for n in names:
        samples[n][~valid] = np.nan
        mu, se = _mean_se(samples[n], valid)
        means[n], ses[n] = _ro(mu), _ro(se)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return ErrorTable(
        depths=ladder,
        samples={n: _ro(v) for n, v in samples.items()},
        means=means,
        stderrs=ses,
        n_valid=_ro(valid.sum(axis=1).astype(np.int64)),
        overflow=_ro(overflow),
        limit_overflow=_ro(lim_over.astype(bool)),
        seed=seed,
        n_samples=m,
        width=width,
        n_fine=n_fine,
        device=str(dev),
        dtype=str(dtype).removeprefix("torch."),
        draw_dtype=str(draw_dtype).removeprefix("torch."),
        wall_time_s=time.perf_counter() - t_start,
        meta={
            "block": "I",
            "alpha": float(alpha),
            "refine": refine,
            "limit_solver": "EulerMaruyama" if limit.is_sde else "Heun",
            "loss": loss if isinstance(loss, str) else "linear",
            "weight_exponent": e_main,
            "weight_exponents": extra,
            "variants": sorted(limit.variants),
            "quantities": names,
        },
    )


# --------------------------------------------------------------------------- from theory
def _constant(expr: Any, width: int) -> float | None:
    """A sympy coefficient as a float when it is constant at ``width`` (else None)."""
    import sympy as sp

    from theory.scaling import d

    value = sp.sympify(expr).subs(d, width)
    return None if value.free_symbols else float(value)


def gradient_inputs(backward: Any, width: int, *, controls: Sequence[str] = ()) -> GradientInputs:
    """Weight laws, activation and :class:`FirstVariation` of a
    :class:`theory.backward.BackwardLimit` at ``width``, from its sympy expressions.

    ``controls``: ``"no-ito"`` adds the variant first variation without the Ito term (raises,
    through :meth:`~theory.backward.BackwardLimit.drop_ito`, when there is none). theory is
    imported here only (``import numerics`` stays free of theory).
    """
    import sympy as sp

    from numerics.from_theory import simulation_inputs
    from theory.backward import BackwardLimit
    from theory.limits import u

    if not isinstance(backward, BackwardLimit):
        raise TypeError(f"backward={backward!r} must be a theory.backward.BackwardLimit")
    base = simulation_inputs(backward.forward, width)
    v = backward.numeric("q_variance", width)

    def coefs(bl: BackwardLimit) -> tuple[Coef, Coef | None]:
        fns = bl.torch_functions(width)
        fa = _constant(bl.drift_a, width)
        fq = _constant(bl.drift_q, width) if v is not None else None
        fa_out: Coef = fns["drift_a"] if fa is None else fa
        fq_out: Coef | None = None
        if v is not None:
            fq_out = fns["drift_q"] if fq is None else (None if fq == 0.0 else fq)
        return fa_out, fq_out

    fns = backward.torch_functions(width)
    variants: dict[str, tuple[Coef, Coef | None]] = {}
    for name in controls:
        if name != "no-ito":
            raise ValueError(f"controls entry {name!r}: the only variant is 'no-ito'")
        variants[name] = coefs(backward.drop_ito())
    drift_a, drift_q = coefs(backward)
    linear_noise = backward.noise_col is not None and sp.simplify(backward.noise_col - u) == 0
    fv = FirstVariation(
        drift=fns["drift"],
        drift_a=drift_a,
        drift_q=drift_q,
        weight_density=fns["weight_density"],
        q_variance=v,
        noise_row=backward.numeric("noise_row", width),
        noise_col=None if linear_noise else fns.get("noise_col"),
        noise_col_prime=None if linear_noise else fns.get("noise_col_prime"),
        variants=variants,
    )
    e = float(backward.weight_exponent)
    return GradientInputs(sigma=base.sigma, alpha=base.alpha, weights=base.weights, limit=fv,
                          weight_exponent=e)
