"""ErrorTable: JSON round trip, read-only per-sample data, standard errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from numerics import (
    ErrorTable,
    EulerMaruyama,
    GaussianInput,
    LimitSpec,
    MatrixNoise,
    brownian_weights,
)
from numerics.ladder import run_ladder
from numerics.metrics import error_table


def simulate(block, sigma, *, test_functions=None, **kw):
    """The keyword form these tests use: what :func:`numerics.simulate` computes for the
    value objects :func:`numerics.ladder.run_ladder` builds from ``kw``."""
    return error_table(run_ladder(block, sigma, **kw), test_functions)


@pytest.fixture(scope="module")
def table() -> ErrorTable:
    lim = LimitSpec(EulerMaruyama(), noise=MatrixNoise(u=lambda t, h: h, source="A"))
    return simulate(
        "I",
        torch.tanh,
        alpha=0.0,
        weights={"A": brownian_weights()},
        x0=GaussianInput(),
        width=3,
        depths=(4, 8, 16),
        n_samples=50,
        seed=12,
        limit=lim,
        device="cpu",
        test_functions={"norm2": lambda h: (h * h).sum(-1)},
    )


def test_table_has_every_metric_with_per_sample_values(table: ErrorTable) -> None:
    assert set(table.metrics) == {"strong", "sup", "weak:norm2", "identity", "growth"}
    for k in table.metrics:
        a = table.per_sample(k)
        assert a.shape == (3, 50) and not a.flags.writeable
        se = a.std(axis=1, ddof=1) / math.sqrt(50)
        np.testing.assert_allclose(table.stderrs[k], se)
    np.testing.assert_allclose(table.means["strong"], table.per_sample("strong").mean(1))
    assert (table.per_sample("sup") >= table.per_sample("strong") - 1e-15).all()
    assert table.seed == 12 and table.dtype == "float64" and table.device == "cpu"
    assert table.wall_time_s > 0 and table.n_fine == 16
    with pytest.raises(KeyError, match="metric='nope'"):
        table.per_sample("nope")


def test_to_dict_is_json_and_round_trips(table: ErrorTable) -> None:
    text = json.dumps(table.to_dict(), allow_nan=False)
    back = ErrorTable.from_dict(json.loads(text))
    assert back.depths == table.depths and back.seed == table.seed
    for k in table.metrics:
        np.testing.assert_array_equal(back.per_sample(k), table.per_sample(k))
        np.testing.assert_array_equal(back.means[k], table.means[k])
    np.testing.assert_array_equal(back.overflow, table.overflow)
    assert back.meta["block"] == "I" and "depth" in back.summary()


def test_non_finite_values_survive_json() -> None:
    t = simulate(
        "S",
        lambda x: x,
        alpha=-1.0,
        weights={"V": brownian_weights(variance=50.0, beta=0.0)},
        x0=GaussianInput(),
        width=2,
        depths=(1, 64),
        n_samples=8,
        seed=0,
        device="cpu",
        overflow_threshold=1e3,
    )
    assert t.overflow[-1].all()
    back = ErrorTable.from_dict(json.loads(json.dumps(t.to_dict(), allow_nan=False)))
    assert np.isinf(back.per_sample("growth")[-1]).all()
    assert np.isnan(back.means["growth"][-1])
    with pytest.raises(ValueError, match="schema_version"):
        ErrorTable.from_dict({**t.to_dict(), "schema_version": 99})
