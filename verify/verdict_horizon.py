r"""Verdicts on per-sample values over the horizon axis: the large-time claims (THEORY.md
section 6, EGPZ), as :class:`verify.verdict.Verdict` values.

Per sample (problem) over the horizon axis:
:func:`judge_exact` (every entry ``<= tolerance``: consistent, else inconsistent),
:func:`judge_monotone` (no step against the trend beyond ``tolerance`` times the sample's
largest value), :func:`judge_bound` (no entry above its certified bound, up to relative
round-off 1e-9) and :func:`judge_decay` (the mean over problems of measured / predicted late
slope, with a bootstrap interval over problems, must contain the claimed scale within the
relative tolerance, and no problem's profiles may differ by more than ``coincide`` in log).

Every function here reads numbers only (numpy, no torch, no theory).
"""

from __future__ import annotations

import math
from typing import Any

from verify.verdict import Status, Verdict

__all__ = ["BOUND_ROUNDOFF", "judge_bound", "judge_decay", "judge_exact", "judge_monotone"]

BOUND_ROUNDOFF = 1e-9
"""Relative slack of a certified bound: the solver's optimum, not the bound, carries it."""


def _plain(status: Status, kind: str, predicted: float, tolerance: float, estimate: float,
           n: int, advice: str, summary: str = "", **statistics: float) -> Verdict:
    return Verdict(status, kind, float(predicted), float(tolerance), math.inf, float(estimate),
                   float(estimate), float(estimate), int(n), advice, summary=summary,
                   statistics={k: float(v) for k, v in statistics.items()})


def judge_exact(values: Any, *, tolerance: float, axis: Any = ()) -> Verdict:
    """An exact identity: every entry of ``values`` (axis x samples) at most ``tolerance``.
    Consistent when all are; inconsistent when one is not (a defect above round-off refutes
    an identity); inconclusive when an entry is not finite."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    n = int(v.shape[-1]) if v.ndim else 1
    if not np.isfinite(v).all():
        return _plain("inconclusive", "exact", 0.0, tolerance, float("nan"), n,
                      "non-finite defects: the objective overflowed; check the problems")
    worst = float(v.max())
    where = np.unravel_index(int(v.argmax()), v.shape)
    at = f" at {axis[where[0]]:g}" if len(axis) else ""
    if worst <= tolerance:
        return _plain("consistent", "exact", 0.0, tolerance, worst, n,
                      f"none: the largest defect {worst:.3g} is within {tolerance:g}",
                      f"max defect {worst:.3g}{at} over {n} samples", max_defect=worst)
    return _plain("inconsistent", "exact", 0.0, tolerance, worst, n,
                  f"the defect {worst:.3g}{at} (sample {where[-1]}) exceeds the round-off "
                  f"tolerance {tolerance:g}: the identity does not hold; do not widen the "
                  "tolerance", f"max defect {worst:.3g}{at} over {n} samples",
                  max_defect=worst)


def judge_monotone(values: Any, *, trend: str, tolerance: float, axis: Any = ()) -> Verdict:
    """``values`` (axis x samples) ``trend`` along the axis in every sample: a step against
    the trend larger than ``tolerance`` times the sample's largest |value| is a violation
    (inconsistent); none is consistent; a non-finite entry is inconclusive. The estimate is
    the worst relative step against the trend (negative: every step goes with it)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    n = int(v.shape[-1])
    if v.shape[0] < 2 or not np.isfinite(v).all():
        return _plain("inconclusive", "monotone", 0.0, tolerance, float("nan"), n,
                      "fewer than 2 axis points or non-finite values: no trend to judge")
    sign = 1.0 if trend == "nondecreasing" else -1.0
    scale = np.maximum(np.abs(v).max(axis=0), 1e-300)
    against = (-sign * np.diff(v, axis=0)) / scale  # > 0: a step against the trend
    worst = float(against.max())
    i, j = np.unravel_index(int(against.argmax()), against.shape)
    step = (f" between {axis[i]:g} and {axis[i + 1]:g}" if len(axis) else "")
    if worst <= tolerance:
        return _plain("consistent", "monotone", 0.0, tolerance, worst, n,
                      f"none: {trend} in every sample (worst relative step against it "
                      f"{worst:.3g} <= {tolerance:g})", f"{trend}: worst step {worst:.3g}",
                      worst_step=worst)
    return _plain("inconsistent", "monotone", 0.0, tolerance, worst, n,
                  f"sample {j} steps against {trend} by {worst:.3g} of its scale{step} (> "
                  f"{tolerance:g}): check the solver converged before doubting the claim",
                  f"{trend}: worst step {worst:.3g}", worst_step=worst)


def judge_bound(values: Any, bounds: Any, *, axis: Any = ()) -> Verdict | None:
    """None when every entry of ``values`` is at most its certified bound (up to relative
    :data:`BOUND_ROUNDOFF`); otherwise the inconsistent verdict naming the worst entry."""
    import numpy as np

    v, b = np.asarray(values, dtype=float), np.broadcast_to(np.asarray(bounds, dtype=float),
                                                              np.shape(values))
    ratio = v / np.maximum(b, 1e-300)
    worst = float(np.nanmax(ratio))
    if worst <= 1 + BOUND_ROUNDOFF:
        return None
    i, j = np.unravel_index(int(np.nanargmax(ratio)), ratio.shape)
    at = f" at {axis[i]:g}" if len(axis) else ""
    return _plain("inconsistent", "bound", 1.0, BOUND_ROUNDOFF, worst, v.shape[-1],
                  f"sample {j} is {worst:.4g} times its certified bound{at}: the certificate "
                  "is violated (a bound cannot fail by noise)", f"worst value/bound {worst:.4g}",
                  worst_ratio=worst)


def judge_decay(slopes: Any, predicted: Any, gaps: Any, *, scale: float, tolerance: float,
                coincide: float, max_width: float, n_boot: int = 2000, confidence: float = 0.95,
                seed: int = 0) -> Verdict:
    """An exponential-decay (turnpike) claim on per-sample late slopes, their predicted
    slopes (the claim's rate: the LQR one times ``scale``, applied here) and profile
    gaps.

    Inconsistent when a sample's profiles differ by more than ``coincide`` in log, or a
    sample shows no decay window (slope NaN), or the bootstrap interval over samples of the
    mean ratio measured / (scale * predicted), widened by ``tolerance``, excludes 1;
    inconclusive when a prediction is missing or the interval is wider than ``max_width``;
    consistent otherwise."""
    import numpy as np

    s = np.asarray(slopes, dtype=float).ravel()
    p = np.asarray(predicted, dtype=float).ravel()
    g = np.asarray(gaps, dtype=float).ravel()
    n = int(s.size)
    worst_gap = float(np.nanmax(g)) if g.size else float("nan")
    if not np.isfinite(g).all() or worst_gap > coincide:
        j = int(np.nanargmax(np.where(np.isfinite(g), g, np.inf)))
        return _plain("inconsistent", "decay", 1.0, tolerance, worst_gap, n,
                      f"the profiles of different horizons differ by {g[j]:.3g} in log for "
                      f"sample {j} (> {coincide:g}): E_T(t) depends on T, no turnpike",
                      f"max profile gap {worst_gap:.3g}", max_gap=worst_gap)
    if not np.isfinite(p).all() or np.any(p >= 0):
        return _plain("inconclusive", "decay", 1.0, tolerance, float("nan"), n,
                      "no decay predicted for some sample (no LQR rate): screen the problems")
    if not np.isfinite(s).all():
        j = int(np.nonzero(~np.isfinite(s))[0][0])
        return _plain("inconsistent", "decay", 1.0, tolerance, float("nan"), n,
                      f"sample {j} shows no decay window (E(t)/E(0) never falls into "
                      "[1e-10, 1e-3]): the claimed exponential decay is not seen",
                      max_gap=worst_gap)
    ratio = s / p  # measured / LQR slope, claimed: scale (relative band tolerance)
    rng = np.random.default_rng(seed)
    boot = ratio[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    alpha = 1 - confidence
    lo, hi = (float(q) for q in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
    est = float(ratio.mean())
    band = tolerance * scale
    interval = f"[{lo:.4g}, {hi:.4g}] widened by {band:g} (tolerance {tolerance:g} relative)"
    if scale < lo - band or scale > hi + band:
        status: Status = "inconsistent"
        advice = (f"measured / LQR late slope {est:.4g} in {interval} excludes {scale:g}: the "
                  f"decay is not {scale:g} x the LQR rate")
    elif hi - lo > max_width:
        status, advice = "inconclusive", (f"interval {interval} wider than {max_width:g}: "
                                          "raise the number of problems")
    else:
        status, advice = "consistent", (f"none: measured / LQR slope {est:.4g} in {interval} "
                                        f"holds {scale:g}; profiles within {worst_gap:.3g} in "
                                        "log")
    summary = (f"late slope / LQR slope = {est:.4g} (claimed {scale:g}), max profile gap "
               f"{worst_gap:.3g}")
    return Verdict(status, "decay", float(scale), float(tolerance), float(max_width), est, lo,
                   hi, n, advice, summary=summary,
                   statistics={"max_gap": worst_gap, "coincide": float(coincide)})
