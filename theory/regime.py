"""A regime: one family of ResNets and the claims made about its large-depth limit, as data
(one file in theory/regimes/ defining ``REGIME = Regime(...)``).

Its scaling may contain symbols (e.g. beta) whose valid and typical ranges are given as
:class:`Domain` values in ``parameters``. ``claimed_kind`` is the kind of limit the regime
asserts and ``claims`` the tuple of :class:`theory.claims.Claim` values that verification
checks, each on concrete :class:`Instance` values made by :meth:`Regime.at`. For theorems and
derived results the derivation must agree with ``claimed_kind`` (a registry test checks it);
a conjecture is simulated against its own claims whatever the derivation says, and the
derivation's disagreement is shown beside the measured verdict. A conjecture may name the
limit it compares against with ``limit_scaling`` ("the limit derived for this other
scaling"), e.g. a neural ODE claimed where the derivation finds another kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import sympy as sp

from theory.activations import activation
from theory.claims import Claim, Quantity, RegimeError  # RegimeError: re-exported
from theory.horizon import LargeTime
from theory.instance import Instance
from theory.limits import KINDS, Limit, derive_limit
from theory.scaling import Block, Rough, Scaling, Smooth, WeightLaw
from theory.training import Training

STATUSES = ("theorem", "derived", "empirical", "conjecture")
TRAINED_KIND = "trained"
"""The ``claimed_kind`` of a regime about trained weights (``training=...``): no limit is
derived, the claims are about statistics of the trained ladder."""
LARGE_TIME_KIND = "large-time"
"""The ``claimed_kind`` of a regime about training a neural ODE on a horizon T
(``horizon=...``): no limit in depth is derived, the claims are over the horizon."""


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
    """One family (block, activations, scaling) and its claims.

    ``activations`` names the family verified; ``random_activations`` ("smooth", "odd" or
    None) lets verification also draw random activations of that kind (see
    :mod:`verify.strategies`). ``widths`` is the inclusive range of widths d drawn.

    A regime about trained weights gives ``training=Training(...)`` (the protocol), block I,
    ``scaling=None`` (the weights' scaling is what is measured, not assumed) and
    ``claimed_kind="trained"``; its claims measure the trained quantities
    (``Quantity.trained``) with explicit exponents; ``widths`` is the task's d.

    A regime about training a neural ODE on a horizon T (THEORY.md section 6, EGPZ) gives
    ``horizon=LargeTime(...)`` (see :meth:`large_time`): ``claimed_kind="large-time"``, no
    scaling, claims over the horizon (``Quantity.horizon``); ``widths`` is the state's d.
    """

    name: str
    claim: str
    source: str
    status: str
    block: Block
    activations: tuple[str, ...]
    scaling: Scaling | None
    claimed_kind: str
    claims: tuple[Claim, ...]
    parameters: dict[str, Domain] = field(default_factory=dict)
    widths: tuple[int, int] = (2, 5)
    random_activations: str | None = None
    limit_scaling: Scaling | None = None
    training: Training | None = None
    horizon: LargeTime | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        where = f"regime {self.name!r}"
        if self.status not in STATUSES:
            raise RegimeError(f"{where}: status={self.status!r}: use one of {STATUSES}")
        object.__setattr__(self, "block", Block.parse(self.block))
        if self.training is not None and self.horizon is not None:
            raise RegimeError(f"{where}: give training=... or horizon=..., not both")
        if self.training is not None:
            self._check_trained(where)
        elif self.horizon is not None:
            self._check_large_time(where)
        elif self.claimed_kind not in KINDS:
            raise RegimeError(f"{where}: claimed_kind={self.claimed_kind!r}: use one of {KINDS}")
        elif not isinstance(self.scaling, Scaling):
            raise RegimeError(f"{where}: scaling={self.scaling!r} must be Scaling(...) (only a "
                              "regime with training=Training(...) or horizon=LargeTime(...) "
                              "has none)")
        if not self.activations:
            raise RegimeError(f"{where}: activations must name at least one activation")
        for spec in self.activations:
            activation(spec)
        if self.random_activations not in (None, "odd", "smooth"):
            raise RegimeError(f"{where}: random_activations={self.random_activations!r}: use "
                              "None, 'odd' or 'smooth'")
        lo, hi = self.widths
        if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
            raise RegimeError(f"{where}: widths={self.widths!r} must be (low, high) ints with "
                              "1 <= low <= high, e.g. (2, 5)")
        claims = tuple(self.claims)
        if not claims or not all(isinstance(c, Claim) for c in claims):
            raise RegimeError(f"{where}: claims={self.claims!r} must be a non-empty tuple of "
                              "Claim(...), e.g. (Claim(quantity='strong'),)")
        quantities = [c.quantity for c in claims]
        if len(set(quantities)) != len(quantities):
            raise RegimeError(f"{where}: two claims measure the same quantity {quantities}; "
                              "one claim per quantity (its id is regime/quantity)")
        object.__setattr__(self, "claims", claims)
        for c in claims:
            if c.quantity.horizon != (self.horizon is not None):
                raise RegimeError(
                    f"{where}: claim {c.quantity.value} "
                    + ("is over the horizon: give the regime horizon=LargeTime(...)"
                       if c.quantity.horizon else "is not a large-time quantity: a regime "
                       "with horizon=... claims only identity-defect, train-error, "
                       "control-norm, control-gap or turnpike-error"))
            if c.quantity.horizon:
                continue
            if c.quantity.trained != (self.training is not None):
                raise RegimeError(
                    f"{where}: claim {c.quantity.value} "
                    + ("measures trained weights: give the regime training=Training(...)"
                       if c.quantity.trained else "needs a limit: a regime with training=... "
                       "claims only trained quantities (weight-max, roughness, ...)"))
        if self.scaling is not None:
            symbols = {str(s) for e in self.scaling.exponents() for s in e.free_symbols}
            missing = symbols - set(self.parameters)
            if missing:
                raise RegimeError(f"{where}: exponent symbols {sorted(missing)} need a Domain "
                                  "in parameters")
            self.scaling.validate(self.block)
        for c in claims:
            for spec in c.activations or ():
                activation(spec)
            unknown = set(c.domains) - set(self.parameters)
            if unknown:
                raise RegimeError(f"{where}: claim {c.quantity.value} narrows unknown "
                                  f"parameters {sorted(unknown)}; known: {sorted(self.parameters)}")
            for pred in (c.predicts,):
                text = getattr(pred, "exponent", None)
                if isinstance(text, str):
                    self.parse_exponent(text)  # a malformed exponent fails at load time

    @classmethod
    def trained(cls, *, name: str, claim: str, source: str, status: str,
                activations: tuple[str, ...], training: Training, claims: tuple[Claim, ...],
                notes: str = "") -> Regime:
        """A regime about trained weights: block I, no scaling, ``claimed_kind="trained"``,
        the widths the task's d (the fields every trained regime gives the same)."""
        return cls(name=name, claim=claim, source=source, status=status, block=Block.I,
                   activations=activations, scaling=None, claimed_kind=TRAINED_KIND,
                   claims=claims, training=training, notes=notes)

    @classmethod
    def large_time(cls, *, name: str, claim: str, source: str, status: str,
                   horizon: LargeTime, claims: tuple[Claim, ...], activations: tuple[str, ...]
                   = ("tanh",), notes: str = "") -> Regime:
        """A regime about training a neural ODE on a horizon T: block I, no scaling,
        ``claimed_kind="large-time"``, the widths the state's d."""
        return cls(name=name, claim=claim, source=source, status=status, block=Block.I,
                   activations=activations, scaling=None, claimed_kind=LARGE_TIME_KIND,
                   claims=claims, horizon=horizon, notes=notes)

    @property
    def protocol(self) -> Training | LargeTime | None:
        """The training protocol a regime without a derived limit is about (None: a limit
        regime)."""
        return self.training if self.training is not None else self.horizon

    def _check_protocol(self, where: str, field_name: str, cls: type, kind: str,
                        why: str) -> None:
        """What every protocol regime (no derived limit) shares: the protocol's type, its
        claimed kind, and no scaling (``why``: what its claims are about instead)."""
        value = getattr(self, field_name)
        if not isinstance(value, cls):
            raise RegimeError(f"{where}: {field_name}={value!r} must be {cls.__name__}(...)")
        if self.claimed_kind != kind:
            raise RegimeError(f"{where}: a regime with {field_name}=... claims "
                              f"claimed_kind={kind!r}, not {self.claimed_kind!r}")
        if self.scaling is not None or self.limit_scaling is not None:
            raise RegimeError(f"{where}: a regime with {field_name}=... gives scaling=None "
                              f"({why})")

    def _check_large_time(self, where: str) -> None:
        self._check_protocol(where, "horizon", LargeTime, LARGE_TIME_KIND,
                             "its claims are over the horizon T, not the depth")
        if self.parameters:
            raise RegimeError(f"{where}: a regime with horizon=... has no parameters (its "
                              "claims are over the horizon T, not the depth); got "
                              f"{sorted(self.parameters)}")
        object.__setattr__(self, "widths", (self.horizon.width, self.horizon.width))

    def _check_trained(self, where: str) -> None:
        self._check_protocol(where, "training", Training, TRAINED_KIND,
                             "the trained weights' scaling is measured, not assumed")
        if self.block is not Block.I:
            raise RegimeError(f"{where}: trained ladders are block I (delta_k sigma(A_k h_k + "
                              f"b_k)); got block={self.block.value!r}")
        if self.parameters:
            raise RegimeError(f"{where}: a trained regime has no exponent parameters; got "
                              f"{sorted(self.parameters)}")
        object.__setattr__(self, "widths", (self.training.width, self.training.width))

    # ------------------------------------------------------------------ reading
    def claim_id(self, claim: Claim) -> str:
        """The stable id of ``claim``: ``"<regime>/<quantity>"``."""
        return f"{self.name}/{claim.quantity.value}"

    def get_claim(self, quantity: str | Quantity) -> Claim:
        for c in self.claims:
            if c.quantity == quantity:
                return c
        raise KeyError(f"{self.name} has no {quantity!r} claim; it has "
                       f"{[c.quantity.value for c in self.claims]}")

    def symbol(self, name: str) -> sp.Symbol:
        for e in (self.scaling.exponents() if self.scaling is not None else ()):
            for sym in e.free_symbols:
                if str(sym) == name:
                    return sym
        raise KeyError(f"{self.name}: no exponent symbol {name!r}")

    def parse_exponent(self, text: str) -> sp.Expr:
        """A claimed exponent given as text, in the regime's parameter names (safe parser)."""
        from theory.parse import RATE_FUNCTIONS, parse_expression

        names = {n: self.symbol(n) for n in self.parameters}
        return parse_expression(text, variables=names, functions=RATE_FUNCTIONS,
                                what=f"{self.name} claimed exponent")

    def domain(self, name: str, claim: Claim | None = None) -> Domain:
        """The domain of parameter ``name``, narrowed by ``claim`` where it says so."""
        if claim is not None and name in claim.domains:
            return claim.domains[name]
        return self.parameters[name]

    def family(self, claim: Claim | None = None) -> tuple[str, ...]:
        """The activations a claim is verified for."""
        return tuple(claim.activations) if claim is not None and claim.activations else \
            self.activations

    def generic_scaling(self) -> Scaling:
        """The scaling with every parameter ranging over its valid domain."""
        domain = {self.symbol(n): dom.interval() for n, dom in self.parameters.items()}
        return replace(self.scaling, domain=domain)

    def instance_scaling(self, scaling: Scaling | None = None, **values: float) -> Scaling:
        """The scaling (default: the regime's) at concrete parameter values, each checked
        against its domain."""
        subs = {}
        for name, dom in self.parameters.items():
            if name not in values:
                raise RegimeError(f"{self.name}: give a value for parameter {name!r}")
            value = values[name]
            if not (isinstance(value, int | float) and math.isfinite(value)):
                raise RegimeError(f"{self.name}: {name}={value!r} must be a finite number")
            if not dom.contains(value):
                raise RegimeError(f"{self.name}: {name}={value} is outside its valid "
                                  f"domain {dom.interval()}")
            subs[self.symbol(name)] = sp.nsimplify(value)
        unknown = set(values) - set(self.parameters)
        if unknown:
            raise RegimeError(f"{self.name}: unknown parameters {sorted(unknown)}; known: "
                              f"{sorted(self.parameters)}")
        return _substitute(scaling if scaling is not None else self.scaling, subs)

    @property
    def bias_optional(self) -> bool:
        """Block I with a smooth inner part: a bias (scaled like it) may be switched on or off."""
        return self.scaling is not None and self.block is Block.I and \
            self.scaling.inner.smooth is not None

    def limit(self, sigma: str | None = None, *, bias: bool | None = None,
              **values: float) -> Limit:
        """The derived limit, generic (no values) or at concrete parameter values; ``bias``
        overrides the regime's own bias setting where :attr:`bias_optional`."""
        act = sigma or self.activations[0]
        if self.protocol is not None:
            raise RegimeError(f"{self.name} is about training ({self.protocol.describe()}): no "
                              "limit is derived for it")
        scaling = self.instance_scaling(**values) if values or not self.parameters else \
            self.generic_scaling()
        return derive_limit(self.block, act, self._with_bias(scaling, bias))

    def _with_bias(self, scaling: Scaling, bias: bool | None) -> Scaling:
        if bias is None or bias == scaling.bias:
            return scaling
        if not self.bias_optional:
            raise RegimeError(f"{self.name}: bias={bias} needs block I with a smooth inner "
                              "part; this regime has none")
        return replace(scaling, bias=bias)

    def at(self, *, sigma: str, width: int, bias: bool | None = None,
           **values: float) -> Instance:
        """A concrete instance: values checked against the domains, the width against
        ``widths``' lower end (wider is allowed, narrower is refused)."""
        if not isinstance(width, int) or width < self.widths[0]:
            raise RegimeError(f"{self.name}: width={width!r}; the claims are made for widths "
                              f">= {self.widths[0]} (widths={self.widths})")
        activation(sigma)
        if self.training is not None:
            if values:
                raise RegimeError(f"{self.name}: a trained regime has no parameters; got "
                                  f"{sorted(values)}")
            if width != self.training.width:
                raise RegimeError(f"{self.name}: width={width} must be the task's d = "
                                  f"{self.training.width}")
            if bias is not None and bool(bias) != self.training.bias:
                raise RegimeError(f"{self.name}: bias={bias} differs from the protocol's "
                                  f"bias={self.training.bias}")
            return Instance(regime=self, sigma=sigma, width=width, bias=self.training.bias,
                            values={})
        if self.horizon is not None:
            if values or width != self.horizon.width:
                raise RegimeError(f"{self.name}: a large-time regime has no parameters and the "
                                  f"state's width d = {self.horizon.width}; got width={width}, "
                                  f"values {sorted(values)}")
            return Instance(regime=self, sigma=sigma, width=width, bias=True, values={})
        self.instance_scaling(**values)
        use_bias = self.scaling.bias if bias is None else bool(bias)
        self._with_bias(self.scaling, use_bias)
        return Instance(regime=self, sigma=sigma, width=width, bias=use_bias,
                        values={k: float(v) for k, v in sorted(values.items())})


def _substitute(scaling: Scaling, subs: dict) -> Scaling:
    def law(w: WeightLaw | None) -> WeightLaw | None:
        if w is None:
            return None
        smooth = Smooth(w.smooth.beta.subs(subs)) if w.smooth is not None else None
        rough = Rough(w.rough.beta.subs(subs), w.rough.variance) if w.rough is not None else None
        return WeightLaw(smooth, rough)

    return Scaling(sp.sympify(scaling.alpha, strict=True).subs(subs), law(scaling.inner),
                   law(scaling.outer), scaling.bias)
