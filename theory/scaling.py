"""Residual blocks, depth scalings and weight laws as values (THEORY.md sections 1 and 2).

A weight matrix of the depth-L network at layer k is

    M_k = L^{-beta_s} Mbar(t_k)  +  L^{1/2 - beta_r} dW_k,     t_k = k / L,

a smooth part (a smooth function Mbar of t sampled on the grid, scale beta_s; CCRX21
Hypothesis 1, MFBV smooth initialisation) and a rough part (dW_k the increment over
[t_k, t_{k+1}] of a matrix Brownian motion whose entries have variance ``variance`` per unit
time, so each entry of the rough part has variance ``variance * L^{-2 beta_r}``). beta_r = 1/2
gives Brownian increments (CCRX21 Hypothesis 2, CRX22), beta_r = 0 i.i.d. N(0, variance)
entries with no L in the variance (MFBV). Exponents are sympy expressions: numbers, or symbols
whose range is given in ``Scaling.domain``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import sympy as sp

from theory.parse import parse_expression

d = sp.Symbol("d", positive=True, integer=True)
"""Width of the network."""

alpha, beta = sp.symbols("alpha beta", nonnegative=True)
"""Default symbols for the residual and weight exponents."""


class Block(StrEnum):
    """The residual blocks of THEORY.md section 1."""

    I = "I"  # noqa: E741 - the paper's name: h + delta sigma(A h + b)
    O = "O"  # noqa: E741 - h + delta V sigma(W h)
    S = "S"  # h + delta V sigma(h)

    @classmethod
    def parse(cls, value: str | Block) -> Block:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"block={value!r} is not a residual block; use one of 'I' (inner weights, "
                "h + delta sigma(A h + b)), 'O' (h + delta V sigma(W h)), "
                "'S' (h + delta V sigma(h))"
            ) from None


def _exponent(name: str, value: object) -> sp.Expr:
    """A depth exponent as sympy: text through :func:`theory.parse.parse_expression` (numbers
    and the symbols alpha, beta; never ``sympify``), floats made exact, sympy values kept."""
    if isinstance(value, str):
        expr = parse_expression(value, variables={"alpha": alpha, "beta": beta}, functions={},
                                what=name, expected="a depth exponent",
                                fix=f"give a number >= 0, e.g. {name}=1/2")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name}={value} must be a finite real number >= 0; give e.g. "
                             f"{name}=1/2")
        expr = sp.nsimplify(value)
    else:
        expr = sp.sympify(value, strict=True)
    if expr.is_number and (not expr.is_real or not expr.is_finite or expr < 0):
        raise ValueError(
            f"{name}={value} must be a real number >= 0 (a depth exponent: weights or steps of "
            f"size L^-{name}); give e.g. {name}=1/2"
        )
    return expr


@dataclass(frozen=True)
class Smooth:
    """Smooth part ``L^{-beta} Mbar(t_k)``, Mbar C^1 in t (CCRX21 Hyp. 1)."""

    beta: sp.Expr = sp.Integer(0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", _exponent("beta", self.beta))


@dataclass(frozen=True)
class Rough:
    """Rough part ``L^{1/2 - beta} dW_k``: entry variance ``variance * L^{-2 beta}``, i.i.d.
    Gaussian across layers and entries (Brownian increments when beta = 1/2)."""

    beta: sp.Expr = sp.Rational(1, 2)
    variance: sp.Expr = 1 / d

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", _exponent("beta", self.beta))
        var = (parse_expression(self.variance, variables={"d": d}, functions={},
                                what="variance", expected="an entry variance",
                                fix="give a positive expression in the width d, e.g. 1/d or 2/d")
               if isinstance(self.variance, str) else sp.sympify(self.variance, strict=True))
        if (var.is_number and not (var.is_finite and var > 0)) or var.is_positive is False:
            raise ValueError(f"variance={self.variance} must be > 0; the default is 1/d")
        object.__setattr__(self, "variance", var)


@dataclass(frozen=True)
class WeightLaw:
    """A smooth part, a rough part, or both (at least one)."""

    smooth: Smooth | None = None
    rough: Rough | None = None

    def __post_init__(self) -> None:
        if self.smooth is None and self.rough is None:
            raise ValueError("WeightLaw needs a smooth part, a rough part or both; got neither")

    @classmethod
    def smooth_path(cls, beta: object = 0) -> WeightLaw:
        """``L^{-beta} Abar(t_k)`` (CCRX21 Hyp. 1; MFBV smooth initialisation when beta = 0)."""
        return cls(smooth=Smooth(beta))

    @classmethod
    def brownian(cls, variance: object = 1 / d, drift: bool = True) -> WeightLaw:
        """CCRX21 Hyp. 2: ``L^{-1} Abar(t_k) + dM_k``, M Brownian with entry variance
        ``variance`` per unit time (i.i.d. N(0, 1/(dL)) entries by default)."""
        return cls(smooth=Smooth(1) if drift else None, rough=Rough(sp.Rational(1, 2), variance))

    @classmethod
    def iid(cls, variance: object = 1 / d, beta: object = 0) -> WeightLaw:
        """i.i.d. N(0, variance L^{-2 beta}) entries (MFBV initialisation when beta = 0)."""
        return cls(rough=Rough(beta, variance))

    def describe(self) -> str:
        parts = []
        if self.smooth is not None:
            parts.append(f"L^-({self.smooth.beta}) Mbar(t_k)")
        if self.rough is not None:
            parts.append(f"N(0, {self.rough.variance} L^-(2*({self.rough.beta}))) i.i.d.")
        return " + ".join(parts)


@dataclass(frozen=True)
class Scaling:
    """Residual exponent ``alpha`` (delta_L = L^{-alpha}) and the weight laws.

    ``inner`` is A (block I) or W (block O); ``outer`` is V (blocks O and S). ``bias``
    (block I) adds ``L^{-beta_s} bbar(t_k)``, scaled like the smooth part of A. ``domain``
    gives the range of each free symbol in the exponents, as sympy Intervals; a symbol
    without one ranges over [0, oo).
    """

    alpha: sp.Expr
    inner: WeightLaw | None = None
    outer: WeightLaw | None = None
    bias: bool = False
    domain: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _exponent("alpha", self.alpha))
        for sym, interval in self.domain.items():
            if not isinstance(sym, sp.Symbol) or not isinstance(interval, sp.Interval):
                raise ValueError(
                    f"domain entry {sym!r}: {interval!r} must map a sympy Symbol to a sympy "
                    "Interval, e.g. {beta: Interval.open(0, 1)}"
                )

    def __hash__(self) -> int:
        return hash((self.alpha, self.inner, self.outer, self.bias, tuple(self.domain.items())))

    def interval(self, sym: sp.Symbol) -> sp.Interval:
        return self.domain.get(sym, sp.Interval(0, sp.oo))

    def exponents(self) -> tuple[sp.Expr, ...]:
        out = [self.alpha]
        for law in (self.inner, self.outer):
            if law is not None:
                out += [p.beta for p in (law.smooth, law.rough) if p is not None]
        return tuple(out)

    def validate(self, block: Block) -> None:
        """Raise ValueError when the laws do not fit the block."""
        if block is Block.I and (self.inner is None or self.outer is not None):
            raise ValueError("block I needs inner=WeightLaw(...) (the A_k) and no outer law")
        if block is Block.O and (self.inner is None or self.outer is None):
            raise ValueError("block O needs inner (W_k) and outer (V_k) weight laws")
        if block is Block.S and (self.outer is None or self.inner is not None):
            raise ValueError("block S needs outer=WeightLaw(...) (the V_k) and no inner law")
        if self.bias and block is not Block.I:
            raise ValueError(f"bias=True is defined for block I only, not block {block.value}")
        if self.bias and self.inner.smooth is None:
            raise ValueError("bias=True needs a smooth part in the inner law (it scales like it)")
        for e in self.exponents():
            for sym in e.free_symbols:
                if self.interval(sym).inf < 0:
                    raise ValueError(
                        f"domain of {sym} = {self.interval(sym)} allows negative exponents; "
                        "depth exponents are >= 0"
                    )

    def describe(self) -> str:
        parts = [f"alpha={self.alpha}"]
        if self.inner is not None:
            parts.append(f"inner: {self.inner.describe()}")
        if self.outer is not None:
            parts.append(f"outer: {self.outer.describe()}")
        if self.bias:
            parts.append("bias")
        return "; ".join(parts)
