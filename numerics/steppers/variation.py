r"""The first variation of a block I limit as a stepper: :math:`H`, :math:`J` and its variants.

For the limit :math:`dH = f(a, q)\,dt\;[+\,g\,dM_t\,c(H)]` (:mod:`theory.backward`), with
:math:`a = \bar A(t) H + \bar b(t)` and :math:`q = v|H|^2`, the first variation
:math:`J_t = \partial H_t / \partial h_0` (:math:`J_0 = I`) solves

.. math::

    dJ = D_h f\,J\,dt \;[+\, g\,dM_t\,(c'(H) \odot J)], \qquad
    D_h f = \mathrm{diag}(f_a)\,\bar A(t) + f_q\,2v\,\mathbf 1 H^\top .

The state is packed as one tensor :math:`X = [H \,|\, J \,|\, J_{v_1} \,|\, \dots]` of shape
``(M, d, 1 + n_J d)`` (the variants are other Jacobians on the same :math:`H`, e.g. without the
Ito term: controls), so a step costs three batched products (:math:`\bar A X`, :math:`H^\top X`,
:math:`dM\,X`) whatever the number of variants. Scheme: Euler-Maruyama for an SDE (strong
order 1/2) on the fine increments of ``M`` (the path of weight ``A``), Heun for an ODE
(order 2), on the fine grid (level 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor

from numerics._util import matvec
from numerics.smooth import SmoothPath
from numerics.steppers.base import Stepper

__all__ = ["Coef", "FirstVariation", "FirstVariationStepper"]

Fn2 = Callable[[Tensor, Tensor], Tensor]
Fn1 = Callable[[Tensor], Tensor]


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


class FirstVariationStepper(Stepper):
    """The packed state ``[H | J | J_v ...]`` of ``fv`` on ``n_fine`` steps; ``a_path`` /
    ``b_path``: the smooth ``Abar`` / ``bbar`` (None: absent); ``source``: the driver key of
    ``M`` (SDE limits)."""

    def __init__(self, fv: FirstVariation, *, a_path: SmoothPath | None,
                 b_path: SmoothPath | None, n_fine: int, source: str | None = "A") -> None:
        self.fv, self.a_path, self.b_path = fv, a_path, b_path
        self.level, self.n_steps = 0, n_fine
        self.source = source if fv.is_sde else None
        self.sources = () if self.source is None else (self.source,)
        self.order = math.nan if fv.is_sde else 2.0
        self.strong_order = 0.5 if fv.is_sde else 2.0
        self.weak_order = 1.0 if fv.is_sde else 2.0
        self.jacs: list[tuple[str, Coef, Coef | None]] = [("", fv.drift_a, fv.drift_q)]
        self.jacs += [(k, fa, fq) for k, (fa, fq) in fv.variants.items()]
        fas = [fa for _, fa, _ in self.jacs]
        self.fa_shared = fas[0] if all(fa is fas[0] or fa == fas[0] for fa in fas) else None
        fqs = [fq for _, _, fq in self.jacs]
        self.any_q = any(fq is not None for fq in fqs) and fv.q_variance is not None
        self._fq_scale = None
        if self.any_q and all(fq is None or isinstance(fq, float | int) for fq in fqs):
            self._fq_scale = [2.0 * float(fv.q_variance) * float(fq or 0.0) for fq in fqs]
        self.fq_cols: Tensor | None = None
        self.dim = 0
        self._ab: Tensor | None = None
        self._bb: Tensor | None = None
        self._k0 = 0

    def init(self, x0: Tensor) -> Tensor:
        m, dim = x0.shape
        self.dim = dim
        if self._fq_scale is not None:
            self.fq_cols = torch.tensor(self._fq_scale, dtype=x0.dtype, device=x0.device
                                        ).repeat_interleave(dim)
        eye = torch.eye(dim, dtype=x0.dtype, device=x0.device).expand(m, dim, dim)
        return torch.cat([x0.unsqueeze(-1)] + [eye] * len(self.jacs), dim=-1)

    def observed(self, state: Tensor) -> Tensor:
        return state[..., 0]

    def _abar(self, times: Tensor) -> tuple[Tensor | None, Tensor | None]:
        ab = None if self.a_path is None else self.a_path.values(times)
        bb = None if self.b_path is None else self.b_path.values(times)
        return ab, bb

    def a_at(self, t: float, h: Tensor) -> Tensor:
        """a = Abar(t) H + bbar(t) (zeros without smooth parts)."""
        ab, bb = self._abar(torch.tensor([t], dtype=torch.float64))
        out = torch.zeros_like(h) if ab is None else matvec(ab[0], h)
        return out if bb is None else out + bb[0]

    def q(self, h: Tensor) -> Tensor:
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
        qv = self.q(h)
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

    def window(self, k0: int, k1: int) -> None:
        times = (k0 + torch.arange(k1 - k0 + 1, dtype=torch.float64)) * self.dt
        self._ab, self._bb = self._abar(times)
        self._k0 = k0

    def step(self, state: Tensor, k: int, dw: Mapping[str, Tensor]) -> Tensor:
        fv, dt, r = self.fv, self.dt, k - self._k0
        ab = None if self._ab is None else self._ab[r]
        bb = None if self._bb is None else self._bb[r]
        k1 = self._rhs(state, ab, bb)
        if fv.is_sde:
            if self.source is None or self.source not in dw:
                raise ValueError("an SDE first variation needs the fine increments dws")
            assert fv.noise_row is not None
            y = state
            if fv.noise_col is not None and fv.noise_col_prime is not None:
                h = state[..., 0]
                y = torch.empty_like(state)
                y[..., 0] = fv.noise_col(h)
                y[..., 1:] = fv.noise_col_prime(h).unsqueeze(-1) * state[..., 1:]
            return torch.baddbmm(torch.add(state, k1, alpha=dt), dw[self.source], y,
                                 alpha=fv.noise_row)
        ab2 = None if self._ab is None else self._ab[r + 1]
        bb2 = None if self._bb is None else self._bb[r + 1]
        k2 = self._rhs(state + dt * k1, ab2, bb2)
        return state + (0.5 * dt) * (k1 + k2)
