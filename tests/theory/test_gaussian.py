"""Gaussian expectations: closed forms where known, labelled quadrature elsewhere."""

import numpy as np
import pytest
import sympy as sp

from theory.activations import activation
from theory.gaussian import gaussian_expectation, s


def test_relu_closed_forms():
    relu = activation("relu")
    assert gaussian_expectation(relu, "sigma").closed_form == s / sp.sqrt(2 * sp.pi)
    assert gaussian_expectation(relu, "sigma^2").closed_form == s**2 / 2
    assert gaussian_expectation(relu, "sigma'").closed_form == sp.Rational(1, 2)


def test_polynomial_moments():
    act = activation("x + x^2/2")
    assert gaussian_expectation(act, "sigma").closed_form == s**2 / 2
    assert sp.expand(gaussian_expectation(act, "sigma^2").closed_form) == s**2 + 3 * s**4 / 4


def test_odd_activation_has_zero_mean_by_symmetry():
    e = gaussian_expectation(activation("tanh"), "sigma")
    assert e.closed_form == 0 and e.method.startswith("symmetry")


@pytest.mark.parametrize("name", ["tanh", "gelu", "silu"])
def test_quadrature_is_labelled_and_matches_monte_carlo(name):
    act = activation(name)
    e = gaussian_expectation(act, "sigma^2")
    assert e.method == "quadrature" and e.closed_form is None
    rng = np.random.default_rng(0)
    z = 1.3 * rng.standard_normal(2_000_000)
    f = sp.lambdify(sp.Symbol("x", real=True), act.expr**2, ["scipy", "numpy"])
    values = f(z)
    mc, se = values.mean(), values.std() / np.sqrt(z.size)
    assert abs(e(1.3) - mc) < 5 * se


def test_closed_form_and_quadrature_agree_for_elu():
    act = activation("elu")
    closed = gaussian_expectation(act, "sigma'")
    assert closed.method == "closed form"
    numeric = sp.lambdify(s, closed.closed_form, ["scipy", "numpy"])(0.7)
    assert closed(0.7) == pytest.approx(numeric, rel=1e-12)
