"""The terms of one residual increment, each with what is known of its mean (THEORY.md R5b).

One increment ``L^{-base} sigma(x_k)`` of a depth-L ResNet is expanded into terms of size
``L^{-s}`` (Taylor's formula, or a law of large numbers and a CLT over i.i.d. weights). Over
the L layers a term adds up according to its *mean*:

* ``computed``: its mean is a known coefficient (a *drift*): L terms of size L^{-s} add up to
  ``L^{1 - s}``;
* ``zero``: its mean is provably zero -- a centred part, or a term odd in the symmetric
  (Gaussian) noise, e.g. every term of an odd sigma applied to ``L^{-b} z``: it is a
  martingale increment and L of them add up to a *fluctuation* ``sqrt(L) L^{-s} =
  L^{1/2 - s}``;
* ``unknown``: its mean was not computed (a Taylor remainder, a one-sided coefficient of a
  sigma that is not smooth at 0): its sum is only *bounded*, by the drift size ``L^{1 - s}``.
  Such a term never becomes an explosion or a rate: :mod:`theory.derive` returns
  ``undetermined`` (with this term as the reason) where it might matter, and a rate it could
  limit only as a lower bound (``at_least``).

:attr:`Term.exponent` is the exponent of the term's sum over the layers (``1 - s`` for drift
and unknown-mean terms, ``1/2 - s`` for zero-mean ones); ``coefficient`` is None when only
that bound is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from theory.activations import MAX_ORDER, Activation
from theory.activations import x as _x
from theory.gaussian import gaussian_expectation
from theory.limits import a, q, u
from theory.scaling import Block, Rough, Scaling, Smooth, WeightLaw, d

MEANS = ("computed", "zero", "unknown")
HALF = sp.Rational(1, 2)


@dataclass(frozen=True)
class Term:
    """One term of the increment (see the module docstring).

    ``role`` is "drift" (its mean adds up over the layers) or "noise" (a centred fluctuation);
    ``mean`` is one of :data:`MEANS`; ``tag`` is nonlinear | linear | taylor | ito | lln |
    brownian | clt | remainder; ``noise_col`` is c(u) of a matrix noise ``dM c(u)``.
    """

    role: str
    exponent: sp.Expr
    coefficient: sp.Expr | None
    tag: str
    origin: str
    noise_col: sp.Expr | None = None
    mean: str = "computed"

    def __post_init__(self) -> None:
        if self.role not in ("drift", "noise"):
            raise ValueError(f"Term.role={self.role!r}: use 'drift' or 'noise'")
        if self.mean not in MEANS:
            raise ValueError(f"Term.mean={self.mean!r}: use one of {MEANS}")
        if self.role == "noise" and self.mean != "zero":
            raise ValueError(f"a noise term is centred: mean='zero', not {self.mean!r}")

    @property
    def exact(self) -> bool:
        """Whether the coefficient is known (else the exponent is a bound only)."""
        return self.coefficient is not None


def drift(size: sp.Expr, coefficient: sp.Expr | None, tag: str, origin: str) -> Term:
    """The mean of a term of size L^{-size}; ``coefficient=None``: the mean is unknown."""
    mean = "computed" if coefficient is not None else "unknown"
    return Term("drift", 1 - size, coefficient, tag, origin, mean=mean)


def fluctuation(size: sp.Expr, coefficient: sp.Expr | None, tag: str, origin: str,
                noise_col: sp.Expr | None = None) -> Term:
    """A zero-mean term of size L^{-size}: a martingale adding up to L^{1/2 - size}."""
    return Term("noise", HALF - size, coefficient, tag, origin, noise_col, mean="zero")


def remainder(size: sp.Expr, order: int, *, mean_zero: bool, why: str) -> Term:
    """The Taylor remainder of ``order`` (size L^{-size}, coefficient not computed): a
    fluctuation where its mean is provably zero, otherwise a term of unknown mean."""
    if mean_zero:
        return fluctuation(size, None, "remainder", f"Taylor remainder of order {order} "
                           f"(mean 0: {why})")
    return drift(size, None, "remainder", f"Taylor remainder of order {order} (mean not "
                 f"computed: {why})")


def _double_factorial(n: int) -> int:
    return math.prod(range(n, 0, -2)) if n > 0 else 1


def _is_zero(expr: sp.Expr | None) -> bool:
    return expr is not None and sp.simplify(expr) == 0


def taylor_terms(act: Activation, base: sp.Expr, smooth: Smooth | None,
                 rough: Rough | None, *, symmetric: bool) -> tuple[list[Term], list[str]]:
    """Terms of L^{-base} sigma(L^{-bs} a + L^{-br} z), z ~ N(0, q), by Taylor's formula at 0.

    ``a^j z^i`` with i odd has mean 0 (z symmetric, independent of a); with i even its mean
    is ``(i - 1)!! q^{i/2} a^j`` and its centred part a fluctuation. ``symmetric``: the
    increment is odd in the noise (sigma odd, no smooth part), so the remainder has mean 0.
    """
    notes: list[str] = []
    terms: list[Term] = []
    taylor = act.taylor
    if rough is not None:
        order = min(len(taylor) - 1, MAX_ORDER if act.smoothness == sp.oo else act.smoothness)
    else:
        order = len(taylor) - 1
    polynomial_branches = all(b.is_polynomial(_x) for b in act.branches)
    degree = max(sp.degree(b, _x) if b != 0 else 0 for b in act.branches) if (
        polynomial_branches) else None
    bs = smooth.beta if smooth is not None else None
    br = rough.beta if rough is not None else None
    for n in range(order + 1):
        left, right = taylor[n]
        two_sided = sp.simplify(left - right) == 0
        for i in range(n + 1):
            j = n - i
            if (i and br is None) or (j and bs is None):
                continue
            scale = base + i * (br or 0) + j * (bs or 0)
            comb = sp.binomial(n, i) / sp.factorial(n)
            if two_sided:
                coef = comb * right * a**j
            elif i == 0:
                coef = sp.Piecewise((comb * right * a**n, a >= 0), (comb * left * a**n, True))
            else:
                coef = None
            if coef is not None and _is_zero(coef):
                continue
            if n == 0:
                tag = "taylor"
            elif n == 1 and i == 0:
                tag = "linear" if two_sided else "nonlinear"
            elif i >= 2:
                tag = "ito"
            else:
                tag = "taylor"
            if i % 2 == 0:
                moment = _double_factorial(i - 1) * q ** sp.Rational(i, 2)
                terms.append(drift(scale, None if coef is None else coef * moment, tag,
                                   f"order {n}: a^{j} z^{i} mean"))
            if i >= 1:
                col = u if (i == 1 and j == 0) else None
                terms.append(fluctuation(scale, coef, "brownian", f"order {n}: a^{j} z^{i} "
                                         "fluctuation", noise_col=col))
    if not (polynomial_branches and degree <= order):
        n = order + 1
        smooth_note = "" if act.smoothness == sp.oo else f"sigma is C^{act.smoothness} at 0, "
        why = f"{smooth_note}examined to order {order}"
        for b in (bs, br):
            if b is not None:
                terms.append(remainder(base + n * b, n, mean_zero=symmetric, why=(
                    "odd in the symmetric noise" if symmetric else why)))
        notes.append(f"terms of order >= {n} bounded by their size (sigma examined to order "
                     f"{order})")
    return terms, notes


def around_a_terms(act: Activation, base: sp.Expr, rough: Rough | None) -> list[Term]:
    """Terms of L^{-base} sigma(a + L^{-br} z): Taylor's formula around the O(1) smooth
    pre-activation a (sigma analytic); the remainder's mean is not computed."""
    sig = act.expr.subs(_x, a)
    terms = [drift(base, sig, "nonlinear", "sigma(a)")]
    if rough is None:
        return terms
    for i in range(1, MAX_ORDER + 1):
        coef = sp.diff(sig, a, i) / sp.factorial(i)
        scale = base + i * rough.beta
        if i % 2 == 0:
            terms.append(drift(scale, coef * _double_factorial(i - 1) * q ** sp.Rational(i, 2),
                               "ito", f"sigma^({i})(a) z^{i} mean"))
        terms.append(fluctuation(scale, coef, "brownian", f"sigma^({i})(a) z^{i} fluctuation",
                                 noise_col=u if i == 1 else None))
    terms.append(remainder(base + (MAX_ORDER + 1) * rough.beta, MAX_ORDER + 1, mean_zero=False,
                           why=f"sigma around a examined to order {MAX_ORDER}"))
    return terms


def gaussian_terms(act: Activation, base: sp.Expr, smooth: Smooth | None,
                   rough: Rough, degree: sp.Expr) -> list[Term]:
    """Terms of L^{-base - degree*br} sigma(z + L^{br - bs} a), z ~ N(0, q): law of large
    numbers (mean E sigma(z)), CLT (variance), and the first-order effect of the smooth part
    (E sigma'(z) a). Used for O(1) i.i.d. weights (degree 0) and positively homogeneous sigma."""
    shift = base + degree * rough.beta
    mean = gaussian_expectation(act, "sigma").of_variance(q)
    second = gaussian_expectation(act, "sigma^2").of_variance(q)
    terms = [
        drift(shift, mean, "lln", "E sigma(z), z ~ N(0, q)"),
        fluctuation(shift, second - mean**2, "clt",
                    "sigma(z) - E sigma(z): CLT, independent components"),
    ]
    if smooth is not None:
        slope = gaussian_expectation(act, "sigma'").of_variance(q)
        terms.append(drift(shift + (smooth.beta - rough.beta), slope * a, "lln",
                           "E sigma'(z) a: first order in the smooth part"))
    return terms


# --------------------------------------------------------------------------- exponent signs
def exponent_sign(expr: sp.Expr, scaling: Scaling) -> int | None:
    """Sign of an exponent on the whole parameter domain: 1, -1, 0, or None (changes sign
    or cannot be decided). Exponents are affine in the free symbols; the extreme values of an
    affine function on a box are at its corners (with open ends not attained)."""
    expr = sp.expand(sp.sympify(expr))
    if expr.is_number:
        return int(sp.sign(expr))
    symbols = sorted(expr.free_symbols, key=str)
    try:
        poly = sp.Poly(expr, *symbols)
    except sp.PolynomialError:
        return None
    if poly.total_degree() > 1:
        return None
    const = poly.coeff_monomial(1)
    hi, hi_attained, lo, lo_attained = const, True, const, True
    for sym in symbols:
        c = poly.coeff_monomial(sym)
        interval = scaling.interval(sym)
        top, top_open = (interval.sup, interval.right_open) if c > 0 else (
            interval.inf, interval.left_open)
        bot, bot_open = (interval.inf, interval.left_open) if c > 0 else (
            interval.sup, interval.right_open)
        hi, lo = hi + c * top, lo + c * bot
        hi_attained &= not top_open and top.is_finite
        lo_attained &= not bot_open and bot.is_finite
    if lo > 0 or (lo == 0 and not lo_attained):
        return 1
    if hi < 0 or (hi == 0 and not hi_attained):
        return -1
    if lo == hi == 0:
        return 0
    return None


# --------------------------------------------------------------------------- blocks
def _block_i_terms(act: Activation, base: sp.Expr, law: WeightLaw,
                   scaling: Scaling) -> tuple[list[Term], list[str]]:
    smooth, rough = law.smooth, law.rough
    if smooth is not None and exponent_sign(smooth.beta, scaling) == 0:
        if rough is not None and act.smoothness != sp.oo:
            return [], [f"O(1) smooth weights plus a rough part need sigma smooth everywhere; "
                        f"{act.name} is C^{act.smoothness} at 0"]
        return around_a_terms(act, base, rough), ["sigma applied to O(1) arguments"]
    if rough is not None and exponent_sign(rough.beta, scaling) == 0:
        if smooth is not None and exponent_sign(smooth.beta, scaling) != 1:
            return [], ["smooth part exponent must be provably > 0 beside O(1) i.i.d. weights"]
        return gaussian_terms(act, base, smooth, rough, sp.Integer(0)), [
            "O(1) i.i.d. weights: law of large numbers and CLT over the layers"]
    if rough is not None and act.smoothness != sp.oo and act.homogeneity is not None:
        if smooth is not None and exponent_sign(smooth.beta - rough.beta, scaling) != 1:
            return [], ["homogeneous non-smooth sigma: needs the smooth part smaller than the "
                        "rough part (beta_s > beta_r)"]
        return gaussian_terms(act, base, smooth, rough, act.homogeneity), [
            f"sigma positively homogeneous of degree {act.homogeneity}: "
            "sigma(L^-b y) = L^(-b p) sigma(y)"]
    for part in (smooth, rough):
        if part is not None and exponent_sign(part.beta, scaling) != 1:
            return [], [f"exponent {part.beta} is neither provably 0 nor provably > 0; give "
                        "its domain"]
    # odd sigma of a symmetric (Gaussian, no smooth part) pre-activation: every term of the
    # increment, the remainder included, is odd in the noise and has mean 0 (THEORY.md R5b)
    symmetric = smooth is None and act.is_odd
    return taylor_terms(act, base, smooth, rough, symmetric=symmetric)


def _outer_noise_terms(act: Activation, base: sp.Expr, outer: Rough, inner: WeightLaw | None,
                       scaling: Scaling) -> tuple[list[Term], list[str]]:
    """Noise from a rough outer law V: zero mean, independent of everything else."""
    shift = base + outer.beta
    if inner is None:  # block S: V_k sigma(h), Gaussian increments exactly
        return [fluctuation(shift, sp.Integer(1), "brownian", "dV sigma(h)",
                            noise_col=act.expr.subs(_x, u))], []
    if inner.smooth is None and exponent_sign(inner.rough.beta, scaling) == 0:
        second = gaussian_expectation(act, "sigma^2").of_variance(q)
        return [fluctuation(shift, outer.variance * d * second, "clt",
                            "V sigma(W h): CLT over layers, covariance v d E sigma(z)^2 Id")], []
    return [], ["rough outer weights are covered with O(1) i.i.d. inner weights only"]


def increment_terms(block: Block, act: Activation,
                    scaling: Scaling) -> tuple[list[Term], list[str], bool]:
    """All terms of the increment, the notes, and whether the drift carries Vbar(t).
    An empty term list means no method applies (the notes say why)."""
    if block is Block.I:
        terms, notes = _block_i_terms(act, scaling.alpha, scaling.inner, scaling)
        return terms, notes, False
    outer = scaling.outer
    terms: list[Term] = []
    notes: list[str] = []
    if outer.smooth is not None:
        base = scaling.alpha + outer.smooth.beta
        if block is Block.O:
            t, n = _block_i_terms(act, base, scaling.inner, scaling)
        else:
            t, n = [drift(base, act.expr.subs(_x, a), "nonlinear", "sigma(h)")], []
        if not t:
            return [], n, True
        terms += t
        notes += n
    if outer.rough is not None:
        t, n = _outer_noise_terms(act, scaling.alpha, outer.rough, scaling.inner
                                  if block is Block.O else None, scaling)
        if not t:
            return [], n, True
        terms += t
        notes += n
    return terms, notes, outer.smooth is not None
