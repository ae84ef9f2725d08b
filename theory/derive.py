"""Which limit a deep ResNet has, with exact coefficients and predicted rates: :func:`derive_limit`.

Method (a power count, [derived]; it reproduces R1-R7 of THEORY.md section 3). Expand one
residual increment ``L^{-alpha} sigma(x_k)`` into terms (:mod:`theory.terms`); each carries
what is known of its mean -- computed (a *drift*: L terms of size L^{-s} add up to L^{1-s}),
provably zero (a *fluctuation*, a martingale: L^{1/2-s}), or unknown (only bounded, by
L^{1-s}). Write the size of a term's sum as L^{e}. Then:

* some term with a known coefficient and e > 0: **explosion** (|h_L| grows like L^e or
  faster; a term of unknown mean is of higher order per layer, it cannot cancel it);
* a term whose mean or coefficient is unknown and whose bound has e >= 0 (or a sign that
  changes on the domain): **undetermined**, naming the term -- an unknown mean never becomes
  an explosion or a limit (THEORY.md R5b);
* the terms with e = 0 form the limit: drift terms give ``dH = f dt``, a noise term linear in
  the weights' Brownian part gives ``g dW`` (strong coupling), a CLT noise gives a law-only SDE;
* every e < 0: **identity**, |h_L - h_0| ~ L^{max e} (R3);
* the largest e < 0 among the remaining terms bounds the convergence rate, together with the
  Euler (1) or Euler-Maruyama (strong 1/2, weak 1) discretisation order. A rate that a term
  of unknown mean could limit is given as a lower bound only (``kind="at_least"``).

When sigma is smooth at 0 and the weights are small (beta > 0), the terms come from Taylor's
formula at 0 with Gaussian moments of the rough part; with O(1) smooth weights (beta = 0) from
Taylor's formula around the smooth pre-activation a; with O(1) i.i.d. weights or a positively
homogeneous non-smooth sigma (ReLU) from the law of large numbers and the CLT, through the
Gaussian expectations of :mod:`theory.gaussian`. Whatever none of these covers is
``undetermined``, with the reason. Coefficients are in the variables a, q, u of
:mod:`theory.limits`.
"""

from __future__ import annotations

import sympy as sp

from theory.activations import Activation, activation
from theory.limits import Limit, Rate, tidy
from theory.scaling import Block, Scaling
from theory.terms import HALF, Term, exponent_sign, increment_terms

__all__ = ["derive_limit"]


# --------------------------------------------------------------------------- exponents
def _prune(exprs: list[sp.Expr], scaling: Scaling, keep: int) -> list[sp.Expr]:
    """Drop the candidates another one provably beats on the domain (keep=1: the largest
    survive, keep=-1: the smallest), and duplicates."""
    unique: list[sp.Expr] = []
    for e in (sp.simplify(e) for e in exprs):
        if all(sp.simplify(e - f) != 0 for f in unique):
            unique.append(e)
    return [e for e in unique
            if not any(exponent_sign(keep * (f - e), scaling) == 1 for f in unique)]


def _largest(exprs: list[sp.Expr], scaling: Scaling) -> sp.Expr:
    return sp.Max(*_prune(exprs, scaling, 1))


def _smallest(exprs: list[sp.Expr], scaling: Scaling) -> sp.Expr:
    return sp.Min(*_prune(exprs, scaling, -1))


def _rate(orders: list[sp.Expr], bounds: list[tuple[sp.Expr, Term]], scaling: Scaling
          ) -> tuple[sp.Expr, str, list[str]]:
    """The rate min(orders) (the scheme's order and the vanishing terms of known coefficient)
    as (value, kind, notes). A term of unknown mean or coefficient only bounds its own
    contribution: where its bound does not provably exceed one of ``orders`` it might limit
    the rate, which is then given as a lower bound ("at_least") including that bound."""
    limiting = [(b, t) for b, t in bounds
                if not any(exponent_sign(b - o, scaling) == 1 for o in orders)]
    if not limiting:
        return _smallest(orders, scaling), "sharp", []
    notes = [f"{t.origin}: bounded by L^({sp.simplify(-b)}) only, so the rate is a lower bound"
             for b, t in limiting]
    return _smallest(orders + [b for b, _ in limiting], scaling), "at_least", notes


# --------------------------------------------------------------------------- assembly
def _group_drift(terms: list[Term]) -> list[Term]:
    """Sum drift terms of equal exponent (their coefficients may cancel); a group with a
    member of unknown mean has an unknown mean."""
    groups: dict[sp.Expr, list[Term]] = {}
    for t in terms:
        groups.setdefault(sp.simplify(t.exponent), []).append(t)
    out = []
    for exponent, members in groups.items():
        origin = "; ".join(m.origin for m in members)
        if any(not m.exact for m in members):
            out.append(Term("drift", exponent, None, "remainder", origin, mean="unknown"))
            continue
        total = sp.simplify(sum(m.coefficient for m in members))
        if total != 0:
            tags = "+".join(sorted({m.tag for m in members}))
            out.append(Term("drift", exponent, total, tags, origin))
    return out


def _q_definition(scaling: Scaling) -> sp.Expr | None:
    hsq = sp.Symbol("|H|^2", positive=True)
    law = scaling.inner
    if law is not None and law.rough is not None:
        return law.rough.variance * hsq
    return None


def _unknown_reason(t: Term, act: Activation) -> str:
    """Why a term of unknown mean or coefficient leaves the verdict open."""
    e = sp.simplify(t.exponent)
    what = ("its mean is not computed: as a drift it would add up to L^(" f"{e}), as a "
            f"fluctuation to L^({sp.simplify(e - HALF)})") if t.mean == "unknown" else (
        f"its coefficient is not computed; it adds up to L^({e})")
    smooth = "" if act.smoothness == sp.oo else (
        f"; sigma is not smooth enough at 0 (C^{act.smoothness}) to define it")
    return f"{t.origin}: {what}{smooth}; the verdict is undetermined (an unknown mean is " \
        "never read as a drift)"


def derive_limit(block: Block | str, sigma: Activation | str | sp.Expr,
                 scaling: Scaling) -> Limit:
    """Classify the large-depth limit of the ResNet (block, sigma, scaling) and derive it.

    Returns a :class:`~theory.limits.Limit` whose kind is one of KINDS; coefficients are exact
    sympy expressions, simplified (see the module docstring for the method). Raises
    ValueError for a block name, activation or scaling that is malformed.
    """
    block = Block.parse(block)
    act = activation(sigma)
    scaling.validate(block)
    terms, notes, outer_drift = increment_terms(block, act, scaling)
    base = dict(block=block, activation=act, scaling=scaling, q_definition=_q_definition(
        scaling))
    if not terms:
        return Limit("undetermined", notes=tuple(notes), **base)
    drift_terms = _group_drift([t for t in terms if t.role == "drift"])
    noise_terms = [t for t in terms if t.role == "noise"
                   and not (t.exact and sp.simplify(t.coefficient) == 0)]
    live = drift_terms + noise_terms
    sign = {id(t): exponent_sign(t.exponent, scaling) for t in live}
    exact = [t for t in live if t.exact]
    bounded = [t for t in live if not t.exact]
    threats = [t for t in bounded if sign[id(t)] != -1]

    positive = [t for t in exact if sign[id(t)] == 1]
    if positive:
        # a computed term that grows: the terms of unknown mean are of higher order per layer
        # (they cannot cancel it), at most they make the growth faster -- hence "at least"
        growth = _largest([t.exponent for t in positive], scaling)
        why = "; ".join(f"{t.origin} adds up to L^({sp.simplify(t.exponent)})" for t in positive)
        faster = [f"{t.origin} (mean not computed) may make the growth faster" for t in threats]
        if all(t.role == "noise" for t in positive):
            faster.append(
                "the growth comes from zero-mean fluctuations: it holds in mean (E|h_L|^2 "
                "grows); in probability only where log|h| drifts upwards -- for isotropic "
                "Gaussian increments xi (rough outer weights) E[log|h + xi|^2 - log|h|^2] = "
                "(1 - 2/d) E|xi|^2 / |h|^2 + ..., so for widths d >= 3 (at d = 2 log|h| is a "
                "martingale up to exponentially small terms; at d = 1 |h_L| -> 0 in "
                "probability)")
        return Limit("explosion", exponent=growth, notes=tuple(notes + [why] + faster), rates=(
            Rate("growth", growth, "at_least", "derived", "power count of the mean/fluctuation "
                 "terms (THEORY.md R4)"),), **base)
    if threats:
        return Limit("undetermined", notes=tuple(notes + [
            _unknown_reason(t, act) for t in threats]), **base)
    undecided = [t for t in exact if sign[id(t)] is None]
    if undecided:
        return Limit("undetermined", notes=tuple(notes + [
            f"sign of exponent {t.exponent} ({t.origin}) undecidable on the domain; restrict "
            "the domain or fix the exponents" for t in undecided]), **base)
    leading = [t for t in exact if sign[id(t)] == 0]
    rest = [t for t in exact if sign[id(t)] == -1]
    if not leading:
        return _identity(rest, bounded, scaling, notes, base)
    lead_drift = [t for t in leading if t.role == "drift"]
    lead_noise = [t for t in leading if t.role == "noise"]
    drift = tidy(sum((t.coefficient for t in lead_drift), sp.Integer(0)))
    ito = tidy(sum((t.coefficient for t in terms if t.role == "drift" and t.tag == "ito"
                    and t.exact and exponent_sign(t.exponent, scaling) == 0), sp.Integer(0)))
    next_drift = [-t.exponent for t in rest if t.role == "drift"]
    next_noise = [-t.exponent for t in rest if t.role == "noise"]
    bound_drift = [(-t.exponent, t) for t in bounded if t.role == "drift"]
    bound_noise = [(-t.exponent, t) for t in bounded if t.role == "noise"]
    fields: dict = dict(drift=drift, ito_correction=ito, outer_drift=outer_drift)
    if lead_noise:
        return _sde(lead_noise, next_drift + next_noise, bound_drift + bound_noise,
                    (next_drift, next_noise, bound_drift, bound_noise), block, scaling, notes,
                    fields, base)
    tags = {tag for t in lead_drift for tag in t.tag.split("+")}
    if tags & {"lln", "ito"}:
        kind = "drift-ode"
    elif tags == {"linear"}:
        kind = "linear-ode"
    elif tags == {"nonlinear"}:
        kind = "neural-ode"
    else:
        kind = "ode"
    value, bound, why = _rate([sp.Integer(1), *next_drift, *next_noise],
                              bound_drift + bound_noise, scaling)
    rates = (Rate("sup" if kind != "drift-ode" else "strong", value, bound, "derived",
                  "Euler scheme order 1 and the largest vanishing term (THEORY.md R1, R2, R7)"),)
    return Limit(kind, rates=rates, notes=tuple(notes + why), **fields, **base)


def _identity(rest: list[Term], bounded: list[Term], scaling: Scaling, notes: list[str],
              base: dict) -> Limit:
    """Every term vanishes: h_L -> h_0 at the largest exponent (a bound where a term of
    unknown mean might be the largest)."""
    exponents = [t.exponent for t in rest]
    limiting = [t for t in bounded
                if not any(exponent_sign(e - t.exponent, scaling) == 1 for e in exponents)]
    exponent = _largest(exponents + [t.exponent for t in limiting], scaling)
    kind = "at_least" if limiting else "sharp"
    why = [f"{t.origin}: bounded by L^({sp.simplify(t.exponent)}) only, so the identity rate "
           "is a lower bound" for t in limiting]
    return Limit("identity", exponent=exponent, notes=tuple(notes + why), rates=(
        Rate("identity", -exponent, kind, "derived",
             "largest surviving term (THEORY.md R3; MFBV)"),), **base)


def _sde(lead_noise: list[Term], orders: list[sp.Expr], bounds: list[tuple[sp.Expr, Term]],
         split: tuple, block: Block, scaling: Scaling, notes: list[str], fields: dict,
         base: dict) -> Limit:
    """A surviving fluctuation: matrix noise (strong coupling) or a CLT (in law only)."""
    nonlinear = lead_noise[0].tag == "brownian" and lead_noise[0].noise_col is None
    if len(lead_noise) > 1 or nonlinear:
        return Limit("undetermined", notes=tuple(notes + [
            "surviving fluctuation is not linear in the Brownian weights"]), **base)
    (nz,) = lead_noise
    if nz.tag != "brownian":
        fields.update(noise="vector", noise_row=tidy(nz.coefficient))
        rates = (Rate("law", HALF, "at_least", "derived",
                      "CLT over the layers; no strong coupling (THEORY.md R6; MFBV)"),)
        return Limit("sde", rates=rates, notes=tuple(notes), **fields, **base)
    next_drift, next_noise, bound_drift, bound_noise = split
    law = scaling.inner.rough if block is Block.I or (
        block is Block.O and scaling.outer.rough is None) else scaling.outer.rough
    fields.update(noise="matrix", noise_row=tidy(nz.coefficient), noise_col=tidy(nz.noise_col),
                  noise_variance=law.variance)
    strong, strong_kind, why = _rate([HALF, *orders], bounds, scaling)
    weak, weak_kind, why_weak = _rate(
        [sp.Integer(1), *next_drift, *[2 * e for e in next_noise]],
        bound_drift + [(2 * b, t) for b, t in bound_noise], scaling)
    rates = (
        Rate("strong", strong, strong_kind, "derived", "Euler-Maruyama strong order 1/2 and "
             "the largest vanishing term (THEORY.md R5, R5b, R6')"),
        Rate("weak", weak, weak_kind, "derived", "Euler-Maruyama weak order 1 and the "
             "vanishing terms"),
    )
    extra = list(dict.fromkeys(why + why_weak))
    return Limit("sde", rates=rates, notes=tuple(notes + extra), **fields, **base)
