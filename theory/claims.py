"""What a regime asserts, as values: a :class:`Claim` names a measured :class:`Quantity`, a
:class:`Prediction` about it and the wrong twins (negative controls) that must be rejected.

Verification reads the prediction to choose the fit and the judge; nothing downstream branches
on regime names or on strings. The predictions:

- :class:`Rate`: the quantity falls like ``L^{-p}`` (``bound`` sharp, at least or at most);
  ``exponent=None`` means "the rate theory derives for this quantity";
- :class:`Growth`: ``|h_L|`` grows at least like ``L^{g}`` (``g=None``: the derived exponent);
- :class:`SameLaw`: the network's output and the limit's have the same law (tested with the
  named test functions at ``level``);
- :class:`Exact`: the quantity is zero to round-off (``<= tolerance`` in every sample), for an
  exact identity (LT1);
- :class:`Monotone`: the quantity is nondecreasing or nonincreasing along the axis in every
  sample, up to a relative round-off ``tolerance`` (LT3);
- :class:`ExpDecay`: ``log E(t)`` falls with the slope a linearisation predicts per sample
  (``rate=None``: the LQR-derived one, times ``scale``), and the profiles of different
  horizons coincide (LT4).

A claim is ``over`` the depth L (the limit claims, the trained claims) or the horizon T (the
large-time claims of THEORY.md section 6, EGPZ: quantities with :attr:`Quantity.horizon`).

Exponents are exact sympy expressions or text in the regime's parameter names (``"Min(1,
2*beta)"``), parsed by :mod:`theory.parse` (never by ``sympify``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, final

import sympy as sp

from theory.horizon import HORIZON_QUANTITIES
from theory.training import TRAINED_QUANTITIES

__all__ = ["AXES", "Bound", "Claim", "ExpDecay", "Exact", "Growth", "Monotone", "Prediction",
           "Quantity", "Rate", "RegimeError", "SameLaw"]

AXES = ("depth", "horizon")


class RegimeError(ValueError):
    """A regime, claim or instance that is malformed: the message names field, value and fix."""


class Quantity(StrEnum):
    """One name per measured thing (the second half of a claim id such as ``R5/weak``)."""

    STRONG = "strong"          # E|h_L - H_1| on the coupled path
    SUP = "sup"                # E max_k |h_k - H_{t_k}|
    WEAK = "weak"              # |E f(h_L) - E f(H_1)| for smooth test functions f
    LAW = "law"                # h_L and H_1 equal in law (no strong coupling)
    IDENTITY = "identity"      # E|h_L - h_0|
    GROWTH = "growth"          # |h_L| (explosion)
    GRAD_INPUT = "grad-input"  # |dl/dh_0 - P_0|
    GRAD_WEIGHT = "grad-weight"  # rescaled weight gradients against the limit's
    # trained weights (theory/training.py), per depth and training seed:
    WEIGHT_MAX = "weight-max"        # max_k |X_k| ~ L^-beta
    WEIGHT_RMS = "weight-rms"        # (mean_k |X_k|^2)^(1/2)
    DELTA_MAX = "delta-max"          # max_k |delta_k| ~ L^-alpha
    INCREMENT_MAX = "increment-max"  # max_k |delta_k A_k| ~ L^-(alpha + beta)
    ROUGHNESS = "roughness"          # R_L = QV / sum_k |X_k|^2 (scale-free)
    # large-time training of a neural ODE (theory/horizon.py), per horizon T and problem:
    IDENTITY_DEFECT = "identity-defect"  # |J_T^lam(u) - J_1^(lam/T)(T u)| / J_T^lam(u)
    TRAIN_ERROR = "train-error"          # E(u*_T), with the certificate lam |ubar|^2 / T
    CONTROL_NORM = "control-norm"        # |v_T|^2_(L^2(0,1)), v_T = T u*_T(T .)
    CONTROL_GAP = "control-gap"          # |v_T - v_(T_max)|: Cauchy in T
    TURNPIKE_ERROR = "turnpike-error"    # E_T(t) with the running cost

    @property
    def trained(self) -> bool:
        """Whether this is a statistic of trained weights (needs a regime with training)."""
        return self in _TRAINED

    @property
    def horizon(self) -> bool:
        """Whether this is a large-time quantity over the horizon T (needs ``horizon=``)."""
        return self in _HORIZON


_TRAINED = frozenset(Quantity(q) for q in TRAINED_QUANTITIES)
_HORIZON = frozenset(Quantity(q) for q in HORIZON_QUANTITIES)


class Bound(StrEnum):
    SHARP = "sharp"
    AT_LEAST = "at-least"
    AT_MOST = "at-most"

    @property
    def symbol(self) -> str:
        """``=``, ``>=`` or ``<=``: how the fitted rate relates to the claimed one."""
        return {"sharp": "=", "at-least": ">=", "at-most": "<="}[self.value]


def _exponent(value: Any, name: str) -> sp.Expr | str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | sp.Basic):
        return sp.nsimplify(value) if isinstance(value, float) else sp.sympify(value, strict=True)
    raise TypeError(f"{name}={value!r} must be a number, a sympy expression, text or None")


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Rate:
    """The quantity falls like ``L^{-exponent}``; ``exponent=None``: the derived rate.

    ``sharp``: for a one-sided claim (``bound="at-least"``) the rate known to be sharp (LT2:
    O(1/T) is a bound, the squared loss falls like T^-2), so that the claim's too-fast twin
    exceeds the sharp rate (:mod:`verify.controls`, ``beyond-sharp``) instead of doubling
    the bound (at least 2 would be true)."""

    exponent: sp.Expr | str | None = None
    bound: Bound = Bound.SHARP
    sharp: sp.Expr | str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "exponent", _exponent(self.exponent, "Rate.exponent"))
        object.__setattr__(self, "bound", Bound(self.bound))
        object.__setattr__(self, "sharp", _exponent(self.sharp, "Rate.sharp"))
        if self.sharp is not None and self.bound is not Bound.AT_LEAST:
            raise ValueError(f"Rate.sharp={self.sharp!r} is the known sharp rate above a "
                             f"one-sided claim; give bound='at-least' (got {self.bound.value!r})")


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Growth:
    """``|h_L|`` grows at least like ``L^{exponent}``; ``exponent=None``: the derived one."""

    exponent: sp.Expr | str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "exponent", _exponent(self.exponent, "Growth.exponent"))


LAW_TEST_FUNCTIONS = ("log|h|^2", "(log|h|^2)^2")


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class SameLaw:
    """Equality in law of ``h_L`` and ``H_1``, tested on ``test_functions`` at ``level``."""

    test_functions: tuple[str, ...] = LAW_TEST_FUNCTIONS
    level: float = 0.01

    def __post_init__(self) -> None:
        if not 0 < self.level < 0.5:
            raise ValueError(f"SameLaw.level={self.level!r} must lie in (0, 0.5), e.g. 0.01")
        if not self.test_functions:
            raise ValueError("SameLaw.test_functions must name at least one test function")


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Exact:
    """The quantity is zero to round-off: every sample ``<= tolerance`` (an exact identity)."""

    tolerance: float = 1e-12

    def __post_init__(self) -> None:
        if not (isinstance(self.tolerance, int | float) and 0 < self.tolerance < 1):
            raise ValueError(f"Exact.tolerance={self.tolerance!r} must lie in (0, 1), e.g. "
                             "1e-12 (float64 round-off with room for a few hundred operations)")


TRENDS = ("nondecreasing", "nonincreasing")


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Monotone:
    """The quantity is ``trend`` along the axis in every sample: a step against the trend
    larger than ``tolerance`` times the sample's largest value is a violation."""

    trend: str = "nondecreasing"
    tolerance: float = 1e-9

    def __post_init__(self) -> None:
        if self.trend not in TRENDS:
            raise ValueError(f"Monotone.trend={self.trend!r}: use one of {TRENDS}")
        if not (isinstance(self.tolerance, int | float) and 0 <= self.tolerance < 1):
            raise ValueError(f"Monotone.tolerance={self.tolerance!r} must lie in [0, 1), e.g. "
                             "1e-9 (relative round-off of the solver's optimum)")

    @property
    def reversed(self) -> Monotone:
        """The opposite trend (the generic twin)."""
        return Monotone(trend=TRENDS[1 - TRENDS.index(self.trend)], tolerance=self.tolerance)


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ExpDecay:
    """``log E(t)`` falls with slope ``-2 scale rate`` late in [0, T], in every sample, and
    the profiles ``E_T(t)`` of different horizons T coincide on their common range.

    ``rate=None``: the rate the linearisation derives per sample (the LQR factor of
    :func:`theory.large_time.turnpike_decay`); ``tolerance``: the relative band around the
    predicted slope; ``coincide``: the largest ``|log E_T(t) - log E_T'(t)|`` on the common
    range that counts as coinciding."""

    rate: float | None = None
    scale: float = 1.0
    tolerance: float = 0.05
    coincide: float = 0.1

    def __post_init__(self) -> None:
        for name in ("scale", "tolerance", "coincide"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and value < float("inf")):
                raise ValueError(f"ExpDecay.{name}={value!r} must be a finite number > 0")
        if self.rate is not None and not self.rate > 0:
            raise ValueError(f"ExpDecay.rate={self.rate!r} must be > 0 or None (the LQR rate)")


Prediction = Rate | Growth | SameLaw | Exact | Monotone | ExpDecay


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Claim:
    """One claim of a regime: ``quantity`` behaves as ``predicts`` says.

    ``activations`` restricts the claim to a sub-family of the regime's (None: the regime's),
    ``domains`` narrows parameter ranges for this claim only (name -> Domain), ``controls`` names
    the wrong twins (see :mod:`verify.controls`) the same budget must reject, beyond the
    generic twin of the prediction; ``test_functions`` are used by weak and law claims;
    ``notes`` record why a family or range is restricted (with the measured numbers);
    ``window`` fits the claim on that many deepest depths (None: the profile's window);
    ``profiles`` names the only profiles that check it (empty: every profile), for a claim
    whose protocol is too heavy for the others (T5 trains the authors' grid to depth 850).
    """

    quantity: Quantity
    predicts: Prediction = field(default_factory=Rate)
    controls: tuple[str, ...] = ()
    activations: tuple[str, ...] | None = None
    domains: Mapping[str, Any] = field(default_factory=dict)
    test_functions: tuple[str, ...] = ()
    over: str = "depth"
    source: str = ""
    notes: str = ""
    window: int | None = None
    profiles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "quantity", Quantity(self.quantity))
        except ValueError:
            raise ValueError(f"Claim.quantity={self.quantity!r}: use one of "
                             f"{[q.value for q in Quantity]}") from None
        if not isinstance(self.predicts, Rate | Growth | SameLaw | Exact | Monotone | ExpDecay):
            raise TypeError(f"Claim.predicts={self.predicts!r} must be Rate(...), Growth(...), "
                            "SameLaw(...), Exact(...), Monotone(...) or ExpDecay(...)")
        if self.over not in AXES:
            raise ValueError(f"Claim.over={self.over!r}: use one of {AXES}")
        if self.quantity.horizon != (self.over == "horizon"):
            raise ValueError(
                f"Claim.over={self.over!r} for quantity {self.quantity.value}: "
                + ("a large-time quantity is over the horizon; give over='horizon'"
                   if self.quantity.horizon else "only large-time quantities (train-error, "
                   "...) are over the horizon; give over='depth'"))
        if isinstance(self.predicts, Exact | Monotone | ExpDecay) and not self.quantity.horizon:
            raise ValueError(f"Claim.predicts={type(self.predicts).__name__}(...) is judged "
                             "over the horizon only; a depth claim predicts Rate, Growth or "
                             "SameLaw")
        if self.quantity is Quantity.WEAK and not self.test_functions:
            raise ValueError("a weak claim needs test_functions, e.g. ('|h|^2', 'tanh(h_1)')")
        if self.window is not None and not (isinstance(self.window, int) and self.window >= 3):
            raise ValueError(f"Claim.window={self.window!r} must be an int >= 3 or None")
        object.__setattr__(self, "profiles", tuple(self.profiles))
        object.__setattr__(self, "controls", tuple(self.controls))
        object.__setattr__(self, "domains", dict(self.domains))
