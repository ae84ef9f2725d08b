"""Tests of verify.rates: rate recovery, interval coverage and power, windows, floors, I/O."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.rates import DEFAULT_WINDOW, RateFit, fit_rate
from verify.verdict import judge

LADDER = np.array([16, 32, 64, 128, 256])
TRUE_RATE = 1.0
N_SEEDS = 200


def synthetic_errors(
    rng: np.random.Generator,
    depths: np.ndarray,
    rate: float,
    m: int,
    *,
    c: float = 2.0,
    common: float = 0.5,
    own: float = 0.3,
) -> np.ndarray:
    """``e_ij = c L_i^{-rate} exp(common z_j + own w_ij)``: path noise ``z_j`` shared by every
    depth (common random numbers) plus depth-specific noise ``w_ij``. ``E e_ij`` is exactly
    proportional to ``L_i^{-rate}``, so ``rate`` is the true population rate."""
    z = rng.standard_normal(m)
    w = rng.standard_normal((depths.size, m))
    return c * depths[:, None].astype(float) ** (-rate) * np.exp(common * z[None, :] + own * w)


@pytest.fixture(scope="module")
def seeded_fits() -> list[RateFit]:
    """200 independent synthetic experiments (seed s for data and bootstrap), M=256."""
    fits = []
    for s in range(N_SEEDS):
        errors = synthetic_errors(np.random.default_rng(s), LADDER, TRUE_RATE, 256)
        fits.append(fit_rate(LADDER, errors, seed=s))
    return fits


def test_true_rate_is_covered_at_about_the_nominal_level(seeded_fits: list[RateFit]) -> None:
    covered = np.mean([f.ci_low <= TRUE_RATE <= f.ci_high for f in seeded_fits])
    assert 0.88 <= covered <= 0.99, f"coverage {covered:.3f} of the nominal 95% interval"


def test_point_estimate_is_unbiased_and_stderr_matches_spread(
    seeded_fits: list[RateFit],
) -> None:
    rates = np.array([f.rate for f in seeded_fits])
    stderrs = np.array([f.stderr for f in seeded_fits])
    assert abs(rates.mean() - TRUE_RATE) < 3 * rates.std() / math.sqrt(N_SEEDS)
    # The bootstrap standard error estimates the seed-to-seed spread of the rate.
    assert 0.8 < stderrs.mean() / rates.std(ddof=1) < 1.25


def test_true_rate_is_judged_consistent(seeded_fits: list[RateFit]) -> None:
    passed = np.mean([judge(f, TRUE_RATE).passed for f in seeded_fits])
    assert passed >= 0.95


@pytest.mark.parametrize("wrong", [1.25, 1.5, 0.5])
def test_wrong_rate_is_rejected_as_inconsistent(seeded_fits: list[RateFit], wrong: float) -> None:
    rejected = np.mean([judge(f, wrong).status == "inconsistent" for f in seeded_fits])
    assert rejected >= 0.95, f"power {rejected:.3f} against the wrong rate {wrong}"


@pytest.mark.parametrize("rate", [0.25, 0.5, 1.0, 1.5, 2.0])
def test_noise_free_power_law_is_recovered_exactly(rate: float) -> None:
    # Only path-level noise, shared by all depths: every resample has exactly this slope.
    u = np.random.default_rng(3).lognormal(0.0, 1.0, size=64)
    errors = 5.0 * LADDER[:, None].astype(float) ** (-rate) * u[None, :]
    fit = fit_rate(LADDER, errors, n_boot=200)
    assert fit.rate == pytest.approx(rate, abs=1e-12)
    assert fit.slope == pytest.approx(-rate, abs=1e-12)
    assert fit.width < 1e-10
    assert all(o.order == pytest.approx(rate, abs=1e-12) for o in fit.orders)
    assert fit.usable and fit.n_boot_valid == 200


@settings(max_examples=30, derandomize=True, database=None, deadline=None)
@given(
    rate=st.floats(-2.0, 3.0, allow_nan=False),
    log_c=st.floats(-10.0, 10.0),
    m=st.integers(2, 40),
)
def test_common_noise_cancels_from_the_slope(rate: float, log_c: float, m: int) -> None:
    u = np.random.default_rng(m).lognormal(0.0, 2.0, size=m)
    errors = math.exp(log_c) * LADDER[:, None].astype(float) ** (-rate) * u[None, :]
    fit = fit_rate(LADDER, errors, n_boot=100)
    assert fit.rate == pytest.approx(rate, abs=1e-9)
    assert fit.ci_low == pytest.approx(rate, abs=1e-9)
    assert fit.ci_high == pytest.approx(rate, abs=1e-9)


def test_growth_gives_positive_slope_and_negative_rate() -> None:
    rng = np.random.default_rng(11)
    errors = synthetic_errors(rng, LADDER, -0.5, 256)  # |h_L| ~ L^{+0.5}
    fit = fit_rate(LADDER, errors, seed=11)
    assert fit.slope == pytest.approx(0.5, abs=0.05)
    assert fit.rate == -fit.slope
    lo, hi = fit.slope_ci
    assert (lo, hi) == (-fit.ci_high, -fit.ci_low)
    assert 0 < lo < 0.5 < hi


def test_common_random_numbers_tighten_the_interval() -> None:
    rng = np.random.default_rng(5)
    errors = synthetic_errors(rng, LADDER, 1.0, 256, common=1.0, own=0.2)
    shuffled = np.stack([rng.permutation(row) for row in errors])  # breaks the coupling
    paired = fit_rate(LADDER, errors, seed=1)
    independent = fit_rate(LADDER, shuffled, seed=1)
    assert independent.width > 3 * paired.width


def test_width_falls_like_one_over_sqrt_m() -> None:
    widths = {}
    for m in (256, 1024):
        widths[m] = np.median(
            [
                fit_rate(
                    LADDER,
                    synthetic_errors(np.random.default_rng(100 + s), LADDER, 1.0, m),
                    n_boot=500,
                    seed=s,
                ).width
                for s in range(20)
            ]
        )
    assert 0.4 < widths[1024] / widths[256] < 0.6  # sqrt(256/1024) = 0.5


def test_signed_per_sample_errors_use_the_absolute_mean() -> None:
    rng = np.random.default_rng(8)
    z = rng.standard_normal(512)
    scale = LADDER[:, None].astype(float) ** -1.0
    errors = scale * (1.0 + 0.8 * z[None, :] + 0.5 * rng.standard_normal((LADDER.size, 512)))
    assert (errors < 0).any()
    fit = fit_rate(LADDER, -errors, seed=2)  # sign flipped: same |mean|
    assert fit.usable and judge(fit, 1.0).passed
    assert fit.mean_errors == pytest.approx(np.abs(errors.mean(axis=1)))


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (None, (32, 64, 128, 256)),
        (3, (64, 128, 256)),
        (5, (16, 32, 64, 128, 256)),
        ((30, 130), (32, 64, 128)),
        ((16, 256), (16, 32, 64, 128, 256)),
    ],
)
def test_window_selection(window: int | tuple[float, float] | None, expected: tuple) -> None:
    errors = synthetic_errors(np.random.default_rng(0), LADDER, 1.0, 64)
    fit = fit_rate(LADDER, errors, window=window, n_boot=200)
    assert fit.window == expected
    assert DEFAULT_WINDOW == 4
    in_window = [o.in_window for o in fit.orders]
    assert sum(in_window) == len(expected) - 1


def test_round_off_floor_drops_depths_and_window_moves_shallower() -> None:
    errors = synthetic_errors(np.random.default_rng(1), LADDER, 1.0, 128)
    errors[-1] = 1e-17 * (1 + np.random.default_rng(2).random(128))  # round-off at L=256
    fit = fit_rate(LADDER, errors, floor=1e-12, seed=0)
    assert fit.dropped == (256,)
    assert fit.window == (16, 32, 64, 128)
    assert fit.usable and judge(fit, 1.0).passed
    assert fit.orders[-1].below_floor and not fit.orders[0].below_floor
    assert "<= floor" in fit.table()
    # Without the floor the round-off depth corrupts the fit.
    assert fit_rate(LADDER, errors, seed=0).rate > 5


def test_fewer_than_three_usable_depths_is_flagged_and_judged_inconclusive() -> None:
    errors = synthetic_errors(np.random.default_rng(1), LADDER, 1.0, 64)
    fit = fit_rate(LADDER, errors, floor=0.05, n_boot=200)  # means ~2.4/L: 16, 32 lie above
    assert fit.dropped == (64, 128, 256)
    assert fit.window == (16, 32)
    assert not fit.usable
    assert "need >= 3" in fit.reason and "floor" in fit.reason
    verdict = judge(fit, 1.0)
    assert verdict.status == "inconclusive" and not verdict.passed
    assert "unusable" in verdict.advice


def test_no_depth_above_floor_gives_nan_fit() -> None:
    errors = np.full((LADDER.size, 8), 1e-18)
    fit = fit_rate(LADDER, errors, floor=1e-15, n_boot=100)
    assert fit.window == () and not fit.usable
    assert math.isnan(fit.rate) and math.isnan(fit.ci_low)
    assert judge(fit, 1.0).status == "inconclusive"


def test_bootstrap_failures_make_the_fit_unusable() -> None:
    errors = synthetic_errors(np.random.default_rng(4), LADDER, 1.0, 64)
    errors[-1] = 0.0
    errors[-1, 0] = 1e-3  # one path carries the whole deepest mean: ~37% of resamples miss it
    fit = fit_rate(LADDER, errors, n_boot=500, seed=0)
    assert not fit.usable
    assert 100 < fit.n_boot - fit.n_boot_valid < 300
    assert "bootstrap" in fit.reason


def test_same_seed_same_fit_and_other_seed_other_interval() -> None:
    errors = synthetic_errors(np.random.default_rng(9), LADDER, 1.0, 128)
    a, b = fit_rate(LADDER, errors, seed=3), fit_rate(LADDER, errors, seed=3)
    c = fit_rate(LADDER, errors, seed=4)
    assert a == b
    assert a.rate == c.rate and a.ci_low != c.ci_low


def test_large_m_is_chunked_and_matches_the_analytic_spread() -> None:
    m = 8192  # several bootstrap chunks
    errors = synthetic_errors(np.random.default_rng(12), LADDER, 1.0, m)
    fit = fit_rate(LADDER, errors, seed=0)
    assert fit.n_boot_valid == 2000 and fit.usable
    assert fit.ci_low < 1.0 < fit.ci_high
    assert fit.width < 0.05


def test_running_order_table() -> None:
    errors = synthetic_errors(np.random.default_rng(1), LADDER, 1.0, 256)
    fit = fit_rate(LADDER, errors, seed=0)
    assert [(o.depth_lo, o.depth_hi) for o in fit.orders] == list(
        zip(LADDER[:-1].tolist(), LADDER[1:].tolist(), strict=True)
    )
    for o in fit.orders:
        expected = -math.log(o.error_hi / o.error_lo) / math.log(2.0)
        assert o.order == pytest.approx(expected)
        assert 0.7 < o.order < 1.3
    text = fit.table()
    lines = text.splitlines()
    assert lines[0] == fit.summary()
    assert len(lines) == 2 + LADDER.size
    for depth, line in zip(LADDER, lines[2:], strict=True):
        assert line.split()[0] == str(depth)
    assert lines[-1].endswith("fit") and "fit" not in lines[2]
    assert all(line == line.rstrip() for line in lines)


def test_to_dict_from_dict_round_trip_through_strict_json() -> None:
    errors = synthetic_errors(np.random.default_rng(1), LADDER, 1.0, 64)
    fit = fit_rate(LADDER, errors, window=(16, 128), floor=1e-30, n_boot=300, seed=7)
    text = json.dumps(fit.to_dict(), allow_nan=False)
    assert RateFit.from_dict(json.loads(text)) == fit


def test_round_trip_of_an_unusable_fit_with_nans() -> None:
    fit = fit_rate(LADDER, np.full((LADDER.size, 4), 1e-20), floor=1e-15, n_boot=100)
    data = json.loads(json.dumps(fit.to_dict(), allow_nan=False))
    assert data["rate"] is None
    back = RateFit.from_dict(data)
    assert back.to_dict() == fit.to_dict()
    assert math.isnan(back.ci_high)


@pytest.mark.parametrize(
    ("depths", "errors", "kwargs", "match"),
    [
        ([16], np.ones((1, 4)), {}, "at least 2 depths"),
        ([16, 16, 32], np.ones((3, 4)), {}, "strictly increasing"),
        ([16, 32, 0], np.ones((3, 4)), {}, "positive integers"),
        ([16, 32.5, 64], np.ones((3, 4)), {}, "positive integers"),
        ([16, 32, 64], np.ones((2, 4)), {}, r"errors.shape=\(2, 4\)"),
        ([16, 32, 64], np.ones(3), {}, "errors.shape"),
        ([16, 32, 64], np.ones((3, 1)), {}, "M >= 2"),
        ([16, 32, 64], np.array([[1, 1], [1, np.inf], [1, 1]]), {}, r"depths=\[32\]"),
        ([16, 32, 64], np.ones((3, 4)), {"n_boot": 10}, "n_boot=10"),
        ([16, 32, 64], np.ones((3, 4)), {"confidence": 1.0}, "confidence=1.0"),
        ([16, 32, 64], np.ones((3, 4)), {"floor": -1.0}, "floor=-1.0"),
        ([16, 32, 64], np.ones((3, 4)), {"window": 1}, "window=1"),
        ([16, 32, 64], np.ones((3, 4)), {"window": (64, 16)}, "lo <= hi"),
    ],
)
def test_bad_arguments_are_named(depths, errors, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        fit_rate(depths, errors, **kwargs)


@pytest.mark.parametrize("window", ["deep", (1, 2, 3), True])
def test_bad_window_type(window) -> None:
    with pytest.raises(TypeError, match="window="):
        fit_rate([16, 32, 64], np.ones((3, 4)), window=window)


def _nested(rng: np.random.Generator, n_groups: int = 8, per: int = 8):
    """Samples nested in groups: each group (a data set) has its own exponent 0.5 + N(0,
    0.15^2), each column (a training seed) small noise of its own."""
    depths = np.array([8, 16, 32, 64, 128])
    rate = 0.5 + np.repeat(rng.normal(0.0, 0.15, n_groups), per)
    errors = depths[:, None] ** -rate[None, :] * rng.lognormal(0.0, 0.1, (5, n_groups * per))
    return depths, errors, np.repeat(np.arange(n_groups), per)


def test_nested_samples_need_the_two_level_bootstrap() -> None:
    # the population exponent 0.5 over 200 nested data sets: the two-level interval covers it
    # at about the nominal level (measured 0.855 with 8 groups), the flat one treats the 64
    # columns as independent and covers it 1 time in 4 (the negative control)
    flat = grouped = 0
    for r in range(200):
        depths, errors, groups = _nested(np.random.default_rng([7, r]))
        f = fit_rate(depths, errors, window=5, n_boot=400, seed=r)
        g = fit_rate(depths, errors, window=5, n_boot=400, seed=r, groups=groups)
        flat += f.ci_low <= 0.5 <= f.ci_high
        grouped += g.ci_low <= 0.5 <= g.ci_high
        assert g.slope == f.slope  # the point estimate does not depend on the grouping
    assert grouped >= 160 and flat <= 100, (grouped, flat)


@pytest.mark.parametrize(("groups", "match"), [
    ([0] * 64, "groups must have >= 2 labels"),
    ([0] * 40 + [1] * 24, "of equal size"),
    ([0, 1] * 16, "one label per sample column"),
])
def test_bad_groups_are_named(groups, match) -> None:
    depths, errors, _ = _nested(np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        fit_rate(depths, errors, groups=groups)
