r"""The result of a convergence-rate fit: :class:`RateFit` (the rate, its bootstrap interval,
the window, the ladder's means) and :class:`RunningOrder` (the observed order between two
consecutive depths, pytools' ``EOCRecorder`` column), with their JSON codec. Values only: the
fit itself is :func:`verify.rates.fit_rate`, which re-exports both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RateFit", "RunningOrder"]

def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _none_to_nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


@dataclass(frozen=True)
class RunningOrder:
    """Observed order between two consecutive depths of the ladder.

    ``order = -log(error_hi / error_lo) / log(depth_hi / depth_lo)``; NaN when either mean error
    is zero. ``in_window`` tells whether both depths were fitted, ``below_floor`` whether either
    was dropped for lying at or below the round-off floor.
    """

    depth_lo: int
    depth_hi: int
    error_lo: float
    error_hi: float
    order: float
    in_window: bool
    below_floor: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; non-finite floats become ``None``."""
        d = asdict(self)
        for key in ("error_lo", "error_hi", "order"):
            d[key] = _finite_or_none(d[key])
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunningOrder:
        """Inverse of :meth:`to_dict`."""
        return cls(
            depth_lo=int(data["depth_lo"]),
            depth_hi=int(data["depth_hi"]),
            error_lo=_none_to_nan(data["error_lo"]),
            error_hi=_none_to_nan(data["error_hi"]),
            order=_none_to_nan(data["order"]),
            in_window=bool(data["in_window"]),
            below_floor=bool(data["below_floor"]),
        )


@dataclass(frozen=True)
class RateFit:
    """A fitted convergence rate with its bootstrap interval.

    Attributes
    ----------
    slope:
        Least-squares slope ``s`` of ``log(mean error)`` against ``log(depth)`` on the window.
    rate:
        ``-slope``: errors fall like ``L^{-rate}`` (negative for growth).
    intercept:
        ``a`` in ``log(mean error) = a + s log L``.
    ci_low, ci_high:
        Percentile bootstrap interval of the *rate* at level ``confidence``.
    stderr:
        Bootstrap standard deviation of the rate.
    depths, mean_errors, mean_stderrs:
        The whole ladder, ``|mean|`` of the errors per depth and the standard error of each
        mean (``sd / sqrt(M)``).
    window:
        Depths actually fitted. ``dropped``: depths excluded for ``mean error <= floor``.
    n_samples, n_boot, n_boot_valid:
        ``M``, bootstrap resamples asked for, and those giving a finite slope.
    orders:
        Running-order table between consecutive depths.
    usable, reason:
        ``False`` with a reason when fewer than :data:`verify.rates.MIN_POINTS` depths could
        be fitted or the bootstrap failed; the slope and interval are then NaN or
        untrustworthy.
    """

    slope: float
    rate: float
    intercept: float
    ci_low: float
    ci_high: float
    stderr: float
    confidence: float
    depths: tuple[int, ...]
    mean_errors: tuple[float, ...]
    mean_stderrs: tuple[float, ...]
    window: tuple[int, ...]
    dropped: tuple[int, ...]
    floor: float
    n_samples: int
    n_boot: int
    n_boot_valid: int
    seed: int
    orders: tuple[RunningOrder, ...]
    usable: bool = True
    reason: str = ""

    @property
    def width(self) -> float:
        """Width ``ci_high - ci_low`` of the rate interval."""
        return self.ci_high - self.ci_low

    @property
    def slope_ci(self) -> tuple[float, float]:
        """Interval of the *slope* (the rate interval negated and swapped)."""
        return (-self.ci_high, -self.ci_low)

    def summary(self) -> str:
        """One line: rate, interval, window and sample counts."""
        flag = "" if self.usable else f" [UNUSABLE: {self.reason}]"
        return (
            f"rate={self.rate:.4g} (slope={self.slope:.4g}), "
            f"{100 * self.confidence:g}% CI [{self.ci_low:.4g}, {self.ci_high:.4g}] "
            f"(w={self.width:.3g}, se={self.stderr:.3g}), window={list(self.window)}, "
            f"dropped={list(self.dropped)}, M={self.n_samples}, "
            f"boot={self.n_boot_valid}/{self.n_boot}{flag}"
        )

    def table(self) -> str:
        """EOC-style table for failure messages: depth, mean error, its stderr, running order."""
        lines = [self.summary()]
        lines.append(f"{'depth':>8} {'mean error':>12} {'+-se':>10} {'order':>8}  note")
        window = set(self.window)
        dropped = set(self.dropped)
        for i, depth in enumerate(self.depths):
            order = "" if i == 0 else f"{self.orders[i - 1].order:8.4f}"
            notes = []
            if depth in window:
                notes.append("fit")
            if depth in dropped:
                notes.append(f"<= floor {self.floor:.3g}")
            lines.append(
                f"{depth:>8d} {self.mean_errors[i]:>12.5e} {self.mean_stderrs[i]:>10.3e} "
                f"{order:>8}  {', '.join(notes)}".rstrip()
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists for tuples, ``None`` for non-finite floats)."""
        return {
            "slope": _finite_or_none(self.slope),
            "rate": _finite_or_none(self.rate),
            "intercept": _finite_or_none(self.intercept),
            "ci_low": _finite_or_none(self.ci_low),
            "ci_high": _finite_or_none(self.ci_high),
            "stderr": _finite_or_none(self.stderr),
            "confidence": self.confidence,
            "depths": list(self.depths),
            "mean_errors": [_finite_or_none(x) for x in self.mean_errors],
            "mean_stderrs": [_finite_or_none(x) for x in self.mean_stderrs],
            "window": list(self.window),
            "dropped": list(self.dropped),
            "floor": self.floor,
            "n_samples": self.n_samples,
            "n_boot": self.n_boot,
            "n_boot_valid": self.n_boot_valid,
            "seed": self.seed,
            "orders": [o.to_dict() for o in self.orders],
            "usable": self.usable,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RateFit:
        """Inverse of :meth:`to_dict`."""
        return cls(
            slope=_none_to_nan(data["slope"]),
            rate=_none_to_nan(data["rate"]),
            intercept=_none_to_nan(data["intercept"]),
            ci_low=_none_to_nan(data["ci_low"]),
            ci_high=_none_to_nan(data["ci_high"]),
            stderr=_none_to_nan(data["stderr"]),
            confidence=float(data["confidence"]),
            depths=tuple(int(d) for d in data["depths"]),
            mean_errors=tuple(_none_to_nan(x) for x in data["mean_errors"]),
            mean_stderrs=tuple(_none_to_nan(x) for x in data["mean_stderrs"]),
            window=tuple(int(d) for d in data["window"]),
            dropped=tuple(int(d) for d in data["dropped"]),
            floor=float(data["floor"]),
            n_samples=int(data["n_samples"]),
            n_boot=int(data["n_boot"]),
            n_boot_valid=int(data["n_boot_valid"]),
            seed=int(data["seed"]),
            orders=tuple(RunningOrder.from_dict(o) for o in data["orders"]),
            usable=bool(data["usable"]),
            reason=str(data["reason"]),
        )
