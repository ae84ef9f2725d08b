"""Lambdified coefficients agree with the sympy expressions at random points (float64)."""

import numpy as np
import pytest
import sympy as sp
import torch

from theory.activations import LIBRARY, activation, x
from theory.lambdify import to_torch
from theory.limits import a, derive_limit, q, u
from theory.regimes import registry

rng = np.random.default_rng(12345)
POINTS = rng.normal(scale=1.5, size=64)
VARS = np.abs(rng.normal(scale=1.5, size=64)) + 0.05


def _exact(expr, symbols, columns):
    return np.array([float(sp.N(expr.subs(dict(zip(symbols, vals, strict=True))), 20))
                     for vals in zip(*columns, strict=True)])


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_activation_lambdified(name):
    act = activation(name)
    got = to_torch(act.expr, (x,))(torch.tensor(POINTS, dtype=torch.float64)).numpy()
    want = _exact(act.expr, (x,), (POINTS,))
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


def test_limit_coefficients_of_every_regime_lambdified():
    checked = 0
    for regime in registry().values():
        if regime.protocol is not None:
            continue  # trained regimes derive no limit
        for name in regime.activations:
            limit = regime.limit(name)
            if limit.kind in ("identity", "explosion", "undetermined"):
                continue
            subs_free = limit.drift.free_symbols - {a, q}
            if subs_free:
                continue
            ta = torch.tensor(POINTS, dtype=torch.float64)
            tq = torch.tensor(VARS, dtype=torch.float64)
            got = limit.drift_torch()(ta, tq).numpy()
            if limit.drift.atoms(sp.core.function.AppliedUndef):
                continue  # quadrature-backed: checked below
            want = _exact(limit.drift, (a, q), (POINTS, VARS))
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
            if limit.noise == "matrix":
                _, col = limit.noise_torch()
                np.testing.assert_allclose(col(ta).numpy(), _exact(limit.noise_col, (u,),
                                           (POINTS,)), rtol=1e-12, atol=1e-14)
            checked += 1
    assert checked >= 10


def test_quadrature_backed_coefficient_matches_numeric_integral():
    from scipy import integrate

    limit = derive_limit("O", "tanh", registry()["R6"].scaling)
    g = limit.noise_torch()
    for var in (0.01, 1.0, 4.0, 25.0):
        def density(z, var=var):
            return np.tanh(z) ** 2 * np.exp(-z * z / (2 * var)) / np.sqrt(2 * np.pi * var)

        want = integrate.quad(density, -np.inf, np.inf, epsabs=1e-14)[0]
        got = float(g(torch.tensor([var], dtype=torch.float64))[0])
        assert got == pytest.approx(want, rel=1e-12)


def test_missing_symbol_is_named():
    with pytest.raises(ValueError, match=r"\['q'\]"):
        to_torch(a + q, (a,))
