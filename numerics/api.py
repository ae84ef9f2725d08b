"""The entry point a verifier calls: :func:`simulate` -> :class:`numerics.metrics.ErrorTable`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor

from numerics.ladder import run_ladder
from numerics.laws import InputLaw, WeightLaw
from numerics.metrics import ErrorTable, error_table
from numerics.solvers import LimitSpec

__all__ = ["simulate"]


def simulate(
    block: str,
    sigma: Callable[[Tensor], Tensor],
    *,
    alpha: float,
    weights: Mapping[str, WeightLaw],
    x0: InputLaw | Tensor,
    depths: Sequence[int],
    n_samples: int,
    seed: int,
    width: int | None = None,
    limit: LimitSpec | None = None,
    test_functions: Mapping[str, Callable[[Tensor], Tensor]] | None = None,
    refine: int = 0,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str = torch.float64,
    draw_dtype: torch.dtype | str = torch.float32,
    noise_device: str = "cpu",
    overflow_threshold: float = 1e8,
    chunk_steps: int | None = None,
) -> ErrorTable:
    """Run the coupled depth ladder (and the limit on the same path) and tabulate the errors.

    Same arguments as :func:`numerics.ladder.run_ladder`, plus ``test_functions`` (name ->
    ``f((M, d)) -> (M,)``) for weak errors. Returns an :class:`ErrorTable` whose wall time
    covers the simulation. Example (R5, d = 1, exact limit ``x exp(W_1 - 1/2)``)::

        from numerics import simulate, brownian_weights, Exact, LimitSpec, FixedInput
        table = simulate(
            "I", torch.tanh, alpha=0.0, weights={"A": brownian_weights(1.0)},
            x0=FixedInput((1.0,)), width=1, depths=(16, 32, 64), n_samples=1000, seed=0,
            limit=LimitSpec(Exact(lambda t, x, w: x * torch.exp(w[..., 0] - t / 2))),
        )
        table.means["strong"]
    """
    result = run_ladder(
        block,
        sigma,
        alpha=alpha,
        weights=weights,
        x0=x0,
        depths=depths,
        n_samples=n_samples,
        seed=seed,
        width=width,
        limit=limit,
        refine=refine,
        device=device,
        dtype=dtype,
        draw_dtype=draw_dtype,
        noise_device=noise_device,
        overflow_threshold=overflow_threshold,
        chunk_steps=chunk_steps,
    )
    return error_table(result, test_functions)
