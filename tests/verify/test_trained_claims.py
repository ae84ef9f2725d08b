"""Trained-weight claims (THEORY.md section 5) through the one orchestrator: the regime files
T1, T3, T4, T4b validate, a trained ladder is measured with the training seeds as samples,
true claims pass, their twins and wrong claims of the same shape are rejected, and a ladder
that has not fitted the data is inconclusive, never a pass."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import find, settings
from hypothesis.errors import NoSuchExample

from theory.claims import Bound, Claim, Quantity, Rate
from theory.regime import Regime, RegimeError
from theory.regimes import get
from theory.scaling import Scaling, WeightLaw
from theory.training import TRAINED_QUANTITIES, Training
from verify.check import check
from verify.measure import MEASUREMENTS, trained_table, training_seeds
from verify.profiles import TrainingBudget, get_profile
from verify.strategies import seeds

# small enough for the default run (a few seconds per ladder), large enough to fit the data
SMALL = TrainingBudget(depths=(8, 16, 32, 64), n_seeds=6, steps=400)
BUDGET = dataclasses.replace(get_profile("ci").budget, training=SMALL, window=4)


def _regime(**changes) -> Regime:
    base = dict(name="TX", claim="test", source="test", status="derived", block="I",
                activations=("tanh",), scaling=None, claimed_kind="trained",
                training=Training(), claims=(Claim(quantity="weight-max",
                                                   predicts=Rate(exponent=0)),))
    return Regime(**{**base, **changes})


def test_every_trained_quantity_is_measured_on_a_trained_ladder_and_no_other_is():
    trained = {q.value for q in Quantity if q.trained}
    assert trained == set(TRAINED_QUANTITIES) and "strong" not in trained
    measured_by = {q: MEASUREMENTS[q.value].__name__ for q in Quantity}
    assert {q.value for q, fn in measured_by.items() if fn == "_trained"} == trained


@pytest.mark.parametrize("changes, words", [
    (dict(claimed_kind="neural-ode"), "claimed_kind='trained'"),
    (dict(scaling=Scaling(1, inner=WeightLaw.iid(), outer=WeightLaw.iid())), "scaling=None"),
    (dict(block="O"), "block I"),
    (dict(training=None, claimed_kind="neural-ode"), "must be Scaling"),
    (dict(claims=(Claim(quantity="strong"),)), "claims only trained quantities"),
])
def test_a_malformed_trained_regime_is_refused_with_the_fix(changes, words):
    with pytest.raises(RegimeError, match=words.replace("(", r"\(").replace(")", r"\)")):
        _regime(**changes)


def test_a_trained_claim_in_a_limit_regime_is_refused():
    r1 = get("R1")
    with pytest.raises(RegimeError, match="measures trained weights"):
        dataclasses.replace(r1, claims=(Claim(quantity="roughness"),))


@pytest.mark.parametrize("field, value", [("delta", "half"), ("optimizer", "lbfgs"),
                                          ("lr", 0.0), ("lr", float("nan")), ("width", 0),
                                          ("task", "mnist")])
def test_a_bad_training_protocol_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"Training.{field}"):
        Training(**{field: value})


def test_instances_are_the_task_width_and_derive_no_limit():
    t1 = get("T1")
    assert t1.widths == (10, 10)
    inst = t1.at(sigma="tanh", width=10)
    assert inst.to_dict()["training"]["delta"] == "shared"
    with pytest.raises(RegimeError, match="width=5"):
        t1.at(sigma="tanh", width=5)
    with pytest.raises(RegimeError, match="no limit"):
        inst.limit  # noqa: B018
    with pytest.raises(RegimeError, match="states its exponent"):
        inst.predicted(Claim(quantity="roughness"))


def test_a_trained_regime_draws_its_data_seed_from_the_budgets_small_set():
    budget = dataclasses.replace(BUDGET, training=dataclasses.replace(SMALL,
                                                                      data_seeds=(3, 7)))
    drawn = set()
    with pytest.raises(NoSuchExample):  # the condition never holds: every draw is seen
        find(seeds(get("T1"), budget), lambda s: drawn.add(s) or False,
             settings=settings(max_examples=50, database=None))
    assert drawn == {3, 7}


def test_training_seeds_are_distinct_and_depend_on_the_check_seed():
    a, b = training_seeds(1, 8), training_seeds(2, 8)
    assert len(set(a)) == 8 and not set(a) & set(b)
    assert training_seeds(1, 8) == a


def test_the_trained_table_has_the_seeds_as_samples():
    table = trained_table(Training(), "tanh", SMALL, 0)
    assert table.at == SMALL.depths and table.n_samples == SMALL.n_seeds
    for q in TRAINED_QUANTITIES:
        assert np.asarray(table.columns[q]).shape == (len(SMALL.depths), SMALL.n_seeds)
        assert np.isfinite(table.columns[q]).all()
    assert "not_judged" not in table.meta
    assert max(table.meta["train_loss"]) <= SMALL.fit_fraction * min(table.meta["first_loss"])
    summary = table.summary("roughness")  # what the ledger keeps: the fit criterion's numbers
    assert summary["steps"] == SMALL.steps and len(summary["train_loss"]) == len(SMALL.depths)


def _statuses(records):
    return {r.role: r.verdict["status"] for r in records}


@pytest.mark.parametrize("name", ["T1", "T3", "T4"])
def test_each_tanh_claim_passes_and_its_twins_are_rejected(name):
    regime = get(name)
    claim = regime.claims[0]
    records = check(regime.at(sigma="tanh", width=10), claim, BUDGET, seed=0, retest="never")
    statuses = _statuses(records)
    assert statuses.pop("claim") == "consistent", records[0].explain()
    assert statuses and set(statuses.values()) == {"inconsistent"}, statuses
    expected = {"T1": {"control:rate-x2"}, "T3": {"control:rate-x2", "control:trained-delta"},
                "T4": {"control:rate-x2", "control:flat"}}[name]
    assert set(statuses) == expected


@pytest.mark.parametrize("name, wrong", [
    ("T1", Rate(exponent=0.5)),                   # alpha + beta = 1/2: a wrong product exponent
    ("T3", Rate(exponent=0.3)),                   # beta of the trained-delta ladder, not frozen
    ("T4", Rate(exponent=0)),                     # rough weights where tanh trains smooth ones
])
def test_a_wrong_claim_of_the_same_shape_is_rejected(name, wrong):
    regime = get(name)
    claim = dataclasses.replace(regime.claims[0], predicts=wrong, controls=())
    records = check(regime.at(sigma="tanh", width=10), claim, BUDGET, seed=0, retest="never",
                    controls=False)
    assert [r.verdict["status"] for r in records] == ["inconsistent"]


def test_a_ladder_that_has_not_fitted_is_inconclusive_never_a_pass():
    unfit = dataclasses.replace(BUDGET, training=dataclasses.replace(SMALL, steps=3,
                                                                     loss_window=1))
    t1 = get("T1")
    records = check(t1.at(sigma="tanh", width=10), t1.claims[0], unfit, seed=0,
                    retest="never")
    assert [r.verdict["status"] for r in records] == ["inconclusive"]
    assert "has not fitted the data after 3 steps" in records[0].verdict["advice"]


def test_the_rough_claim_bound_of_t4b_is_the_smooth_twin_of_t4():
    t4, t4b = get("T4").claims[0], get("T4b").claims[0]
    assert t4.predicts == Rate(exponent=1, bound=Bound.AT_LEAST)
    assert "smooth" in t4b.controls and "flat" in t4.controls
    assert t4b.predicts == Rate(exponent="1/4", bound=Bound.AT_MOST)


def test_the_ledger_keeps_the_training_curve_and_the_statistics_per_checkpoint():
    table = trained_table(Training(), "tanh", SMALL, 0)
    summary = table.summary("weight-max")
    curve, history = summary["curve"], summary["history"]
    assert curve["step"][-1] == SMALL.steps and curve["step"] == sorted(set(curve["step"]))
    assert all(len(row) == len(SMALL.depths) for row in curve["loss"])
    assert curve["loss"][-1][0] < curve["loss"][0][0]  # it trains
    assert history["step"][-1] == SMALL.steps and len(history["step"]) >= 5
    final = np.asarray(table.columns["weight-max"]).mean(axis=-1)
    np.testing.assert_allclose(history["mean"][-1], final, rtol=1e-12)
    assert history["mean"][0] != history["mean"][-1]  # the statistics move in training time


def test_exponent_against_training_step_is_the_least_squares_exponent():
    from verify.render.training import exponent_path

    at = [8, 16, 32, 64]
    means = [[L ** -0.25 for L in at], [3 * L ** -0.5 for L in at], [1.0] * 4]
    np.testing.assert_allclose(exponent_path(at, means, at), [0.25, 0.5, 0.0], atol=1e-12)
    bent = [[1.0, 1.0, 0.5, 0.25]]  # flat then L^-1: the window decides
    np.testing.assert_allclose(exponent_path(at, bent, [32, 64]), [1.0], atol=1e-12)
    assert exponent_path(at, bent, at)[0] < 0.8


def test_a_trained_claim_gets_its_training_figures_in_the_report():
    from verify.render.figures import figures_for
    from verify.render.model import Example

    t1 = get("T1")
    records = check(t1.at(sigma="tanh", width=10), t1.claims[0], BUDGET, seed=0,
                    retest="never")
    examples = [Example(i + 1, r.to_json()) for i, r in enumerate(records)]
    names = [f.name for f in figures_for("T1", examples)]
    assert "t1-increment-max-training-curves.png" in names
    assert "t1-increment-max-exponent-vs-step.png" in names
    control_only = [e for e in examples if e.record["role"] != "claim"]
    assert not any("training" in f.name for f in figures_for("T1", control_only))


def test_outer_data_level_trains_every_data_set_and_groups_the_samples():
    nested = dataclasses.replace(SMALL, n_seeds=3, data_seeds=(0, 1), outer_data=True)
    table = trained_table(Training(), "tanh", nested, 0)
    assert table.n_samples == 6 and list(table.groups) == [0, 0, 0, 1, 1, 1]
    assert np.asarray(table.columns["weight-max"]).shape == (len(SMALL.depths), 6)
    assert "data seeds [0, 1]" in table.meta["task"]
    # the history pools the data sets as the judged table does (not the first set alone)
    hist = table.meta["history"]
    assert hist["of"] == "mean over data seeds [0, 1]"
    end = np.asarray(hist["columns"]["weight-max"][-1])
    np.testing.assert_allclose(end, np.nanmean(table.columns["weight-max"], axis=1), rtol=1e-12)
    first = trained_table(Training(), "tanh", dataclasses.replace(nested, outer_data=False), 0)
    assert not np.allclose(end, first.meta["history"]["columns"]["weight-max"][-1])
    assert table.summary("weight-max")["groups"] == 2
    budget = dataclasses.replace(BUDGET, training=nested)
    t1 = get("T1")
    records = check(t1.at(sigma="tanh", width=10), t1.claims[0], budget, seed=0,
                    retest="never")
    assert records[0].table["groups"] == 2 and records[0].verdict["status"] in (
        "consistent", "inconclusive")
    with pytest.raises(ValueError, match="outer_data needs >= 2 data_seeds"):
        dataclasses.replace(SMALL, outer_data=True)
