"""The power count reads a term's mean only where it has computed it (THEORY.md R5b).

A Taylor term or remainder whose mean is provably zero (odd in the symmetric noise) adds a
fluctuation sqrt(L) * size; one whose mean is unknown never becomes an explosion, a limit or a
sharp rate. Exact sympy values throughout.
"""

import pytest
import sympy as sp

from theory.derive import derive_limit as derive
from theory.limits import Limit, a, derive_limit, q, tidy, u
from theory.scaling import Rough, Scaling, Smooth, WeightLaw

half = sp.Rational(1, 2)
alpha = sp.Symbol("alpha", positive=True)
beta = sp.Symbol("beta", positive=True)
NOT_ODD_FLAT = "x + x**8/(1 + x**2)"
"""Not odd, not a polynomial, s2 = ... = s6 = 0: only the order-7 remainder (mean unknown)
carries its nonlinearity."""


def r5b(sigma: str, al: sp.Expr, **domain) -> Limit:
    return derive_limit("I", sigma, Scaling(al, inner=WeightLaw.iid(beta=half - al), **domain))


def test_reexports_are_the_same_function():
    assert derive is derive_limit


@pytest.mark.parametrize("sigma", ["tanh", "sin", "(2*tanh(x) - atan(x))/1"])
def test_odd_sigma_near_alpha_one_half_is_the_sde_without_ito_drift(sigma):
    limit = r5b(sigma, sp.Rational(9, 20))
    assert limit.kind == "sde", limit.summary()
    assert limit.ito_correction == 0 and limit.drift == 0
    assert limit.noise == "matrix" and limit.noise_row == 1 and limit.noise_col == u
    strong = limit.rate("strong")
    assert strong.value == sp.Rational(1, 10) == sp.Min(half, 1 - 2 * sp.Rational(9, 20))
    assert strong.kind == "sharp"
    assert limit.rate("weak").value == sp.Rational(1, 5)


@pytest.mark.parametrize("k", range(1, 10))
def test_r5b_strong_rate_is_min_half_one_minus_two_alpha_on_the_window(k):
    al = sp.Rational(k, 20)
    limit = r5b("tanh", al)
    assert limit.kind == "sde"
    assert limit.rate("strong").value == min(half, 1 - 2 * al)
    assert limit.rate("strong").kind == "sharp"


def test_r5b_generic_window_rate():
    limit = r5b("sin", alpha, domain={alpha: sp.Interval.open(0, half)})
    assert limit.kind == "sde" and limit.ito_correction == 0
    assert limit.rate("strong").value == sp.Min(half, 1 - 2 * alpha)


def test_odd_remainder_is_a_fluctuation_not_a_drift():
    # at alpha = 9/20 the order-7 remainder of tanh, read as a drift, would add up to
    # L^(1 - alpha - 7 beta) = L^(1/5): the old count called this an explosion
    limit = r5b("tanh", sp.Rational(9, 20))
    assert not any("mean not computed" in n for n in limit.notes)
    assert limit.kind != "explosion"


def test_unknown_mean_remainder_gives_undetermined_not_explosion():
    limit = r5b(NOT_ODD_FLAT, sp.Rational(9, 20))
    assert limit.kind == "undetermined", limit.summary()
    note = " ".join(limit.notes)
    assert "Taylor remainder of order 7" in note and "mean is not computed" in note
    assert "L^(1/5)" in note  # 1 - alpha - 7 beta at alpha = 9/20, beta = 1/20
    # where the remainder provably vanishes even as a drift, the limit stands
    small = r5b(NOT_ODD_FLAT, sp.Rational(1, 4))
    assert small.kind == "sde" and small.rate("strong").value == half


def test_non_smooth_sigma_with_unknown_one_sided_terms_is_undetermined():
    # elu is C^1 at 0: its order-2 remainder has an unknown mean of size L^(1/4) here
    limit = r5b("elu", sp.Rational(1, 4))
    assert limit.kind == "undetermined"
    assert any("C^1" in n for n in limit.notes)


def test_odd_sigma_with_a_smooth_part_is_not_symmetric():
    # tanh(L^-bs a + L^-br z): the remainder is no longer odd in z, its mean is unknown
    al = sp.Rational(9, 20)
    law = WeightLaw(smooth=Smooth(1 - al), rough=Rough(half - al))
    limit = derive_limit("I", "tanh", Scaling(al, inner=law))
    assert limit.kind == "undetermined"
    assert any("mean is not computed" in n for n in limit.notes)


def test_computed_drift_still_explodes_beside_an_unknown_remainder():
    # softplus - log 2 has s2 = 1/4: its z^2 mean adds up to L^(1 - alpha - 2 beta) = L^alpha,
    # larger than anything its remainder could add
    limit = r5b("softplus_centered", sp.Rational(9, 20))
    assert limit.kind == "explosion" and limit.exponent == sp.Rational(9, 20)
    assert limit.rate("growth").kind == "at_least"


def test_rate_an_unknown_term_could_limit_is_a_lower_bound():
    # linear ODE (R2 scaling) with no examined nonlinearity: the remainder bound L^(-6 beta)
    # may be the slowest term, so the rate is only "at least min(1, 6 beta)"
    limit = derive_limit("I", NOT_ODD_FLAT, Scaling(1 - beta, inner=WeightLaw.smooth_path(beta),
                                                    domain={beta: sp.Interval.open(0, 1)}))
    assert limit.kind == "linear-ode"
    rate = limit.rate("sup")
    assert rate.kind == "at_least" and rate.value == sp.Min(1, 6 * beta)
    assert any("lower bound" in n for n in limit.notes)
    # with a computed nonlinearity that is slower than the bound, the rate stays sharp
    tanh = derive_limit("I", "tanh", Scaling(1 - beta, inner=WeightLaw.smooth_path(beta),
                                             domain={beta: sp.Interval.open(0, 1)}))
    assert tanh.rate("sup").kind == "sharp" and tanh.rate("sup").value == sp.Min(1, 2 * beta)


def test_identity_rate_bounded_by_an_unknown_term_is_a_lower_bound():
    limit = derive_limit("I", NOT_ODD_FLAT, Scaling(sp.Rational(3, 4),
                                                    inner=WeightLaw.smooth_path(half)))
    assert limit.kind == "identity" and limit.exponent == sp.Rational(-1, 4)
    assert limit.rate("identity").kind == "sharp"  # the linear term -1/4 beats the bound


def test_printed_coefficients_are_simplified():
    mish = "x*tanh(log(1 + exp(x)))"
    limit = derive_limit("I", mish, Scaling(0, inner=WeightLaw.brownian(), bias=True))
    assert limit.noise_row == sp.Rational(3, 5)  # tanh(log 2) = (2 - 1/2)/(2 + 1/2)
    assert "tanh(log(2))" not in limit.summary()
    assert sp.simplify(limit.drift - (3 * a / 5 + 8 * q / 25)) == 0
    assert tidy(sp.tanh(sp.log(2))) == sp.Rational(3, 5)
    assert tidy(sp.tanh(a)) == sp.tanh(a)  # functions of the variables are kept


def test_fluctuation_driven_explosion_states_the_width_condition():
    limit = derive_limit("O", "relu", Scaling(sp.Rational(1, 4), inner=WeightLaw.iid(),
                                              outer=WeightLaw.iid()))
    assert limit.kind == "explosion" and limit.exponent == sp.Rational(1, 4)
    assert any("d >= 3" in n for n in limit.notes)
