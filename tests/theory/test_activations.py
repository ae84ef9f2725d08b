"""Exact properties of activations at 0 (THEORY.md section 3 reads sigma through them)."""

import pytest
import sympy as sp

from theory.activations import (
    LIBRARY,
    ActivationError,
    activation,
    leaky_relu,
    polynomial,
    x,
)


@pytest.mark.parametrize(
    "name, s1, s2, s3, m",
    [
        ("tanh", 1, 0, -2, 3),
        ("sin", 1, 0, -1, 3),
        ("sigmoid_centered", sp.Rational(1, 4), 0, sp.Rational(-1, 8), 3),
        ("softplus_centered", sp.Rational(1, 2), sp.Rational(1, 4), 0, 2),
        ("gelu", sp.Rational(1, 2), sp.sqrt(2 / sp.pi), 0, 2),
        ("silu", sp.Rational(1, 2), sp.Rational(1, 2), 0, 2),
        ("x+x^2/2", 1, 1, 0, 2),
    ],
)
def test_taylor_coefficients_of_smooth_library(name, s1, s2, s3, m):
    act = activation(name)
    assert act.s(0) == 0
    assert sp.simplify(act.s(1) - s1) == 0
    assert sp.simplify(act.s(2) - s2) == 0
    assert sp.simplify(act.s(3) - s3) == 0
    assert act.m == m
    assert act.smoothness == sp.oo


def test_relu_is_one_sided_and_homogeneous():
    relu = activation("relu")
    assert relu.smoothness == 0
    assert relu.taylor[1] == (0, 1)
    assert relu.homogeneity == 1
    with pytest.raises(ActivationError, match="does not exist"):
        relu.s(1)


def test_elu_is_c1_with_one_sided_second_derivative():
    elu = activation("elu")
    assert elu.smoothness == 1
    assert elu.taylor[2] == (1, 0)
    assert elu.m == 2
    assert elu.homogeneity is None


def test_leaky_relu_and_polynomial_builders():
    leaky = leaky_relu(0.1)
    assert leaky.taylor[1] == (sp.Rational(1, 10), 1)
    assert leaky.homogeneity == 1
    p = polynomial(0, 1, 0, 3)
    assert p.expr == x + 3 * x**3 and p.m == 3 and p.is_odd


def test_user_expression_in_any_variable():
    act = activation("y + y^2/2")
    assert act.expr == x + x**2 / 2
    assert activation(sp.Symbol("z") ** 3 + sp.Symbol("z")).m == 3


def test_homogeneity_degree_other_than_one():
    act = activation("Max(0, x)**2")
    assert act.homogeneity == 2
    assert activation("tanh").homogeneity is None


@pytest.mark.parametrize(
    "spec, match",
    [
        ("x + y", "exactly one variable"),
        ("3", "exactly one variable"),
        ("1/x", "undefined or discontinuous at 0"),
        ("log(x)", "undefined or discontinuous at 0"),
        ("sign(x)", "undefined or discontinuous at 0"),
        ("tanh(x", "not a sympy expression"),
    ],
)
def test_bad_activations_are_rejected_with_the_reason(spec, match):
    with pytest.raises(ActivationError, match=match):
        activation(spec)


def test_every_library_activation_is_zero_at_zero():
    for name in LIBRARY:
        assert activation(name).s0 == 0, name


def test_printed_coefficients_are_simplified():
    """mish's slope at 0 is tanh(log 2) = 3/5: printed as 3/5, not as tanh(log(2))."""
    text = activation("x*tanh(log(1 + exp(x)))").describe()
    assert "s1=3/5" in text and "tanh(log(2))" not in text
