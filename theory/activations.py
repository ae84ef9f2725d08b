"""Activations as sympy expressions in one variable, and what the limit theorems need of them.

Every forward limit of THEORY.md section 3 reads sigma through a few numbers at 0: the Taylor
coefficients ``s_n = sigma^{(n)}(0)`` (one-sided where sigma is not smooth), the smoothness
class at 0, the order ``m`` of the first non-zero coefficient beyond the linear one (R2's rate
``min(1, (m - 1) beta)``) and positive homogeneity ``sigma(c x) = c^p sigma(x)``, ``c > 0``
(which makes ReLU scale exactly, R7). Gaussian expectations live in :mod:`theory.gaussian`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import sympy as sp

from theory.parse import (
    ACTIVATION_FUNCTIONS,
    CONSTANTS,
    ParseError,
    as_expression,
    closest,
    parse_expression,
    parse_number,
    shorten,
)

x = sp.Symbol("x", real=True)
"""The activation's variable."""

_xp = sp.Symbol("x_p", positive=True)
_xn = sp.Symbol("x_n", negative=True)

MAX_ORDER = 6
"""Taylor orders examined at 0 (derivatives 0..MAX_ORDER)."""


class ActivationError(ValueError):
    """An activation expression that the theory cannot use."""


@dataclass(frozen=True)
class Activation:
    """An activation ``sigma(x)``: a sympy expression in the real symbol :data:`x`.

    Build one with :func:`activation` (a library name, a string or a sympy expression),
    which validates it. Properties are derived exactly and cached.
    """

    name: str
    expr: sp.Expr
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __call__(self, value: sp.Expr) -> sp.Expr:
        """sigma applied to a sympy expression."""
        return self.expr.subs(x, value)

    @cached_property
    def branches(self) -> tuple[sp.Expr, sp.Expr]:
        """(left, right) analytic branches near 0: sigma on x < 0 and on x > 0, in terms of x."""
        left = sp.piecewise_fold(self.expr.subs(x, _xn)).subs(_xn, x)
        right = sp.piecewise_fold(self.expr.subs(x, _xp)).subs(_xp, x)
        return sp.simplify(left), sp.simplify(right)

    def one_sided_derivative(self, n: int, side: str) -> sp.Expr:
        """``sigma^{(n)}(0 -)`` (side="-") or ``sigma^{(n)}(0 +)`` (side="+"); may be infinite."""
        if side not in ("-", "+"):
            raise ValueError(f"side={side!r}: use '-' or '+'")
        key = ("d", n, side)
        if key not in self._cache:
            branch = self.branches[0 if side == "-" else 1]
            value = sp.limit(sp.diff(branch, x, n), x, 0, side)
            self._cache[key] = sp.nsimplify(value) if value.is_Float else sp.simplify(value)
        return self._cache[key]

    @cached_property
    def taylor(self) -> tuple[tuple[sp.Expr, sp.Expr], ...]:
        """One-sided Taylor data ``((s_0^-, s_0^+), ..., (s_K^-, s_K^+))`` at 0, K = MAX_ORDER.

        Orders beyond the first infinite derivative are left out.
        """
        out = []
        for n in range(MAX_ORDER + 1):
            pair = (self.one_sided_derivative(n, "-"), self.one_sided_derivative(n, "+"))
            if any(not v.is_finite for v in pair):
                break
            out.append(pair)
        return tuple(out)

    def s(self, n: int) -> sp.Expr:
        """The two-sided Taylor coefficient ``s_n = sigma^{(n)}(0)``.

        Raises ActivationError when sigma has no n-th derivative at 0 (the one-sided ones
        differ or are infinite): use :meth:`one_sided_derivative` there.
        """
        if n > MAX_ORDER:
            raise ValueError(f"n={n}: only orders up to MAX_ORDER={MAX_ORDER} are examined")
        if n >= len(self.taylor):
            raise ActivationError(f"{self.name}: sigma^({n})(0) is infinite")
        left, right = self.taylor[n]
        if sp.simplify(left - right) != 0:
            raise ActivationError(
                f"{self.name}: sigma^({n})(0) does not exist (left {left}, right {right})"
            )
        return right

    @cached_property
    def smoothness(self) -> int | sp.Expr:
        """Largest k <= MAX_ORDER with sigma C^k at 0 (one-sided derivatives agree up to k);
        ``sympy.oo`` when sigma is analytic at 0 (no branch point within the examined orders).
        """
        for n, (left, right) in enumerate(self.taylor):
            if sp.simplify(left - right) != 0:
                return n - 1
        if len(self.taylor) <= MAX_ORDER:
            return len(self.taylor) - 1
        left, right = self.branches
        return sp.oo if sp.simplify(left - right) == 0 else MAX_ORDER

    @property
    def s0(self) -> sp.Expr:
        return self.taylor[0][1] if self.smoothness >= 0 else sp.nan

    @cached_property
    def m(self) -> int | None:
        """Order of the first non-zero Taylor coefficient beyond the linear one (R2).

        Counts one-sided coefficients (ELU: m = 2 from the left). None when every examined
        coefficient of order 2..MAX_ORDER vanishes (sigma affine near 0).
        """
        for n in range(2, len(self.taylor)):
            if any(v != 0 for v in self.taylor[n]):
                return n
        return None

    @cached_property
    def homogeneity(self) -> sp.Expr | None:
        """Degree p when sigma is positively homogeneous, ``sigma(c x) = c^p sigma(x)`` for
        all c > 0 (Euler: ``x sigma'(x) = p sigma(x)`` on each side); None otherwise."""
        degrees = set()
        for branch in self.branches:
            if branch == 0:
                continue
            ratio = sp.simplify(x * sp.diff(branch, x) / branch)
            if ratio.free_symbols:
                return None
            degrees.add(ratio)
        if len(degrees) > 1:
            return None
        return degrees.pop() if degrees else sp.Integer(1)

    @cached_property
    def is_odd(self) -> bool:
        """sigma(-x) = -sigma(x) exactly."""
        return sp.simplify(self.expr.subs(x, -x) + self.expr) == 0

    def describe(self) -> str:
        """One line: name, formula, smoothness, first coefficients (simplified: mish's
        s1 = tanh(log 2) prints as 3/5), m, homogeneity."""
        from theory.limits import tidy  # theory.limits imports this module

        coeffs = ", ".join(
            f"s{n}={tidy(r)}" if sp.simplify(l_ - r) == 0 else f"s{n}=({tidy(l_)}|{tidy(r)})"
            for n, (l_, r) in enumerate(self.taylor[:4])
        )
        smooth = "C^inf" if self.smoothness == sp.oo else f"C^{self.smoothness}"
        hom = "" if self.homogeneity is None else f", homogeneous of degree {self.homogeneity}"
        return f"{self.name}: {self.expr}; {smooth} at 0; {coeffs}; m={self.m}{hom}"


def _relu() -> sp.Expr:
    return sp.Piecewise((x, x >= 0), (0, True))


def leaky_relu(slope: float | sp.Expr = 0.01) -> Activation:
    """Leaky ReLU ``max(x, c x)`` with negative slope c."""
    c = _exact(slope, "slope")
    return activation(sp.Piecewise((x, x >= 0), (c * x, True)), name=f"leaky_relu({c})")


def polynomial(*coefficients: float | sp.Expr) -> Activation:
    """The polynomial ``c_0 + c_1 x + c_2 x^2 + ...`` from its coefficients."""
    if not coefficients:
        raise ActivationError("polynomial(): give at least one coefficient, e.g. (0, 1, 0.5)")
    cs = [_exact(c, "coefficient") for c in coefficients]
    expr = sum((c * x**k for k, c in enumerate(cs)), sp.Integer(0))
    return activation(expr, name=f"poly({', '.join(map(str, cs))})")


LIBRARY: dict[str, sp.Expr] = {
    "identity": x,
    "tanh": sp.tanh(x),
    "sin": sp.sin(x),
    "sigmoid_centered": 1 / (1 + sp.exp(-x)) - sp.Rational(1, 2),
    "softplus_centered": sp.log(1 + sp.exp(x)) - sp.log(2),
    "gelu": x / 2 * (1 + sp.erf(x / sp.sqrt(2))),
    "silu": x / (1 + sp.exp(-x)),
    "elu": sp.Piecewise((x, x >= 0), (sp.exp(x) - 1, True)),
    "relu": _relu(),
    "leaky_relu": sp.Piecewise((x, x >= 0), (x / 100, True)),
    "x+x^2/2": x + x**2 / 2,
    "x+x^3": x + x**3,
}
"""Named activations. sigmoid and softplus are centred so that sigma(0) = 0."""


_VARIABLES: dict[str, sp.Symbol] = {
    c: x if c == "x" else sp.Symbol(c, real=True) for c in string.ascii_letters if c != "E"}
"""Names an activation's variable may have: one letter (``E`` is Euler's number)."""


def _parse(text: str) -> sp.Expr:
    """Text to sympy through :func:`theory.parse.parse_expression` (never ``sympify``): the
    allowed functions are :data:`theory.parse.ACTIVATION_FUNCTIONS`, the variable one letter.
    A lone unknown name (``tahn``) is an error suggesting the closest library names."""
    word = text.strip()
    if word.isidentifier() and word not in _VARIABLES and word not in CONSTANTS:
        near = [n for n in dict.fromkeys(closest(word, list(LIBRARY))
                                         + closest(word, list(ACTIVATION_FUNCTIONS)))
                if n != word][:3]
        called = (f"'{word}' is a function: write '{word}(x)'; " if word in ACTIVATION_FUNCTIONS
                  else "")
        guess = f"did you mean {' or '.join(near)}? " if near else ""
        raise ActivationError(
            f"activation={shorten(text)!r} is not a library activation nor an expression in one "
            f"variable. Fix: {called}{guess}library: {', '.join(LIBRARY)}; or an expression "
            "such as 'tanh(x)' or 'x + x**2/2'")
    try:
        return parse_expression(text, variables=_VARIABLES, functions=ACTIVATION_FUNCTIONS,
                                what="activation", expected="a sympy expression in one variable",
                                fix="write e.g. 'tanh(x)' or 'x + x**2/2' (functions: "
                                    f"{', '.join(sorted(ACTIVATION_FUNCTIONS))})")
    except ParseError as exc:
        raise ActivationError(str(exc)) from None


def _exact(value: object, name: str) -> sp.Expr:
    """A coefficient as an exact number: text through :func:`theory.parse.parse_number`."""
    if isinstance(value, str):
        try:
            return parse_number(value, name)
        except ParseError as exc:
            raise ActivationError(str(exc)) from None
    return sp.nsimplify(sp.sympify(value, strict=True))


def activation(spec: str | sp.Expr | Activation, *, name: str | None = None) -> Activation:
    """Build a validated :class:`Activation`.

    ``spec`` is a library name (see :data:`LIBRARY`), a string such as ``"tanh(x) + x**3"``
    or a sympy expression in one variable (any symbol name; it is renamed to :data:`x`).
    Raises ActivationError when the expression has no variable or several, or when sigma
    is undefined or infinite at 0.
    """
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str) and name is None:
        return _activation_from_text(spec)
    return _build(spec, name)


@lru_cache(maxsize=512)
def _activation_from_text(text: str) -> Activation:
    """Parsed activations are cached: their Taylor data is derived once per process."""
    return _build(text, None)


def _build(spec: str | sp.Expr, name: str | None) -> Activation:
    if isinstance(spec, str) and spec.strip() in LIBRARY:
        label, expr = spec.strip(), LIBRARY[spec.strip()]
    else:
        expr = _parse(spec) if isinstance(spec, str) else as_expression(spec)
        label = str(spec) if isinstance(spec, str) else str(expr)
    free = expr.free_symbols
    if len(free) != 1:
        names = sorted(str(s) for s in free)
        raise ActivationError(
            f"activation={shorten(label)!r} must be a function of exactly one variable; it has "
            f"{len(free)} ({', '.join(names) or 'none'}). Fix: write it in one variable, e.g. "
            "'tanh(x)'"
        )
    (var,) = free
    shown = shorten(label)
    expr = expr.subs(var, x)
    act = Activation(name or label, sp.piecewise_fold(expr))
    try:
        left0 = act.one_sided_derivative(0, "-")
        right0 = act.one_sided_derivative(0, "+")
    except (NotImplementedError, ValueError) as exc:  # pragma: no cover - sympy internals
        raise ActivationError(
            f"activation={shown!r}: cannot evaluate sigma at 0 ({exc})") from exc
    if not (left0.is_finite and right0.is_finite) or sp.simplify(left0 - right0) != 0:
        raise ActivationError(
            f"activation={shown!r} is undefined or discontinuous at 0 (sigma(0-)={left0}, "
            f"sigma(0+)={right0}); the limit theorems need sigma continuous at 0"
        )
    _check_real_near_zero(act, shown)
    return act


_PROBES = tuple(sign * sp.Rational(1, 10**k) for k in range(2, 7) for sign in (-1, 1))
"""Points ``+-10^-k``, k = 2..6, where sigma must be finite and real."""


def _check_real_near_zero(act: Activation, label: str) -> None:
    """ActivationError unless sigma is real and finite on both sides of 0 (``sqrt(x)`` is
    not real for x < 0, so it has no neural-ODE or SDE limit)."""
    bad = [side for side, branch in zip(("x < 0", "x > 0"), act.branches, strict=True)
           if branch.is_extended_real is False]
    values = {p: sp.N(act.expr.subs(x, p), 15) for p in _PROBES}
    off = [(p, v) for p, v in values.items()
           if not v.is_finite or v.is_extended_real is False
           or (v.is_number and abs(sp.im(v)) > 0)]
    if bad or off:
        where = f"sigma({off[0][0]}) = {off[0][1]}" if off else f"for {bad[0]}"
        raise ActivationError(
            f"activation={label!r} is not real-valued on a neighbourhood of 0 ({where}); "
            "the limit theorems need sigma real and finite around 0. Fix: use e.g. "
            "'sqrt(1 + x**2) - 1' instead of 'sqrt(x)'")
