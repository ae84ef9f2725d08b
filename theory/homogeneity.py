"""Positive homogeneity of a dynamics in its controls, decided exactly.

A neural ODE ``x' = f(x, u)`` is *homogeneous of degree k in the controls* when
``f(x, c u) = c^k f(x, u)`` for every state ``x``, control ``u`` and ``c > 0``. EGPZ (Esteve,
Geshkovski, Pighin, Zuazua, "Large-time asymptotics in deep learning", arXiv 2008.02491)
prove the O(1/T) training error "whenever the dynamics are homogeneous with respect to the
parameters" (degree 1); THEORY.md section 6 lists the examples: ``x' = w(t) sigma(x) + b(t)``
(degree 1 for any sigma), ``x' = relu(w x + b)`` (degree 1), ``x' = w relu(a x + b)``
(degree 2) and ``x' = w tanh(a x + b)`` (not homogeneous).

:func:`homogeneity` answers with a :class:`Homogeneity` value, never a guess:

1. a **structural proof**: a recursion over the expression tree. Control-free
   subexpressions have degree 0 and a control symbol degree 1; a product adds degrees; a sum,
   ``Max``/``Min`` and the branches of a ``Piecewise`` need one common degree; ``z**e`` with a
   real constant ``e`` has degree ``e deg(z)`` (``(a b)^e = a^e b^e`` for ``a > 0``); ``Abs``
   keeps the degree, ``sign``/``Heaviside`` have degree 0; a ``Piecewise`` condition must
   compare homogeneous expressions (its truth value is then invariant under ``u -> c u``); any
   function of a degree-0 argument has degree 0. The literal 0 is homogeneous of every degree.
2. when the recursion fails, a **disproof by a witness**: an exact rational point ``(x, u)``
   and ``c = 2`` with ``F0 = f(x, u)``, ``F1 = f(x, 2u)``, ``F2 = f(x, 4u)`` evaluated with
   ``digits`` significant digits. Degree k forces ``F1 = 2^k F0`` and ``F2 = 4^k F0``, so
   ``F0 F2 != F1^2`` (relative defect above ``margin``, far above the evaluation error), or
   ``F1 / F0`` not a positive real, or ``F0 = 0 != F1``, or two points with different
   ``log2(F1 / F0)`` rule out every real k at once;
3. when no witness is found either, a **proof by simplification** of
   ``f(x, c u) - c^k f(x, u) == 0`` (c a positive symbol) at the degree the evaluations
   suggest, under a time limit;
4. otherwise ``undetermined``, with the reason.

The degree selects the horizon identity (:class:`Identity`): Euler with L steps of ``T/L``
satisfies ``(T/L) f(x, u) = (1/L) f(x, T^{1/k} u)``, so ``J_T^lambda(u) =
J_1^{lambda T^{1 - 2/k}}(T^{1/k} u)``: degree 1 gives the rescaling identity
``J_T^lambda(u) = J_1^{lambda/T}(T u)`` [derived, THEORY.md section 6], degree 2 a horizon
that drops out (weight ``lambda`` at every T).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import mpmath
import sympy as sp

from theory.parse import ACTIVATION_FUNCTIONS, DerivationTimeout, parse_expression, time_limit

__all__ = ["Homogeneity", "Identity", "Status", "Witness", "dynamics_from_text", "homogeneity"]


class Status(StrEnum):
    """Three-valued answer (as sympy's True / False / None)."""

    PROVED = "proved"            # homogeneous of the stated degree
    DISPROVED = "disproved"      # homogeneous of no degree (a witness)
    UNDETERMINED = "undetermined"


class Identity(StrEnum):
    """Which horizon identity the degree gives (module docstring)."""

    RESCALING = "rescaling"        # degree 1: J_T^lambda(u) = J_1^{lambda/T}(T u)
    HORIZON_FREE = "horizon-free"  # degree 2: J_T^lambda(u) = J_1^lambda(sqrt(T) u)
    POWER = "power"                # other k > 0: J_1^{lambda T^(1-2/k)}(T^(1/k) u)
    NONE = "none"                  # not homogeneous, degree <= 0, or undetermined


@dataclass(frozen=True)
class Witness:
    """A point where ``f(x, c u) = c^k f(x, u)`` fails for every real k.

    ``point`` maps symbol names to exact rationals, ``component`` is the index of the
    component of f evaluated, ``values`` are ``(f(x, u), f(x, c u), f(x, c^2 u))`` as text
    with ``digits`` significant digits, ``defect`` the relative size of the violation and
    ``why`` the sentence saying which necessary condition fails.
    """

    point: tuple[tuple[str, sp.Rational], ...]
    c: sp.Rational
    component: int
    values: tuple[str, str, str]
    defect: float
    why: str


@dataclass(frozen=True)
class Homogeneity:
    """The answer of :func:`homogeneity`.

    ``degree`` is the exact degree k when ``status`` is PROVED (None for f identically 0,
    homogeneous of every degree), ``proof`` says how it was decided ("structural",
    "simplification", "witness" or "none"), ``witness`` is set when DISPROVED, and ``reason``
    is one sentence for a human.
    """

    status: Status
    degree: sp.Expr | None
    proof: str
    reason: str
    witness: Witness | None = None

    @property
    def homogeneous(self) -> bool | None:
        """True, False, or None when undetermined."""
        return {Status.PROVED: True, Status.DISPROVED: False}.get(self.status)

    @property
    def identity(self) -> Identity:
        """The horizon identity this degree gives."""
        if self.status is not Status.PROVED or self.degree is None or not self.degree > 0:
            return Identity.NONE
        return {1: Identity.RESCALING, 2: Identity.HORIZON_FREE}.get(self.degree, Identity.POWER)

    def control_scale(self, horizon: sp.Expr) -> sp.Expr:
        """``T^{1/k}``: horizon-T controls u equal horizon-1 controls ``T^{1/k} u``."""
        return sp.Pow(horizon, 1 / self._positive_degree())

    def weight_scale(self, horizon: sp.Expr) -> sp.Expr:
        """``T^{1 - 2/k}``: horizon T with weight lambda is horizon 1 with this times lambda."""
        return sp.Pow(horizon, 1 - 2 / self._positive_degree())

    def _positive_degree(self) -> sp.Expr:
        if self.identity is Identity.NONE:
            raise ValueError(f"no horizon identity: the dynamics are {self.status.value} "
                             f"(degree={self.degree}; {self.reason}). Fix: only dynamics "
                             "homogeneous of a degree k > 0 have one; solve at horizon T")
        return self.degree


class _NotStructural(Exception):
    """The recursion cannot conclude; the message says at which subexpression."""


_ANY = "any"  # the degree of the literal 0


def _common(degrees: Sequence[object], what: str) -> object:
    found = {d for d in degrees if d is not _ANY}
    if not found:
        return _ANY
    if len(found) > 1:
        shown = ", ".join(sorted(str(d) for d in found))
        raise _NotStructural(f"{what} mixes degrees {shown}")
    return found.pop()


def _degree(expr: sp.Basic, controls: frozenset[sp.Symbol]) -> object:
    if expr.is_zero is True and expr.is_number:
        return _ANY
    if not (expr.free_symbols & controls):
        return sp.Integer(0)
    if isinstance(expr, sp.Symbol):
        return sp.Integer(1)
    if isinstance(expr, sp.Add):
        return _common([_degree(a, controls) for a in expr.args], f"the sum {expr}")
    if isinstance(expr, sp.Mul):
        degrees = [_degree(a, controls) for a in expr.args]
        return _ANY if _ANY in degrees else sp.Add(*degrees)
    if isinstance(expr, sp.Pow):
        base, exponent = expr.args
        if exponent.free_symbols & controls:
            raise _NotStructural(f"the exponent of {expr} depends on the controls")
        d = _degree(base, controls)
        if d is _ANY or d == 0:
            return d
        if not (exponent.is_number and exponent.is_real):
            raise _NotStructural(f"the exponent of {expr} is not a real constant")
        return sp.nsimplify(d * exponent)
    if isinstance(expr, sp.Abs):
        return _degree(expr.args[0], controls)
    if isinstance(expr, sp.sign | sp.Heaviside):
        _degree(expr.args[0], controls)
        return sp.Integer(0)
    if isinstance(expr, sp.Max | sp.Min):
        return _common([_degree(a, controls) for a in expr.args], f"{expr.func}{expr.args}")
    if isinstance(expr, sp.Piecewise):
        for _, condition in expr.args:
            _condition(condition, controls)
        return _common([_degree(e, controls) for e, _ in expr.args], f"the branches of {expr}")
    if isinstance(expr, sp.Function) or isinstance(expr, sp.Application):
        if all(_degree(a, controls) in (0, _ANY) for a in expr.args):
            return sp.Integer(0)
        raise _NotStructural(f"{expr.func}(...) of a control-dependent argument ({expr})")
    raise _NotStructural(f"{type(expr).__name__} {expr} is outside the recursion")


def _condition(condition: sp.Basic, controls: frozenset[sp.Symbol]) -> None:
    if condition in (sp.true, sp.false) or not (condition.free_symbols & controls):
        return
    if isinstance(condition, sp.And | sp.Or | sp.Not):
        for arg in condition.args:
            _condition(arg, controls)
        return
    if isinstance(condition, sp.core.relational.Relational):
        _degree(condition.lhs - condition.rhs, controls)
        return
    raise _NotStructural(f"the condition {condition} is not a comparison of homogeneous terms")


def _components(f: sp.Basic | Sequence[sp.Basic]) -> tuple[sp.Expr, ...]:
    if isinstance(f, sp.MatrixBase):
        return tuple(f)
    if isinstance(f, sp.Basic):
        return (f,)
    if isinstance(f, Sequence) and not isinstance(f, str):
        return tuple(sp.sympify(e, strict=True) for e in f)
    raise TypeError(f"f={f!r} must be a sympy expression, a Matrix or a sequence of them; text "
                    "goes through theory.homogeneity.dynamics_from_text first")


def _rationals(rng: random.Random, n: int) -> list[sp.Rational]:
    """Rationals p/q away from 0, with both signs (q in 1..7, |p/q| in [1/7, 3])."""
    out = []
    while len(out) < n:
        q = rng.randint(1, 7)
        p = rng.randint(-3 * q, 3 * q)
        if p != 0:
            out.append(sp.Rational(p, q))
    return out


def _evaluate(expr: sp.Expr, values: dict[sp.Symbol, sp.Expr], digits: int) -> mpmath.mpc | None:
    value = sp.N(expr.xreplace(values), digits)
    if not value.is_number:
        return None
    re, im = value.as_real_imag()
    if not (isinstance(re, sp.Float | sp.Integer | sp.Rational)
            and isinstance(im, sp.Float | sp.Integer | sp.Rational)):
        return None
    with mpmath.workdps(digits):
        return mpmath.mpc(mpmath.mpf(sp.Float(re, digits)._mpf_),
                          mpmath.mpf(sp.Float(im, digits)._mpf_))


def homogeneity(f: sp.Basic | Sequence[sp.Basic], *, controls: Sequence[sp.Symbol],
                states: Sequence[sp.Symbol] | None = None, points: int = 24, seed: int = 0,
                digits: int = 50, margin: float = 1e-20,
                simplify_seconds: float = 10.0) -> Homogeneity:
    """The degree of positive homogeneity of ``f`` in ``controls`` (module docstring).

    ``f`` is one expression or several (the components of a vector field); every free symbol
    that is not a control (states, time) is held fixed. ``states``, when given, must cover
    the other free symbols (a typo then fails loudly). The witness search draws ``points``
    rational points from ``random.Random(seed)`` and evaluates with ``digits`` digits; a
    violation counts when its relative size exceeds ``margin`` (far above ``10^-digits``).
    """
    components = _components(f)
    controls = tuple(controls)
    if not controls or not all(isinstance(c, sp.Symbol) for c in controls):
        raise ValueError(f"controls={controls!r} must be a non-empty sequence of sympy Symbols, "
                         "e.g. sympy.symbols('w b')")
    free = set().union(*(e.free_symbols for e in components))
    if states is not None:
        extra = free - set(controls) - set(states)
        if extra:
            raise ValueError(f"f uses {sorted(map(str, extra))}, which are neither states "
                             f"{list(map(str, states))} nor controls {list(map(str, controls))}."
                             " Fix: declare them, or correct the expression")
    if not 10 <= digits <= 1000 or not 10.0 ** -digits < margin < 1e-3:
        raise ValueError(f"digits={digits}, margin={margin}: need 10 <= digits <= 1000 and "
                         "10^-digits < margin < 1e-3 (e.g. digits=50, margin=1e-20)")
    cset = frozenset(controls)
    try:
        degree = _common([_degree(e, cset) for e in components], "the components of f")
    except _NotStructural as exc:
        why_not = str(exc)
    else:
        if degree is _ANY:
            return Homogeneity(Status.PROVED, None, "structural",
                               "f is identically 0: homogeneous of every degree")
        return Homogeneity(Status.PROVED, degree, "structural",
                           f"structural recursion: degree {degree} in {list(map(str, controls))}")
    return _by_evaluation(components, controls, sorted(free - cset, key=str), why_not,
                          points=points, seed=seed, digits=digits, margin=margin,
                          simplify_seconds=simplify_seconds)


def _by_evaluation(components: tuple[sp.Expr, ...], controls: tuple[sp.Symbol, ...],
                   others: list[sp.Symbol], why_not: str, *, points: int, seed: int,
                   digits: int, margin: float, simplify_seconds: float) -> Homogeneity:
    rng = random.Random(seed)
    c = sp.Integer(2)
    estimates: list[tuple[float, Witness]] = []
    unevaluable = 0
    for _ in range(points):
        values = dict(zip([*others, *controls], _rationals(rng, len(others) + len(controls)),
                          strict=True))
        point = tuple((str(s), v) for s, v in values.items())
        for j, expr in enumerate(components):
            scaled = [{**values, **{u: s * values[u] for u in controls}} for s in (1, c, c * c)]
            got = [_evaluate(expr, v, digits) for v in scaled]
            if any(g is None for g in got):
                unevaluable += 1
                continue
            f0, f1, f2 = got
            with mpmath.workdps(digits):
                text = tuple(mpmath.nstr(g, 20) for g in got)
                scale = max(abs(f0), abs(f1), abs(f2))
                if scale == 0:
                    continue
                if abs(f0) <= margin * scale:
                    if f0 == 0:
                        w = Witness(point, c, j, text, 1.0, "f(x, u) = 0 but f(x, c u) != 0, "
                                    "while c^k * 0 = 0 for every k")
                        return _disproved(w, why_not)
                    continue
                ratio = f1 / f0
                defect = float(abs(f0 * f2 - f1 * f1) / max(abs(f1) ** 2, abs(f0 * f2)))
                if abs(ratio.imag) > margin * abs(ratio) or ratio.real <= 0:
                    w = Witness(point, c, j, text, 1.0, f"f(x, c u) / f(x, u) = "
                                f"{mpmath.nstr(ratio, 10)} is not a positive real c^k")
                    return _disproved(w, why_not)
                if defect > margin:
                    w = Witness(point, c, j, text, defect, "f(x, u) f(x, c^2 u) != f(x, c u)^2,"
                                " while degree k would make both c^(2k) f(x, u)^2")
                    return _disproved(w, why_not)
                k = float(mpmath.log(ratio.real, 2))
            for k_other, w_other in estimates:
                if abs(k - k_other) > 1e-9 * max(1.0, abs(k)):
                    w = Witness(point, c, j, text, abs(k - k_other),
                                f"log_c(f(x, c u) / f(x, u)) is {k:.12g} here but "
                                f"{k_other:.12g} at {dict(w_other.point)} (component "
                                f"{w_other.component}): no common degree")
                    return _disproved(w, why_not)
            if not estimates:
                estimates.append((k, Witness(point, c, j, text, 0.0, "")))
    if not estimates:
        return Homogeneity(Status.UNDETERMINED, None, "none",
                           f"no structural proof ({why_not}); f could not be evaluated at "
                           f"{points} rational points ({unevaluable} failed), so no witness")
    k_float = estimates[0][0]
    k = sp.nsimplify(k_float, rational=True, tolerance=1e-9)
    cs = sp.Symbol("c_scale", positive=True)
    try:
        with time_limit(simplify_seconds, "the homogeneity simplification"):
            proved = all(sp.simplify(e.xreplace({u: cs * u for u in controls}) - cs ** k * e) == 0
                         for e in components)
    except DerivationTimeout:
        proved = False
    if proved:
        return Homogeneity(Status.PROVED, k, "simplification",
                           f"no structural proof ({why_not}); simplify proves "
                           f"f(x, c u) = c^{k} f(x, u) with c > 0")
    return Homogeneity(Status.UNDETERMINED, None, "none",
                       f"no structural proof ({why_not}); no witness at {points} rational points "
                       f"(consistent with degree {k_float:.12g}); simplify did not prove degree "
                       f"{k} within {simplify_seconds:g} s")


def _disproved(w: Witness, why_not: str) -> Homogeneity:
    return Homogeneity(Status.DISPROVED, None, "witness",
                       f"not homogeneous: {w.why} at {dict(w.point)} (component {w.component}, "
                       f"c={w.c}); the recursion stopped at: {why_not}", w)


def dynamics_from_text(texts: str | Sequence[str], *, states: Sequence[str],
                       controls: Sequence[str]) -> tuple[tuple[sp.Expr, ...],
                                                         tuple[sp.Symbol, ...],
                                                         tuple[sp.Symbol, ...]]:
    """Parse the components of ``x' = f(x, u)`` from untrusted text with
    :func:`theory.parse.parse_expression` (never ``sympify``); ``relu`` is ``Max(0, z)``.

    Returns ``(components, state symbols, control symbols)`` (symbols real), ready for
    :func:`homogeneity`.
    """
    names = [*states, *controls]
    if len(set(names)) != len(names) or not controls:
        raise ValueError(f"states={list(states)}, controls={list(controls)}: the names must be "
                         "distinct and at least one control given")
    symbols = {n: sp.Symbol(n, real=True) for n in names}
    texts = (texts,) if isinstance(texts, str) else tuple(texts)
    parsed = tuple(parse_expression(t, variables=symbols, functions=ACTIVATION_FUNCTIONS,
                                    what="dynamics", expected="a dynamics f(x, u)")
                   for t in texts)
    return (parsed, tuple(symbols[n] for n in states), tuple(symbols[n] for n in controls))
