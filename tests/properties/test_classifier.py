"""The classifier is itself a property: the kind derive_limit gives must match a simulation.

For Hypothesis-drawn instances (block I / O / S; library and random smooth or odd activations;
smooth, Brownian and i.i.d. weight laws; exponents inside the regimes and on their boundaries
alpha + beta = 1, alpha = 1/2) the derived kind is checked on one cheap coupled ladder (the
profile's depths and paths), with no limit solver -- the check does not trust the derived
coefficients, only the kind:

* ``explosion``: |h_L| grows with L *in probability*: the median over paths of
  log(|h_L| / |h_0|) rises by more than GROWTH between the shallowest and the deepest depth
  (bootstrap interval over paths; overflowed paths count as +inf); it is refuted where the
  median does not grow and the coupled ladder converges (self-convergence falls);
* ``identity``: |h_L - h_0| falls at the derived exponent (fitted rate, bootstrap interval
  widened by the profile's tolerance, as verify.verdict judges claims);
* a limit with strong coupling (ODE kinds, SDE with matrix noise): the self-convergence error
  |h_L - h_{2L}| on the coupled ladder falls (fitted rate > 0);
* an SDE in law only (vector noise): the median of log|h_L| settles (|change| < GROWTH) and
  |h_L - h_0| does not fall.

Each check answers agree, disagree or inconclusive. Inconclusive draws again (hypothesis
assume) and is counted: a health check fails the test when the decided examples are not the
majority. The negative control runs the same check on a deliberately wrong classifier
(identity <-> explosion, every limit -> explosion), on the instances where the derived kind
is confirmed, and must reject every flipped claim there. False-alarm rate and power over
seeds: run this file as a script (``python tests/properties/test_classifier.py 60``).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from numerics import GaussianInput
from numerics.from_theory import simulation_inputs
from numerics.ladder import run_ladder
from theory.limits import Limit, derive_limit
from theory.scaling import Scaling, WeightLaw
from verify.profiles import Budget
from verify.strategies import RandomPicker, random_activation_rules

GROWTH = 0.2
"""Median log-growth (between the shallowest and deepest depth) that counts as growing."""
FALLS = 0.0
"""A self-convergence rate whose whole interval lies above this counts as falling."""
WIDTHS = (3, 5)
"""Widths drawn: growth of |h_L| in probability needs d >= 3 for fluctuation-driven
explosions (THEORY.md R4, theory/regimes/r4_explosion.py); the classifier does not see d."""
LIBRARY = ("tanh", "sin", "softplus_centered", "gelu", "sigmoid_centered", "relu")
LIMIT_KINDS = ("neural-ode", "linear-ode", "ode", "drift-ode", "sde")
HALF = sp.Rational(1, 2)


def _r(v: str) -> sp.Expr:
    return sp.Rational(v)


# (label, block, scaling builder): exponents inside each regime and on its boundary
FAMILIES: tuple[tuple[str, str, object], ...] = (
    ("I smooth alpha+beta<1", "I", lambda: Scaling(_r("1/4"), inner=WeightLaw.smooth_path(
        _r("1/4")))),
    ("I smooth alpha=1 (neural ODE)", "I", lambda: Scaling(1, inner=WeightLaw.smooth_path(0))),
    ("I smooth alpha+beta=1", "I", lambda: Scaling(_r("3/4"), inner=WeightLaw.smooth_path(
        _r("1/4")), bias=True)),
    ("I smooth alpha+beta>1", "I", lambda: Scaling(_r("3/4"), inner=WeightLaw.smooth_path(
        _r("3/4")))),
    ("I brownian alpha=0", "I", lambda: Scaling(0, inner=WeightLaw.brownian())),
    ("I iid alpha+beta=1/2", "I", lambda: Scaling(_r("1/5"), inner=WeightLaw.iid(
        beta=_r("3/10")))),
    ("I iid alpha+beta=1/2 near 1/2", "I", lambda: Scaling(_r("2/5"), inner=WeightLaw.iid(
        beta=_r("1/10")))),
    ("I iid O(1) alpha>1/2", "I", lambda: Scaling(_r("3/4"), inner=WeightLaw.iid())),
    ("O iid alpha<1/2", "O", lambda: Scaling(_r("1/10"), inner=WeightLaw.iid(),
                                             outer=WeightLaw.iid())),
    ("O iid alpha=1/2", "O", lambda: Scaling(HALF, inner=WeightLaw.iid(), outer=WeightLaw.iid())),
    ("O iid alpha>1/2", "O", lambda: Scaling(1, inner=WeightLaw.iid(), outer=WeightLaw.iid())),
    ("S iid alpha<1/2", "S", lambda: Scaling(_r("1/4"), outer=WeightLaw.iid())),
    ("S iid alpha=1/2", "S", lambda: Scaling(HALF, outer=WeightLaw.iid())),
    ("S iid alpha>1/2", "S", lambda: Scaling(1, outer=WeightLaw.iid())),
)


@dataclass(frozen=True)
class Case:
    family: str
    block: str
    sigma: str
    width: int
    seed: int

    def limit(self) -> Limit:
        builder = {f: b for f, _, b in FAMILIES}[self.family]
        return derive_limit(self.block, self.sigma, builder())


def draw_case(pick) -> Case:
    """One instance from a Picker (verify.strategies): Hypothesis or numpy."""
    family, block, _ = pick.choice("family", FAMILIES)
    source = pick.choice("activation source", ("library", "odd", "smooth"))
    if source == "library":
        sigma = pick.choice("sigma", LIBRARY)
    else:
        sigma = random_activation_rules(pick, source)
    width = pick.integer("width", *WIDTHS)
    seed = pick.integer("seed", 0, 2**31 - 1)
    return Case(family, block, sigma, width, seed)


class _Hyp:
    """Picker over Hypothesis' data.draw."""

    def __init__(self, data) -> None:
        self.data = data

    def choice(self, label, options):
        return self.data.draw(st.sampled_from(list(options)), label=label)

    def integer(self, label, low, high):
        return self.data.draw(st.integers(low, high), label=label)

    def uniform(self, label, low, high):
        return self.data.draw(st.floats(low, high), label=label)

    def subset(self, label, options, low, high):
        return self.data.draw(st.lists(st.sampled_from(list(options)), min_size=low,
                                       max_size=high, unique=True), label=label)


# --------------------------------------------------------------------------- simulation
@dataclass(frozen=True)
class Observed:
    """What one coupled ladder shows: growth interval, identity-rate interval, self-convergence
    interval (rates: metric ~ L^-rate; NaN where unusable)."""

    growth: tuple[float, float]
    identity: tuple[float, float]
    selfconv: tuple[float, float]
    overflow: bool


def _bootstrap_rate(depths: np.ndarray, values: np.ndarray, rng: np.random.Generator,
                    n_boot: int) -> tuple[float, float]:
    """95% interval of the slope of log(mean over paths) against log L, resampling paths."""
    if not np.all(np.isfinite(values)):
        return (np.nan, np.nan)
    m = values.shape[1]
    idx = rng.integers(0, m, size=(n_boot, m))
    means = values[:, idx].mean(axis=-1)  # (n_depths, n_boot)
    if np.any(means <= 0):
        return (np.nan, np.nan)
    x = np.log(depths) - np.log(depths).mean()
    slopes = -(x[:, None] * np.log(means)).sum(0) / (x * x).sum()
    lo, hi = np.quantile(slopes, [0.025, 0.975])
    return float(lo), float(hi)


def observe(case: Case, limit: Limit, budget: Budget) -> Observed:
    """Run the coupled ladder of ``case`` (no limit solver) and summarise it."""
    inputs = simulation_inputs(limit, case.width)
    depths = tuple(budget.depths)
    res = run_ladder(inputs.block, inputs.sigma, alpha=inputs.alpha, weights=inputs.weights,
                     x0=GaussianInput(scale=0.5), width=case.width, depths=depths,
                     n_samples=budget.n_samples, seed=case.seed, device="cpu",
                     dtype=torch.float64)
    over = res.overflow.numpy()
    final = res.final.numpy()
    x0 = res.x0.numpy()
    norm = np.linalg.norm(final, axis=-1)
    norm = np.where(over | ~np.isfinite(norm), np.inf, norm)
    logratio = np.log(norm / np.linalg.norm(x0, axis=-1))
    rng = np.random.default_rng(case.seed % 2**32)
    m = logratio.shape[1]
    idx = rng.integers(0, m, size=(budget.n_boot // 4, m))
    med = np.median(logratio[:, idx], axis=-1)  # (n_depths, n_boot)
    with np.errstate(invalid="ignore"):
        change = med[-1] - med[0]
    change = np.where(np.isnan(change), np.inf, change)
    with np.errstate(invalid="ignore"):  # +inf (overflowed medians) is a valid value here
        growth = tuple(float(v) for v in np.quantile(change, [0.025, 0.975]))
    window = slice(len(depths) - budget.window, None)
    d = np.asarray(depths, dtype=float)
    ident = np.linalg.norm(final - x0[None], axis=-1)
    ident = np.where(over, np.inf, ident)
    identity = _bootstrap_rate(d[window], ident[window], rng, budget.n_boot // 4)
    pair = np.linalg.norm(final[1:] - final[:-1], axis=-1)
    pair = np.where(over[1:] | over[:-1], np.inf, pair)
    selfconv = _bootstrap_rate(d[:-1], pair, rng, budget.n_boot // 4)
    return Observed(growth, identity, selfconv, bool(over.any()))


def judge_kind(limit: Limit, seen: Observed, budget: Budget) -> str:
    """agree | disagree | inconclusive: does the simulation show the kind ``limit`` claims?"""
    g_lo, g_hi = seen.growth
    if limit.kind == "explosion":
        # no growth at the budget is evidence against only where the ladder converges (to a
        # limit or to h_0); a slow explosion (small exponent or coefficient) is inconclusive
        lo = seen.selfconv[0]
        if g_lo > GROWTH:
            return "agree"
        return "disagree" if g_hi < GROWTH and np.isfinite(lo) and lo > FALLS else "inconclusive"
    if limit.kind == "identity":
        if seen.overflow or g_lo > GROWTH:
            return "disagree"
        lo, hi = seen.identity
        if not np.isfinite(lo):
            return "inconclusive"
        p, tol = float(limit.rate("identity").value), budget.tolerance
        if lo - tol <= p <= hi + tol:
            return "agree" if hi - lo <= budget.max_width else "inconclusive"
        return "disagree"
    if limit.kind == "sde" and limit.noise == "vector":
        lo, hi = seen.identity
        if seen.overflow or g_lo > GROWTH or g_hi < -GROWTH or (np.isfinite(lo) and lo > 0.15):
            return "disagree"
        return "agree" if (-GROWTH < g_lo and g_hi < GROWTH and hi < 0.15) else "inconclusive"
    if limit.kind in LIMIT_KINDS:
        lo, hi = seen.selfconv
        if seen.overflow or g_lo > GROWTH or (np.isfinite(hi) and hi < FALLS):
            return "disagree"
        return "agree" if np.isfinite(lo) and lo > FALLS else "inconclusive"
    return "inconclusive"  # undetermined: nothing to check


def flipped(limit: Limit) -> Limit:
    """Negative control: a classifier with deliberately wrong rules (identity <-> explosion,
    every limit -> explosion)."""
    from theory.limits import Rate

    if limit.kind == "explosion":
        return replace(limit, kind="identity", exponent=sp.Rational(-1, 4), rates=(
            Rate("identity", sp.Rational(1, 4)),))
    if limit.kind in ("identity",) + LIMIT_KINDS:
        return replace(limit, kind="explosion", exponent=sp.Rational(1, 4), rates=(
            Rate("growth", sp.Rational(1, 4), "at_least"),))
    return limit


def check(case: Case, budget: Budget, wrong: bool = False) -> tuple[str, Limit]:
    """The verdict on the derived kind, or (``wrong``) on the flipped one. A control is judged
    only where the simulation confirms the derived kind (elsewhere the instance is
    pre-asymptotic at the budget, e.g. an explosion L^(1/4) hidden under an L^(-1/4)
    fluctuation, and no claim about it can be told apart): inconclusive there."""
    limit = case.limit()
    if limit.kind == "undetermined":
        return "inconclusive", limit
    seen = observe(case, limit, budget)
    verdict = judge_kind(limit, seen, budget)
    if not wrong:
        return verdict, limit
    claimed = flipped(limit)
    return (judge_kind(claimed, seen, budget) if verdict == "agree" else "inconclusive"), claimed


def _run_property(budget: Budget, wrong: bool) -> Counter:
    tally: Counter = Counter()

    @given(data=st.data())
    def prop(data) -> None:
        case = draw_case(_Hyp(data))
        verdict, claimed = check(case, budget, wrong)
        tally[verdict] += 1
        assume(verdict != "inconclusive")
        expected = "disagree" if wrong else "agree"
        assert verdict == expected, (
            f"{case}: classifier{' (flipped)' if wrong else ''} says {claimed.kind}, the "
            f"simulation {verdict}s\n{claimed.summary()}")

    prop()
    return tally


def _health(tally: Counter) -> None:
    decided = tally["agree"] + tally["disagree"]
    assert decided >= 1 and tally["inconclusive"] <= decided, (
        f"the simulation decided too few examples: {dict(tally)}; widen the budget or move the "
        "drawn exponents away from the boundaries")


def test_derived_kind_agrees_with_simulation(limits_profile):
    _health(_run_property(limits_profile.budget, wrong=False))


def test_flipped_classifier_is_caught(limits_profile):
    _health(_run_property(limits_profile.budget, wrong=True))


# --------------------------------------------------------------------------- measurement
def measure(n: int, budget: Budget) -> dict[str, Counter]:
    """False alarms (true classifier) and power (flipped one) over n numpy-drawn cases."""
    out = {"true": Counter(), "flipped": Counter()}
    for i in range(n):
        case = draw_case(RandomPicker(np.random.default_rng(1000 + i)))
        limit = case.limit()
        if limit.kind == "undetermined":
            out["true"]["undetermined"] += 1
            continue
        seen = observe(case, limit, budget)
        verdict = judge_kind(limit, seen, budget)
        out["true"][verdict] += 1
        if verdict == "disagree":
            print("false alarm:", case, limit.kind, seen, flush=True)
        if verdict == "agree":  # the control is judged where the claim is confirmed
            out["flipped"][judge_kind(flipped(limit), seen, budget)] += 1
    return out


if __name__ == "__main__":  # pragma: no cover - measurement script
    from verify.profiles import get_profile

    torch.set_num_threads(1)
    print(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 60, get_profile("ci").budget))
