r"""Statistics of trained weights per (depth, seed), in float64 (THEORY.md section 5 [CCRX21]).

Weights ``X`` are ``(n_depths, n_seeds, L_max, *event)`` (event ``(d, d)`` for ``A``, ``(d,)``
for ``b``, ``()`` for delta), depth ``L`` using layers ``k < L`` (the rest is padding, ignored
here whatever it holds). With :math:`|\cdot|` the Frobenius norm:

* max norm :math:`\max_k |X_k|` (:math:`\sim L^{-\beta}`); root sum of squares
  :math:`(\sum_k |X_k|^2)^{1/2}`; RMS :math:`(\frac1L\sum_k |X_k|^2)^{1/2}` (the outlier-robust
  companion of the max norm, THEORY.md pitfalls);
* increments :math:`\max_{k<L-1} |X_{k+1} - X_k|`; quadratic variation
  :math:`QV = \sum_{k<L-1} |X_{k+1} - X_k|^2`;
* cumulative sums :math:`W_j = \sum_{k<j} X_k`, :math:`j = 0..L` (and :math:`\max_j |W_j|`);
* roughness index :math:`R_L = QV / \sum_k |X_k|^2` [derived]: scale-free,
  :math:`\sim L^{-2}` for a Lipschitz function of :math:`k/L`, :math:`\sim L^{-1}` for a
  Brownian path, :math:`\to 2` for i.i.d. mean-zero weights;
* the SGD balance :math:`\delta^2 - \sum_k (|A_k|^2 + |b_k|^2)` of shared delta, conserved by
  gradient flow for a block with the scaling symmetry :math:`(\delta, A, b) \to
  (c\delta, A/c, b/c)` (T2: exact for linear and ReLU activations, approximate for tanh near 0).

The weights whose scaling is measured (:func:`effective_weights`) are :math:`X_k = A_k`, or
:math:`|\delta_k| A_k` for per-layer delta. :func:`depth_exponent` is the least-squares slope of
:math:`-\log(\text{statistic})` on :math:`\log L` per seed: :math:`\beta` from the max norm of X,
:math:`\alpha` from :math:`\max|\delta|`, and :math:`\alpha + \beta` (T1) from the max norm of
the effective increments :math:`\delta_k A_k` (:func:`product_weights`). It is a point estimate
on a stated window, without an interval (intervals are verify's job); the authors round it to one
decimal, their ``Increment`` statistic multiplies by a chosen power of L first (circular), which
is not done here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from numerics.train.result import TrainedLadder

__all__ = [
    "WeightStatistics",
    "cumulative_sums",
    "depth_exponent",
    "effective_weights",
    "increment_norms",
    "ladder_columns",
    "layer_norms",
    "max_cumulative_norm",
    "max_increment",
    "max_norm",
    "product_weights",
    "quadratic_variation",
    "rms",
    "root_sum_squares",
    "roughness_index",
    "sgd_balance",
    "sum_squares",
    "weight_statistics",
]


def _check(X: Tensor, depths: Sequence[int]) -> tuple[Tensor, Tensor]:
    """``X`` as float64 and the layer mask ``(n_depths, 1, L_max)``."""
    if X.ndim < 3:
        raise ValueError(
            f"weights of shape {tuple(X.shape)}: expected (n_depths, n_seeds, L_max, ...); "
            "for one model use X[None, None]"
        )
    depths = tuple(int(L) for L in depths)
    if len(depths) != X.shape[0]:
        raise ValueError(f"{len(depths)} depths for {X.shape[0]} rows of weights; pass one "
                         "depth per row")
    if any(L < 1 or L > X.shape[2] for L in depths):
        raise ValueError(f"depths={depths} must lie in [1, L_max={X.shape[2]}]")
    mask = torch.arange(X.shape[2])[None, :] < torch.tensor(depths)[:, None]
    return X.detach().to(torch.float64), mask[:, None, :]


def layer_norms(X: Tensor, depths: Sequence[int]) -> Tensor:
    """Frobenius norms :math:`|X_k|` ``(n_depths, n_seeds, L_max)``, zero on padding."""
    X, mask = _check(X, depths)
    n = torch.linalg.vector_norm(X.reshape(*X.shape[:3], -1), dim=-1)
    return torch.where(mask, n, 0.0)


def increment_norms(X: Tensor, depths: Sequence[int]) -> Tensor:
    """:math:`|X_{k+1} - X_k|` for ``k < L-1``, ``(n_depths, n_seeds, L_max - 1)``, zero beyond."""
    X, mask = _check(X, depths)
    inc = torch.linalg.vector_norm((X[:, :, 1:] - X[:, :, :-1]).reshape(
        *X.shape[:2], X.shape[2] - 1, -1), dim=-1)
    return torch.where(mask[..., 1:], inc, 0.0)


def _np(t: Tensor) -> np.ndarray:
    return t.numpy()


def max_norm(X: Tensor, depths: Sequence[int]) -> np.ndarray:
    """:math:`\\max_k |X_k|`, ``(n_depths, n_seeds)``."""
    return _np(layer_norms(X, depths).amax(dim=-1))


def sum_squares(X: Tensor, depths: Sequence[int]) -> np.ndarray:
    """:math:`\\sum_k |X_k|^2`, ``(n_depths, n_seeds)``."""
    return _np(layer_norms(X, depths).square().sum(dim=-1))


def root_sum_squares(X: Tensor, depths: Sequence[int]) -> np.ndarray:
    """:math:`(\\sum_k |X_k|^2)^{1/2}`, ``(n_depths, n_seeds)``."""
    return np.sqrt(sum_squares(X, depths))


def rms(X: Tensor, depths: Sequence[int]) -> np.ndarray:
    """:math:`(\\frac1L \\sum_k |X_k|^2)^{1/2}`, ``(n_depths, n_seeds)``."""
    return np.sqrt(sum_squares(X, depths) / np.asarray(depths, dtype=np.float64)[:, None])


def max_increment(X: Tensor, depths: Sequence[int]) -> np.ndarray:
    """:math:`\\max_{k < L-1} |X_{k+1} - X_k|` (0 at depth 1), ``(n_depths, n_seeds)``."""
    inc = increment_norms(X, depths)
    return _np(inc.amax(dim=-1)) if inc.shape[-1] else np.zeros(inc.shape[:2])


def quadratic_variation(X: Tensor, depths: Sequence[int]) -> np.ndarray:
    """:math:`QV = \\sum_{k < L-1} |X_{k+1} - X_k|^2`, ``(n_depths, n_seeds)``."""
    return _np(increment_norms(X, depths).square().sum(dim=-1))


def roughness_index(X: Tensor, depths: Sequence[int]) -> np.ndarray:
    """:math:`R_L = QV / \\sum_k |X_k|^2` (``nan`` where every layer is zero)."""
    ssq = sum_squares(X, depths)
    qv = quadratic_variation(X, depths)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ssq > 0, qv / np.where(ssq > 0, ssq, 1.0), np.nan)


def cumulative_sums(X: Tensor, depths: Sequence[int]) -> Tensor:
    """:math:`W_j = \\sum_{k<j} X_k` for ``j = 0..L_max`` ``(n_depths, n_seeds, L_max + 1, *event)``
    in float64; beyond ``j = L`` it stays at :math:`W_L` (padding does not count)."""
    X, mask = _check(X, depths)
    m = mask.reshape(*mask.shape, *([1] * (X.ndim - 3)))
    Xm = torch.where(m, X, 0.0)
    zero = torch.zeros_like(Xm[:, :, :1])
    return torch.cat([zero, Xm.cumsum(dim=2)], dim=2)


def max_cumulative_norm(X: Tensor, depths: Sequence[int]) -> np.ndarray:
    """:math:`\\max_{j \\le L} |W_j|`, ``(n_depths, n_seeds)``."""
    W = cumulative_sums(X, depths)
    return _np(torch.linalg.vector_norm(W.reshape(*W.shape[:3], -1), dim=-1).amax(dim=-1))


def effective_weights(ladder: TrainedLadder) -> Tensor:
    """:math:`X_k`: ``A_k``, or :math:`|\\delta_k| A_k` for per-layer delta (THEORY.md 5)."""
    A = ladder.A.to(torch.float64)
    if ladder.delta_mode == "multi":
        return ladder.delta.to(torch.float64).abs()[..., None, None] * A
    return A


def product_weights(ladder: TrainedLadder) -> Tensor:
    """The effective increments :math:`|\\delta_k| A_k` (every delta mode): T1's
    :math:`L^{-(\\alpha+\\beta)}`."""
    return ladder.delta.to(torch.float64).abs()[..., None, None] * ladder.A.to(torch.float64)


def sgd_balance(ladder: TrainedLadder) -> np.ndarray:
    """:math:`\\delta^2 - \\sum_k (|A_k|^2 + |b_k|^2)` for shared delta, ``(n_depths, n_seeds)``."""
    if ladder.delta_mode != "shared":
        raise ValueError(
            f"sgd_balance needs delta='shared' (one trained scalar), this ladder has "
            f"delta={ladder.delta_mode!r}; the conservation law of T2 is about shared delta"
        )
    assert ladder.delta_param is not None
    d2 = ladder.delta_param.to(torch.float64).square().numpy()
    return d2 - sum_squares(ladder.A, ladder.depths) - sum_squares(ladder.b, ladder.depths)


def depth_exponent(depths: Sequence[int], values: np.ndarray,
                   window: tuple[int, int] | None = None) -> np.ndarray:
    """Per seed, the least-squares slope of :math:`-\\log v` on :math:`\\log L` over the depths
    in ``window = (L_lo, L_hi)`` (inclusive; all when ``None``): ``v ~ L^{-e}`` gives ``e``.

    ``values`` is ``(n_depths, n_seeds)`` (or ``(n_depths,)``); returns ``(n_seeds,)``."""
    L = np.asarray(depths, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.shape[0] != L.size:
        raise ValueError(f"values has {v.shape[0]} rows for {L.size} depths; one row per depth")
    keep = np.ones(L.size, bool) if window is None else (L >= window[0]) & (L <= window[1])
    if keep.sum() < 2:
        raise ValueError(
            f"window={window} keeps {int(keep.sum())} of depths {tuple(depths)}; a slope needs "
            "at least two depths: widen the window"
        )
    if not np.all(np.isfinite(v[keep]) & (v[keep] > 0)):
        raise ValueError("depth_exponent needs positive finite values on the window; got "
                         f"{v[keep].ravel()[:6]}...")
    x = np.log(L[keep])
    y = -np.log(v[keep])
    xc = x - x.mean()
    return (xc[:, None] * (y - y.mean(axis=0))).sum(axis=0) / (xc**2).sum()


@dataclass(frozen=True)
class WeightStatistics:
    """Every statistic of :func:`weight_statistics`, ``(n_depths, n_seeds)`` float64 each."""

    depths: tuple[int, ...]
    seeds: tuple[int, ...]
    max_norm: np.ndarray
    root_sum_squares: np.ndarray
    rms: np.ndarray
    max_increment: np.ndarray
    quadratic_variation: np.ndarray
    roughness_index: np.ndarray
    max_cumulative_norm: np.ndarray
    max_delta: np.ndarray
    max_product: np.ndarray
    final_loss: np.ndarray

    def exponents(self, window: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
        """``beta`` (max norm), ``beta_rms``, ``alpha`` (max |delta|), ``alpha+beta``
        (max |delta_k A_k|), per seed, on ``window``. Constant delta (frozen/none) gives
        ``alpha = 1`` / ``0`` exactly."""
        e = {
            "beta": depth_exponent(self.depths, self.max_norm, window),
            "beta_rms": depth_exponent(self.depths, self.rms, window),
            "alpha": depth_exponent(self.depths, self.max_delta, window),
            "alpha+beta": depth_exponent(self.depths, self.max_product, window),
        }
        return e


def weight_statistics(ladder: TrainedLadder) -> WeightStatistics:
    """The statistics of THEORY.md section 5 on ``X = effective_weights(ladder)``."""
    X, L = effective_weights(ladder), ladder.depths
    final = (ladder.losses[-1].to(torch.float64).numpy() if ladder.steps
             else np.full((len(L), len(ladder.seeds)), np.nan))
    return WeightStatistics(
        depths=L,
        seeds=ladder.seeds,
        max_norm=max_norm(X, L),
        root_sum_squares=root_sum_squares(X, L),
        rms=rms(X, L),
        max_increment=max_increment(X, L),
        quadratic_variation=quadratic_variation(X, L),
        roughness_index=roughness_index(X, L),
        max_cumulative_norm=max_cumulative_norm(X, L),
        max_delta=max_norm(ladder.delta, L),
        max_product=max_norm(product_weights(ladder), L),
        final_loss=final,
    )


def ladder_columns(stats: WeightStatistics) -> dict[str, np.ndarray]:
    """The claim quantities of :mod:`theory.training`, each ``(n_depths, n_seeds)``: the
    seeds are the samples (the independent unit of the paired bootstrap over depths)."""
    return {"weight-max": stats.max_norm, "weight-rms": stats.rms,
            "delta-max": stats.max_delta, "increment-max": stats.max_product,
            "roughness": stats.roughness_index}
