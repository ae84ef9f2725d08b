"""From a derived :class:`theory.limits.Limit` to what the ladder simulates.

:func:`simulation_inputs` turns (block, sigma, scaling, limit) into the ResNet's weight laws,
its activation and the limit's :class:`numerics.solvers.LimitSpec`, all from the sympy
expressions of theory/ lambdified to torch: the formula derived is the formula simulated.
The componentwise variables of the limit's coefficients are evaluated per sample as

    a = Abar(t) H + bbar(t)   (block I),   Wbar(t) H   (block O),   H   (block S),
    q = v |H|^2               (v the entry variance of the rough inner weights),

and an outer smooth law multiplies the drift by Vbar(t).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
import torch
from torch import Tensor

from numerics._util import matvec
from numerics.laws import Brownian, Smooth, WeightLaw
from numerics.smooth import FourierSeries
from numerics.solvers import EulerMaruyama, Heun, LimitSpec, MatrixNoise, VectorNoise
from theory.activations import x as _x
from theory.lambdify import to_torch
from theory.limits import Limit, a, q
from theory.scaling import Block, Scaling, d
from theory.scaling import WeightLaw as TheoryLaw

__all__ = ["SimulationInputs", "simulation_inputs", "numeric"]


def numeric(expr: sp.Expr, width: int, name: str) -> float:
    """A concrete float from an exponent or variance (d replaced by the width)."""
    value = sp.sympify(expr).subs(d, width)
    if value.free_symbols:
        raise ValueError(f"{name}={expr} still has symbols {sorted(map(str, value.free_symbols))}"
                         "; give the regime's parameter values")
    return float(value)


@dataclass(frozen=True)
class SimulationInputs:
    """Everything :func:`numerics.simulate` needs besides the budget and the seed."""

    block: str
    sigma: Callable[[Tensor], Tensor]
    alpha: float
    weights: dict[str, WeightLaw]
    limit: LimitSpec | None
    q_variance: float | None


def _law(law: TheoryLaw, width: int, name: str, process: FourierSeries) -> WeightLaw:
    rough = smooth = None
    if law.rough is not None:
        rough = Brownian(beta=numeric(law.rough.beta, width, f"{name}.beta_r"),
                         variance=numeric(law.rough.variance, width, f"{name}.variance"))
    if law.smooth is not None:
        smooth = Smooth(process=process, beta=numeric(law.smooth.beta, width, f"{name}.beta_s"))
    return WeightLaw(rough=rough, smooth=smooth)


def _pre_activation(block: Block, smooth: dict, bias: bool) -> Callable[[float, Tensor], Tensor]:
    if block is Block.S:
        return lambda t, h: h
    name = "A" if block is Block.I else "W"
    if name not in smooth:
        return lambda t, h: torch.zeros_like(h)

    def pre(t: float, h: Tensor) -> Tensor:
        out = matvec(smooth[name](t), h)
        if bias and "b" in smooth:
            out = out + smooth["b"](t)
        return out

    return pre


def simulation_inputs(limit: Limit, width: int, *,
                      process: FourierSeries | None = None) -> SimulationInputs:
    """Weight laws, activation and limit solver for the ResNet family of ``limit``.

    Smooth parts are random Fourier series (``process``, default ``FourierSeries()`` with
    entry variance 1/width). Limits that are not ODE/SDE (identity, explosion, undetermined)
    get ``limit=None``: their metrics are |h_L - h_0| and |h_L|. Raises NotImplementedError
    for a noise coefficient that depends on the state through a and q (none of R1-R7 does).
    """
    process = process or FourierSeries()
    block, scaling = limit.block, limit.scaling
    _check_concrete(scaling, width)
    weights: dict[str, WeightLaw] = {}
    if block is Block.I:
        weights["A"] = _law(scaling.inner, width, "A", process)
        if scaling.bias:
            beta_b = numeric(scaling.inner.smooth.beta, width, "b.beta")
            weights["b"] = WeightLaw(smooth=Smooth(process=process, beta=beta_b))
    else:
        weights["V"] = _law(scaling.outer, width, "V", process)
        if block is Block.O:
            weights["W"] = _law(scaling.inner, width, "W", process)
    sigma = to_torch(limit.activation.expr, (_x,))
    inner = scaling.inner
    v = numeric(inner.rough.variance, width, "variance") if (
        inner is not None and inner.rough is not None) else None
    spec = _limit_spec(limit, width, v) if limit.kind not in (
        "identity", "explosion", "undetermined") else None
    return SimulationInputs(block.value, sigma, numeric(scaling.alpha, width, "alpha"), weights,
                            spec, v)


def _check_concrete(scaling: Scaling, width: int) -> None:
    for e in scaling.exponents():
        numeric(e, width, "exponent")


def _limit_spec(limit: Limit, width: int, v: float | None) -> LimitSpec:
    block = limit.block
    drift_ta = to_torch(limit.drift.subs(d, width), (a, q))
    uses_a = a in limit.drift.free_symbols

    def q_of(h: Tensor) -> Tensor:
        if v is None:
            return torch.zeros_like(h)
        return (v * (h * h).sum(-1, keepdim=True)).expand_as(h)

    def drift_from_weights(smooth: dict) -> Callable[[float, Tensor], Tensor]:
        pre = _pre_activation(block, smooth, limit.scaling.bias)

        def f(t: float, h: Tensor) -> Tensor:
            av = pre(t, h) if uses_a else torch.zeros_like(h)
            out = drift_ta(av, q_of(h))
            if limit.outer_drift:
                out = matvec(smooth["V"](t), out)
            return out

        return f

    if limit.noise is None:
        return LimitSpec(Heun(), drift_from_weights=drift_from_weights)
    if limit.noise == "matrix":
        row = sp.simplify(limit.noise_row.subs(d, width))
        if row.free_symbols:
            raise NotImplementedError(f"matrix noise with a state-dependent row factor {row}")
        col = to_torch(limit.noise_col, (sp.Symbol("u", real=True),))
        source = "A" if block is Block.I else ("V" if limit.scaling.outer.rough is not None
                                                else "W")
        factor = float(row)
        noise = MatrixNoise(u=lambda t, h: factor * col(h), source=source)
    else:
        g = to_torch(limit.noise_row.subs(d, width), (q,))
        w = numeric(limit.scaling.inner.rough.variance, width, "W.variance") if (
            block is Block.O) else v

        def amplitude(t: float, h: Tensor) -> Tensor:
            qq = (w * (h * h).sum(-1, keepdim=True)).expand_as(h)
            return torch.sqrt(torch.clamp(g(qq), min=0.0))

        noise = VectorNoise(g=amplitude, source="B", variance=1.0)
    return LimitSpec(EulerMaruyama(), drift_from_weights=drift_from_weights, noise=noise)
