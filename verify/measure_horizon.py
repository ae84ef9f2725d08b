"""Large-time measurements (THEORY.md section 6, EGPZ): a neural ODE trained on a horizon
ladder (numerics.large_time.tables), with the check's teacher problems as samples, the
solver's convergence and the turnpike screen kept in the record."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from theory.horizon import LargeTime
from verify.profiles import HorizonBudget
from verify.table import Table

__all__ = ["horizon_table"]


def _horizon_group(quantity: str) -> str:
    return {"identity-defect": "identity", "turnpike-error": "turnpike"}.get(quantity, "sweep")


@lru_cache(maxsize=32)
def horizon_table(protocol: LargeTime, sigma: str, budget: HorizonBudget, seed: int,
                  group: str) -> Table:
    """The horizon ladder of ``protocol`` (activation ``sigma`` where the dynamics has one)
    for the measurement ``group`` (``identity``, ``sweep`` or ``turnpike``), its teacher
    problems drawn from ``seed``. Cached: LT3's two claims share one sweep."""
    from numerics.large_time.tables import (
        identity_columns,
        problem_seeds,
        sweep_columns,
        turnpike_columns,
    )

    p = protocol
    common = dict(d=p.width, n_points=p.n_points, lam=p.lam)
    if group == "identity":
        cols = identity_columns(p.dynamics, sigma, steps=p.steps,
                                seeds=problem_seeds(seed, budget.n_problems),
                                horizons=budget.identity_horizons, **common)
    elif group == "sweep":
        cols = sweep_columns(p.dynamics, sigma, steps=p.steps,
                             seeds=problem_seeds(seed, budget.n_problems),
                             horizons=budget.horizons, gtol=budget.gtol,
                             direct_gtol=budget.direct_gtol, max_iter=budget.max_iter,
                             direct_max_iter=budget.direct_max_iter, **common)
    elif group == "turnpike":
        cols = turnpike_columns(p.dynamics, sigma, steps=p.turnpike_steps, h=p.h, beta=p.beta,
                                running_cost=p.running_cost,
                                seeds=problem_seeds(seed, budget.max_candidates),
                                n_problems=budget.n_problems, horizons=budget.turnpike_horizons,
                                gtol=budget.gtol, max_iter=budget.max_iter, **common)
    else:
        raise ValueError(f"group={group!r}: use 'identity', 'sweep' or 'turnpike'")
    meta = dict(cols.meta)
    converged = meta.get("converged")
    if converged is not None and not all(converged) and "not_judged" not in meta:
        bad = [s for s, ok in zip(meta["problem_seeds"], converged, strict=True) if not ok]
        meta["not_judged"] = (
            f"{len(bad)} of {len(converged)} problems did not converge (|grad J| > gtol="
            f"{meta['gtol']:g}; problem seeds {bad[:5]}; {'; '.join(meta['not_converged'])}): "
            "a non-converged solve is inconclusive, never a pass; raise max_iter")
    if "predicted_slope" in meta:
        meta["slope"] = [float(v) for v in cols.columns["turnpike-error:slope"][0]]
    n = budget.n_problems
    first = next(iter(cols.columns.values()), np.zeros((0, n)))
    overflow = np.zeros((len(cols.at), n), dtype=bool)
    if first.size:
        overflow |= ~np.isfinite(first)
    return Table(cols.at, cols.columns, overflow, n, "cpu", meta=meta, over="horizon",
                 bounds=cols.bounds)
