"""Instances drawn from the regimes' declared domains, by ONE set of rules for the property
tests (Hypothesis) and the power study (a seeded numpy generator).

:func:`draw_instance` states the rules against a small :class:`Picker` interface; Hypothesis
(:func:`instances`) and numpy (:class:`RandomPicker`, used by :mod:`verify.power`) implement
it, so both draw the same family:

- an activation from the claim's family (or the regime's) and, where the regime allows it and
  ``include_random``, a random smooth or odd activation (:func:`random_activation_rules`):
  integer combinations of building blocks with bounded derivatives, normalised so that
  sigma'(0) = 1, odd ones only where the claim needs sigma odd;
- each exponent from its typical range (the claim's narrower domain where it gives one),
  on the 0.01 grid (drawn as hundredths) so that failures read, replay and shrink cleanly;
- a width from the regime's ``widths``, a bias on/off where the regime allows both;
- the seed of the simulation, as data (Hypothesis does not seed torch).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Protocol

import numpy as np
from hypothesis import strategies as st

from theory.claims import Claim
from theory.regime import Instance, Regime

__all__ = ["ODD_BLOCKS", "SMOOTH_BLOCKS", "Picker", "RandomPicker", "draw_instance",
           "instances", "random_activation", "seeds"]

ODD_BLOCKS = ("tanh(x)", "sin(x)", "atan(x)", "x/(1 + x**2)")
SMOOTH_BLOCKS = ODD_BLOCKS + ("log(1 + exp(x)) - log(2)", "x/(1 + exp(-x))",
                              "sqrt(1 + x**2) - 1")
_SLOPE_AT_0 = {"tanh(x)": 1, "sin(x)": 1, "atan(x)": 1, "x/(1 + x**2)": 1,
               "log(1 + exp(x)) - log(2)": 0.5, "x/(1 + exp(-x))": 0.5, "sqrt(1 + x**2) - 1": 0}
SEED_RANGE = (0, 2**31 - 1)


class Picker(Protocol):
    """The four choices the rules make; labels name them in failure reports."""

    def choice(self, label: str, options: Sequence) -> object: ...
    def uniform(self, label: str, low: float, high: float) -> float: ...
    def integer(self, label: str, low: int, high: int) -> int: ...
    def subset(self, label: str, options: Sequence, low: int, high: int) -> list: ...


class _HypothesisPicker:
    def __init__(self, draw) -> None:
        self.draw = draw

    def choice(self, label, options):
        return self.draw(st.sampled_from(list(options)), label=label)

    def uniform(self, label, low, high):
        return self.draw(st.floats(low, high), label=label)

    def integer(self, label, low, high):
        return self.draw(st.integers(low, high), label=label)

    def subset(self, label, options, low, high):
        return self.draw(st.lists(st.sampled_from(list(options)), min_size=low, max_size=high,
                                  unique=True), label=label)


class RandomPicker:
    """The rules' choices from a numpy Generator (power studies: reproducible by seed)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def choice(self, label, options):
        options = list(options)
        return options[int(self.rng.integers(len(options)))]

    def uniform(self, label, low, high):
        return float(self.rng.uniform(low, high))

    def integer(self, label, low, high):
        return int(self.rng.integers(low, high + 1))

    def subset(self, label, options, low, high):
        k = int(self.rng.integers(low, high + 1))
        idx = self.rng.choice(len(options), size=k, replace=False)
        return [list(options)[i] for i in sorted(idx)]


def random_activation_rules(pick: Picker, kind: str = "smooth") -> str:
    """An expression ``(c_1 g_1(x) + c_2 g_2(x)) / s`` with integer c_i in [-2, 2] \\ {0},
    distinct building blocks g_i (odd ones for kind="odd") and s the slope at 0, so that
    sigma'(0) = 1: the shapes vary (s2, s3, ...), the noise amplitude of the diffusive limits
    stays that of the library activations (|s1| = 2 made the ci ladder pre-asymptotic: R5
    with -2 tanh showed running orders 0.32, 0.28, 0.22, 0.21 at depths 32..256)."""
    if kind not in ("odd", "smooth"):
        raise ValueError(f"kind={kind!r}: use 'odd' or 'smooth'")
    blocks = ODD_BLOCKS if kind == "odd" else SMOOTH_BLOCKS
    chosen = pick.subset("blocks", blocks, 1, 2)
    coefficients = [pick.choice(f"c{i}", (-2, -1, 1, 2)) for i in range(len(chosen))]
    slope = sum(c * _SLOPE_AT_0[g] for c, g in zip(coefficients, chosen, strict=True))
    if slope == 0:
        coefficients[0] += 1 if coefficients[0] > 0 else -1  # still non-zero, slope moves
        slope = sum(c * _SLOPE_AT_0[g] for c, g in zip(coefficients, chosen, strict=True))
    if slope == 0:
        chosen, coefficients, slope = ["tanh(x)"], [1], 1
    combination = " + ".join(f"({c})*({g})" for c, g in zip(coefficients, chosen, strict=True))
    return f"({combination})/({Fraction(slope).limit_denominator()})"


@st.composite
def random_activation(draw, kind: str = "smooth") -> str:
    """Hypothesis strategy of :func:`random_activation_rules`."""
    return random_activation_rules(_HypothesisPicker(draw), kind)


def draw_instance(pick: Picker, regime: Regime, claim: Claim | None = None, *,
                  include_random: bool = False) -> Instance:
    """The rules: one instance of ``regime`` for ``claim`` (see the module docstring)."""
    family = regime.family(claim)
    use_random = (include_random and regime.random_activations is not None
                  and (claim is None or claim.activations is None))
    if use_random and pick.choice("random activation", (False, True)):
        sigma = random_activation_rules(pick, regime.random_activations)
    else:
        sigma = pick.choice("sigma", family)
    values = {name: _exponent(pick, name, *regime.domain(name, claim).typical)
              for name in regime.parameters}
    width = pick.integer("width", *regime.widths)
    bias = pick.choice("bias", (False, True)) if regime.bias_optional else None
    return regime.at(sigma=sigma, width=width, bias=bias, **values)


def _exponent(pick: Picker, name: str, lo: float, hi: float) -> float:
    """An exponent on the 0.01 grid inside [lo, hi], drawn as an integer number of hundredths:
    an integer shrinks to the low end in a few steps, where a float rounded to the grid made
    Hypothesis replay many floats of one grid value (a refuted conjecture spent its whole
    300 s shrink budget on them). A range holding no grid point gives its ends."""
    k_lo, k_hi = math.ceil(lo * 100 - 1e-9), math.floor(hi * 100 + 1e-9)
    if k_lo > k_hi:
        return float(pick.choice(name, (lo, hi)))
    return min(max(pick.integer(name, k_lo, k_hi) / 100, lo), hi)


@st.composite
def instances(draw, regime: Regime, claim: Claim | None = None, *,
              include_random: bool = False) -> Instance:
    """Hypothesis strategy of :func:`draw_instance`."""
    return draw_instance(_HypothesisPicker(draw), regime, claim, include_random=include_random)


def seeds(regime: Regime | None = None, budget=None) -> st.SearchStrategy[int]:
    """Simulation seeds, drawn as data so that a failure replays. A trained regime draws its
    data seed from the budget's small set (``budget.training.data_seeds``): each example
    trains a whole ladder, and Hypothesis stops once that finite space is exhausted (with
    ``outer_data`` every example trains on all those data sets and the seed only chooses the
    training seeds); a large-time regime likewise (``budget.horizon.data_seeds``)."""
    if regime is not None and regime.training is not None and budget is not None:
        return st.sampled_from(tuple(budget.training.data_seeds))
    if regime is not None and regime.horizon is not None and budget is not None:
        return st.sampled_from(tuple(budget.horizon.data_seeds))  # a check solves many problems
    return st.integers(*SEED_RANGE)
