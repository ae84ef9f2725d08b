"""judge_law: paired signed-rank tests for convergence-in-law claims, with their error rates."""

import numpy as np
import pytest

from verify.verdict import judge_law


def _rates(shift: float, n_trials: int = 300, n: int = 512, seed: int = 0) -> float:
    """Fraction judged inconsistent on symmetric heavy-tailed (Cauchy) paired differences."""
    rng = np.random.default_rng(seed)
    bad = 0
    for _ in range(n_trials):
        first = rng.standard_cauchy(n) + shift
        second = rng.standard_normal(n) * 3 + shift
        verdict = judge_law({"f": first, "g": second}, level=0.01)
        bad += verdict.status == "inconsistent"
    return bad / n_trials


def test_true_claim_false_alarm_rate_stays_below_level_even_with_heavy_tails():
    assert _rates(0.0) <= 0.02


def test_shifted_law_is_rejected():
    assert _rates(0.5) >= 0.95


def test_single_statistic_and_bonferroni_report():
    rng = np.random.default_rng(3)
    verdict = judge_law(rng.standard_normal(400) + 1.0)
    assert verdict.status == "inconsistent" and verdict.kind == "law"
    assert verdict.ci_low < verdict.estimate < verdict.ci_high
    assert "signed-rank" in verdict.summary


def test_too_few_samples_is_inconclusive_and_bad_level_is_rejected():
    assert judge_law(np.ones(5)).status == "inconclusive"
    with pytest.raises(ValueError, match="level=0.7"):
        judge_law(np.zeros(50), level=0.7)


def test_overflowed_convergence_claim_is_inconsistent():
    from verify.verdict import judge_diverged

    verdict = judge_diverged(0.5, n_samples=64)
    assert verdict.status == "inconsistent" and verdict.overflow and not verdict.passed
    assert verdict.predicted == 0.5 and "overflow" in verdict.advice
