"""What a regime asserts, as values: a :class:`Claim` names a measured :class:`Quantity`, a
:class:`Prediction` about it and the wrong twins (negative controls) that must be rejected.

Verification reads the prediction to choose the fit and the judge; nothing downstream branches
on regime names or on strings. The predictions:

- :class:`Rate`: the quantity falls like ``L^{-p}`` (``bound`` sharp, at least or at most);
  ``exponent=None`` means "the rate theory derives for this quantity";
- :class:`Growth`: ``|h_L|`` grows at least like ``L^{g}`` (``g=None``: the derived exponent);
- :class:`SameLaw`: the network's output and the limit's have the same law (tested with the
  named test functions at ``level``).

Exponents are exact sympy expressions or text in the regime's parameter names (``"Min(1,
2*beta)"``), parsed by :mod:`theory.parse` (never by ``sympify``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, final

import sympy as sp

from theory.training import TRAINED_QUANTITIES

__all__ = ["Bound", "Claim", "Growth", "Prediction", "Quantity", "Rate", "SameLaw"]


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

    @property
    def trained(self) -> bool:
        """Whether this is a statistic of trained weights (needs a regime with training)."""
        return self in _TRAINED


_TRAINED = frozenset(Quantity(q) for q in TRAINED_QUANTITIES)


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
    """The quantity falls like ``L^{-exponent}``; ``exponent=None``: the derived rate."""

    exponent: sp.Expr | str | None = None
    bound: Bound = Bound.SHARP

    def __post_init__(self) -> None:
        object.__setattr__(self, "exponent", _exponent(self.exponent, "Rate.exponent"))
        object.__setattr__(self, "bound", Bound(self.bound))


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


Prediction = Rate | Growth | SameLaw


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
        if not isinstance(self.predicts, Rate | Growth | SameLaw):
            raise TypeError(f"Claim.predicts={self.predicts!r} must be Rate(...), Growth(...) "
                            "or SameLaw(...)")
        if self.over != "depth":
            raise ValueError(f"Claim.over={self.over!r}: only 'depth' is simulated so far")
        if self.quantity is Quantity.WEAK and not self.test_functions:
            raise ValueError("a weak claim needs test_functions, e.g. ('|h|^2', 'tanh(h_1)')")
        if self.window is not None and not (isinstance(self.window, int) and self.window >= 3):
            raise ValueError(f"Claim.window={self.window!r} must be an int >= 3 or None")
        object.__setattr__(self, "profiles", tuple(self.profiles))
        object.__setattr__(self, "controls", tuple(self.controls))
        object.__setattr__(self, "domains", dict(self.domains))
