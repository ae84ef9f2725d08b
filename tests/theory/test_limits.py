"""derive_limit pins the closed forms of THEORY.md section 3 exactly."""

import pytest
import sympy as sp

from theory.limits import Limit, a, derive_limit, q, u
from theory.scaling import Scaling, WeightLaw, d

half = sp.Rational(1, 2)
beta = sp.Symbol("beta", positive=True)
R2 = {"domain": {beta: sp.Interval.open(0, 1)}}


def r5(sigma: str) -> Limit:
    return derive_limit("I", sigma, Scaling(0, inner=WeightLaw.brownian(), bias=True))


def test_r5_tanh_has_no_ito_drift():
    limit = r5("tanh")
    assert limit.kind == "sde"
    assert limit.ito_correction == 0
    assert limit.drift == a
    assert limit.noise == "matrix" and limit.noise_row == 1 and limit.noise_col == u


def test_r5_quadratic_activation_gets_the_ito_drift():
    limit = r5("x + x^2/2")
    assert limit.ito_correction == q / 2
    assert limit.q_definition.subs(sp.Symbol("|H|^2", positive=True), 7) == 7 / d
    assert limit.rate("strong").value == half
    assert limit.rate("weak").value == 1


def test_r1_neural_ode():
    limit = derive_limit("I", "tanh", Scaling(1, inner=WeightLaw.smooth_path(0), bias=True))
    assert limit.kind == "neural-ode"
    assert limit.drift == sp.tanh(a)
    assert limit.rate("sup").value == 1


def test_r2_rates_depend_on_the_first_nonlinear_order():
    tanh = derive_limit("I", "tanh", Scaling(1 - beta, inner=WeightLaw.smooth_path(beta), **R2))
    soft = derive_limit(
        "I", "softplus_centered", Scaling(1 - beta, inner=WeightLaw.smooth_path(beta), **R2)
    )
    assert tanh.kind == soft.kind == "linear-ode"
    assert tanh.drift == a and soft.drift == a / 2
    assert tanh.rate("sup").value == sp.Min(1, 2 * beta)
    # on beta in (0, 1) min(1, beta) = beta; on a wider domain the Euler order 1 can limit
    assert soft.rate("sup").value == beta
    wide = {"domain": {beta: sp.Interval.open(0, 2)}}
    soft_wide = derive_limit(
        "I", "softplus_centered", Scaling(1 - beta, inner=WeightLaw.smooth_path(beta), **wide)
    )
    assert soft_wide.rate("sup").value == sp.Min(1, beta)
    assert soft_wide.rate("sup").kind == "sharp"


def test_r3_identity_exponents():
    scaling = Scaling(sp.Rational(3, 4), inner=WeightLaw.smooth_path(half))
    smooth = derive_limit("I", "tanh", scaling)
    assert smooth.kind == "identity" and smooth.exponent == sp.Rational(-1, 4)
    iid = derive_limit("O", "relu", Scaling(1, inner=WeightLaw.iid(), outer=WeightLaw.iid()))
    assert iid.kind == "identity" and iid.exponent == -half


def test_r6_relu_covariance():
    limit = derive_limit("O", "relu", Scaling(half, inner=WeightLaw.iid(), outer=WeightLaw.iid()))
    assert limit.kind == "sde" and limit.noise == "vector"
    # Sigma(h) = |h|^2/(2d) Id: g(q) = q/2 with q = |h|^2/d.
    assert limit.noise_row == q / 2
    assert limit.rate("law").kind == "at_least"


def test_r6_prime_block_s_is_matrix_noise_on_sigma():
    limit = derive_limit("S", "tanh", Scaling(half, outer=WeightLaw.iid()))
    assert limit.kind == "sde" and limit.noise_col == sp.tanh(u)
    assert limit.noise_variance == 1 / d and limit.drift == 0


def test_relu_block_i_alpha_zero_explodes_never_a_smooth_sde():
    for law in (WeightLaw.brownian(drift=False), WeightLaw.iid()):
        limit = derive_limit("I", "relu", Scaling(0, inner=law))
        assert limit.kind == "explosion", limit.summary()
    limit = derive_limit("I", "relu", Scaling(0, inner=WeightLaw.brownian(drift=False)))
    assert limit.exponent == half


def test_r7_relu_deterministic_drift():
    limit = derive_limit("I", "relu", Scaling(half, inner=WeightLaw.brownian(drift=False)))
    assert limit.kind == "drift-ode" and limit.noise is None
    assert sp.simplify(limit.drift - sp.sqrt(q) / sp.sqrt(2 * sp.pi)) == 0
    assert limit.rate("strong").value == half


def test_r5b_separates_odd_and_non_odd():
    quarter = sp.Rational(1, 4)
    scaling = Scaling(quarter, inner=WeightLaw.iid(beta=quarter))
    assert derive_limit("I", "tanh", scaling).kind == "sde"
    assert derive_limit("I", "tanh", scaling).ito_correction == 0
    boom = derive_limit("I", "x + x^2/2", scaling)
    assert boom.kind == "explosion" and boom.exponent == quarter


def test_r4_explosion_exponent():
    limit = derive_limit("I", "tanh", Scaling(sp.Rational(1, 4), inner=WeightLaw.smooth_path(half)))
    assert limit.kind == "explosion" and limit.exponent == sp.Rational(1, 4)


def test_not_smooth_enough_is_undetermined_with_a_reason():
    limit = r5("elu")
    assert limit.kind == "undetermined"
    assert any("C^1" in n for n in limit.notes)


def test_undecidable_sign_is_undetermined():
    limit = derive_limit("I", "tanh", Scaling(beta, inner=WeightLaw.smooth_path(half)))
    assert limit.kind == "undetermined"


@pytest.mark.parametrize(
    "block, scaling, match",
    [
        ("Q", Scaling(1, inner=WeightLaw.smooth_path(0)), "not a residual block"),
        ("S", Scaling(1, inner=WeightLaw.smooth_path(0)), "block S needs outer"),
        ("O", Scaling(1, inner=WeightLaw.iid(), outer=WeightLaw.iid(), bias=True), "bias"),
    ],
)
def test_malformed_input_is_rejected(block, scaling, match):
    with pytest.raises(ValueError, match=match):
        derive_limit(block, "tanh", scaling)


def test_negative_exponents_are_rejected():
    with pytest.raises(ValueError, match="alpha=-1"):
        Scaling(-1, inner=WeightLaw.smooth_path(0))
    with pytest.raises(ValueError, match="beta=-0.5"):
        WeightLaw.smooth_path(-0.5)
