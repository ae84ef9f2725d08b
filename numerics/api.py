"""The entry point a verifier calls: :func:`simulate` -> :class:`numerics.metrics.ErrorTable`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from torch import Tensor

from numerics.config import DEFAULT_EXECUTION, Execution, Ladder, Model, Sampling
from numerics.ladder import simulate_ladder
from numerics.metrics import ErrorTable, error_table

__all__ = ["simulate"]


def simulate(
    model: Model,
    ladder: Ladder,
    sampling: Sampling,
    execution: Execution = DEFAULT_EXECUTION,
    *,
    test_functions: Mapping[str, Callable[[Tensor], Tensor]] | None = None,
) -> ErrorTable:
    """Run the coupled depth ladder (and the limit on the same path) and tabulate the errors.

    ``test_functions`` (name -> ``f((M, d)) -> (M,)``) add weak errors. Returns an
    :class:`ErrorTable` whose wall time covers the simulation. Example (R5, d = 1, exact
    limit ``x exp(W_1 - 1/2)``)::

        from numerics import (Exact, FixedInput, Ladder, LimitSpec, Model, Sampling,
                              brownian_weights, simulate)
        model = Model(block="I", sigma=torch.tanh, alpha=0.0,
                      weights={"A": brownian_weights(1.0)},
                      limit=LimitSpec(Exact(lambda t, x, w: x * torch.exp(w[..., 0] - t / 2))))
        table = simulate(model, Ladder(depths=(16, 32, 64)),
                         Sampling(n_samples=1000, seed=0, inputs=FixedInput((1.0,)), width=1))
        table.means["strong"]
    """
    return error_table(simulate_ladder(model, ladder, sampling, execution), test_functions)
