"""The large-time predictions as values: certificate, rates by degree, the LQR factor."""

import math

import pytest
import sympy as sp

from theory.homogeneity import homogeneity
from theory.large_time import (
    MONOTONE,
    Certificate,
    Trend,
    TurnpikeScreen,
    horizon_rates,
    lqr_factor,
    turnpike_decay,
)

x, w, a, b = sp.symbols("x w a b", real=True)


def test_certificate_is_lambda_norm_over_T():
    c = Certificate(0.01, 4.0)
    assert c.bound(2.0) == pytest.approx(0.02) and c.bound(8.0) == pytest.approx(0.005)
    with pytest.raises(ValueError, match="lam"):
        Certificate(0.0, 1.0)


def test_rates_follow_the_degree():
    one = horizon_rates(homogeneity(w * sp.tanh(x) + b, controls=(w, b)))
    assert [(r.quantity, int(r.exponent), r.bound) for r in one] == [
        ("train-error", 1, "at-most"), ("train-error", 2, "sharp"), ("penalty", 1, "sharp")]
    assert one[0].slope_allowed(-2.0, 0.1) and not one[0].slope_allowed(-0.5, 0.1)
    two = horizon_rates(homogeneity(w * sp.Max(0, a * x + b), controls=(w, a, b)))
    assert [(int(r.exponent), r.bound) for r in two] == [(0, "sharp")]
    assert horizon_rates(homogeneity(w * sp.tanh(a * x + b), controls=(w, a, b))) == ()
    assert MONOTONE == {"control-norm": Trend.NONDECREASING, "train-error": Trend.NONINCREASING}


def test_lqr_factor_tends_to_the_continuous_rate():
    s, lam, q = 0.7, 0.01, 0.5
    for h in (1e-2, 1e-3, 1e-4):
        rate = -math.log(lqr_factor(s, h=h, lam=lam, q=q)) / h
        assert rate == pytest.approx(s * math.sqrt(q / lam), rel=5 * h * s * math.sqrt(q / lam))
    assert lqr_factor(0.0, h=0.1, lam=lam, q=q) == 1.0   # uncontrolled: no decay
    assert lqr_factor(2.0, h=0.1, lam=lam, q=q) < lqr_factor(1.0, h=0.1, lam=lam, q=q)


def test_screen_is_stated_before_judging():
    pred = turnpike_decay([0.5, 1.0, 2.0], h=0.1, lam=0.01, q=1 / 3, horizon=6.0)
    assert pred.admitted and pred.sigma_min == 0.5 and pred.error_slope == -2 * pred.rate
    ill = turnpike_decay([0.05, 1.0], h=0.1, lam=0.01, q=1 / 3, horizon=6.0)
    assert not ill.admitted and "ill-conditioned" in ill.screen_reason
    short = turnpike_decay([0.5, 1.0], h=0.1, lam=0.01, q=1 / 3, horizon=1.0,
                           screen=TurnpikeScreen(min_time_constants=8))
    assert not short.admitted and "time constants" in short.screen_reason
