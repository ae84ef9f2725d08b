"""Hypothesis strategies built from the regimes' declared domains.

- :func:`parameters` draws each exponent from its *typical* range (scipy.stats style domains),
  rounded to 0.01 so that failures read and replay cleanly;
- :func:`activations` draws from the regime's named family and, where the regime allows it,
  from randomly generated smooth activations: integer combinations of building blocks with
  bounded derivatives (globally Lipschitz, sigma(0) = 0), odd ones only where the claim needs
  sigma odd (R5b). A random activation whose first derivative at 0 vanishes is not drawn (the
  claims need s1 != 0).
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from theory.regime import Regime

ODD_BLOCKS = ("tanh(x)", "sin(x)", "atan(x)", "x/(1 + x**2)")
SMOOTH_BLOCKS = ODD_BLOCKS + ("log(1 + exp(x)) - log(2)", "x/(1 + exp(-x))",
                              "sqrt(1 + x**2) - 1")
_SLOPE_AT_0 = {"tanh(x)": 1, "sin(x)": 1, "atan(x)": 1, "x/(1 + x**2)": 1,
               "log(1 + exp(x)) - log(2)": 0.5, "x/(1 + exp(-x))": 0.5, "sqrt(1 + x**2) - 1": 0}


@st.composite
def random_activation(draw, kind: str = "smooth") -> str:
    """An expression ``(c_1 g_1(x) + c_2 g_2(x)) / s`` with integer c_i in [-2, 2] \\ {0},
    distinct building blocks g_i (odd ones for kind="odd") and s the slope at 0, so that
    sigma'(0) = 1: the shapes vary (s2, s3, ...), the noise amplitude of the diffusive limits
    stays that of the library activations (|s1| = 2 made the ci ladder pre-asymptotic: R5
    with -2 tanh showed running orders 0.32, 0.28, 0.22, 0.21 at depths 32..256)."""
    if kind not in ("odd", "smooth"):
        raise ValueError(f"kind={kind!r}: use 'odd' or 'smooth'")
    blocks = ODD_BLOCKS if kind == "odd" else SMOOTH_BLOCKS
    chosen = draw(st.lists(st.sampled_from(blocks), min_size=1, max_size=2, unique=True))
    coefficients = draw(st.lists(st.sampled_from((-2, -1, 1, 2)), min_size=len(chosen),
                                 max_size=len(chosen)))
    slope = sum(c * _SLOPE_AT_0[g] for c, g in zip(coefficients, chosen, strict=True))
    if slope == 0:
        coefficients[0] += 1 if coefficients[0] > 0 else -1  # still non-zero, slope moves
        slope = sum(c * _SLOPE_AT_0[g] for c, g in zip(coefficients, chosen, strict=True))
    if slope == 0:
        chosen, coefficients, slope = ["tanh(x)"], [1], 1
    combination = " + ".join(f"({c})*({g})" for c, g in zip(coefficients, chosen, strict=True))
    return f"({combination})/({Fraction(slope).limit_denominator()})"


def activations(regime: Regime, *, include_random: bool = True) -> st.SearchStrategy[str]:
    """The regime's named activations, plus random ones where ``regime.random_activations``
    says which kind is allowed (and ``include_random``)."""
    named = st.sampled_from(regime.activations)
    if regime.random_activations is None or not include_random:
        return named
    return st.one_of(named, random_activation(regime.random_activations))


def biases(regime: Regime) -> st.SearchStrategy[bool]:
    """Bias on or off where the regime allows both (block I with a smooth inner part)."""
    return st.booleans() if regime.bias_optional else st.just(regime.scaling.bias)


def parameters(regime: Regime) -> st.SearchStrategy[dict[str, float]]:
    """Exponents drawn from their typical ranges, rounded to 0.01 (clipped into range)."""

    def value(lo: float, hi: float) -> st.SearchStrategy[float]:
        return st.floats(lo, hi).map(lambda v: min(max(round(v, 2), lo), hi))

    return st.fixed_dictionaries({name: value(*dom.typical)
                                  for name, dom in regime.parameters.items()})
