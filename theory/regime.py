"""A regime: one claim about the large-depth limit, as data (one file in theory/regimes/).

A regime file defines ``REGIME = Regime(...)``. Its scaling may contain symbols (e.g. beta)
whose valid and typical ranges are given as :class:`Domain` values in ``parameters``; a
concrete instance substitutes values and derives its limit with
:func:`theory.limits.derive_limit`. ``claimed_kind`` and ``claimed_rate`` are what the regime
asserts; for theorems and derived results they must agree with the derivation (a test checks
it), for conjectures they are what verification confirms or refutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import sympy as sp

from theory.activations import activation
from theory.limits import KINDS, METRICS, Limit, derive_limit
from theory.scaling import Block, Rough, Scaling, Smooth, WeightLaw

STATUSES = ("theorem", "derived", "conjecture")


@dataclass(frozen=True)
class Domain:
    """Range of a parameter: ``valid`` (where the claim is made) and ``typical`` (where
    verification draws values; inside valid), as (low, high) with open ends given by
    ``open_low`` / ``open_high`` on the valid range (as scipy.stats parameter domains)."""

    valid: tuple[float, float]
    typical: tuple[float, float]
    open_low: bool = False
    open_high: bool = False

    def __post_init__(self) -> None:
        lo, hi = self.valid
        tlo, thi = self.typical
        if not (lo <= tlo <= thi <= hi):
            raise ValueError(f"typical range {self.typical} must lie inside valid {self.valid}")

    def interval(self) -> sp.Interval:
        return sp.Interval(sp.nsimplify(self.valid[0]), sp.nsimplify(self.valid[1]),
                           self.open_low, self.open_high)

    def contains(self, value: float) -> bool:
        return bool(self.interval().contains(sp.nsimplify(value)))


@dataclass(frozen=True)
class Regime:
    """One claim: a block, an activation family, a scaling, and what the limit is.

    ``activations`` names the family verified; ``random_activations`` ("smooth", "odd" or
    None) lets verification also draw random activations of that kind (see
    :mod:`verify.strategies`), for which the derivation must give ``claimed_kind`` too.
    """

    name: str
    claim: str
    source: str
    status: str
    block: Block
    activations: tuple[str, ...]
    scaling: Scaling
    claimed_kind: str
    metric: str
    parameters: dict[str, Domain] = field(default_factory=dict)
    claimed_rate: sp.Expr | str | None = None
    random_activations: str | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status={self.status!r}: use one of {STATUSES}")
        object.__setattr__(self, "block", Block.parse(self.block))
        if self.claimed_kind not in KINDS:
            raise ValueError(f"claimed_kind={self.claimed_kind!r}: use one of {KINDS}")
        if self.metric not in METRICS:
            raise ValueError(f"metric={self.metric!r}: use one of {METRICS}")
        if not self.activations:
            raise ValueError("activations must name at least one activation")
        for spec in self.activations:
            activation(spec)
        if self.random_activations not in (None, "odd", "smooth"):
            raise ValueError(f"random_activations={self.random_activations!r}: use None, "
                             "'odd' or 'smooth'")
        if isinstance(self.claimed_rate, str):
            object.__setattr__(self, "claimed_rate", sp.sympify(self.claimed_rate))
        symbols = {str(s) for e in self.scaling.exponents() for s in e.free_symbols}
        missing = symbols - set(self.parameters)
        if missing:
            raise ValueError(f"exponent symbols {sorted(missing)} need a Domain in parameters")
        self.scaling.validate(self.block)

    def symbol(self, name: str) -> sp.Symbol:
        for e in self.scaling.exponents():
            for sym in e.free_symbols:
                if str(sym) == name:
                    return sym
        raise KeyError(f"{self.name}: no exponent symbol {name!r}")

    def generic_scaling(self) -> Scaling:
        """The scaling with every parameter ranging over its valid domain."""
        domain = {self.symbol(n): dom.interval() for n, dom in self.parameters.items()}
        return replace(self.scaling, domain=domain)

    def instance_scaling(self, **values: float) -> Scaling:
        """The scaling at concrete parameter values (each checked against its domain)."""
        subs = {}
        for name, dom in self.parameters.items():
            if name not in values:
                raise ValueError(f"{self.name}: give a value for parameter {name!r}")
            if not dom.contains(values[name]):
                raise ValueError(f"{self.name}: {name}={values[name]} is outside its valid "
                                 f"domain {dom.interval()}")
            subs[self.symbol(name)] = sp.nsimplify(values[name])
        return _substitute(self.scaling, subs)

    @property
    def bias_optional(self) -> bool:
        """Block I with a smooth inner part: a bias (scaled like it) may be switched on or off."""
        return self.block is Block.I and self.scaling.inner.smooth is not None

    def limit(self, sigma: str | None = None, *, bias: bool | None = None,
              **values: float) -> Limit:
        """The derived limit, generic (no values) or at concrete parameter values; ``bias``
        overrides the regime's own bias setting where :attr:`bias_optional`."""
        act = sigma or self.activations[0]
        scaling = self.instance_scaling(**values) if values else self.generic_scaling()
        if bias is not None and bias != scaling.bias:
            if not self.bias_optional:
                raise ValueError(f"{self.name}: bias={bias} needs block I with a smooth inner "
                                 "part; this regime has none")
            scaling = replace(scaling, bias=bias)
        return derive_limit(self.block, act, scaling)

    def predicted_rate(self, limit: Limit, **values: float) -> sp.Expr:
        """The rate this regime asserts for ``metric``: claimed_rate if given, else derived."""
        rate = self.claimed_rate if self.claimed_rate is not None else limit.rate(
            self.metric).value
        subs = {self.symbol(k): sp.nsimplify(v) for k, v in values.items()}
        return sp.simplify(sp.sympify(rate).subs(subs))


def _substitute(scaling: Scaling, subs: dict) -> Scaling:
    def law(w: WeightLaw | None) -> WeightLaw | None:
        if w is None:
            return None
        smooth = Smooth(w.smooth.beta.subs(subs)) if w.smooth is not None else None
        rough = Rough(w.rough.beta.subs(subs), w.rough.variance) if w.rough is not None else None
        return WeightLaw(smooth, rough)

    return Scaling(sp.sympify(scaling.alpha).subs(subs), law(scaling.inner), law(scaling.outer),
                   scaling.bias)
