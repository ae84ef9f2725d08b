"""Which limit a deep ResNet has, with exact coefficients and predicted rates.

Method (a power count, [derived]; it reproduces R1-R7 of THEORY.md section 3). Expand one
residual increment ``L^{-alpha} sigma(x_k)`` into terms; each term either adds a mean over
the L layers (a *drift* term: sum of L terms of size L^{-e'} gives L^{1 - e'}) or a centred
fluctuation (a *noise* term: a martingale of L terms gives L^{1/2 - e'}). Write its size as
L^{e}. Then:

* some term with e > 0 and non-zero coefficient: **explosion** (|h_L| grows like L^e or faster);
* the terms with e = 0 form the limit: drift terms give ``dH = f dt``, a noise term linear in
  the weights' Brownian part gives ``g dW`` (strong coupling), a CLT noise gives a law-only SDE;
* every e < 0: **identity**, |h_L - h_0| ~ L^{max e} (R3);
* the largest e < 0 among the remaining terms bounds the convergence rate, together with the
  Euler (1) or Euler-Maruyama (strong 1/2, weak 1) discretisation order.

When sigma is smooth at 0 and the weights are small (beta > 0), the terms come from Taylor's
formula at 0 with Gaussian moments of the rough part; with O(1) smooth weights (beta = 0) from
Taylor's formula around the smooth pre-activation a; with O(1) i.i.d. weights or a positively
homogeneous non-smooth sigma (ReLU) from the law of large numbers and the CLT, through the
Gaussian expectations of :mod:`theory.gaussian`. Whatever none of these covers is
``undetermined``, with the reason.

Coefficients are componentwise sympy expressions in

* ``a``: the component of the smooth pre-activation (``Abar(t) H + bbar(t)`` in block I,
  ``Wbar(t) H`` in block O, ``H`` itself in block S),
* ``q``: the variance of one component of the Gaussian pre-activation, ``v |H|^2`` for a rough
  inner law with entry variance v (i.i.d. entries N(0, 1/(dL)): q = |H|^2 / d),
* ``u``: the component of H (for the matrix noise ``dM_t c(H)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import sympy as sp

from theory.activations import MAX_ORDER, Activation, activation
from theory.activations import x as _x
from theory.gaussian import gaussian_expectation
from theory.lambdify import to_torch
from theory.scaling import Block, Rough, Scaling, Smooth, WeightLaw, d

a, q, u = sp.symbols("a q u", real=True)
"""Componentwise variables of the coefficients (see the module docstring)."""

KINDS = (
    "neural-ode",
    "linear-ode",
    "ode",
    "drift-ode",
    "sde",
    "identity",
    "explosion",
    "undetermined",
)
METRICS = ("sup", "strong", "weak", "law", "identity", "growth")


@dataclass(frozen=True)
class Rate:
    """A predicted rate: the metric falls like ``L^{-value}`` (or grows like L^value for
    "growth"). ``kind`` is "sharp" or "at_least"; ``label`` is "paper" or "derived"."""

    metric: str
    value: sp.Expr
    kind: str = "sharp"
    label: str = "derived"
    source: str = ""

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric={self.metric!r}: use one of {METRICS}")
        if self.kind not in ("sharp", "at_least"):
            raise ValueError(f"kind={self.kind!r}: use 'sharp' or 'at_least'")
        if self.label not in ("paper", "derived"):
            raise ValueError(f"label={self.label!r}: use 'paper' or 'derived'")

    def describe(self) -> str:
        rel = ">=" if self.kind == "at_least" else "="
        return f"{self.metric} rate {rel} {self.value} [{self.label}: {self.source}]"


@dataclass(frozen=True)
class _Term:
    role: str  # "drift" or "noise"
    exponent: sp.Expr
    coefficient: sp.Expr | None  # None: not determined (sigma not smooth enough)
    tag: str  # nonlinear | linear | taylor | ito | lln | brownian | clt | remainder
    origin: str
    noise_col: sp.Expr | None = None  # matrix noise dM c(u): c; None for vector noise


@dataclass(frozen=True)
class Limit:
    """The large-depth limit of a ResNet, as derived by :func:`derive_limit`.

    ``drift`` is the componentwise density f(a, q): the limit drift is ``f`` (block I) or
    ``Vbar(t) f`` (``outer_drift``, blocks O and S). ``noise`` is "matrix" (``g(a, q) *
    (dM_t c(H))``, M the weights' Brownian part with entry variance ``noise_variance``: a strong
    coupling exists), "vector" (``sqrt(g(q)) dB_t``, B a standard d-dim Brownian motion: in law
    only) or None. ``ito_correction`` is the part of the drift coming from second-order terms
    of the noise (the term a neural-ODE view misses).
    """

    kind: str
    block: Block
    activation: Activation
    scaling: Scaling
    drift: sp.Expr = sp.Integer(0)
    ito_correction: sp.Expr = sp.Integer(0)
    outer_drift: bool = False
    noise: str | None = None
    noise_row: sp.Expr = sp.Integer(0)
    noise_col: sp.Expr | None = None
    noise_variance: sp.Expr | None = None
    q_definition: sp.Expr | None = None
    exponent: sp.Expr | None = None
    rates: tuple[Rate, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def rate(self, metric: str) -> Rate:
        for r in self.rates:
            if r.metric == metric:
                return r
        raise KeyError(
            f"no {metric!r} rate predicted for this {self.kind} limit; it has "
            f"{[r.metric for r in self.rates]}"
        )

    @property
    def diffusion(self) -> sp.Expr:
        """The noise coefficient: g(a, q) for matrix noise, the variance g(q) for vector noise."""
        return self.noise_row

    def equation(self) -> str:
        """The limit equation in words and exact formulas."""
        if self.kind in ("identity", "explosion", "undetermined"):
            head = {
                "identity": f"h_L -> h_0, |h_L - h_0| ~ L^({self.exponent})",
                "explosion": f"|h_L| grows without bound (at least like L^({self.exponent}))",
                "undetermined": "no known result applies",
            }[self.kind]
            return head
        outer = "Vbar(t) " if self.outer_drift else ""
        parts = [f"dH_t = {outer}f(a, q) dt"]
        if self.noise == "matrix":
            parts.append(f"+ g(a, q) * (dM_t c(H_t)), c(u) = {self.noise_col}")
        elif self.noise == "vector":
            parts.append("+ sqrt(g(q)) dB_t")
        legend = [f"f(a, q) = {self.drift}"]
        if self.ito_correction != 0:
            legend.append(f"Ito correction {self.ito_correction}")
        if self.noise is not None:
            legend.append(f"g = {self.noise_row}")
        if self.noise == "matrix":
            legend.append(f"M entries of variance {self.noise_variance} per unit time")
        legend.append(f"a = {_A_MEANING[self.block]}")
        if self.q_definition is not None:
            legend.append(f"q = {self.q_definition}")
        return " ".join(parts) + ";  " + "; ".join(legend) + "  (componentwise)"

    def latex(self) -> str:
        """The limit equation in LaTeX."""
        if self.kind in ("identity", "explosion", "undetermined"):
            return self.equation()
        outer = r"\bar V(t)\," if self.outer_drift else ""
        tex = rf"dH_t = {outer}\left({sp.latex(self.drift)}\right) dt"
        if self.noise == "matrix":
            tex += rf" + \left({sp.latex(self.noise_row)}\right) dM_t\, {sp.latex(self.noise_col)}"
        elif self.noise == "vector":
            tex += rf" + \sqrt{{{sp.latex(self.noise_row)}}}\, dB_t"
        return tex.replace("u", "H_t") if self.noise == "matrix" else tex

    def drift_torch(self):
        """f(a, q) as a torch function (cached): the formula derived is the formula simulated."""
        return to_torch(self.drift, (a, q))

    def noise_torch(self):
        """(g(a, q), c(u)) for matrix noise, g(q) for vector noise, as torch functions."""
        if self.noise == "matrix":
            return to_torch(self.noise_row, (a, q)), to_torch(self.noise_col, (u,))
        if self.noise == "vector":
            return to_torch(self.noise_row, (q,))
        raise ValueError(f"this {self.kind} limit has no noise")

    def summary(self) -> str:
        lines = [f"[{self.kind}] block {self.block.value}, {self.activation.name}, "
                 f"{self.scaling.describe()}", "  " + self.equation()]
        lines += ["  " + r.describe() for r in self.rates]
        lines += ["  note: " + n for n in self.notes]
        return "\n".join(lines)


_A_MEANING = {
    Block.I: "Abar(t) H_t + bbar(t)",
    Block.O: "Wbar(t) H_t",
    Block.S: "H_t",
}


# --------------------------------------------------------------------------- signs
def _sign(expr: sp.Expr, scaling: Scaling) -> int | None:
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


def _is_zero(expr: sp.Expr | None) -> bool:
    return expr is not None and sp.simplify(expr) == 0


# --------------------------------------------------------------------------- terms
def _double_factorial(n: int) -> int:
    return math.prod(range(n, 0, -2)) if n > 0 else 1


def _taylor_terms(act: Activation, base: sp.Expr, smooth: Smooth | None,
                  rough: Rough | None) -> tuple[list[_Term], list[str]]:
    """Terms of L^{-base} sigma(L^{-bs} a + L^{-br} z), z ~ N(0, q), by Taylor's formula at 0."""
    notes: list[str] = []
    terms: list[_Term] = []
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
                terms.append(_Term("drift", 1 - scale, None if coef is None else coef * moment,
                                   tag, f"order {n}: a^{j} z^{i} mean"))
            if i >= 1:
                col = u if (i == 1 and j == 0) else None
                terms.append(_Term("noise", sp.Rational(1, 2) - scale,
                                   None if coef is None else coef, "brownian", f"order {n}: "
                                   f"a^{j} z^{i} fluctuation", noise_col=col))
    if not (polynomial_branches and degree <= order):
        n = order + 1
        for b in (bs, br):
            if b is not None:
                terms.append(_Term("drift", 1 - base - n * b, None, "remainder",
                                   f"Taylor remainder of order {n}"))
        notes.append(f"terms of order >= {n} bounded by their size (sigma examined to order "
                     f"{order})")
    return terms, notes


def _around_a_terms(act: Activation, base: sp.Expr, rough: Rough | None) -> list[_Term]:
    """Terms of L^{-base} sigma(a + L^{-br} z): Taylor's formula around the O(1) smooth
    pre-activation a (sigma analytic)."""
    sig = act.expr.subs(_x, a)
    terms = [_Term("drift", 1 - base, sig, "nonlinear", "sigma(a)")]
    if rough is None:
        return terms
    for i in range(1, MAX_ORDER + 1):
        coef = sp.diff(sig, a, i) / sp.factorial(i)
        scale = base + i * rough.beta
        if i % 2 == 0:
            terms.append(_Term("drift", 1 - scale, coef * _double_factorial(i - 1)
                               * q ** sp.Rational(i, 2), "ito", f"sigma^({i})(a) z^{i} mean"))
        terms.append(_Term("noise", sp.Rational(1, 2) - scale, coef, "brownian",
                           f"sigma^({i})(a) z^{i} fluctuation", noise_col=u if i == 1 else None))
    terms.append(_Term("drift", 1 - base - (MAX_ORDER + 1) * rough.beta, None, "remainder",
                       f"Taylor remainder of order {MAX_ORDER + 1}"))
    return terms


def _gaussian_terms(act: Activation, base: sp.Expr, smooth: Smooth | None,
                    rough: Rough, degree: sp.Expr) -> list[_Term]:
    """Terms of L^{-base - degree*br} sigma(z + L^{br - bs} a), z ~ N(0, q): law of large
    numbers (mean E sigma(z)), CLT (variance), and the first-order effect of the smooth part
    (E sigma'(z) a). Used for O(1) i.i.d. weights (degree 0) and positively homogeneous sigma."""
    shift = base + degree * rough.beta
    mean = gaussian_expectation(act, "sigma").of_variance(q)
    second = gaussian_expectation(act, "sigma^2").of_variance(q)
    terms = [
        _Term("drift", 1 - shift, mean, "lln", "E sigma(z), z ~ N(0, q)"),
        _Term("noise", sp.Rational(1, 2) - shift, second - mean**2, "clt",
              "sigma(z) - E sigma(z): CLT, independent components"),
    ]
    if smooth is not None:
        slope = gaussian_expectation(act, "sigma'").of_variance(q)
        terms.append(_Term("drift", 1 - shift - (smooth.beta - rough.beta), slope * a, "lln",
                           "E sigma'(z) a: first order in the smooth part"))
    return terms


def _block_i_terms(act: Activation, base: sp.Expr, law: WeightLaw,
                   scaling: Scaling) -> tuple[list[_Term], list[str]]:
    smooth, rough = law.smooth, law.rough
    if smooth is not None and _sign(smooth.beta, scaling) == 0:
        if rough is not None and act.smoothness != sp.oo:
            return [], [f"O(1) smooth weights plus a rough part need sigma smooth everywhere; "
                        f"{act.name} is C^{act.smoothness} at 0"]
        return _around_a_terms(act, base, rough), ["sigma applied to O(1) arguments"]
    if rough is not None and _sign(rough.beta, scaling) == 0:
        if smooth is not None and _sign(smooth.beta, scaling) != 1:
            return [], ["smooth part exponent must be provably > 0 beside O(1) i.i.d. weights"]
        return _gaussian_terms(act, base, smooth, rough, sp.Integer(0)), [
            "O(1) i.i.d. weights: law of large numbers and CLT over the layers"]
    if rough is not None and act.smoothness != sp.oo and act.homogeneity is not None:
        if smooth is not None and _sign(smooth.beta - rough.beta, scaling) != 1:
            return [], ["homogeneous non-smooth sigma: needs the smooth part smaller than the "
                        "rough part (beta_s > beta_r)"]
        return _gaussian_terms(act, base, smooth, rough, act.homogeneity), [
            f"sigma positively homogeneous of degree {act.homogeneity}: "
            "sigma(L^-b y) = L^(-b p) sigma(y)"]
    for part in (smooth, rough):
        if part is not None and _sign(part.beta, scaling) != 1:
            return [], [f"exponent {part.beta} is neither provably 0 nor provably > 0; give "
                        "its domain"]
    return _taylor_terms(act, base, smooth, rough)


def _outer_noise_terms(act: Activation, base: sp.Expr, outer: Rough, inner: WeightLaw | None,
                       scaling: Scaling) -> tuple[list[_Term], list[str]]:
    """Noise from a rough outer law V: zero mean, independent of everything else."""
    shift = base + outer.beta
    if inner is None:  # block S: V_k sigma(h), Gaussian increments exactly
        return [_Term("noise", sp.Rational(1, 2) - shift, sp.Integer(1), "brownian",
                      "dV sigma(h)", noise_col=act.expr.subs(_x, u))], []
    if inner.smooth is None and _sign(inner.rough.beta, scaling) == 0:
        second = gaussian_expectation(act, "sigma^2").of_variance(q)
        return [_Term("noise", sp.Rational(1, 2) - shift, outer.variance * d * second, "clt",
            "V sigma(W h): CLT over layers, covariance v d E sigma(z)^2 Id")], []
    return [], ["rough outer weights are covered with O(1) i.i.d. inner weights only"]


def _terms(block: Block, act: Activation, scaling: Scaling) -> tuple[list[_Term], list[str], bool]:
    """All terms of the increment, the notes, and whether the drift carries Vbar(t)."""
    if block is Block.I:
        terms, notes = _block_i_terms(act, scaling.alpha, scaling.inner, scaling)
        return terms, notes, False
    outer = scaling.outer
    terms: list[_Term] = []
    notes: list[str] = []
    if outer.smooth is not None:
        base = scaling.alpha + outer.smooth.beta
        if block is Block.O:
            t, n = _block_i_terms(act, base, scaling.inner, scaling)
        else:
            t, n = [_Term("drift", 1 - base, act.expr.subs(_x, a), "nonlinear", "sigma(h)")], []
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


# --------------------------------------------------------------------------- assembly
def _group_drift(terms: list[_Term]) -> list[_Term]:
    """Sum drift terms of equal exponent (their coefficients may cancel)."""
    groups: dict[sp.Expr, list[_Term]] = {}
    for t in terms:
        key = sp.simplify(t.exponent)
        groups.setdefault(key, []).append(t)
    out = []
    for exponent, members in groups.items():
        if any(m.coefficient is None for m in members):
            out.append(_Term("drift", exponent, None, "remainder",
                             "; ".join(m.origin for m in members)))
            continue
        total = sp.simplify(sum(m.coefficient for m in members))
        if total != 0:
            tags = {m.tag for m in members}
            out.append(_Term("drift", exponent, total, "+".join(sorted(tags)),
                             "; ".join(m.origin for m in members)))
    return out


def _q_definition(scaling: Scaling) -> sp.Expr | None:
    hsq = sp.Symbol("|H|^2", positive=True)
    law = scaling.inner
    if law is not None and law.rough is not None:
        return law.rough.variance * hsq
    return None


def derive_limit(block: Block | str, sigma: Activation | str | sp.Expr,
                 scaling: Scaling) -> Limit:
    """Classify the large-depth limit of the ResNet (block, sigma, scaling) and derive it.

    Returns a :class:`Limit` whose kind is one of KINDS; coefficients are exact sympy
    expressions (see the module docstring for the method and the variables a, q, u).
    Raises ValueError for a block name, activation or scaling that is malformed.
    """
    block = Block.parse(block)
    act = activation(sigma)
    scaling.validate(block)
    terms, notes, outer_drift = _terms(block, act, scaling)
    base = dict(block=block, activation=act, scaling=scaling, q_definition=_q_definition(
        scaling))
    if not terms:
        return Limit("undetermined", notes=tuple(notes), **base)
    drift_terms = _group_drift([t for t in terms if t.role == "drift"])
    noise_terms = [t for t in terms if t.role == "noise" and not _is_zero(t.coefficient)]
    live = drift_terms + noise_terms
    signs = [(t, _sign(t.exponent, scaling)) for t in live]
    positive = [t for t, sg in signs if sg == 1]
    if positive:
        growth = sp.Max(*[t.exponent for t in positive])
        why = "; ".join(f"{t.origin} adds up to L^({sp.simplify(t.exponent)})" for t in positive)
        return Limit("explosion", exponent=growth, notes=tuple(notes + [why]), rates=(
            Rate("growth", growth, "at_least", "derived", "power count of the mean/fluctuation "
                 "terms (THEORY.md R4)"),), **base)
    unknown = [t for t, sg in signs if sg is None]
    if unknown:
        return Limit("undetermined", notes=tuple(notes + [
            f"sign of exponent {t.exponent} ({t.origin}) undecidable on the domain; restrict "
            "the domain or fix the exponents" for t in unknown]), **base)
    leading = [t for t, sg in signs if sg == 0]
    rest = [t for t, sg in signs if sg == -1]
    if any(t.coefficient is None for t in leading):
        bad = [t.origin for t in leading if t.coefficient is None]
        return Limit("undetermined", notes=tuple(notes + [
            f"{', '.join(bad)} survives the limit but sigma is not smooth enough at 0 "
            f"(C^{act.smoothness}) to define it"]), **base)
    if not leading:
        exponent = sp.simplify(sp.Max(*[t.exponent for t in rest]))
        return Limit("identity", exponent=exponent, notes=tuple(notes), rates=(
            Rate("identity", -exponent, "sharp", "derived",
                 "largest surviving term (THEORY.md R3; MFBV)"),), **base)
    lead_drift = [t for t in leading if t.role == "drift"]
    lead_noise = [t for t in leading if t.role == "noise"]
    drift = sp.simplify(sum((t.coefficient for t in lead_drift), sp.Integer(0)))
    ito = sp.simplify(sum((t.coefficient for t in terms if t.role == "drift" and t.tag == "ito"
                           and _sign(t.exponent, scaling) == 0), sp.Integer(0)))
    next_drift = [-t.exponent for t in rest if t.role == "drift"]
    next_noise = [-t.exponent for t in rest if t.role == "noise"]
    fields: dict = dict(drift=drift, ito_correction=ito, outer_drift=outer_drift)
    if lead_noise:
        nonlinear = lead_noise[0].tag == "brownian" and lead_noise[0].noise_col is None
        if len(lead_noise) > 1 or nonlinear:
            return Limit("undetermined", notes=tuple(notes + [
                "surviving fluctuation is not linear in the Brownian weights"]), **base)
        (nz,) = lead_noise
        if nz.tag == "brownian":
            law = scaling.inner.rough if block is Block.I or (
                block is Block.O and scaling.outer.rough is None) else scaling.outer.rough
            fields.update(noise="matrix", noise_row=nz.coefficient, noise_col=nz.noise_col,
                          noise_variance=law.variance)
            rates = (
                Rate("strong", sp.Min(sp.Rational(1, 2), *next_drift, *next_noise), "sharp",
                     "derived", "Euler-Maruyama strong order 1/2 and the largest vanishing "
                     "term (THEORY.md R5, R6')"),
                Rate("weak", sp.Min(1, *next_drift, *[2 * e for e in next_noise]), "sharp",
                     "derived", "Euler-Maruyama weak order 1 and the vanishing terms"),
            )
        else:
            fields.update(noise="vector", noise_row=sp.simplify(nz.coefficient))
            rates = (Rate("law", sp.Rational(1, 2), "at_least", "derived",
                          "CLT over the layers; no strong coupling (THEORY.md R6; MFBV)"),)
        return Limit("sde", rates=rates, notes=tuple(notes), **fields, **base)
    tags = {tag for t in lead_drift for tag in t.tag.split("+")}
    if tags & {"lln", "ito"}:
        kind = "drift-ode"
    elif tags == {"linear"}:
        kind = "linear-ode"
    elif tags == {"nonlinear"}:
        kind = "neural-ode"
    else:
        kind = "ode"
    rates = (Rate("sup" if kind != "drift-ode" else "strong",
                  sp.Min(1, *next_drift, *next_noise), "sharp", "derived",
                  "Euler scheme order 1 and the largest vanishing term (THEORY.md R1, R2, R7)"),)
    return Limit(kind, rates=rates, notes=tuple(notes), **fields, **base)
