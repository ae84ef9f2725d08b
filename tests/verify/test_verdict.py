"""Tests of verify.verdict: every branch of judge, judge_no_convergence and judge_growth."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from verify.rates import RateFit, fit_rate
from verify.verdict import (
    DEFAULT_MAX_WIDTH,
    DEFAULT_TOLERANCE,
    Verdict,
    judge,
    judge_growth,
    judge_no_convergence,
)

LADDER = np.array([16, 32, 64, 128, 256])


@pytest.fixture(scope="module")
def base_fit() -> RateFit:
    rng = np.random.default_rng(0)
    z = rng.standard_normal(256)
    errors = LADDER[:, None] ** -1.0 * np.exp(0.5 * z + 0.3 * rng.standard_normal((5, 256)))
    return fit_rate(LADDER, errors, n_boot=200, seed=0)


def with_interval(fit: RateFit, lo: float, hi: float, **changes: object) -> RateFit:
    """The base fit with the rate interval [lo, hi] and the rate at its midpoint."""
    rate = (lo + hi) / 2
    return dataclasses.replace(fit, rate=rate, slope=-rate, ci_low=lo, ci_high=hi, **changes)


def test_defaults() -> None:
    assert DEFAULT_TOLERANCE == 0.1
    assert DEFAULT_MAX_WIDTH == 0.5


# sharp --------------------------------------------------------------------------------------


@pytest.mark.parametrize("predicted", [1.0, 0.95, 1.05, 0.86, 1.14])
def test_sharp_consistent_inside_the_widened_interval(base_fit: RateFit, predicted: float) -> None:
    v = judge(with_interval(base_fit, 0.95, 1.05), predicted)
    assert v.status == "consistent" and v.passed
    assert v.advice.startswith("none")
    assert v.kind == "sharp" and v.predicted == predicted
    assert (v.ci_low, v.ci_high) == (0.95, 1.05)


@pytest.mark.parametrize("predicted", [0.84, 1.16, 1.5, 0.0, -1.0])
def test_sharp_inconsistent_outside_the_widened_interval(
    base_fit: RateFit, predicted: float
) -> None:
    v = judge(with_interval(base_fit, 0.95, 1.05), predicted)
    assert v.status == "inconsistent" and not v.passed
    assert "outside" in v.advice and "do not widen the tolerance" in v.advice


def test_sharp_tolerance_is_the_declared_margin(base_fit: RateFit) -> None:
    fit = with_interval(base_fit, 0.95, 1.05)
    assert judge(fit, 1.2, tolerance=0.2).status == "consistent"
    assert judge(fit, 1.2, tolerance=0.1).status == "inconsistent"
    assert judge(fit, 1.06, tolerance=0.0).status == "inconsistent"


def test_sharp_wide_interval_containing_p_is_inconclusive_with_sized_advice(
    base_fit: RateFit,
) -> None:
    v = judge(with_interval(base_fit, 0.2, 1.0), 0.5)
    assert v.status == "inconclusive" and not v.passed
    assert "interval too wide (w=0.8" in v.advice
    assert "raise samples M" in v.advice and "1/sqrt(M)" in v.advice
    # M_needed = ceil(256 * (0.8 / (0.9 * 0.5))^2) = 810
    assert "M=256 -> about 810" in v.advice
    assert "move the window deeper" in v.advice


def test_sharp_wide_interval_that_excludes_p_is_inconsistent(base_fit: RateFit) -> None:
    v = judge(with_interval(base_fit, 0.2, 1.0), 2.0)
    assert v.status == "inconsistent"


def test_max_width_is_respected(base_fit: RateFit) -> None:
    fit = with_interval(base_fit, 0.8, 1.2)  # w = 0.4
    assert judge(fit, 1.0, max_width=0.5).status == "consistent"
    assert judge(fit, 1.0, max_width=0.3).status == "inconclusive"


def test_unusable_fit_is_inconclusive(base_fit: RateFit) -> None:
    fit = with_interval(base_fit, 0.95, 1.05, usable=False, reason="only 2 depth(s)")
    for kind in ("sharp", "at_least", "at_most"):
        v = judge(fit, 1.0, kind=kind)
        assert v.status == "inconclusive" and not v.passed
        assert "unusable: only 2 depth(s)" in v.advice


def test_non_finite_interval_is_inconclusive_even_if_flagged_usable(base_fit: RateFit) -> None:
    v = judge(with_interval(base_fit, math.nan, math.nan), 1.0)
    assert v.status == "inconclusive"


# at_least / at_most --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "predicted", "status"),
    [
        (0.9, 1.1, 1.0, "consistent"),
        (0.9, 1.1, 0.5, "consistent"),  # faster than claimed is fine
        (0.9, 1.1, 1.2, "consistent"),  # within tolerance: 1.1 + 0.1 >= 1.2
        (0.9, 1.1, 1.25, "inconsistent"),
        (0.2, 0.3, 1.0, "inconsistent"),
        (0.2, 1.0, 0.5, "inconclusive"),  # wide: never a pass
        (0.2, 1.0, 1.05, "inconclusive"),
        (0.2, 1.0, 1.15, "inconsistent"),  # wide, yet clearly below the claim
    ],
)
def test_at_least(base_fit: RateFit, lo: float, hi: float, predicted: float, status: str) -> None:
    v = judge(with_interval(base_fit, lo, hi), predicted, kind="at_least")
    assert v.status == status
    assert v.passed is (status == "consistent")
    if status == "inconsistent":
        assert "below the claimed minimum" in v.advice


@pytest.mark.parametrize(
    ("lo", "hi", "status"),
    [
        (-0.05, 0.05, "consistent"),
        (-0.5, -0.3, "consistent"),  # error grows: certainly no convergence
        (0.05, 0.15, "consistent"),  # within tolerance of no decay
        (0.9, 1.1, "inconsistent"),
        (-0.3, 0.4, "inconclusive"),
    ],
)
def test_no_convergence_is_at_most_zero(
    base_fit: RateFit, lo: float, hi: float, status: str
) -> None:
    v = judge_no_convergence(with_interval(base_fit, lo, hi))
    assert (v.status, v.kind, v.predicted) == (status, "at_most", 0.0)
    if status == "inconsistent":
        assert "above the claimed maximum" in v.advice


def test_no_convergence_on_a_plateau_fit() -> None:
    rng = np.random.default_rng(1)
    z = rng.lognormal(0.0, 0.5, size=128)
    plateau = 0.3 * z[None, :] * (1 + 0.01 * rng.standard_normal((LADDER.size, 128)))
    assert judge_no_convergence(fit_rate(LADDER, plateau, seed=1)).status == "consistent"
    decaying = plateau * LADDER[:, None] ** -0.5
    assert judge_no_convergence(fit_rate(LADDER, decaying, seed=1)).status == "inconsistent"


# growth ------------------------------------------------------------------------------------


def test_growth_overflow_is_consistent_with_or_without_a_fit(base_fit: RateFit) -> None:
    assert judge_growth(None, overflow=True).status == "consistent"
    flat = with_interval(base_fit, -0.05, 0.05)
    v = judge_growth(flat, overflow=True)
    assert v.passed and v.overflow and "overflow" in v.advice


def test_growth_without_fit_or_overflow_is_inconclusive() -> None:
    v = judge_growth(None)
    assert v.status == "inconclusive" and "overflow=True" in v.advice
    assert math.isnan(v.estimate) and v.n_samples == 0


@pytest.mark.parametrize(
    ("slope_lo", "slope_hi", "status"),
    [
        (0.4, 0.6, "consistent"),
        (0.01, 0.05, "consistent"),  # significantly positive
        (-0.05, 0.05, "inconsistent"),  # growth of 0.1 or more ruled out
        (-0.5, -0.3, "inconsistent"),
        (-0.2, 0.4, "inconclusive"),
    ],
)
def test_growth_from_the_slope_interval(
    base_fit: RateFit, slope_lo: float, slope_hi: float, status: str
) -> None:
    fit = with_interval(base_fit, -slope_hi, -slope_lo)
    v = judge_growth(fit)
    assert v.status == status and v.kind == "growth"
    assert (v.ci_low, v.ci_high) == pytest.approx((slope_lo, slope_hi))
    assert v.estimate == pytest.approx(fit.slope)


def test_growth_min_slope(base_fit: RateFit) -> None:
    fit = with_interval(base_fit, -0.6, -0.4)  # slope in [0.4, 0.6]
    assert judge_growth(fit, min_slope=0.3).status == "consistent"
    assert judge_growth(fit, min_slope=0.5).status == "inconclusive"
    assert judge_growth(fit, min_slope=0.7).status == "inconsistent"


def test_growth_unusable_fit_is_inconclusive(base_fit: RateFit) -> None:
    fit = with_interval(base_fit, -0.6, -0.4, usable=False, reason="too few depths")
    v = judge_growth(fit)
    assert v.status == "inconclusive" and "too few depths" in v.advice


def test_growth_on_data() -> None:
    rng = np.random.default_rng(2)
    z = rng.standard_normal(256)
    h = LADDER[:, None] ** 0.5 * np.exp(0.5 * z + 0.3 * rng.standard_normal((5, 256)))
    assert judge_growth(fit_rate(LADDER, h, seed=0)).passed


# the Verdict object -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "passed"),
    [("consistent", True), ("inconsistent", False), ("inconclusive", False)],
)
def test_only_consistent_passes(base_fit: RateFit, status: str, passed: bool) -> None:
    v = dataclasses.replace(judge(base_fit, 1.0), status=status)
    assert v.passed is passed


def test_unknown_status_is_rejected(base_fit: RateFit) -> None:
    with pytest.raises(ValueError, match="status='pass'"):
        dataclasses.replace(judge(base_fit, 1.0), status="pass")


def test_message_carries_advice_and_table(base_fit: RateFit) -> None:
    v = judge(with_interval(base_fit, 0.2, 1.0), 0.5)
    text = str(v)
    assert text.startswith("INCONCLUSIVE: sharp claim 0.5")
    assert "advice: interval too wide" in text
    assert base_fit.table().splitlines()[1] in text  # the table header
    assert v.width == pytest.approx(0.8)


@pytest.mark.parametrize(
    "make",
    [
        lambda f: judge(f, 1.0),
        lambda f: judge(with_interval(f, 0.2, 1.0), 0.5, kind="at_least"),
        lambda f: judge_no_convergence(f),
        lambda f: judge_growth(None, overflow=True),
        lambda f: judge_growth(f),
    ],
)
def test_to_dict_from_dict_round_trip(base_fit: RateFit, make) -> None:
    v = make(base_fit)
    data = json.loads(json.dumps(v.to_dict(), allow_nan=False))
    assert data["passed"] is v.passed
    back = Verdict.from_dict(data)
    assert back.to_dict() == v.to_dict()
    if all(math.isfinite(x) for x in (v.estimate, v.ci_low, v.ci_high)):
        assert back == v


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "exact"}, "kind='exact'"),
        ({"tolerance": -0.1}, "tolerance=-0.1"),
        ({"tolerance": math.inf}, "tolerance=inf"),
        ({"max_width": 0.0}, "max_width=0.0"),
    ],
)
def test_bad_arguments_are_named(base_fit: RateFit, kwargs, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        judge(base_fit, 1.0, **kwargs)


def test_bad_predicted_and_min_slope(base_fit: RateFit) -> None:
    with pytest.raises(ValueError, match="predicted=nan"):
        judge(base_fit, math.nan)
    with pytest.raises(ValueError, match="min_slope=inf"):
        judge_growth(base_fit, min_slope=math.inf)
    with pytest.raises(ValueError, match="tolerance=-1"):
        judge_growth(base_fit, tolerance=-1)
