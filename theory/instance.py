"""A concrete member of a regime's family (:meth:`theory.regime.Regime.at`): its values,
its derived limits (cached) and the concrete prediction of each claim. It is the only value
that crosses from the property test into numerics.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sympy as sp

from theory.claims import (
    Bound,
    Claim,
    Exact,
    ExpDecay,
    Growth,
    Monotone,
    Quantity,
    Rate,
    RegimeError,
    SameLaw,
)
from theory.limits import Limit, derive_limit

if TYPE_CHECKING:
    from theory.regime import Regime

__all__ = ["Instance"]

_LIMIT_METRIC = {Quantity.STRONG: "strong", Quantity.SUP: "sup", Quantity.WEAK: "weak",
                 Quantity.LAW: "law", Quantity.IDENTITY: "identity", Quantity.GROWTH: "growth"}
_BACKWARD_QUANTITY = {Quantity.GRAD_INPUT: "input", Quantity.GRAD_WEIGHT: "weight"}


@dataclass(frozen=True)
class Instance:
    """One concrete member of a regime's family: the only value that crosses from the property
    test into numerics. Its limits are derived once (cached)."""

    regime: Regime
    sigma: str
    width: int
    bias: bool
    values: dict[str, float]

    def __hash__(self) -> int:
        return hash((self.regime.name, self.sigma, self.width, self.bias,
                     tuple(self.values.items())))

    @cached_property
    def derived(self) -> Limit:
        """What :func:`derive_limit` gives for this instance's own scaling."""
        r = self.regime
        if r.protocol is not None:
            return r.limit(self.sigma)  # raises: trained and large-time regimes derive none
        scaling = r._with_bias(r.instance_scaling(**self.values), self.bias)
        return derive_limit(r.block, self.sigma, scaling)

    @cached_property
    def limit(self) -> Limit:
        """The limit the claims compare against: the derived one, or for a conjecture with
        ``limit_scaling`` the limit derived for that scaling."""
        r = self.regime
        if r.limit_scaling is None:  # always for a trained regime (it has no limit_scaling)
            return self.derived
        scaling = r._with_bias(r.instance_scaling(r.limit_scaling, **self.values), self.bias)
        return derive_limit(r.block, self.sigma, scaling)

    @cached_property
    def backward(self):
        """The backpropagation limit of :attr:`limit` (raises BackwardLimitError if none)."""
        from theory.backward import derive_backward

        return derive_backward(self.limit)

    def describe(self) -> str:
        vals = ", ".join(f"{k}={v:g}" for k, v in self.values.items())
        return (f"{self.regime.name} sigma={self.sigma} d={self.width} bias={self.bias}"
                + (f" {vals}" if vals else ""))

    def to_dict(self) -> dict[str, Any]:
        out = {"sigma": self.sigma, "width": self.width, "bias": self.bias,
               "values": dict(self.values)}
        if self.regime.training is not None:
            out["training"] = self.regime.training.to_dict()
        if self.regime.horizon is not None:
            out["horizon"] = self.regime.horizon.to_dict()
        return out

    def predicted(self, claim: Claim) -> Rate | Growth | SameLaw | Exact | Monotone | ExpDecay:
        """The claim's prediction with a concrete float exponent (the derived one where the
        claim gives none). RegimeError when there is none to be had, with the reason. Exact,
        Monotone and ExpDecay are concrete as given (ExpDecay's LQR rate is per problem)."""
        pred = claim.predicts
        if isinstance(pred, SameLaw | Exact | Monotone | ExpDecay):
            return pred
        expr, bound = pred.exponent, getattr(pred, "bound", None)
        if isinstance(expr, str):
            expr = self.regime.parse_exponent(expr)
        if expr is None:
            derived = self._derived_rate(claim)
            expr = derived.value
            if derived.kind == "at_least" and isinstance(pred, Rate):
                bound = Bound.AT_LEAST  # a derived lower bound is never judged as sharp
        subs = {self.regime.symbol(k): sp.nsimplify(v) for k, v in self.values.items()}
        value = sp.sympify(expr, strict=True).subs(subs)
        if value.free_symbols:
            raise RegimeError(f"{self.regime.claim_id(claim)}: exponent {expr} keeps symbols "
                              f"{sorted(map(str, value.free_symbols))} at {self.describe()}")
        number = float(value)
        if isinstance(pred, Growth):
            return Growth(exponent=number)
        sharp = None if pred.sharp is None else float(sp.sympify(
            self.regime.parse_exponent(pred.sharp) if isinstance(pred.sharp, str) else pred.sharp,
            strict=True).subs(subs))
        return Rate(exponent=number, bound=bound, sharp=sharp)

    def _derived_rate(self, claim: Claim):
        q = claim.quantity
        if q.trained or q.horizon:
            raise RegimeError(f"{self.regime.claim_id(claim)}: a trained-weight or large-time "
                              "claim states its exponent, e.g. Rate(exponent=1)")
        limit = self.limit
        if q in _BACKWARD_QUANTITY:
            return self.backward.rate(_BACKWARD_QUANTITY[q])
        metric = _LIMIT_METRIC.get(q)
        try:
            return limit.rate(metric)
        except KeyError as exc:
            raise RegimeError(f"{self.regime.claim_id(claim)} at {self.describe()}: the "
                              f"{limit.kind} limit predicts no {q.value} rate ({exc.args[0]}); "
                              "give the exponent in the claim, e.g. Rate(exponent='1/2')"
                              ) from None
