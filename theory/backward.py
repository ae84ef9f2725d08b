r"""Backpropagation limits: the adjoint ODE and the forward-backward SDE (THEORY.md section 4).

Network (block I, THEORY.md section 1): ``h_{k+1} = h_k + L^{-alpha} sigma(A_k h_k + b_k)``,
loss ``l(h_L)``. Backpropagation computes ``p_k = dl/dh_k`` by the transposed linearisation

    p_L = grad l(h_L),   p_k = p_{k+1} + L^{-alpha} (diag(sigma'(A_k h_k + b_k)) A_k)^T p_{k+1},

and the weight gradients ``dl/dA_k = L^{-alpha} diag(sigma'(A_k h_k + b_k)) p_{k+1} h_k^T``.
For a forward limit ``dH_t = f(a, q) dt [+ g dM_t c(H_t)]`` (componentwise f in
``a = Abar(t) H + bbar(t)`` and ``q = v |H|^2``, see :mod:`theory.limits`) this module derives
[derived, by differentiating the forward limit; the method is the classical first-variation /
adjoint argument]:

* **Jacobian of the drift** (exact sympy): with ``f_a = df/da`` and ``f_q = df/dq``
  (componentwise, evaluated at (a_i, q)),

      D_h f(t, h) = diag(f_a(a, q)) Abar(t) + f_q(a, q) Dq(h),   Dq(h) = 2 v 1 h^T,

  ``1`` the all-ones vector and v the entry variance of the rough inner weights (1/d for
  i.i.d. N(0, 1/(dL)) entries); the Dq term is absent when the weights have no rough part.
* **ODE regimes** (kinds neural-ode, linear-ode, ode; R1, R2): the adjoint ODE

      dP_t = -(D_h f(t, H_t))^T P_t dt,   P_1 = grad l(H_1),

  and the input gradient ``p_0 -> P_0``.
* **Diffusive regime** (kind sde with matrix noise; R5): (H, P) is a forward-backward system.
  The first variation ``J_t = dH_t/dh_0`` solves the forward Ito SDE

      dJ_t = g dM_t (c'(H_t) * J_t) + diag(f_a) Abar(t) J_t dt + f_q Dq(H_t) J_t dt,

  (for R5: ``g = s1``, ``c(u) = u``, ``f_a = s1``, ``f_q = s2/2``: ``dJ = s1 dW J + s1 Abar J dt
  + (s2/2) Dq(H) J dt``; the ``s2`` term is the derivative of the Ito drift, ``ito_q``), and

      p_0 -> J_1^T grad l(H_1),   P_t = J_{t->1}^T grad l(H_1) = J_t^{-T} J_1^T grad l(H_1).

  As a process in t, the matrix ``K_t = J_t^{-T}`` solves the Ito SDE ``dK = -(g dM)^T K
  - (D_h f)^T K dt + g^2 v K dt`` (for c(u) = u; the last term is the quadratic covariation
  of the inverse flow), so ``P_t = K_t J_1^T grad l(H_1)`` carries the terminal value
  ``P_1 = grad l(H_1)``: the backward half of the forward-backward system. P is not adapted
  (it depends on the whole path through J_1), which is why it is evaluated through J.
* **Weight gradients**: ``L^{alpha} dl/dA_{floor(tL)} -> diag(w(a_t, q_t)) P_t H_t^T`` with
  ``w = lim sigma'(pre-activation)``: ``sigma'(a)`` when the smooth weights are O(1)
  (beta_s = 0, R1), ``sigma'(0) = s1`` when the pre-activation vanishes (R2, R5). The
  exponent is alpha (the residual scale): for ``A_k = L^{-beta_s} Abar(t_k) (+ dM_k)`` the
  same statement reads ``L^{alpha + beta_s} dl/dAbar_k -> diag(w) P_t H_t^T``, and
  ``alpha + beta_s = 1`` in R1, R2, R5 (the familiar "L times the gradient"). In every
  supported regime ``w = f_a`` (checked by the tests): the weight gradient is the
  a-derivative of the drift, as for a neural ODE's control.
* **Rates** [derived]: the backward recursion is the transposed linearisation of the forward
  one (the same Euler / Euler-Maruyama scheme, the same vanishing Taylor terms, now in
  sigma'), so input and weight gradients converge at the forward rate: 1 in R1,
  ``min(1, (m - 1) beta)`` in R2 (``sigma'(L^-beta a) - s1 ~ L^{-(m-1) beta}``), strong 1/2
  in R5 (``sigma'(pre) - s1 ~ s2 pre = O(L^{-1/2})`` per layer, plus the strong error of H, J).

See :data:`NOTES` for the differences with THEORY.md section 4 and the source (CRX22).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import sympy as sp

from theory.activations import x as _x
from theory.lambdify import to_torch
from theory.limits import Limit, Rate, a, q, u
from theory.scaling import Block, d

__all__ = [
    "NOTES",
    "BACKWARD_KINDS",
    "BackwardLimit",
    "BackwardLimitError",
    "derive_backward",
]

NOTES = """\
Differences found between THEORY.md section 4, the source and this derivation:

1. Weight-gradient scaling in R5. THEORY.md writes "L * dl/dA_{floor(tL)} (suitably scaled)
   -> s1 P_t H_t^T". With alpha = 0 the raw gradient dl/dA_k = diag(sigma'(A_k h_k + b_k))
   p_{k+1} h_k^T is already O(1) and converges to s1 P_t H_t^T (sigma'(pre) -> sigma'(0) = s1
   since pre = O(L^-1/2)); L * dl/dA_k diverges like L. The factor L belongs to the gradient
   with respect to the smooth profile: A_k = L^-1 Abar(t_k) + dM_k gives dl/dAbar_k =
   L^-1 dl/dA_k, and L * dl/dAbar_k -> s1 P_t H_t^T. General rule implemented here:
   L^alpha dl/dA_k = L^(alpha + beta_s) dl/dAbar_k -> diag(w) P_t H_t^T, w = lim sigma'(pre)
   (= df/da in R1, R2, R5). The verification suite uses a wrong-scaling control
   (exponent alpha + 1/2) that must be rejected.
2. THEORY.md's first-variation SDE for R5, dJ = s1 dW J + s1 Abar J dt + (s2/2) Dq(H) J dt
   with Dq(h) = (2/d) 1 h^T, is confirmed (it is the derivative of the Ito drift
   (s2/2) |h|^2/d 1 and of the noise s1 dW h); for a general entry variance v, Dq = 2 v 1 h^T.
   Its s2 term is needed: without it the input gradient does not converge (a control).
3. Rates: THEORY.md states strong 1/2 for R5 only; the ODE regimes get the forward rate
   (1 in R1, min(1, (m - 1) beta) in R2: the Taylor remainder of sigma' has the same order
   L^-((m-1) beta) as that of sigma); the weight gradients get the same rates.
4. Source check: the `search` tool returned only the abstract of CRX22 (arXiv 2212.08199,
   "we derive the corresponding scaling limits for the backpropagation dynamics"), not its
   backpropagation section, so the statements above are [derived] here and verified
   numerically, not checked line by line against the paper's theorem; in particular the
   normalisation of CRX22's weight-gradient limit (whether it is stated for dl/dA_k or for
   the gradient with respect to the smooth profile) is unverified.
5. The adjoint P_t of the diffusive regime is not an adapted process: this module evaluates
   it as J_t^{-T} J_1^T grad l(H_1) (forward first variation), which is what backpropagation
   converges to path by path; it does not formulate a backward SDE with an adapted pair
   (P, Z) in the Pardoux-Peng sense.
6. Measured (verify.backward_claims): on the ci ladder 16..256 the R2 rate min(1, 2 beta) of
   odd sigma (m = 3) is pre-asymptotic for 2 beta < 1 (sin, beta = 0.3: running orders 0.38 at
   L = 16 rising to 0.58 at L = 4096, towards 0.6); the backward claims draw m = 3 with
   beta >= 0.6 only. The derived rates themselves are unchanged.
"""

BACKWARD_KINDS = ("adjoint-ode", "fbsde")
_ODE_KINDS = ("neural-ode", "linear-ode", "ode")


class BackwardLimitError(ValueError):
    """A forward limit that has no backward counterpart in this module."""


@dataclass(frozen=True)
class BackwardLimit:
    """The large-depth limit of backpropagation for a forward :class:`~theory.limits.Limit`.

    Attributes (exact sympy, componentwise in the variables a, q, u of :mod:`theory.limits`):
        forward: the forward limit.
        kind: "adjoint-ode" (ODE regimes) or "fbsde" (diffusive regime, matrix noise).
        drift_a: ``f_a = df/da``: ``D_h f = diag(f_a) Abar(t) + f_q Dq(h)``.
        drift_q: ``f_q = df/dq`` (0 when there is no rough inner part).
        ito_q: ``d(ito_correction)/dq``: the part of ``f_q`` that comes from the Ito drift
            (``s2/2`` in R5); the no-Ito control drops it from the J equation.
        q_variance: v in ``q = v |H|^2`` and ``Dq(h) = 2 v 1 h^T`` (None: no rough part).
        noise_row: g (fbsde only; a constant), noise_col: c(u), noise_col_prime: c'(u).
        weight_density: ``w(a, q) = lim sigma'(pre-activation)``.
        weight_exponent: alpha: ``L^alpha dl/dA_k -> diag(w) P_t H_t^T``.
        smooth_exponent: ``alpha + beta_s``: the same limit for ``L^(alpha+beta_s) dl/dAbar_k``.
        rates: ``Rate("strong", ...)`` for the input gradient ``|p_0 - P_0|`` and
            ``Rate("sup", ...)`` for the rescaled weight gradient on the coarse time grid.
        notes: derivation remarks.
    """

    forward: Limit
    kind: str
    drift_a: sp.Expr
    drift_q: sp.Expr
    ito_q: sp.Expr
    q_variance: sp.Expr | None
    noise_row: sp.Expr | None
    noise_col: sp.Expr | None
    noise_col_prime: sp.Expr | None
    weight_density: sp.Expr
    weight_exponent: sp.Expr
    smooth_exponent: sp.Expr
    rates: tuple[Rate, ...]
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in BACKWARD_KINDS:
            raise ValueError(f"kind={self.kind!r}: use one of {BACKWARD_KINDS}")

    # -------------------------------------------------------------- reading
    def rate(self, quantity: str) -> Rate:
        """The predicted rate of ``quantity``: "input" (p_0) or "weight" (rescaled dl/dA)."""
        metric = {"input": "strong", "weight": "sup"}.get(quantity)
        if metric is None:
            raise KeyError(f"quantity={quantity!r}: use 'input' or 'weight'")
        for r in self.rates:
            if r.metric == metric:
                return r
        raise KeyError(f"no rate for {quantity!r}")  # pragma: no cover - always built

    @property
    def has_ito_term(self) -> bool:
        """True when the first variation carries an Ito term (``ito_q != 0``)."""
        return sp.simplify(self.ito_q) != 0

    def jacobian(self) -> str:
        """``D_h f(t, h)`` in words and exact formulas."""
        parts = [f"diag({self.drift_a}) Abar(t)"]
        if self.q_variance is not None and sp.simplify(self.drift_q) != 0:
            parts.append(f"({self.drift_q}) * 2 ({self.q_variance}) 1 h^T")
        return " + ".join(parts)

    def equation(self) -> str:
        """The backward limit in words and exact formulas (a, q as in the forward limit)."""
        jac = self.jacobian()
        weight = (f"L^({self.weight_exponent}) dl/dA_floor(tL) -> diag({self.weight_density}) "
                  f"P_t H_t^T")
        if self.kind == "adjoint-ode":
            return (f"dP_t = -(D_h f)^T P_t dt, P_1 = grad l(H_1), D_h f = {jac}; p_0 -> P_0; "
                    f"{weight}")
        ito = f" [Ito term ({self.ito_q}) * 2 ({self.q_variance}) 1 H^T J]" if (
            self.has_ito_term) else ""
        return (f"dJ_t = ({self.noise_row}) dM_t (({self.noise_col_prime}) * J_t) + "
                f"(D_h f) J_t dt, J_0 = I, D_h f = {jac}{ito}; p_0 -> J_1^T grad l(H_1), "
                f"P_t = J_t^-T J_1^T grad l(H_1); {weight}")

    def summary(self) -> str:
        lines = [f"[{self.kind}] backward limit of the {self.forward.kind} limit "
                 f"(block {self.forward.block.value}, {self.forward.activation.name}, "
                 f"{self.forward.scaling.describe()})", "  " + self.equation()]
        lines += ["  " + r.describe() for r in self.rates]
        lines += ["  note: " + n for n in self.notes]
        return "\n".join(lines)

    # -------------------------------------------------------------- controls
    def drop_ito(self) -> BackwardLimit:
        """Control: the first variation without its Ito term (``f_q - ito_q``, ``ito_q = 0``).

        Raises BackwardLimitError when there is no Ito term to drop (the control would be the
        claim itself: choose sigma with s2 != 0, e.g. softplus_centered or silu)."""
        if not self.has_ito_term:
            raise BackwardLimitError(
                f"{self.forward.activation.name}: the first variation has no Ito term "
                f"(ito_q = {self.ito_q}); the no-Ito control needs s2 != 0, e.g. "
                "sigma='softplus_centered' or 'silu'")
        return replace(self, drift_q=sp.simplify(self.drift_q - self.ito_q),
                       ito_q=sp.Integer(0), notes=self.notes + ("control: Ito term dropped",))

    # -------------------------------------------------------------- torch
    def torch_functions(self, width: int) -> dict[str, Callable]:
        """Torch functions of the coefficients at width ``width`` (d substituted):
        ``drift``, ``drift_a``, ``drift_q``, ``weight_density`` of (a, q), and for fbsde
        ``noise_col``, ``noise_col_prime`` of u. Outputs have the dtype and shape of ``a``."""
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width={width!r} must be a positive int")

        def fn2(expr: sp.Expr) -> Callable:
            return _float_like(to_torch(sp.sympify(expr).subs(d, width), (a, q)))

        out: dict[str, Callable] = {
            "drift": fn2(self.forward.drift),
            "drift_a": fn2(self.drift_a),
            "drift_q": fn2(self.drift_q),
            "weight_density": fn2(self.weight_density),
        }
        if self.kind == "fbsde":
            assert self.noise_col is not None and self.noise_col_prime is not None
            out["noise_col"] = _float_like(to_torch(self.noise_col, (u,)))
            out["noise_col_prime"] = _float_like(to_torch(self.noise_col_prime, (u,)))
        return out

    def numeric(self, name: str, width: int) -> float | None:
        """``q_variance`` or ``noise_row`` as a float at ``width`` (None when absent)."""
        if name not in ("q_variance", "noise_row"):
            raise ValueError(f"name={name!r}: use 'q_variance' or 'noise_row'")
        value = getattr(self, name)
        if value is None:
            return None
        value = sp.sympify(value).subs(d, width)
        if value.free_symbols:
            raise ValueError(f"{name}={value} depends on {sorted(map(str, value.free_symbols))}"
                             "; only constant values are simulated")
        return float(value)


def _float_like(fn: Callable) -> Callable:
    """Wrap a lambdified function so that its output has the dtype and shape of its first
    argument (Piecewise derivatives print to integer ``torch.where`` results)."""

    def wrapped(first, *rest):
        import torch

        out = fn(first, *rest)
        out = torch.as_tensor(out, dtype=first.dtype, device=first.device)
        return out.expand_as(first) if out.shape != first.shape else out

    return wrapped


def _tidy(expr: sp.Expr) -> sp.Expr:
    """A cheap normal form: full ``simplify`` only for small expressions (it took seconds on
    silu's derivative, and exactness does not depend on it)."""
    expr = sp.sympify(expr)
    return sp.simplify(expr) if sp.count_ops(expr) <= 12 else expr


def _same(e1: sp.Expr, e2: sp.Expr) -> bool:
    """Exact equality of two expressions in a (and q), trying exp rewrites for hyperbolic
    forms (silu's sigma'(a) prints with cosh, its df/da with exp)."""
    diff = sp.sympify(e1) - sp.sympify(e2)
    if diff == 0:
        return True
    cheap = sp.cancel(sp.together(sp.expand(diff.rewrite(sp.exp))))
    return cheap == 0 or sp.simplify(diff) == 0


def _smooth_exponent_is_zero(limit: Limit) -> bool:
    smooth = limit.scaling.inner.smooth
    if smooth is None:
        raise BackwardLimitError(
            "the inner law has no smooth part (e.g. R5b): backward limits are derived here for "
            "A_k = L^-beta_s Abar(t_k) [+ dM_k] (R1, R2, R5) only")
    zero = sp.simplify(smooth.beta).is_zero
    if zero is None:
        raise BackwardLimitError(
            f"beta_s={smooth.beta}: cannot decide whether the smooth exponent is 0; substitute "
            "the regime's parameter values (regime.limit(sigma, beta=...))")
    return bool(zero)


def derive_backward(limit: Limit) -> BackwardLimit:
    """The backpropagation limit of the forward ``limit`` (see the module docstring).

    Supported: block I with an ODE limit (neural-ode, linear-ode, ode: adjoint ODE) or an SDE
    limit with matrix noise ``g dM c(H)`` and constant g (fbsde). Raises BackwardLimitError,
    naming the kind and the fix, for identity/explosion/undetermined limits (no limit
    dynamics to differentiate), law-only SDEs (vector noise: no strong coupling, no pathwise
    first variation), drift-ode limits (an LLN drift: backward limit not derived), blocks O/S
    and state-dependent noise rows.
    """
    if not isinstance(limit, Limit):
        raise TypeError(f"limit={limit!r} must be a theory.limits.Limit (from derive_limit)")
    kind = limit.kind
    if kind in ("identity", "explosion", "undetermined"):
        raise BackwardLimitError(
            f"a {kind} forward limit has no backward counterpart: backpropagation limits "
            "differentiate the limit dynamics, and there is none ("
            + {"identity": "h_L -> h_0, so dl/dh_0 -> grad l(h_0) trivially",
               "explosion": "|h_L| grows without bound",
               "undetermined": "no known result applies"}[kind]
            + "); use an ODE or matrix-noise SDE regime such as R1, R2 or R5")
    if kind == "sde" and limit.noise != "matrix":
        raise BackwardLimitError(
            f"an SDE limit with {limit.noise} noise holds in law only (no strong coupling), so "
            "there is no pathwise first variation to backpropagate; use a regime with matrix "
            "noise driven by the weights' own Brownian path (R5)")
    if kind == "drift-ode":
        raise BackwardLimitError(
            "a drift-ode limit (law-of-large-numbers drift, e.g. R7) has no derived backward "
            "limit here: the gradient of an averaged drift needs its own argument; use R1, R2 "
            "or R5")
    if kind not in (*_ODE_KINDS, "sde"):
        raise BackwardLimitError(f"forward kind={kind!r} is not supported")  # pragma: no cover
    if limit.block is not Block.I:
        raise BackwardLimitError(
            f"block {limit.block.value}: backward limits are derived for block I "
            "(h + delta sigma(A h + b)) only; use R1, R2 or R5")
    drift = sp.sympify(limit.drift)
    f_a = _tidy(sp.diff(drift, a))
    f_q = _tidy(sp.diff(drift, q))
    ito_q = _tidy(sp.diff(sp.sympify(limit.ito_correction), q))
    inner = limit.scaling.inner
    v = inner.rough.variance if inner.rough is not None else None
    if v is None and f_q != 0:  # pragma: no cover - q appears only with a rough part
        raise BackwardLimitError("the drift depends on q but the weights have no rough part")
    act = limit.activation
    slope = sp.diff(act.expr, _x)
    notes: list[str] = []
    if _smooth_exponent_is_zero(limit):
        w = _tidy(slope.subs(_x, a))
        notes.append("O(1) smooth weights: sigma'(pre) -> sigma'(a)")
    else:
        w = _tidy(slope.subs(_x, 0))
        notes.append("vanishing pre-activation: sigma'(pre) -> sigma'(0) = s1")
    if _same(w, f_a):
        w = f_a
    else:
        notes.append(f"weight density {w} differs from df/da = {f_a}")
    if act.expr.has(sp.Piecewise, sp.Abs, sp.Max, sp.Min, sp.Heaviside):
        # (a syntactic test: act.smoothness computes Taylor data to order 6, seconds for silu)
        notes.append(f"{act.name} is piecewise: sigma' may jump, the adjoint then has "
                     "coefficients discontinuous in t at the crossings of a_i = 0")
    beta_s = inner.smooth.beta
    forward_metric = "sup" if kind in _ODE_KINDS else "strong"
    value = limit.rate(forward_metric).value
    source = ("backprop is the transposed linearisation of the forward scheme: forward "
              f"{forward_metric} rate (Euler/Euler-Maruyama order and the vanishing Taylor "
              "terms of sigma'), THEORY.md section 4")
    rates = (Rate("strong", value, "sharp", "derived", "input gradient |p_0 - P_0|; " + source),
             Rate("sup", value, "sharp", "derived",
                  "rescaled weight gradient, max over the coarse grid; " + source))
    fields: dict = dict(noise_row=None, noise_col=None, noise_col_prime=None)
    if kind == "sde":
        row = sp.simplify(limit.noise_row)
        if row.free_symbols - {d}:
            raise BackwardLimitError(
                f"noise row g = {row} depends on the state; only constant g is supported")
        col = sp.sympify(limit.noise_col)
        fields = dict(noise_row=row, noise_col=col, noise_col_prime=sp.simplify(sp.diff(col, u)))
    return BackwardLimit(
        forward=limit,
        kind="adjoint-ode" if kind in _ODE_KINDS else "fbsde",
        drift_a=f_a,
        drift_q=f_q,
        ito_q=ito_q,
        q_variance=v,
        weight_density=w,
        weight_exponent=sp.sympify(limit.scaling.alpha),
        smooth_exponent=sp.simplify(limit.scaling.alpha + beta_s),
        rates=rates,
        notes=tuple(notes),
        **fields,
    )
