"""Wrong twins: negative controls of the same shape as a claim, which the same budget must reject.

A control is named in a regime file (``Claim(..., controls=("drop-ito",))``) or is the generic
twin of the claim's prediction (:data:`GENERIC`). :data:`CONTROLS` maps each name to a function
``(instance, prediction) -> Twin | None`` (None: not applicable to this instance, e.g. dropping
an Ito drift that is zero). A :class:`Twin` changes what is claimed (a prediction), what it is
compared against (a limit), or which column of the same simulation is judged (a variant):

==================  =========================================================================
``rate-x2``         a rate p + max(p, 0.4): twice as fast, and at least 0.4 faster (an upper
                    bound "rate <= p" gets "rate >= p + max(p, 0.4)"); for an
                    exponential decay (LT4) twice the LQR rate
``beyond-sharp``    a one-sided claim "rate >= p" whose sharp rate s is known (Rate.sharp):
                    rate >= s + 1. Doubling p would be wrong here: LT2 claims O(1/T) and
                    the squared loss falls like T^-2, so "at least 2" is TRUE; "at least 3"
                    is not
``reversed``        a monotone claim with the opposite trend (LT3)
``wrong-weight``    the horizon identity with the weight lambda instead of lambda/T (LT1)
``inner-linear``    large time: the same prediction for x' = W (A x + b) (degree 2), solved
                    at horizon T directly (its error plateaus; the identity fails by O(1))
``inner-tanh``      large time: the same for x' = W tanh(A x + b) (not homogeneous)
``no-running-cost`` the turnpike claim for the same problems solved without the running
                    cost (the profile stretches with T instead of coinciding)
``no-growth``       an explosion claim replaced by convergence to the identity at rate 1/4
``noise-x2``        a law claim against the limit with its noise covariance doubled
``drop-ito``        the diffusive limit (or its first variation) without the Ito correction
``neural-ode``      the neural ODE sigma(Abar H + bbar) where the linearised one holds (R2)
``scaling+1/2``     weight gradients scaled by L^(alpha + 1/2) instead of L^alpha
``flat``            trained weights: the statistic does not fall with depth (rate 0), what
                    white-noise-like (rough) weights give for the roughness index
``smooth``          trained weights: the statistic falls at least like 1/L, what weights that
                    are a smooth function of k/L give for the roughness index
``trained-delta``   trained weights: the same prediction on the ladder trained with a shared,
                    trained delta instead (T3: frozen delta is ODE-scaled, trained delta not)
``adam``            trained weights: the same prediction on the ladder trained by Adam (lr
                    1e-2, the authors') instead of SGD (T2: Adam breaks SGD's conservation law)
==================  =========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import sympy as sp

from theory.claims import (
    Bound,
    Exact,
    ExpDecay,
    Growth,
    Monotone,
    Prediction,
    Quantity,
    Rate,
    SameLaw,
)
from theory.horizon import LargeTime
from theory.limits import Limit, a
from theory.regime import Instance
from theory.training import Training

__all__ = ["CONTROLS", "GENERIC", "Twin", "controls_for", "drop_ito", "generic_control",
           "rate_twin"]


@dataclass(frozen=True)
class Twin:
    """A wrong claim of the same shape: ``prediction`` judged on ``column`` of the simulation
    against ``limit`` (None: the claim's own limit and column)."""

    name: str
    prediction: Prediction
    limit: Limit | None = None
    column: str | None = None
    variant: str | None = None  # a variant the measurement must add (gradient twins)
    training: Training | None = None  # trained weights: train this protocol instead
    horizon: LargeTime | None = None  # large time: solve the same problems this way instead
    resolves: bool = False  # the claim must beat it on the same table (else inconclusive)


def rate_twin(p: float) -> float:
    """The rate of the ``rate-x2`` twin: twice as fast, and at least 0.4 faster."""
    return p + max(p, 0.4)


def drop_ito(limit: Limit) -> Limit:
    """The diffusive limit without its Ito correction (what a neural-ODE view predicts)."""
    return replace(limit, drift=sp.simplify(limit.drift - limit.ito_correction),
                   ito_correction=sp.Integer(0))


def _rate_x2(instance: Instance, pred: Prediction) -> Twin | None:
    if isinstance(pred, ExpDecay):
        return Twin("rate-x2", replace(pred, scale=2 * pred.scale), resolves=True)
    if not isinstance(pred, Rate):
        return None
    # an upper bound's wrong twin claims the rate is much faster (the same bound doubled
    # would be true of every rate the claim admits)
    bound = Bound.AT_LEAST if pred.bound is Bound.AT_MOST else pred.bound
    return Twin("rate-x2", Rate(exponent=rate_twin(float(pred.exponent)), bound=bound),
                resolves=True)


def _beyond_sharp(instance: Instance, pred: Prediction) -> Twin | None:
    if not isinstance(pred, Rate) or pred.sharp is None:
        return None
    return Twin("beyond-sharp", Rate(exponent=float(pred.sharp) + 1, bound=Bound.AT_LEAST),
                resolves=True)


def _reversed(instance: Instance, pred: Prediction) -> Twin | None:
    if not isinstance(pred, Monotone):
        return None
    return Twin("reversed", pred.reversed, resolves=True)


def _wrong_weight(instance: Instance, pred: Prediction, quantity: Quantity) -> Twin | None:
    if quantity is not Quantity.IDENTITY_DEFECT:
        return None
    return Twin("wrong-weight", pred, column="identity-defect:wrong-weight")


def _horizon_only(quantity: Quantity, name: str) -> None:
    if not quantity.horizon:
        raise ValueError(f"control {name!r} is about large-time training; {quantity.value} is "
                         "not a horizon quantity")


def _solved_as(name: str, **changes) -> Callable[..., Twin | None]:
    """The twin that judges the same prediction on the same problems solved under the
    protocol with ``changes`` (None where the protocol already has them)."""

    def build(instance: Instance, pred: Prediction, quantity: Quantity) -> Twin | None:
        _horizon_only(quantity, name)
        protocol = instance.regime.horizon
        if protocol is None or all(getattr(protocol, k) == v for k, v in changes.items()):
            return None
        return Twin(name, pred, horizon=replace(protocol, **changes))

    return build


def _no_growth(instance: Instance, pred: Prediction) -> Twin | None:
    if not isinstance(pred, Growth):
        return None
    return Twin("no-growth", Rate(exponent=0.25), column="identity")


def _noise_x2(instance: Instance, pred: Prediction) -> Twin | None:
    if not isinstance(pred, SameLaw):
        return None
    limit = instance.limit
    return Twin("noise-x2", pred, limit=replace(limit, noise_row=2 * limit.noise_row))


def _drop_ito(instance: Instance, pred: Prediction, quantity: Quantity) -> Twin | None:
    limit = instance.limit
    if sp.simplify(limit.ito_correction) == 0:
        return None
    if quantity in (Quantity.GRAD_INPUT, Quantity.GRAD_WEIGHT):
        return Twin("drop-ito", pred, column=f"{quantity.value}:no-ito", variant="no-ito")
    return Twin("drop-ito", pred, limit=drop_ito(limit))


def _neural_ode(instance: Instance, pred: Prediction) -> Twin | None:
    limit = instance.limit
    return Twin("neural-ode", pred, limit=replace(limit, drift=limit.activation(a),
                                                  kind="neural-ode"))


def _scaling(instance: Instance, pred: Prediction, quantity: Quantity) -> Twin | None:
    if quantity is not Quantity.GRAD_WEIGHT:
        return None
    return Twin("scaling+1/2", pred, column="grad-weight:scaling", variant="scaling")


def _trained_only(quantity: Quantity, name: str) -> None:
    if not quantity.trained:
        raise ValueError(f"control {name!r} is about trained weights; {quantity.value} is not "
                         "a trained quantity")


def _flat(instance: Instance, pred: Prediction, quantity: Quantity) -> Twin | None:
    _trained_only(quantity, "flat")
    return Twin("flat", Rate(exponent=0))


def _smooth(instance: Instance, pred: Prediction, quantity: Quantity) -> Twin | None:
    _trained_only(quantity, "smooth")
    return Twin("smooth", Rate(exponent=1, bound=Bound.AT_LEAST))


def _retrained(name: str, key: str, **changes) -> Callable[..., Twin | None]:
    """The twin that judges the same prediction on the ladder trained with ``changes`` to the
    protocol (None where the protocol's ``key`` field already has the changed value)."""

    def build(instance: Instance, pred: Prediction, quantity: Quantity) -> Twin | None:
        _trained_only(quantity, name)
        training = instance.regime.training
        if training is None or getattr(training, key) == changes[key]:
            return None
        return Twin(name, pred, training=replace(training, **changes))

    return build


CONTROLS: dict[str, Callable[..., Twin | None]] = {
    "rate-x2": lambda inst, pred, q: _rate_x2(inst, pred),
    "beyond-sharp": lambda inst, pred, q: _beyond_sharp(inst, pred),
    "reversed": lambda inst, pred, q: _reversed(inst, pred),
    "wrong-weight": _wrong_weight,
    "inner-linear": _solved_as("inner-linear", dynamics="inner-linear"),
    "inner-tanh": _solved_as("inner-tanh", dynamics="inner-tanh"),
    "no-running-cost": _solved_as("no-running-cost", running_cost=False),
    "no-growth": lambda inst, pred, q: _no_growth(inst, pred),
    "noise-x2": lambda inst, pred, q: _noise_x2(inst, pred),
    "drop-ito": _drop_ito,
    "neural-ode": lambda inst, pred, q: _neural_ode(inst, pred),
    "scaling+1/2": _scaling,
    "flat": _flat,
    "smooth": _smooth,
    "trained-delta": _retrained("trained-delta", "delta", delta="shared"),
    "adam": _retrained("adam", "optimizer", optimizer="adam", lr=1e-2),
}
"""name -> (instance, concrete prediction, quantity) -> Twin, or None where not applicable."""

GENERIC = {Rate: "rate-x2", Growth: "no-growth", SameLaw: "noise-x2", Exact: "wrong-weight",
           Monotone: "reversed", ExpDecay: "rate-x2"}
"""The twin every claim gets from the type of its prediction (a one-sided Rate with a known
sharp rate gets ``beyond-sharp`` instead, :func:`generic_control`)."""


def generic_control(pred: Prediction) -> str:
    """The name of the generic twin of ``pred``."""
    if isinstance(pred, Rate) and pred.sharp is not None:
        return "beyond-sharp"
    return GENERIC[type(pred)]


def controls_for(claim, instance: Instance, pred: Prediction) -> list[Twin]:
    """The twins of ``claim`` at ``instance``: the generic one, then the claim's named ones
    (each once), leaving out those that do not apply to this instance."""
    generic = generic_control(pred)
    names = [generic, *[n for n in claim.controls if n != generic]]
    twins = []
    for name in names:
        build = CONTROLS.get(name)
        if build is None:
            raise ValueError(f"control {name!r} is unknown; known: {sorted(CONTROLS)}")
        twin = build(instance, pred, claim.quantity)
        if twin is not None:
            twins.append(twin)
    return twins
