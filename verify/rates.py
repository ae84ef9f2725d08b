r"""Convergence-rate fits with bootstrap intervals over common random numbers.

A depth ladder ``L_1 < L_2 < ... < L_n`` is simulated on the *same* ``M`` sample paths (common
random numbers), giving per-sample errors ``e[i, j]`` (depth ``i``, path ``j``). The statistic at
depth ``L_i`` is the absolute sample mean

.. math::

    \bar e_i = \Big| \frac{1}{M} \sum_{j=1}^{M} e_{ij} \Big| ,

(per-sample errors may be signed, e.g. the weak-error contributions ``f(X_L) - f(X)``; for
non-negative strong errors the bars change nothing). On the fit window ``W`` the model
``\bar e_i \approx C L_i^{-p}`` is fitted by ordinary least squares in log-log coordinates,

.. math::

    \log \bar e_i = a + s \log L_i , \qquad
    s = \frac{\sum_{i \in W} (x_i - \bar x)\, \log \bar e_i}{\sum_{i \in W} (x_i - \bar x)^2},
    \quad x_i = \log L_i ,

and the **rate** is ``p = -s`` (errors fall like ``L^{-p}``). Growth metrics (``|h_L|`` that
explodes) use the same machinery and read the **slope** ``s > 0``.

Interval. The paths are the independent unit, the depths are not: resampling whole columns of
``e`` (paired bootstrap over paths) keeps the correlation across depths that common random
numbers create, which is what makes the fitted slope tight. For ``b = 1..B`` draw ``M`` path
indices with replacement, recompute every ``\bar e_i^{(b)}`` and the slope ``s^{(b)}``; the
percentile interval of ``p^{(b)} = -s^{(b)}`` at level ``confidence`` is reported, with the
bootstrap standard deviation as the standard error. Its width falls like ``1/\sqrt{M}``.

Window and round-off floor. Depths whose ``\bar e_i`` is not above ``floor`` are dropped (they
measure round-off, not the limit), the window is then taken among the remaining depths, and
both the window and the dropped depths are reported. With fewer than three usable depths the
fit is returned flagged ``usable=False`` (with the reason) rather than raised, so that a run can
still record it and the verdict can say "inconclusive" with advice.

The running-order table follows pytools' ``EOCRecorder``: for consecutive depths,

.. math::

    p_{i \to i+1} = -\frac{\log(\bar e_{i+1} / \bar e_i)}{\log(L_{i+1} / L_i)} ,

printed on failure so that a reader sees whether the window is asymptotic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from verify.rate_fit import RateFit, RunningOrder  # the result values, re-exported here

__all__ = [
    "DEFAULT_WINDOW",
    "MIN_POINTS",
    "RateFit",
    "RunningOrder",
    "fit_rate",
]

#: Number of deepest usable depths fitted when ``window`` is not given.
DEFAULT_WINDOW = 4
#: Fewest depths a fit needs to be judged (two points always lie on a line).
MIN_POINTS = 3
#: Bootstrap work per chunk, in path indices (bounds memory for large ``M * n_boot``).
_CHUNK_ELEMENTS = 1 << 22


def _check_inputs(depths: ArrayLike, errors: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(depths)
    if d.ndim != 1 or d.size < 2:
        raise ValueError(
            f"depths must be a 1-d ladder of at least 2 depths, got shape={d.shape}; "
            "pass e.g. depths=(16, 32, 64, 128)"
        )
    if not np.issubdtype(d.dtype, np.number) or not np.all(np.isfinite(d)):
        raise ValueError(f"depths={d.tolist()} must be finite numbers")
    if np.any(d != np.round(d)) or np.any(d < 1):
        raise ValueError(f"depths={d.tolist()} must be positive integers")
    if np.any(np.diff(d) <= 0):
        raise ValueError(f"depths={d.tolist()} must be strictly increasing; sort the ladder")
    e = np.asarray(errors, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] != d.size:
        raise ValueError(
            f"errors.shape={e.shape} must be (n_depths, M)=({d.size}, M): one row per depth, "
            "one column per common sample path"
        )
    if e.shape[1] < 2:
        raise ValueError(
            f"errors.shape={e.shape} has M={e.shape[1]} sample paths; the bootstrap needs M >= 2 "
            "(use the profile's n_samples)"
        )
    if not np.all(np.isfinite(e)):
        bad = sorted({int(d[i]) for i in np.nonzero(~np.isfinite(e).all(axis=1))[0]})
        raise ValueError(
            f"errors contain NaN or inf at depths={bad}; an overflow is a growth verdict "
            "(judge_growth(..., overflow=True)), not a rate fit"
        )
    return d.astype(np.int64), e


def _select_window(
    depths: np.ndarray, keep: np.ndarray, window: int | tuple[float, float] | None
) -> np.ndarray:
    """Boolean mask of fitted depths among those kept above the floor."""
    if window is None:
        window = DEFAULT_WINDOW
    if isinstance(window, bool):
        raise TypeError(f"window={window!r} must be an int count or a (lo, hi) depth pair")
    if isinstance(window, int | np.integer):
        count = int(window)
        if count < 2:
            raise ValueError(f"window={count} must count at least 2 depths (3+ to be usable)")
        idx = np.nonzero(keep)[0][-count:]
        mask = np.zeros_like(keep)
        mask[idx] = True
        return mask
    try:
        lo, hi = (float(w) for w in window)
    except (TypeError, ValueError):
        raise TypeError(
            f"window={window!r} must be an int count of deepest depths or a (lo, hi) pair of "
            "depth bounds"
        ) from None
    if not lo <= hi:
        raise ValueError(f"window={window!r} needs lo <= hi")
    return keep & (depths >= lo) & (depths <= hi)


def _slopes(x: np.ndarray, logm: np.ndarray) -> np.ndarray:
    """OLS slopes of the columns of ``logm`` (n_w, k) against ``x`` (n_w,)."""
    xc = x - x.mean()
    return (xc @ logm) / (xc @ xc)


def _group_members(groups: ArrayLike | None, m: int) -> np.ndarray | None:
    """The columns of each group, ``(G, n)``: ``groups`` labels the M columns, every group the
    same size n (e.g. n training seeds on each of G data sets); None: no outer level."""
    if groups is None:
        return None
    g = np.asarray(groups)
    if g.shape != (m,):
        raise ValueError(f"groups has shape {g.shape}; give one label per sample column ({m})")
    labels, sizes = np.unique(g, return_counts=True)
    if len(labels) < 2 or len(set(sizes.tolist())) != 1:
        raise ValueError(f"groups must have >= 2 labels of equal size; got sizes "
                         f"{dict(zip(labels.tolist(), sizes.tolist(), strict=True))}")
    return np.stack([np.flatnonzero(g == lab) for lab in labels])


def _bootstrap_rates(
    x: np.ndarray, e_w: np.ndarray, n_boot: int, rng: np.random.Generator,
    members: np.ndarray | None = None,
) -> np.ndarray:
    """Rates of ``n_boot`` paired resamples of the columns of ``e_w`` (n_w, M); NaN if invalid.

    With ``members`` (G, n) the resample has two levels: G groups drawn with replacement, then
    n columns within each drawn group (the hierarchical bootstrap of nested samples).
    Vectorised: per chunk an index matrix (k, M) is turned into resample counts (k, M) and the
    per-depth means are one matrix product ``e_w @ counts.T / M``.
    """
    n_w, m = e_w.shape
    chunk = max(1, _CHUNK_ELEMENTS // m)
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        k = min(chunk, n_boot - start)
        if members is None:
            idx = rng.integers(0, m, size=(k, m))
        else:
            n_groups, per = members.shape
            chosen = rng.integers(0, n_groups, size=(k, n_groups))
            within = rng.integers(0, per, size=(k, n_groups, per))
            idx = members[chosen[..., None], within].reshape(k, m)
        flat = idx + (np.arange(k) * m)[:, None]
        counts = np.bincount(flat.ravel(), minlength=k * m).reshape(k, m)
        means = np.abs(e_w @ counts.T.astype(np.float64)) / m
        with np.errstate(divide="ignore", invalid="ignore"):
            logm = np.log(means)
        slopes = _slopes(x, logm)
        slopes[~np.isfinite(slopes)] = np.nan
        out[start : start + k] = -slopes
    return out


def _running_orders(
    depths: np.ndarray, means: np.ndarray, in_window: np.ndarray, below: np.ndarray
) -> tuple[RunningOrder, ...]:
    rows = []
    for i in range(depths.size - 1):
        e0, e1 = float(means[i]), float(means[i + 1])
        if e0 > 0 and e1 > 0:
            order = -math.log(e1 / e0) / math.log(depths[i + 1] / depths[i])
        else:
            order = float("nan")
        rows.append(
            RunningOrder(
                depth_lo=int(depths[i]),
                depth_hi=int(depths[i + 1]),
                error_lo=e0,
                error_hi=e1,
                order=order,
                in_window=bool(in_window[i] and in_window[i + 1]),
                below_floor=bool(below[i] or below[i + 1]),
            )
        )
    return tuple(rows)


def fit_rate(
    depths: Sequence[int] | ArrayLike,
    errors: ArrayLike,
    *,
    window: int | tuple[float, float] | None = None,
    floor: float = 0.0,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    groups: ArrayLike | None = None,
) -> RateFit:
    """Fit ``mean error ~ C L^{-rate}`` on a depth window with a paired-bootstrap interval.

    Parameters
    ----------
    depths:
        Strictly increasing positive integer depths ``L_1 < ... < L_n``.
    errors:
        Array ``(n_depths, M)`` of per-sample errors on common random numbers: column ``j`` is
        the same sample path at every depth.
    window:
        ``None`` (the deepest :data:`DEFAULT_WINDOW` usable depths), an ``int`` count of deepest
        usable depths, or a ``(lo, hi)`` pair of inclusive depth bounds.
    floor:
        Round-off floor: depths with ``|mean error| <= floor`` are dropped and reported.
    n_boot:
        Number of bootstrap resamples of the ``M`` paths.
    confidence:
        Level of the percentile interval, in ``(0, 1)``.
    seed:
        Seed of the ``numpy.random.Generator`` drawing the resamples.
    groups:
        Optional label per column, equal group sizes: the columns are nested in independent
        groups (training seeds within data sets) and the bootstrap resamples groups, then
        columns within each (two levels); None: the columns are independent.

    Returns
    -------
    RateFit
        ``usable=False`` (with ``reason``) when fewer than :data:`MIN_POINTS` depths remain.

    Examples
    --------
    >>> import numpy as np
    >>> L = np.array([16, 32, 64, 128])
    >>> rng = np.random.default_rng(1)
    >>> e = 3.0 * L[:, None] ** -1.0 * rng.lognormal(0.0, 0.3, size=(4, 256))
    >>> fit = fit_rate(L, e, seed=1)
    >>> fit.ci_low < 1.0 < fit.ci_high
    True
    """
    d, e = _check_inputs(depths, errors)
    members = _group_members(groups, e.shape[1])
    if not (isinstance(n_boot, int | np.integer) and n_boot >= 100):
        raise ValueError(f"n_boot={n_boot!r} must be an int >= 100 (2000 is a good default)")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence!r} must lie in (0, 1), e.g. 0.95")
    if not (math.isfinite(floor) and floor >= 0.0):
        raise ValueError(f"floor={floor!r} must be a finite non-negative round-off level")

    m = e.shape[1]
    means = np.abs(e.mean(axis=1))
    mean_se = e.std(axis=1, ddof=1) / math.sqrt(m)
    keep = means > floor
    dropped = tuple(int(x) for x in d[~keep])
    in_window = _select_window(d, keep, window)
    win = tuple(int(x) for x in d[in_window])
    orders = _running_orders(d, means, in_window, ~keep)

    nan = float("nan")
    usable, reason = True, ""
    slope = intercept = nan
    boot = np.full(n_boot, nan)
    if len(win) >= 2:
        x = np.log(d[in_window].astype(np.float64))
        y = np.log(means[in_window])
        slope = float(_slopes(x, y[:, None])[0])
        intercept = float(y.mean() - slope * x.mean())
        boot = _bootstrap_rates(x, e[in_window], int(n_boot), np.random.default_rng(seed),
                                members)
    if len(win) < MIN_POINTS:
        usable = False
        reason = (
            f"only {len(win)} depth(s) {list(win)} above floor={floor:g} in window={window!r}; "
            f"need >= {MIN_POINTS}: add depths, lower the floor (float64) or widen the window"
        )
    valid = boot[np.isfinite(boot)]
    n_valid = int(valid.size)
    if n_valid >= 2:
        alpha = 1.0 - confidence
        ci_low, ci_high = (float(q) for q in np.quantile(valid, [alpha / 2, 1 - alpha / 2]))
        stderr = float(valid.std(ddof=1))
    else:
        ci_low = ci_high = stderr = nan
    if usable and n_valid < 0.99 * n_boot:
        usable = False
        reason = (
            f"{n_boot - n_valid} of {n_boot} bootstrap resamples had a zero mean error in the "
            "window (signed errors cancelling or too few paths); raise M or move the window"
        )

    return RateFit(
        slope=slope,
        rate=-slope,
        intercept=intercept,
        ci_low=ci_low,
        ci_high=ci_high,
        stderr=stderr,
        confidence=float(confidence),
        depths=tuple(int(x) for x in d),
        mean_errors=tuple(float(x) for x in means),
        mean_stderrs=tuple(float(x) for x in mean_se),
        window=win,
        dropped=dropped,
        floor=float(floor),
        n_samples=int(m),
        n_boot=int(n_boot),
        n_boot_valid=n_valid,
        seed=int(seed),
        orders=orders,
        usable=usable,
        reason=reason,
    )
