"""What :func:`theory.derive.derive_limit` returns: a :class:`Limit` (the large-depth limit of a
ResNet, with exact coefficients) and its predicted :class:`Rate` values.

Coefficients are componentwise sympy expressions in

* ``a``: the component of the smooth pre-activation (``Abar(t) H + bbar(t)`` in block I,
  ``Wbar(t) H`` in block O, ``H`` itself in block S),
* ``q``: the variance of one component of the Gaussian pre-activation, ``v |H|^2`` for a rough
  inner law with entry variance v (i.i.d. entries N(0, 1/(dL)): q = |H|^2 / d),
* ``u``: the component of H (for the matrix noise ``dM_t c(H)``).

The method (a power count over the Taylor / LLN / CLT terms of one increment, each carrying
what is known of its mean) is described in :mod:`theory.derive`; ``derive_limit`` is
re-exported here, so ``from theory.limits import derive_limit`` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from theory.activations import Activation
from theory.lambdify import to_torch
from theory.scaling import Block, Scaling

__all__ = ["KINDS", "METRICS", "Limit", "Rate", "a", "derive_limit", "q", "tidy", "u"]  # noqa: F822

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


def tidy(expr: sp.Expr | None) -> sp.Expr | None:
    """A coefficient in its simplest exact form, as stored and printed.

    Constants that are elementary functions of numbers are rewritten in exponentials and
    simplified when that is shorter: mish's slope at 0 is ``tanh(log 2) = (2 - 1/2) / (2 + 1/2)
    = 3/5``, which ``sympy.simplify`` alone leaves as ``tanh(log(2))``. Functions of the
    variables (``tanh(a)``) are kept as they are.
    """
    if expr is None:
        return None
    expr = sp.sympify(expr, strict=True)  # an expression the suite built, never text
    replacements = {}
    for f in expr.atoms(sp.Function):
        if f.free_symbols or f.atoms(sp.core.function.AppliedUndef):
            continue
        candidate = sp.simplify(f.rewrite(sp.exp))
        if sp.count_ops(candidate) < sp.count_ops(f):
            replacements[f] = candidate
    if not replacements:
        return expr
    return sp.simplify(expr.xreplace(replacements))


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


def __getattr__(name: str):
    """``derive_limit`` lives in :mod:`theory.derive` (which imports this module)."""
    if name == "derive_limit":
        from theory.derive import derive_limit

        return derive_limit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
