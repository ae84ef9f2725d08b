"""What a claim measures, as a table over depths: the one place verify calls numerics.

:func:`measure` simulates one :class:`theory.regime.Instance` on the profile's ladder (the
network at every depth and the limit on one coupled path) and returns a :class:`Table` of
per-sample columns for the quantity asked for:

- ``strong``/``sup``/``identity``/``growth``: forward errors (numerics.simulate on a Model,
  Ladder, Sampling and Execution);
- ``weak:<f>``: signed ``f(h_L) - f(H_1)`` for the claim's test functions (the statistic is
  the absolute mean, :mod:`verify.rates`);
- ``law:<f>``: ``f(h_L) - f(H_1)`` at the deepest depth only, network and limit from the same
  input with independent noise (no strong coupling exists);
- ``grad-input``/``grad-weight`` (and the variants ``:no-ito``, ``:scaling``): gradient errors
  against the backpropagation limit (numerics.gradients);
- ``weight-max``/``weight-rms``/``delta-max``/``increment-max``/``roughness``: statistics of a
  trained ladder (numerics.train, every depth and training seed stacked in one model), one
  column per quantity with the training seeds as samples (:func:`trained_table`, in
  :mod:`verify.measure_trained`);
- ``identity-defect``/``train-error``/``control-norm``/``control-gap``/``turnpike-error``:
  a neural ODE trained on a horizon ladder (numerics.large_time.tables), over the horizon T
  (the turnpike: over the time t), with the check's teacher problems as samples
  (:func:`horizon_table`, in :mod:`verify.measure_horizon`); a non-converged solve or a
  screen that admits too few problems marks the table ``not_judged`` (inconclusive).

Which measurement a quantity needs is a dict lookup (:data:`MEASUREMENTS`), never a branch on
regime names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch

from numerics import Execution, GaussianInput, Ladder, Model, Sampling, simulate
from numerics.from_theory import simulation_inputs
from theory.horizon import HORIZON_QUANTITIES
from theory.limits import Limit
from theory.regime import Instance
from theory.training import TRAINED_QUANTITIES
from verify.measure_horizon import _horizon_group, horizon_table
from verify.measure_trained import trained_table, training_seeds
from verify.profiles import Budget
from verify.table import Table

__all__ = ["INPUT_SCALE", "MEASUREMENTS", "REFINE", "TEST_FUNCTIONS", "Table", "horizon_table",
           "measure", "trained_table", "training_seeds"]

INPUT_SCALE = 0.5
"""Inputs h_0 ~ N(0, 0.25 I): keeps superlinear Ito drifts far from their finite-time blow-up
on [0, 1]."""
REFINE = 4
"""The limit is solved on a grid 2^REFINE times finer than the deepest network: with a
reference only 4x finer, E|EM_L - EM_ref| ~ sqrt(1/L - 1/L_ref) bends the fitted strong
slope on 32..256 to 0.56 instead of 0.5; 16x finer leaves 0.51."""
SCALING_CONTROL = 0.5
"""The scaling twin multiplies the weight gradients by L^SCALING_CONTROL too many."""


def _sq(h: torch.Tensor) -> torch.Tensor:
    return (h * h).sum(-1)


TEST_FUNCTIONS: Mapping[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "|h|^2": _sq,
    "sum h": lambda h: h.sum(-1),
    "sum tanh(h)": lambda h: torch.tanh(h).sum(-1),
    "sum atan(h)": lambda h: torch.atan(h).sum(-1),
    "exp(-|h|^2)": lambda h: torch.exp(-_sq(h)),
    "log|h|^2": lambda h: torch.log(_sq(h)),
    "(log|h|^2)^2": lambda h: torch.log(_sq(h)) ** 2,
}
"""Test functions of weak and law claims, by the names regime files use."""


def _unknown(names, where: str) -> None:
    missing = [n for n in names if n not in TEST_FUNCTIONS]
    if missing:
        raise ValueError(f"{where}: unknown test functions {missing}; known: "
                         f"{sorted(TEST_FUNCTIONS)}")


def _forward(instance: Instance, limit: Limit, budget: Budget, seed: int, quantity: str, *,
             functions: tuple[str, ...] = (), law: bool = False, weak: bool = False) -> Table:
    inputs = simulation_inputs(limit, instance.width)
    factor = budget.samples_factor.get(quantity, 1)  # the budget's extra paths per quantity
    if law:
        depths: tuple[int, ...] = (max(budget.depths),)
    elif weak:
        depths = tuple(budget.ladders.get("weak", budget.depths))
    else:
        depths = tuple(budget.depths)
    _unknown(functions, f"{instance.regime.name}")
    model = Model(block=inputs.block, sigma=inputs.sigma, alpha=inputs.alpha,
                  weights=inputs.weights, limit=inputs.limit)
    ladder = Ladder(depths=depths, refine=REFINE if inputs.limit is not None and not law else 0)
    sampling = Sampling(n_samples=budget.n_samples * factor, seed=seed,
                        inputs=GaussianInput(scale=INPUT_SCALE), width=instance.width)
    table = simulate(model, ladder, sampling, Execution(dtype=getattr(torch, budget.dtype)),
                     test_functions={f: TEST_FUNCTIONS[f] for f in functions} or None)
    columns = {k: np.asarray(v) for k, v in table.samples.items()}
    prefix = "law:" if law else "weak:"
    for f in functions:
        columns[prefix + f] = columns.pop(f"weak:{f}")
    overflow = np.asarray(table.overflow, dtype=bool)
    if table.limit_overflow is not None:
        overflow = overflow | np.asarray(table.limit_overflow, dtype=bool)[None, :]
    return Table(tuple(depths), columns, overflow, table.n_samples, str(table.device))


def _gradients(instance: Instance, limit: Limit, budget: Budget, seed: int,
               variants: tuple[str, ...]) -> Table:
    from numerics.gradients import gradient_inputs, gradient_table
    from theory.backward import derive_backward

    backward = derive_backward(limit)
    extra = ("no-ito",) if "no-ito" in variants and backward.kind == "fbsde" and \
        backward.has_ito_term else ()
    inputs = gradient_inputs(backward, instance.width, controls=extra)
    exponents = {"scaling": inputs.weight_exponent + SCALING_CONTROL} if "scaling" in \
        variants else {}
    table = gradient_table(inputs.sigma, alpha=inputs.alpha, weights=inputs.weights,
                           limit=inputs.limit, x0=GaussianInput(scale=INPUT_SCALE),
                           depths=tuple(budget.depths), n_samples=budget.n_samples, seed=seed,
                           width=instance.width, weight_exponent=inputs.weight_exponent,
                           weight_exponents=exponents, loss=[1.0] * instance.width,
                           device="cpu", dtype=getattr(torch, budget.dtype))
    columns = {k: np.asarray(v) for k, v in table.samples.items()}
    overflow = ~np.isfinite(columns["grad-input"])
    return Table(tuple(table.depths), columns, overflow, table.n_samples, str(table.device))


def _trained(instance, limit, budget, seed, claim, variants):
    training = instance.regime.training
    if training is None:
        raise ValueError(f"{claim.quantity.value} measures trained weights; "
                         f"{instance.regime.name} has no training protocol")
    return trained_table(training, instance.sigma, budget.training, int(seed))


def _horizon(instance, limit, budget, seed, claim, variants):
    protocol = instance.regime.horizon
    if protocol is None:
        raise ValueError(f"{claim.quantity.value} is measured over the horizon; "
                         f"{instance.regime.name} has no horizon=LargeTime(...) protocol")
    return horizon_table(protocol, instance.sigma, budget.horizon, int(seed),
                         _horizon_group(claim.quantity.value))


def _strong(instance, limit, budget, seed, claim, variants):
    return _forward(instance, limit, budget, seed, claim.quantity.value)


def _weak(instance, limit, budget, seed, claim, variants):
    return _forward(instance, limit, budget, seed, claim.quantity.value,
                    functions=claim.test_functions, weak=True)


def _law(instance, limit, budget, seed, claim, variants):
    return _forward(instance, limit, budget, seed, claim.quantity.value,
                    functions=claim.predicts.test_functions, law=True)


def _grad(instance, limit, budget, seed, claim, variants):
    return _gradients(instance, limit, budget, seed, variants)


MEASUREMENTS = {"strong": _strong, "sup": _strong, "identity": _strong, "growth": _strong,
                "weak": _weak, "law": _law, "grad-input": _grad, "grad-weight": _grad,
                **{q: _trained for q in TRAINED_QUANTITIES},
                **{q: _horizon for q in HORIZON_QUANTITIES}}
"""quantity -> measurement (instance, limit, budget, seed, claim, variants) -> Table."""


def measure(instance: Instance, claim, limit: Limit, budget: Budget, seed: int, *,
            variants: tuple[str, ...] = ()) -> Table:
    """Simulate ``instance`` against ``limit`` for ``claim``'s quantity on ``budget``."""
    run = MEASUREMENTS.get(claim.quantity.value)
    if run is None:
        raise ValueError(f"quantity {claim.quantity.value!r} has no measurement; known: "
                         f"{sorted(MEASUREMENTS)}")
    return run(instance, limit, budget, seed, claim, tuple(variants))
