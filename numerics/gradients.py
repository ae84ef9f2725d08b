r"""Gradients of the batched ResNet and their large-depth limits: the public names.

The experiment lives in :mod:`numerics.measure.gradients` (:func:`gradient_table`,
:func:`coupled_weights`, :func:`network_gradients`, :func:`solve_first_variation`), the first
variation in :mod:`numerics.steppers.variation` (:class:`FirstVariation`). This module adds the
seam from theory, :func:`gradient_inputs`: the sympy coefficients of a
:class:`theory.backward.BackwardLimit` at a width, as torch callables or constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from numerics.laws import WeightLaw
from numerics.measure.gradients import (
    LimitGradients,
    coupled_weights,
    gradient_table,
    network_gradients,
    solve_first_variation,
)
from numerics.steppers.variation import Coef, FirstVariation, Fn1

__all__ = [
    "FirstVariation",
    "GradientInputs",
    "LimitGradients",
    "coupled_weights",
    "gradient_inputs",
    "gradient_table",
    "network_gradients",
    "solve_first_variation",
]


@dataclass(frozen=True)
class GradientInputs:
    """What :func:`gradient_table` needs besides the budget (from :func:`gradient_inputs`)."""

    sigma: Fn1
    alpha: float
    weights: dict[str, WeightLaw]
    limit: FirstVariation
    weight_exponent: float


# --------------------------------------------------------------------------- from theory
def _constant(expr: Any, width: int) -> float | None:
    """A sympy coefficient as a float when it is constant at ``width`` (else None)."""
    import sympy as sp

    from theory.scaling import d

    value = sp.sympify(expr).subs(d, width)
    return None if value.free_symbols else float(value)


def gradient_inputs(backward: Any, width: int, *, controls: Sequence[str] = ()) -> GradientInputs:
    """Weight laws, activation and :class:`FirstVariation` of a
    :class:`theory.backward.BackwardLimit` at ``width``, from its sympy expressions.

    ``controls``: ``"no-ito"`` adds the variant first variation without the Ito term (raises,
    through :meth:`~theory.backward.BackwardLimit.drop_ito`, when there is none). theory is
    imported here only (``import numerics`` stays free of theory).
    """
    import sympy as sp

    from numerics.from_theory import simulation_inputs
    from theory.backward import BackwardLimit
    from theory.limits import u

    if not isinstance(backward, BackwardLimit):
        raise TypeError(f"backward={backward!r} must be a theory.backward.BackwardLimit")
    base = simulation_inputs(backward.forward, width)
    v = backward.numeric("q_variance", width)

    def coefs(bl: BackwardLimit) -> tuple[Coef, Coef | None]:
        fns = bl.torch_functions(width)
        fa = _constant(bl.drift_a, width)
        fq = _constant(bl.drift_q, width) if v is not None else None
        fa_out: Coef = fns["drift_a"] if fa is None else fa
        fq_out: Coef | None = None
        if v is not None:
            fq_out = fns["drift_q"] if fq is None else (None if fq == 0.0 else fq)
        return fa_out, fq_out

    fns = backward.torch_functions(width)
    variants: dict[str, tuple[Coef, Coef | None]] = {}
    for name in controls:
        if name != "no-ito":
            raise ValueError(f"controls entry {name!r}: the only variant is 'no-ito'")
        variants[name] = coefs(backward.drop_ito())
    drift_a, drift_q = coefs(backward)
    linear_noise = backward.noise_col is not None and sp.simplify(backward.noise_col - u) == 0
    fv = FirstVariation(
        drift=fns["drift"],
        drift_a=drift_a,
        drift_q=drift_q,
        weight_density=fns["weight_density"],
        q_variance=v,
        noise_row=backward.numeric("noise_row", width),
        noise_col=None if linear_noise else fns.get("noise_col"),
        noise_col_prime=None if linear_noise else fns.get("noise_col_prime"),
        variants=variants,
    )
    e = float(backward.weight_exponent)
    return GradientInputs(sigma=base.sigma, alpha=base.alpha, weights=base.weights, limit=fv,
                          weight_exponent=e)
