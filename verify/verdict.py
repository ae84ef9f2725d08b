r"""Three-valued verdicts on fitted rates: consistent, inconsistent, inconclusive.

Given a :class:`~verify.rates.RateFit` with rate interval ``[l, h]`` (width ``w = h - l``), a
predicted rate ``p``, a declared model tolerance ``tau >= 0`` (pre-asymptotic terms) and a
largest acceptable width ``w_max``:

``sharp`` (the rate *is* ``p``)
    inconsistent  if ``p`` is outside ``[l - tau, h + tau]`` (however wide the interval: an
    interval that excludes ``p`` is evidence against the claim);
    inconclusive  else if ``w > w_max`` (the data cannot tell);
    consistent    otherwise.
``at_least`` (the rate is ``>= p``)
    inconsistent  if ``h + tau < p``; inconclusive else if ``w > w_max``; consistent otherwise.
``at_most`` (the rate is ``<= p``; with ``p = 0`` this is "no convergence")
    inconsistent  if ``l - tau > p``; inconclusive else if ``w > w_max``; consistent otherwise.

A fit flagged unusable (fewer than three depths above the round-off floor, failed bootstrap)
is always inconclusive. Growth claims (:func:`judge_growth`) read the *slope* interval
``[s_l, s_h] = [-h, -l]`` of ``log|h_L|`` against ``log L``: consistent if an overflow was
flagged or ``s_l > s_min`` (significant growth), inconsistent if ``s_h < s_min + tau``
(growth at least ``tau`` ruled out), inconclusive otherwise.

Large-time claims (exact, monotone, bound, decay) are judged in
:mod:`verify.verdict_horizon`.

Inconclusive is never a pass: :attr:`Verdict.passed` is true only for "consistent". Each verdict
carries advice; for a too-wide interval it sizes the sample count from the measured width,
using that the width falls like ``1/sqrt(M)``: ``M_needed = ceil(M (w / w_max)^2)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from verify.rates import RateFit

__all__ = [
    "DEFAULT_MAX_WIDTH",
    "DEFAULT_TOLERANCE",
    "KINDS",
    "STATUSES",
    "Verdict",
    "judge",
    "judge_diverged",
    "judge_growth",
    "judge_law",
    "judge_no_convergence",
]

Status = Literal["consistent", "inconsistent", "inconclusive"]
Kind = Literal["sharp", "at_least", "at_most"]

STATUSES: tuple[str, ...] = ("consistent", "inconsistent", "inconclusive")
#: Kinds accepted by :func:`judge`; :func:`judge_growth` produces kind ``"growth"``.
KINDS: tuple[str, ...] = ("sharp", "at_least", "at_most")
DEFAULT_TOLERANCE = 0.1
DEFAULT_MAX_WIDTH = 0.5


def _num(x: float) -> float | str | None:
    """JSON-safe float: NaN -> ``None``, infinities -> ``"inf"``/``"-inf"`` (read by float)."""
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


def _unnum(x: Any) -> float:
    return float("nan") if x is None else float(x)


@dataclass(frozen=True)
class Verdict:
    """The judgement of one fitted rate against one claim.

    ``estimate``, ``ci_low`` and ``ci_high`` are the rate and its interval for kinds ``sharp``,
    ``at_least`` and ``at_most``, and the *slope* and its interval for kind ``growth``.
    ``predicted`` is the claimed rate (the smallest slope that counts as growth for ``growth``).
    ``summary`` is the fit's one-line summary and ``table`` its running-order table (empty when
    there was no fit), so that a failure message is self-contained.
    """

    status: Status
    kind: str
    predicted: float
    tolerance: float
    max_width: float
    estimate: float
    ci_low: float
    ci_high: float
    n_samples: int
    advice: str
    summary: str = ""
    table: str = ""
    overflow: bool = False
    statistics: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status={self.status!r} must be one of {STATUSES}")

    @property
    def passed(self) -> bool:
        """True only for "consistent": inconclusive is never a pass."""
        return self.status == "consistent"

    @property
    def width(self) -> float:
        """Width of the interval that was judged."""
        return self.ci_high - self.ci_low

    def message(self) -> str:
        """Multi-line failure message: status, claim, advice and the running-order table."""
        head = (
            f"{self.status.upper()}: {self.kind} claim {self.predicted:g} "
            f"(tolerance {self.tolerance:g}) vs estimate {self.estimate:.4g} "
            f"in [{self.ci_low:.4g}, {self.ci_high:.4g}]"
        )
        parts = [head, f"advice: {self.advice}"]
        if self.table:
            parts.append(self.table)
        elif self.summary:
            parts.append(self.summary)
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.message()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes ``None``, infinities the strings ``"inf"``/``"-inf"``)."""
        d = asdict(self)
        for key in ("predicted", "tolerance", "max_width", "estimate", "ci_low", "ci_high"):
            d[key] = _num(d[key])
        d["passed"] = self.passed
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Inverse of :meth:`to_dict` (the derived ``passed`` key is ignored)."""
        return cls(
            status=data["status"],
            kind=str(data["kind"]),
            predicted=_unnum(data["predicted"]),
            tolerance=_unnum(data["tolerance"]),
            max_width=_unnum(data["max_width"]),
            estimate=_unnum(data["estimate"]),
            ci_low=_unnum(data["ci_low"]),
            ci_high=_unnum(data["ci_high"]),
            n_samples=int(data["n_samples"]),
            advice=str(data["advice"]),
            summary=str(data.get("summary", "")),
            table=str(data.get("table", "")),
            overflow=bool(data.get("overflow", False)),
            statistics={str(k): float(v) for k, v in (data.get("statistics") or {}).items()},
        )


def _check_common(tolerance: float, max_width: float) -> None:
    if not (math.isfinite(tolerance) and tolerance >= 0.0):
        raise ValueError(
            f"tolerance={tolerance!r} must be a finite model tolerance >= 0 (e.g. 0.1); "
            "never widen it to make a claim pass"
        )
    if not (math.isfinite(max_width) and max_width > 0.0):
        raise ValueError(f"max_width={max_width!r} must be a finite positive interval width")


def _samples_needed(fit: RateFit, width: float, max_width: float) -> int:
    """``ceil(M (w / w_max)^2)`` with a 10% margin: the width falls like ``1/sqrt(M)``."""
    return int(math.ceil(fit.n_samples * (width / (0.9 * max_width)) ** 2))


def _wide_advice(fit: RateFit, max_width: float) -> str:
    w = fit.width
    return (
        f"interval too wide (w={w:.3g} > max_width={max_width:g}): raise samples M (width falls "
        f"like 1/sqrt(M); M={fit.n_samples} -> about {_samples_needed(fit, w, max_width)}) or "
        f"move the window deeper (window={list(fit.window)})"
    )


def _unusable_advice(fit: RateFit) -> str:
    return f"fit unusable: {fit.reason or 'interval is not finite'}"


def judge(
    fit: RateFit,
    predicted: float,
    *,
    kind: Kind = "sharp",
    tolerance: float = DEFAULT_TOLERANCE,
    max_width: float = DEFAULT_MAX_WIDTH,
) -> Verdict:
    """Judge a fitted rate against a predicted rate (see the module docstring for the rules).

    Parameters
    ----------
    fit:
        The :class:`~verify.rates.RateFit` to judge.
    predicted:
        Claimed rate ``p`` (errors fall like ``L^{-p}``).
    kind:
        ``"sharp"`` (rate equals ``p``), ``"at_least"`` (rate ``>= p``) or ``"at_most"``
        (rate ``<= p``).
    tolerance:
        Declared model tolerance ``tau`` added to both ends of the interval.
    max_width:
        Widest interval that may be called consistent.
    """
    if kind not in KINDS:
        raise ValueError(
            f"kind={kind!r} is unknown; use one of {KINDS} (or judge_growth for explosions)"
        )
    p = float(predicted)
    if not math.isfinite(p):
        raise ValueError(f"predicted={predicted!r} must be a finite rate")
    _check_common(tolerance, max_width)

    lo, hi, w = fit.ci_low, fit.ci_high, fit.width
    tau = tolerance
    interval = f"[{lo:.4g}, {hi:.4g}] widened by tolerance={tau:g}"
    if not fit.usable or not (math.isfinite(lo) and math.isfinite(hi)):
        status: Status = "inconclusive"
        advice = _unusable_advice(fit)
    else:
        if kind == "sharp":
            excluded = p < lo - tau or p > hi + tau
            against = f"predicted rate {p:g} lies outside {interval}"
        elif kind == "at_least":
            excluded = hi + tau < p
            against = f"the whole interval {interval} lies below the claimed minimum {p:g}"
        else:
            excluded = lo - tau > p
            against = f"the whole interval {interval} lies above the claimed maximum {p:g}"
        if excluded:
            status = "inconsistent"
            advice = (
                f"{against}: check the running orders for a pre-asymptotic window (move it "
                "deeper) and the round-off floor before doubting the claim; do not widen the "
                "tolerance"
            )
        elif w > max_width:
            status = "inconclusive"
            advice = _wide_advice(fit, max_width)
        else:
            status = "consistent"
            advice = f"none: the {kind} claim {p:g} agrees with {interval} (w={w:.3g})"
    return Verdict(
        status=status,
        kind=kind,
        predicted=p,
        tolerance=float(tolerance),
        max_width=float(max_width),
        estimate=fit.rate,
        ci_low=lo,
        ci_high=hi,
        n_samples=fit.n_samples,
        advice=advice,
        summary=fit.summary(),
        table=fit.table(),
    )


def judge_no_convergence(
    fit: RateFit,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_width: float = DEFAULT_MAX_WIDTH,
) -> Verdict:
    """Judge a "the error does not converge to zero" claim: rate ``<= 0`` (kind ``at_most``).

    Inconsistent when the interval shows decay faster than ``L^{-tolerance}``
    (``ci_low - tolerance > 0``).
    """
    return judge(fit, 0.0, kind="at_most", tolerance=tolerance, max_width=max_width)


def judge_growth(
    fit: RateFit | None,
    *,
    overflow: bool = False,
    min_slope: float = 0.0,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Verdict:
    """Judge an explosion claim: ``|h_L|`` grows with depth.

    Consistent when ``overflow`` is flagged (non-finite values at some depth) or the slope
    interval of ``log|h_L|`` against ``log L`` lies above ``min_slope``; inconsistent when it
    lies below ``min_slope + tolerance`` (growth at least that fast ruled out); inconclusive
    otherwise or when there is no usable fit.
    """
    s_min = float(min_slope)
    if not math.isfinite(s_min):
        raise ValueError(f"min_slope={min_slope!r} must be finite (0.0: any growth)")
    _check_common(tolerance, 1.0)
    if fit is not None:
        s_lo, s_hi = fit.slope_ci
        estimate, n, summary, table = fit.slope, fit.n_samples, fit.summary(), fit.table()
    else:
        s_lo = s_hi = estimate = float("nan")
        n, summary, table = 0, "", ""
    if overflow:
        status: Status = "consistent"
        advice = "none: overflow (non-finite values) flagged, the claimed explosion occurred"
    elif fit is None:
        status = "inconclusive"
        advice = "no fit and no overflow: pass the growth fit or overflow=True"
    elif not fit.usable or not (math.isfinite(s_lo) and math.isfinite(s_hi)):
        status = "inconclusive"
        advice = _unusable_advice(fit)
    elif s_lo > s_min:
        status = "consistent"
        advice = f"none: slope interval [{s_lo:.4g}, {s_hi:.4g}] lies above {s_min:g}"
    elif s_hi < s_min + tolerance:
        status = "inconsistent"
        advice = (
            f"slope interval [{s_lo:.4g}, {s_hi:.4g}] lies below {s_min:g} + tolerance "
            f"{tolerance:g}: no growth seen; check the depths reach the explosive regime"
        )
    else:
        status = "inconclusive"
        advice = (
            f"slope interval [{s_lo:.4g}, {s_hi:.4g}] straddles {s_min:g}: raise samples M "
            f"(width falls like 1/sqrt(M); M={fit.n_samples}) or add deeper depths"
        )
    return Verdict(
        status=status,
        kind="growth",
        predicted=s_min,
        tolerance=float(tolerance),
        max_width=float("inf"),
        estimate=estimate,
        ci_low=s_lo,
        ci_high=s_hi,
        n_samples=n,
        advice=advice,
        summary=summary,
        table=table,
        overflow=bool(overflow),
    )


def judge_diverged(predicted: float, *, n_samples: int, tolerance: float = DEFAULT_TOLERANCE,
                   max_width: float = DEFAULT_MAX_WIDTH) -> Verdict:
    """Judge a convergence claim whose simulation overflowed (non-finite or huge states at
    some depth or in the limit): inconsistent, since no rate can hold where the error is
    infinite."""
    _check_common(tolerance, max_width)
    nan = float("nan")
    return Verdict("inconsistent", "sharp", float(predicted), tolerance, max_width, nan, nan,
                   nan, n_samples, "overflow: the network or its limit exploded, no convergence",
                   overflow=True)


def judge_law(differences: Mapping[str, Any] | Any, *, level: float = 0.01) -> Verdict:
    """Judge a convergence-in-law claim on paired samples.

    ``differences[name][i] = f(h_L^(i)) - f(H_1^(i))`` for test functions f, the ResNet and
    the limit started from the same input with independent noise (no strong coupling exists,
    THEORY.md R6). Given h_0 the pair (h_L, H_1) is exchangeable under the claim (up to the
    bias of depth L), so each difference is symmetric about 0 and gets a two-sided Wilcoxon
    signed-rank test, valid whatever the tails (a t-test on log |h|^2 gave 4/150 false alarms
    at level 1%, its heavy left tail near h = 0 makes it anti-conservative); with k
    statistics the smallest p-value times k (Bonferroni)
    decides at ``level``: consistent when it is >= level, inconsistent otherwise, so the
    false-alarm rate of a true claim is at most ``level`` once bias(L) is far below the
    standard error. The estimate and interval reported are those of the first statistic
    (its (1 - level) confidence interval of the mean difference).
    """
    import numpy as np
    from scipy import stats

    if not 0 < level < 0.5:
        raise ValueError(f"level={level!r} must lie in (0, 0.5)")
    if not isinstance(differences, Mapping):
        differences = {"f": differences}
    cleaned = {}
    for name, values in differences.items():
        diff = np.asarray(values, dtype=float).ravel()
        cleaned[name] = diff[np.isfinite(diff)]
    n = min(v.size for v in cleaned.values())
    if n < 10:
        return Verdict("inconclusive", "law", 0.0, 0.0, math.inf, float("nan"), float("nan"),
                       float("nan"), n, f"only {n} finite paired differences: raise samples M")
    p_values = {name: float(stats.wilcoxon(v).pvalue) for name, v in cleaned.items()}
    p_adjusted = min(1.0, min(p_values.values()) * len(p_values))
    first = next(iter(cleaned.values()))
    mean, se = float(first.mean()), float(first.std(ddof=1) / math.sqrt(first.size))
    half = float(stats.t.ppf(1 - level / 2, first.size - 1)) * se
    status: Status = "consistent" if p_adjusted >= level else "inconsistent"
    tests = ", ".join(f"{k}: p={v:.3g}" for k, v in p_values.items())
    advice = (f"the moments agree ({tests}; Bonferroni p = {p_adjusted:.3g} >= {level})"
              if status == "consistent" else
              f"the claimed limit law has the wrong moments ({tests}; Bonferroni p = "
              f"{p_adjusted:.3g} < {level})")
    return Verdict(status, "law", 0.0, 0.0, 2 * half, mean, mean - half, mean + half, n, advice,
                   summary=f"paired signed-rank tests on f(h_L) - f(H_1) ({tests}), n = {n}",
                   statistics={**{f"p[{k}]": v for k, v in p_values.items()},
                               "p_bonferroni": p_adjusted, "level": level})
