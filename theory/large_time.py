"""What the large-time theory predicts, as values (EGPZ; THEORY.md section 6).

Source: Esteve, Geshkovski, Pighin, Zuazua, "Large-time asymptotics in deep learning"
(arXiv 2008.02491) [EGPZ]. The discrete problem everything here refers to: the Euler neural ODE
``x_{k+1} = x_k + h f(x_k, u_k)``, ``h = T/L``, on N data points, with

    J_T^lambda(u) = E(u) + lambda ||u||^2_{L^2(0,T)},   ||u||^2_{L^2(0,T)} = h sum_k |u_k|^2,
    E(u) = (1/N) sum_i |P x_i(T) - y_i|^2,

and for the turnpike the running cost ``beta h sum_{k<L} E_k`` added (E_k the error at step k).

Predictions [derived from the degree-1 identity J_T^lambda(u) = J_1^{lambda/T}(T u), see
:mod:`theory.homogeneity`]:

- :class:`Certificate`: ``E(u*_T) <= J_T(u*_T) <= J_T(ubar/T) = lambda ||ubar||^2_{L^2(0,1)} / T``
  for any control ``ubar`` interpolating the data on horizon 1 (exact for the discrete problem);
- :class:`HorizonRate`: the slope of log E against log T is at most -1 (one-sided: O(1/T) is an
  upper bound); for the squared loss with a full-rank Jacobian at the minimal-norm interpolant
  the error falls like ``T^-2`` and the penalty like ``T^-1``; degree 2: slope 0 (the horizon
  drops out); not homogeneous: no rate (the error tends to a positive limit);
- :data:`MONOTONE`: ``||v_T||`` nondecreasing and ``E(T)`` nonincreasing in T, where
  ``v_T = T u_T(T .)`` is the rescaled optimal control on (0, 1) (along any smooth branch of
  strict local minima of ``E + eps |v|^2``, ``eps = lambda/T``: ``d|v|^2/d eps =
  -4 v^T (H + 2 eps)^-1 v <= 0``), bounded by the norm of any interpolating control;
- :func:`turnpike_decay`: the late decay rate of ``log E(t)`` from the discrete LQR problem at
  ``(x = y, u = 0)``, with the :class:`TurnpikeScreen` stated before any judging.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import sympy as sp

from theory.homogeneity import Homogeneity, Identity

__all__ = ["MONOTONE", "Certificate", "HorizonRate", "Trend", "TurnpikePrediction",
           "TurnpikeScreen", "horizon_rates", "lqr_factor", "turnpike_decay"]

SOURCE = ("Esteve, Geshkovski, Pighin, Zuazua, Large-time asymptotics in deep learning "
          "(arXiv 2008.02491)")


@dataclass(frozen=True)
class Certificate:
    """``E(u*_T) <= lambda ||ubar||^2_{L^2(0,1)} / T`` for an interpolating ``ubar`` [derived].

    ``lam`` is the weight lambda, ``ubar_norm_sq`` the squared discrete L^2(0,1) norm
    ``(1/L) sum_k |ubar_k|^2`` of a control interpolating the data on horizon 1.
    """

    lam: float
    ubar_norm_sq: float

    def __post_init__(self) -> None:
        if not (self.lam > 0 and math.isfinite(self.lam)):
            raise ValueError(f"Certificate.lam={self.lam!r} must be a finite weight > 0")
        if not (self.ubar_norm_sq >= 0 and math.isfinite(self.ubar_norm_sq)):
            raise ValueError(f"Certificate.ubar_norm_sq={self.ubar_norm_sq!r} must be finite "
                             ">= 0 (the squared L^2(0,1) norm of the interpolating control)")

    def bound(self, horizon: float) -> float:
        """The certified training error at horizon T (also bounds the optimal J_T)."""
        if not horizon > 0:
            raise ValueError(f"horizon={horizon!r} must be > 0")
        return self.lam * self.ubar_norm_sq / horizon


class Trend(StrEnum):
    NONDECREASING = "nondecreasing"
    NONINCREASING = "nonincreasing"


MONOTONE: dict[str, Trend] = {"control-norm": Trend.NONDECREASING,
                              "train-error": Trend.NONINCREASING}
"""Monotonicity in T of the rescaled control norm ||v_T||_{L^2(0,1)} and of E(T) [derived]."""


@dataclass(frozen=True)
class HorizonRate:
    """``quantity`` behaves like ``T^{-exponent}``: ``bound`` "at-most" means the fitted slope
    of log quantity against log T is ``<= -exponent`` (one-sided), "sharp" means ``=``.

    ``exponent`` 0 with "sharp" is a plateau (the quantity does not depend on T).
    """

    quantity: str
    exponent: sp.Expr
    bound: str
    source: str

    def __post_init__(self) -> None:
        if self.bound not in ("at-most", "sharp"):
            raise ValueError(f"HorizonRate.bound={self.bound!r}: use 'at-most' or 'sharp'")

    def slope_allowed(self, slope: float, tolerance: float) -> bool:
        """Whether a fitted slope agrees, within ``tolerance`` (the declared model tolerance)."""
        target = -float(self.exponent)
        if self.bound == "at-most":
            return slope <= target + tolerance
        return abs(slope - target) <= tolerance


def horizon_rates(h: Homogeneity, *, squared_loss: bool = True,
                  full_rank: bool = True) -> tuple[HorizonRate, ...]:
    """The rates in T this dynamics' degree predicts (module docstring).

    Degree 1: train error at most ``T^-1`` (EGPZ), sharp ``T^-2`` and penalty ``T^-1`` for the
    squared loss at a full-rank minimal-norm interpolant [derived]; degree 2: train error
    sharp ``T^0`` (the horizon drops out) [derived]; otherwise nothing.
    """
    if h.identity is Identity.RESCALING:
        rates = [HorizonRate("train-error", sp.Integer(1), "at-most", f"{SOURCE}, O(1/T)")]
        if squared_loss and full_rank:
            rates += [HorizonRate("train-error", sp.Integer(2), "sharp", "derived: T^-2"),
                      HorizonRate("penalty", sp.Integer(1), "sharp", "derived: penalty ~ 1/T")]
        return tuple(rates)
    if h.identity is Identity.HORIZON_FREE:
        return (HorizonRate("train-error", sp.Integer(0), "sharp",
                            "derived: degree 2, J_T^lambda(u) = J_1^lambda(sqrt(T) u)"),)
    return ()


_s, _h, _lam, _q = sp.symbols("s h lambda q", positive=True)
_p = (_q * _h * _s**2 + sp.sqrt(_q**2 * _h**2 * _s**4 + 4 * _s**2 * _q * _lam)) / (2 * _s**2)
LQR_FACTOR: sp.Expr = _lam / (_lam + _h * _s**2 * _p)
"""Closed-loop factor of one singular mode ``s`` of the discrete LQR problem
``z_{k+1} = z_k + h s v_k``, cost ``sum_k h (q z_k^2 + lambda v_k^2)``: the stationary Riccati
solution ``p`` solves ``s^2 p^2 - q h s^2 p - q lambda = 0`` and the optimal feedback gives
``z_{k+1} = lambda / (lambda + h s^2 p) z_k``; as ``h -> 0`` the rate ``-log(factor)/h``
tends to ``s sqrt(q / lambda)`` (the continuous LQR with A = 0)."""

_factor = sp.lambdify((_s, _h, _lam, _q), LQR_FACTOR, modules="math")


def lqr_factor(s: float, *, h: float, lam: float, q: float) -> float:
    """:data:`LQR_FACTOR` at one singular value ``s > 0`` (1.0 for ``s = 0``: uncontrolled)."""
    if s < 0 or h <= 0 or lam <= 0 or q <= 0:
        raise ValueError(f"s={s}, h={h}, lam={lam}, q={q}: need s >= 0 and h, lam, q > 0")
    return 1.0 if s == 0 else float(_factor(s, h, lam, q))


@dataclass(frozen=True)
class TurnpikeScreen:
    """The rule, fixed before judging, that admits a turnpike problem [derived].

    A problem is judged only if its linearisation at ``(x = y, u = 0)`` is well conditioned,
    ``sigma_min(B) >= min_singular`` (B the Jacobian of the stacked dynamics in the controls at
    the targets, whose smallest singular value sets the slowest mode), and its horizon spans at
    least ``min_time_constants`` time constants ``1 / rate`` of the slowest mode. The screen
    reads only the problem's data (targets, weights, horizon), never a solve.
    """

    min_singular: float = 0.25
    min_time_constants: float = 8.0

    def admits(self, sigma_min: float, rate: float, horizon: float) -> tuple[bool, str]:
        """(admitted, the reason in one sentence)."""
        if sigma_min < self.min_singular:
            return False, (f"sigma_min(B)={sigma_min:.3g} < {self.min_singular}: the "
                           "linearisation is ill-conditioned (slowest mode nearly uncontrolled)")
        if rate * horizon < self.min_time_constants:
            return False, (f"T={horizon:g} spans {rate * horizon:.3g} time constants of the "
                           f"slowest mode, fewer than {self.min_time_constants}")
        return True, f"sigma_min(B)={sigma_min:.3g}, T spans {rate * horizon:.3g} time constants"


@dataclass(frozen=True)
class TurnpikePrediction:
    """The predicted late decay, independent of T: ``|x(t) - y|`` and ``|u(t)|`` like
    ``factor^{t/h} = exp(-rate t)``, the error ``E(t)`` like ``exp(-2 rate t)``.

    ``error_slope`` is the predicted slope of ``log E(t)`` against t (``-2 rate``);
    ``admitted``/``screen_reason`` are the :class:`TurnpikeScreen` verdict.
    """

    factor: float
    rate: float
    error_slope: float
    sigma_min: float
    admitted: bool
    screen_reason: str
    source: str = f"{SOURCE}, turnpike; rate from the discrete LQR linearisation (derived)"


def turnpike_decay(singular_values: Sequence[float], *, h: float, lam: float, q: float,
                   horizon: float, screen: TurnpikeScreen | None = None) -> TurnpikePrediction:
    """The LQR prediction from the singular values of B (all ``N d`` of them: a zero one is an
    uncontrolled direction), the step h, the weight lambda and the running-cost weight q on
    ``|x - y|^2`` (``beta / N`` for the cost of the module docstring).

    Valid for dynamics with ``f(x, 0) = 0`` for all x (every degree-k >= 1 dynamics), where the
    linearisation is ``z_{k+1} = z_k + h B v_k``. The slowest factor is that of the smallest
    singular value.
    """
    values = [float(s) for s in singular_values]
    if not values or any(not math.isfinite(s) or s < 0 for s in values):
        raise ValueError(f"singular_values={values!r} must be finite, >= 0 and non-empty")
    sigma_min = min(values)
    factor = lqr_factor(sigma_min, h=h, lam=lam, q=q)
    rate = -math.log(factor) / h if factor < 1 else 0.0
    admitted, reason = (screen or TurnpikeScreen()).admits(sigma_min, rate, horizon)
    return TurnpikePrediction(factor, rate, -2 * rate, sigma_min, admitted, reason)
