"""Large-time claims (THEORY.md section 6, EGPZ) through the one orchestrator: the regime files
LT1-LT4 validate, a horizon ladder is measured with teacher problems as samples, every claim
passes and every twin is rejected at the ci budget, a non-converged solve is inconclusive
(never a pass), and the turnpike screen decides which problems are solved before any judging.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from numerics.large_time.dynamics import DYNAMICS
from theory.claims import Bound, Claim, Exact, ExpDecay, Monotone, Rate
from theory.horizon import DYNAMICS_NAMES, LargeTime
from theory.regime import Domain, Regime, RegimeError
from theory.regimes import get
from theory.scaling import Scaling
from verify.check import check, judge_prediction
from verify.controls import controls_for
from verify.measure import Table, horizon_table
from verify.profiles import HorizonBudget, get_profile
from verify.verdict_horizon import judge_bound, judge_decay, judge_exact, judge_monotone

CI = get_profile("ci").budget
LT_CLAIMS = [("LT1", "identity-defect"), ("LT2", "train-error"), ("LT3", "control-norm"),
             ("LT3", "control-gap"), ("LT3", "train-error"), ("LT4", "turnpike-error")]
TWINS = {"LT1/identity-defect": {"wrong-weight", "inner-linear", "inner-tanh"},
         "LT2/train-error": {"beyond-sharp", "inner-linear", "inner-tanh"},
         "LT3/control-norm": {"reversed"}, "LT3/control-gap": {"reversed"},
         "LT3/train-error": {"reversed"},
         "LT4/turnpike-error": {"rate-x2", "no-running-cost"}}


def _instance(name: str):
    regime = get(name)
    return regime, regime.at(sigma="tanh", width=regime.horizon.width)


# ---------------------------------------------------------------- declarations
def test_the_theory_names_every_dynamics_numerics_simulates():
    assert set(DYNAMICS_NAMES) == set(DYNAMICS)


def test_regime_files_declare_horizon_claims_and_derive_no_limit():
    for name in ("LT1", "LT2", "LT3", "LT4"):
        regime, inst = _instance(name)
        assert regime.claimed_kind == "large-time" and regime.protocol is regime.horizon
        assert all(c.over == "horizon" and c.quantity.horizon for c in regime.claims)
        assert inst.to_dict()["horizon"]["dynamics"] == "outer-linear"
        with pytest.raises(RegimeError, match="no limit"):
            regime.limit("tanh")


@pytest.mark.parametrize("changes, words", [
    (dict(claims=(Claim(quantity="strong"),)), "not a large-time quantity"),
    (dict(claimed_kind="trained"), "claimed_kind='large-time'"),
    (dict(horizon=None, claimed_kind="neural-ode"), "must be Scaling"),
    (dict(horizon="T"), "horizon='T' must be LargeTime(...)"),
    (dict(limit_scaling=Scaling(alpha=1)), "gives scaling=None (its claims are over the horizon"),
    (dict(parameters={"beta": Domain(valid=(0, 1), typical=(0, 1))}), "has no parameters"),
])
def test_a_malformed_large_time_regime_is_refused_with_the_fix(changes, words):
    base = dict(name="LTX", claim="test", source="test", status="derived", block="I",
                activations=("tanh",), scaling=None, claimed_kind="large-time",
                horizon=LargeTime(), claims=(Claim(quantity="train-error", over="horizon",
                                                   predicts=Rate(exponent=1)),))
    with pytest.raises(RegimeError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Regime(**{**base, **changes})


def test_claims_and_protocol_name_the_field_value_and_fix():
    with pytest.raises(ValueError, match="give over='horizon'"):
        Claim(quantity="train-error", predicts=Rate(exponent=1))
    with pytest.raises(ValueError, match="give over='depth'"):
        Claim(quantity="strong", over="horizon")
    with pytest.raises(ValueError, match="judged over the horizon only"):
        Claim(quantity="strong", predicts=Exact())
    with pytest.raises(ValueError, match="LargeTime.dynamics='inner-sin'"):
        LargeTime(dynamics="inner-sin")
    with pytest.raises(ValueError, match="Rate.sharp"):
        Rate(exponent=1, sharp=2)
    with pytest.raises(ValueError, match="Monotone.trend"):
        Monotone(trend="up")
    with pytest.raises(ValueError, match="HorizonBudget.n_problems"):
        HorizonBudget(n_problems=1)


def test_each_claim_has_its_negative_controls():
    for name, quantity in LT_CLAIMS:
        regime, inst = _instance(name)
        claim = regime.get_claim(quantity)
        twins = controls_for(claim, inst, inst.predicted(claim))
        assert {t.name for t in twins} == TWINS[regime.claim_id(claim)]


def test_the_too_fast_twin_of_one_over_t_exceeds_the_sharp_rate():
    """The generic rate-x2 twin of 'rate >= 1' would be 'rate >= 2', TRUE for the squared loss
    (T^-2 is sharp): it would be a twin the suite must fail to reject. beyond-sharp claims
    'rate >= 3', really wrong; 'rate >= 2' is consistent on the same table."""
    regime, inst = _instance("LT2")
    claim = regime.get_claim("train-error")
    (beyond,) = [t for t in controls_for(claim, inst, inst.predicted(claim))
                 if t.name == "beyond-sharp"]
    assert float(beyond.prediction.exponent) == 3 and beyond.prediction.bound is Bound.AT_LEAST
    table = horizon_table(regime.horizon, "tanh", CI.horizon, 0, "sweep")
    _, two = judge_prediction(Rate(exponent=2.0, bound=Bound.AT_LEAST), table, "train-error",
                              CI, seed=0)
    assert two.status == "consistent"


# ---------------------------------------------------------------- the ci budget
@pytest.mark.parametrize("name, quantity", LT_CLAIMS, ids=[f"{n}/{q}" for n, q in LT_CLAIMS])
def test_claim_passes_and_every_twin_is_rejected_at_the_ci_budget(name, quantity):
    regime, inst = _instance(name)
    records = check(inst, regime.get_claim(quantity), CI, seed=0, profile="ci")
    roles = {r.role for r in records}
    assert roles == {"claim"} | {f"control:{t}" for t in TWINS[f"{name}/{quantity}"]}
    missed = [r for r in records if not r.met]
    assert not missed, "\n\n".join(r.explain() for r in missed)
    claim = next(r for r in records if r.role == "claim")
    assert claim.table["over"] == "horizon"
    if quantity != "identity-defect":  # a solve: its convergence is in the record
        assert all(claim.table["converged"]) and len(claim.table["grad_norm"]) == 8


def test_the_one_over_t_certificate_is_in_the_record_and_holds():
    regime, inst = _instance("LT2")
    (claim,) = [r for r in check(inst, regime.get_claim("train-error"), CI, seed=0,
                                 profile="ci") if r.role == "claim"]
    assert all(m <= b for m, b in zip(claim.table["mean"], claim.table["bound"], strict=True))
    assert claim.table["method"] == "continuation"


# ---------------------------------------------------------------- inconclusive, never a pass
def test_a_non_converged_solve_is_inconclusive_never_a_pass():
    regime, inst = _instance("LT2")
    budget = dataclasses.replace(CI, horizon=dataclasses.replace(CI.horizon, max_iter=2,
                                                                 n_problems=2))
    records = check(inst, regime.get_claim("train-error"), budget, seed=3, retest="never")
    (claim,) = records
    assert claim.role == "claim" and claim.verdict["status"] == "inconclusive"
    assert "did not converge" in claim.verdict["advice"] and not claim.met


# ---------------------------------------------------------------- the turnpike screen
def test_the_screen_runs_before_judging_and_is_stated(monkeypatch):
    """Only admitted problems are solved, the rule is in the record, and a screen that
    admits too few problems leaves the check inconclusive without a single solve."""
    from numerics.large_time import tables
    from numerics.large_time.turnpike import predict

    regime, inst = _instance("LT4")
    p = regime.horizon
    budget = dataclasses.replace(CI, horizon=dataclasses.replace(CI.horizon, n_problems=3))
    solved = []
    real = tables.solve_turnpike

    def spy(problem, **kwargs):
        solved.append(problem)
        return real(problem, **kwargs)

    monkeypatch.setattr(tables, "solve_turnpike", spy)
    horizon_table.cache_clear()
    (claim, *_) = check(inst, regime.get_claim("turnpike-error"), budget, seed=5,
                        controls=False, retest="never")
    assert claim.verdict["status"] == "consistent", claim.explain()
    assert "TurnpikeScreen(min_singular=0.25" in claim.table["screen"]
    longest = max(budget.horizon.turnpike_horizons)
    assert solved and all(predict(q, h=p.h, lam=p.lam, beta=p.beta, horizon=longest).admitted
                          for q in solved)
    assert claim.table["n_screened_out"] == len(claim.table["screened_out"]) or \
        claim.table["n_screened_out"] > 5
    solved.clear()
    strict = dataclasses.replace(budget, horizon=dataclasses.replace(
        budget.horizon, turnpike_horizons=(0.2, 0.4), n_problems=3, max_candidates=3))
    horizon_table.cache_clear()
    (refused,) = check(inst, regime.get_claim("turnpike-error"), strict, seed=5,
                       retest="never")
    assert refused.verdict["status"] == "inconclusive" and "screen admitted" in \
        refused.verdict["advice"]
    assert solved == []
    horizon_table.cache_clear()


# ---------------------------------------------------------------- the judges
def test_judge_exact_is_round_off_or_refuted():
    assert judge_exact(np.full((3, 4), 1e-15), tolerance=1e-12).status == "consistent"
    bad = judge_exact(np.array([[1e-15, 0.2]]), tolerance=1e-12, axis=(8.0,))
    assert bad.status == "inconsistent" and "0.2 at 8" in bad.advice
    assert judge_exact(np.array([[np.nan, 0.0]]), tolerance=1e-12).status == "inconclusive"


def test_judge_monotone_reads_every_sample():
    up = np.array([[1.0, 2.0], [1.5, 2.0], [2.0, 2.5]])
    assert judge_monotone(up, trend="nondecreasing", tolerance=1e-9).status == "consistent"
    assert judge_monotone(up, trend="nonincreasing", tolerance=1e-9).status == "inconsistent"
    dip = up.copy()
    dip[2, 1] = 1.9
    assert judge_monotone(dip, trend="nondecreasing", tolerance=1e-9).status == "inconsistent"
    within = up.copy()
    within[1, 1] = 2.0 - 1e-12
    assert judge_monotone(within, trend="nondecreasing", tolerance=1e-9).status == "consistent"


def test_a_violated_certificate_refutes_a_rate_whatever_the_fit():
    horizons = (1, 2, 4, 8)
    errors = np.array([[1.0, 2.0]]) * np.array(horizons, dtype=float)[:, None] ** -2.0
    bounds = 1.5 / np.array(horizons, dtype=float)[:, None] * np.ones((1, 2))
    assert judge_bound(errors, bounds) is not None  # sample 1 at T = 1: 2 > 1.5
    table = Table(tuple(map(float, horizons)), {"train-error": errors},
                  np.zeros(errors.shape, dtype=bool), 2, over="horizon",
                  bounds={"train-error": bounds})
    _, verdict = judge_prediction(Rate(exponent=1.0, bound=Bound.AT_LEAST), table,
                                  "train-error", CI, seed=0)
    assert verdict.status == "inconsistent" and "certified bound" in verdict.advice
    ok = dataclasses.replace(table, bounds={"train-error": 2 * bounds})
    _, verdict = judge_prediction(Rate(exponent=1.0, bound=Bound.AT_LEAST), ok,
                                  "train-error", CI, seed=0)
    assert verdict.status == "consistent"


def test_judge_decay_needs_the_rate_and_coinciding_profiles():
    pred = -np.array([4.0, 6.0, 8.0, 5.0])
    slopes = pred * np.array([1.01, 0.99, 1.0, 1.02])
    gaps = np.full(4, 1e-3)
    kw = dict(tolerance=0.05, coincide=0.1, max_width=0.5, n_boot=500)
    assert judge_decay(slopes, pred, gaps, scale=1.0, **kw).status == "consistent"
    assert judge_decay(slopes, pred, gaps, scale=2.0, **kw).status == "inconsistent"
    stretched = gaps.copy()
    stretched[2] = 0.7
    assert judge_decay(slopes, pred, stretched, scale=1.0, **kw).status == "inconsistent"
    no_window = slopes.copy()
    no_window[0] = np.nan
    assert judge_decay(no_window, pred, gaps, scale=1.0, **kw).status == "inconsistent"


def test_a_stated_decay_rate_replaces_the_lqr_one():
    regime, inst = _instance("LT4")
    table = horizon_table(regime.horizon, "tanh", CI.horizon, 0, "turnpike")
    lqr = -float(np.mean(table.columns["turnpike-error:predicted"])) / 2
    _, near = judge_prediction(ExpDecay(), table, "turnpike-error", CI, seed=0)
    _, far = judge_prediction(ExpDecay(rate=3 * lqr), table, "turnpike-error", CI, seed=0)
    assert near.status == "consistent" and far.status == "inconsistent"


def test_exp_decay_prediction_is_validated():
    with pytest.raises(ValueError, match="ExpDecay.coincide"):
        ExpDecay(coincide=0.0)


# ---------------------------------------------------------------- the report
def test_the_report_draws_the_horizon_ladder_and_the_turnpike_profiles():
    """E(T) against T with the certificate, log E(t) for every T: figures from the records."""
    from verify.render.figures import figures_for
    from verify.render.model import Example

    examples = []
    for name, quantity in (("LT2", "train-error"), ("LT4", "turnpike-error")):
        regime, inst = _instance(name)
        records = check(inst, regime.get_claim(quantity), CI, seed=0, controls=False,
                        retest="never")
        examples += [Example(len(examples) + 1, r.to_json()) for r in records]
    lt2, lt4 = (ex.record["table"] for ex in examples)
    assert lt2["bound"] and len(lt2["bound"]) == len(lt2["at"]) == len(CI.horizon.horizons)
    assert set(lt4["profiles"]) == {"3", "6"} and lt4["predicted_slope"]
    figures = figures_for("LT", examples)
    assert len(figures) == 2 and all(f.png.startswith(b"\x89PNG") for f in figures)
