"""theory.backward: exact backward limits (adjoint ODE, first-variation SDE, weight-gradient
scaling) of the forward limits, and clear errors where there is none."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sympy as sp

from theory.activations import activation
from theory.activations import x as X
from theory.backward import NOTES, BackwardLimit, BackwardLimitError, derive_backward
from theory.limits import a, derive_limit, q, u
from theory.regimes import get
from theory.scaling import Scaling, WeightLaw, d


def _bl(name: str, sigma: str, **params: float) -> BackwardLimit:
    return derive_backward(get(name).limit(sigma, **params))


def _equal(e1, e2) -> bool:
    return sp.simplify(sp.sympify(e1) - sp.sympify(e2)) == 0


def test_r1_adjoint_is_sigma_prime_of_a():
    bl = _bl("R1", "tanh")
    assert bl.kind == "adjoint-ode"
    assert _equal(bl.drift_a, 1 - sp.tanh(a) ** 2)
    assert bl.drift_q == 0 and bl.q_variance is None and bl.noise_row is None
    assert _equal(bl.weight_density, bl.drift_a)
    assert bl.weight_exponent == 1 and bl.smooth_exponent == 1
    assert bl.rate("input").value == 1 and bl.rate("weight").value == 1
    assert "dP_t = -(D_h f)^T P_t dt" in bl.equation()


@pytest.mark.parametrize("sigma, s1, rate", [("tanh", 1, sp.Rational(3, 5)),
                                             ("softplus_centered", sp.Rational(1, 2),
                                              sp.Rational(3, 10))])
def test_r2_adjoint_is_linear_with_the_forward_rate(sigma, s1, rate):
    bl = _bl("R2", sigma, beta=0.3)
    assert bl.drift_a == s1 and bl.weight_density == s1
    assert bl.weight_exponent == sp.Rational(7, 10)  # alpha = 1 - beta
    assert bl.smooth_exponent == 1  # L^(alpha + beta) dl/dAbar_k
    assert bl.rate("input").value == rate == bl.rate("weight").value
    assert bl.rate("input").label == "derived"


@pytest.mark.parametrize("sigma, s1, s2", [("softplus_centered", sp.Rational(1, 2),
                                            sp.Rational(1, 4)),
                                           ("silu", sp.Rational(1, 2), sp.Rational(1, 2)),
                                           ("tanh", 1, 0)])
def test_r5_first_variation_carries_the_ito_term(sigma, s1, s2):
    bl = _bl("R5", sigma)
    s2 = sp.sympify(s2)
    assert bl.kind == "fbsde"
    assert bl.drift_a == s1 and bl.drift_q == s2 / 2 and bl.ito_q == s2 / 2
    assert bl.q_variance == 1 / d  # Dq(h) = (2/d) 1 h^T
    assert bl.noise_row == s1 and bl.noise_col == u and bl.noise_col_prime == 1
    assert bl.weight_density == s1  # sigma'(pre) -> sigma'(0): no factor L in R5
    assert bl.weight_exponent == 0 and bl.smooth_exponent == 1
    assert bl.rate("input").value == sp.Rational(1, 2)
    assert bl.has_ito_term == (s2 != 0)
    if s2 != 0:
        ctl = bl.drop_ito()
        assert ctl.drift_q == 0 and ctl.ito_q == 0 and not ctl.has_ito_term
        assert "Ito term" in bl.equation()
    else:
        with pytest.raises(BackwardLimitError, match="s2 != 0"):
            bl.drop_ito()


@pytest.mark.parametrize("name, sigma", [("R1", "gelu"), ("R1", "silu"),
                                         ("R5", "softplus_centered")])
def test_jacobian_matches_sympy_jacobian_of_the_vector_drift(name, sigma):
    """D_h f = diag(f_a) Abar + f_q (2v) 1 h^T, against sympy's Jacobian at d = 2."""
    bl = _bl(name, sigma)
    width = 2
    h = sp.Matrix(sp.symbols("h0 h1", real=True))
    abar = sp.Matrix(2, 2, sp.symbols("A00 A01 A10 A11", real=True))
    bbar = sp.Matrix(sp.symbols("b0 b1", real=True))
    v = 0 if bl.q_variance is None else bl.q_variance.subs(d, width)
    qq = v * (h.T * h)[0]
    av = abar * h + bbar
    drift = bl.forward.drift.subs(d, width)
    f = sp.Matrix([drift.subs({a: av[i], q: qq}) for i in range(width)])
    expected = f.jacobian(h)
    fa = sp.diag(*[bl.drift_a.subs(d, width).subs({a: av[i], q: qq}) for i in range(width)])
    fq = sp.Matrix([bl.drift_q.subs(d, width).subs({a: av[i], q: qq}) for i in range(width)])
    ours = fa * abar + fq * (2 * v) * sp.ones(1, 1) * h.T
    point = {s: sp.Rational(k + 1, 7) * (-1) ** k for k, s in enumerate(
        [*h, *abar, *bbar])}
    diff = (expected - ours).subs(point).evalf(30)
    assert max(abs(z) for z in diff) < 1e-25


def test_weight_density_is_the_a_derivative_of_the_drift_in_every_supported_regime():
    for name in ("R1", "R2", "R5"):
        regime = get(name)
        params = {k: 0.5 for k in regime.parameters}
        for sigma in regime.activations:
            bl = _bl(name, sigma, **params)
            assert _equal(bl.weight_density, bl.drift_a), (name, sigma)
            assert not any("differs" in n for n in bl.notes)


@pytest.mark.parametrize("name, match", [
    ("R3-smooth", "identity forward limit"),
    ("R3-iid", "identity forward limit"),
    ("R4", "explosion forward limit"),
    ("R6", "in law only"),
    ("R7", "drift-ode"),
    ("R6'", "block S"),
    ("R5b", "no smooth part"),
])
def test_no_backward_counterpart_is_a_clear_error(name, match):
    regime = get(name)
    params = {k: sum(dom.typical) / 2 for k, dom in regime.parameters.items()}
    with pytest.raises(BackwardLimitError, match=match):
        derive_backward(regime.limit(regime.activations[0], **params))


def test_undetermined_and_bad_arguments():
    undetermined = derive_limit("I", "elu", Scaling(0, inner=WeightLaw.brownian(), bias=True))
    assert undetermined.kind == "undetermined"
    with pytest.raises(BackwardLimitError, match="undetermined"):
        derive_backward(undetermined)
    with pytest.raises(TypeError, match="theory.limits.Limit"):
        derive_backward("R1")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="quantity"):
        _bl("R1", "tanh").rate("bias")
    with pytest.raises(ValueError, match="width"):
        _bl("R1", "tanh").torch_functions(0)


def test_generic_beta_needs_values():
    generic = get("R2").limit("tanh")  # beta symbolic on (0, 1)
    bl = derive_backward(generic)  # beta_s = beta > 0 is decidable
    assert bl.weight_density == 1 and bl.weight_exponent == 1 - get("R2").symbol("beta")


def test_torch_functions_are_float_and_shaped():
    import torch

    relu = derive_backward(derive_limit("I", "relu", Scaling(1, inner=WeightLaw.smooth_path(0),
                                                             bias=True)))
    assert any("piecewise" in n for n in relu.notes)
    fns = relu.torch_functions(3)
    av = torch.tensor([[-1.0, 0.5, 2.0]], dtype=torch.float64)
    out = fns["drift_a"](av, torch.zeros_like(av))
    assert out.dtype == torch.float64 and out.tolist() == [[0.0, 1.0, 1.0]]
    r5 = _bl("R5", "softplus_centered").torch_functions(4)
    const = r5["drift_q"](av, av)
    assert const.shape == av.shape and torch.all(const == 0.125)
    assert r5["noise_col"](av).tolist() == av.tolist()
    slope = sp.diff(activation("softplus_centered").expr, X).subs(X, 0)
    assert r5["weight_density"](av, av)[0, 0].item() == float(slope)


def test_summary_and_notes_state_the_differences():
    text = _bl("R5", "silu").summary()
    assert "[fbsde]" in text and "strong rate = 1/2" in text
    assert "L * dl/dA_k diverges" in NOTES and "2212.08199" in NOTES


def test_theory_backward_imports_no_torch():
    code = ("import json, sys; import theory.backward; "
            "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert not {"torch", "numerics", "verify"} & set(json.loads(out.stdout))
