"""Tests of verify.profiles: resolution order, budgets, Hypothesis registration."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

from verify.profiles import (
    DEFAULT_PROFILE,
    PROFILE_ENV,
    PROFILES,
    Budget,
    ci_detected,
    get_profile,
    hypothesis_settings,
    register_hypothesis_profiles,
    resolve_profile,
)
from verify.rates import fit_rate


@pytest.mark.parametrize(
    ("cli", "environ", "expected"),
    [
        (None, {}, "dev"),
        ("", {}, "dev"),
        (None, {"CI": "true"}, "ci"),
        (None, {"CI": "1"}, "ci"),
        (None, {"CI": "yes"}, "ci"),
        (None, {"CI": "false"}, "dev"),
        (None, {"CI": "FALSE"}, "dev"),
        (None, {"CI": "0"}, "dev"),
        (None, {"CI": ""}, "dev"),
        (None, {PROFILE_ENV: "thorough"}, "thorough"),
        (None, {PROFILE_ENV: "thorough", "CI": "true"}, "thorough"),  # env beats CI
        (None, {PROFILE_ENV: "  ", "CI": "true"}, "ci"),  # blank env var is unset
        ("dev", {PROFILE_ENV: "thorough", "CI": "true"}, "dev"),  # CLI beats everything
        ("thorough", {"CI": "true"}, "thorough"),
        ("CI", {}, "ci"),  # case-insensitive
        (" thorough ", {}, "thorough"),
    ],
)
def test_resolution_order(cli: str | None, environ: dict[str, str], expected: str) -> None:
    assert resolve_profile(cli, environ) == expected


@pytest.mark.parametrize(
    ("cli", "environ"), [("fast", {}), (None, {PROFILE_ENV: "nightly"}), ("x", {"CI": "1"})]
)
def test_unknown_profile_lists_the_known_ones(cli: str | None, environ: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"is unknown; known profiles: ci, dev, thorough"):
        resolve_profile(cli, environ)


def test_resolution_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    assert ci_detected() and resolve_profile(None) == "ci"
    monkeypatch.setenv(PROFILE_ENV, "thorough")
    assert resolve_profile(None) == "thorough"
    monkeypatch.delenv("CI")
    monkeypatch.delenv(PROFILE_ENV)
    assert not ci_detected() and resolve_profile(None) == DEFAULT_PROFILE == "dev"


def test_profiles_are_named_consistently() -> None:
    assert set(PROFILES) == {"dev", "ci", "thorough"}
    for name, profile in PROFILES.items():
        assert profile.name == name and get_profile(name.upper()) is profile
        assert profile.description


def test_ci_budget_is_cheap_and_thorough_is_bigger() -> None:
    ci, thorough, dev = (PROFILES[n].budget for n in ("ci", "thorough", "dev"))
    assert ci.depths == (16, 32, 64, 128, 256) and ci.n_samples == 256
    cost = {
        n: sum(p.budget.depths) * p.budget.n_samples * p.max_examples for n, p in PROFILES.items()
    }
    assert cost["dev"] < cost["ci"] < cost["thorough"]
    assert max(thorough.depths) > max(ci.depths)
    assert thorough.n_samples >= 4 * ci.n_samples and thorough.n_boot >= ci.n_boot
    assert thorough.tolerance <= ci.tolerance and thorough.max_width < ci.max_width
    assert thorough.window >= ci.window
    assert dev.dtype == "float32" and ci.dtype == thorough.dtype == "float64"
    assert PROFILES["thorough"].max_examples > PROFILES["ci"].max_examples


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_budget_drives_fit_rate_and_judge(name: str) -> None:
    budget = PROFILES[name].budget
    depths = np.array(budget.depths)
    rng = np.random.default_rng(0)
    m = min(budget.n_samples, 256)
    errors = depths[:, None] ** -1.0 * rng.lognormal(0.0, 0.3, size=(depths.size, m))
    fit = fit_rate(depths, errors, **{**budget.fit_kwargs(), "n_boot": 200})
    assert fit.window == budget.depths[-budget.window :]
    assert set(budget.judge_kwargs()) == {"tolerance", "max_width"}
    assert budget.to_dict()["depths"] == list(budget.depths)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"depths": (16, 32)}, "depths="),
        ({"depths": (16, 64, 32)}, "strictly increasing"),
        ({"depths": (16, 32.0, 64)}, "positive ints"),
        ({"n_samples": 1}, "n_samples=1"),
        ({"window": 6}, r"window=6 must lie in \[3, len\(depths\)=5\]"),
        ({"window": 2}, "window=2"),
        ({"n_boot": 50}, "n_boot=50"),
        ({"tolerance": -0.1}, "tolerance=-0.1"),
        ({"max_width": 0.0}, "max_width=0.0"),
        ({"dtype": "float16"}, "dtype='float16'"),
        ({"confidence": 1.5}, "confidence=1.5"),
    ],
)
def test_budget_validation(changes: dict, match: str) -> None:
    base = PROFILES["ci"].budget.to_dict()
    base["depths"] = tuple(base["depths"])
    with pytest.raises(ValueError, match=match):
        Budget(**{**base, **changes})


def test_hypothesis_settings_per_profile() -> None:
    ci = hypothesis_settings("ci")
    assert ci.derandomize and ci.database is None and ci.deadline is None
    assert ci.max_examples == PROFILES["ci"].max_examples
    assert HealthCheck.too_slow in ci.suppress_health_check
    assert ci.print_blob  # inherited from / agreeing with Hypothesis' own ci profile
    dev = hypothesis_settings("dev")
    assert not dev.derandomize and dev.database is not None and dev.deadline is None
    thorough = hypothesis_settings("thorough")
    assert thorough.max_examples == 100 and thorough.deadline is None


@pytest.fixture
def restore_hypothesis_profiles() -> Iterator[None]:
    saved = {}
    for name in PROFILES:
        try:
            saved[name] = settings.get_profile(name)
        except InvalidArgument:
            pass
    yield
    for name, value in saved.items():
        settings.register_profile(name, value)


@pytest.mark.usefixtures("restore_hypothesis_profiles")
def test_register_hypothesis_profiles() -> None:
    assert register_hypothesis_profiles() == ("dev", "ci", "thorough")
    for name in PROFILES:
        registered = settings.get_profile(name)
        assert registered.max_examples == PROFILES[name].max_examples
        assert registered.deadline is None
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None
