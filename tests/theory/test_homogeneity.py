"""Degree of homogeneity in the controls: the THEORY.md section 6 examples, each route of the
decision (structure, witness, simplification, undetermined) and its negative control."""

import pytest
import sympy as sp

from theory.homogeneity import Identity, Status, dynamics_from_text, homogeneity

x, w, a, b, u = sp.symbols("x w a b u", real=True)


def relu(z):
    return sp.Piecewise((z, z >= 0), (0, True))  # as theory/activations.py writes it


@pytest.mark.parametrize("f, controls, degree", [
    (w * sp.tanh(x) + b, (w, b), 1),            # x' = w sigma(x) + b, any sigma
    (w * sp.sin(x) ** 3 + b, (w, b), 1),
    (sp.Max(0, w * x + b), (w, b), 1),          # relu(w x + b)
    (relu(w * x + b), (w, b), 1),
    (w * relu(a * x + b), (w, a, b), 2),        # degree 2
    (w * sp.Max(0, a * x + b), (w, a, b), 2),
    (sp.sqrt(w ** 2 + b ** 2) * sp.Abs(x), (w, b), 1),
    (b * sp.tanh(w / b), (w, b), 1),            # a function of a degree-0 argument
])
def test_structural_degrees(f, controls, degree):
    h = homogeneity(f, controls=controls)
    assert (h.status, h.degree, h.proof) == (Status.PROVED, degree, "structural")


def test_identity_follows_the_degree():
    assert homogeneity(w * sp.tanh(x) + b, controls=(w, b)).identity is Identity.RESCALING
    h2 = homogeneity(w * relu(a * x + b), controls=(w, a, b))
    assert h2.identity is Identity.HORIZON_FREE
    T = sp.Symbol("T", positive=True)
    assert h2.weight_scale(T) == 1 and h2.control_scale(T) == sp.sqrt(T)
    h1 = homogeneity(w * x + b, controls=(w, b))
    assert h1.weight_scale(T) == 1 / T and h1.control_scale(T) == T


@pytest.mark.parametrize("f, controls", [
    (w * sp.tanh(a * x + b), (w, a, b)),        # the EGPZ non-example
    (u + u ** 2, (u,)),
    (sp.exp(w) * b, (w, b)),
    (w * relu(a * x + b) + b, (w, a, b)),       # degrees 2 and 1 mixed
])
def test_witness_disproves(f, controls):
    h = homogeneity(f, controls=controls)
    assert h.status is Status.DISPROVED and h.identity is Identity.NONE
    wit = h.witness
    values = dict((sp.Symbol(k, real=True), v) for k, v in wit.point)
    scaled = {s: (wit.c * v if s in controls else v) for s, v in values.items()}
    f0, f1 = (sp.N(f.xreplace(p), 40) for p in (values, scaled))
    # the witness really rules out every k: the two candidate degrees disagree or F0 = 0 != F1
    f2 = sp.N(f.xreplace({s: (wit.c ** 2 * v if s in controls else v)
                          for s, v in values.items()}), 40)
    assert abs(f0 * f2 - f1 ** 2) > 1e-20 * max(abs(f1) ** 2, 1e-30) or (f1 / f0) <= 0


def test_witness_is_the_negative_control_of_the_proof():
    # the same shape with tanh replaced by relu is proved: the check can say both
    assert homogeneity(w * sp.Max(0, a * x + b), controls=(w, a, b)).homogeneous is True
    assert homogeneity(w * sp.tanh(a * x + b), controls=(w, a, b)).homogeneous is False


def test_simplification_route_and_undetermined():
    h = homogeneity(u * sp.cosh(u) ** 2 - u * sp.sinh(u) ** 2, controls=(u,))
    assert (h.status, h.degree, h.proof) == (Status.PROVED, 1, "simplification")
    g = sp.Function("g")
    h = homogeneity(g(u), controls=(u,))
    assert h.status is Status.UNDETERMINED and h.homogeneous is None and "g(" in h.reason
    with pytest.raises(ValueError, match="no horizon identity"):
        h.weight_scale(sp.Integer(2))


def test_vector_field_needs_one_degree():
    assert homogeneity([w * x, b], controls=(w, b)).degree == 1
    assert homogeneity([w * x, b * w], controls=(w, b)).status is Status.DISPROVED
    assert homogeneity(sp.Integer(0) * w, controls=(w,)).degree is None  # f = 0: any degree


def test_text_goes_through_the_parser_and_errors_name_the_fix():
    f, states, controls = dynamics_from_text("w*relu(a*x + b)", states=["x"],
                                             controls=["w", "a", "b"])
    assert homogeneity(f, controls=controls, states=states).degree == 2
    with pytest.raises(ValueError, match="not a valid|not a dynamics"):
        dynamics_from_text("__import__('os').system('true')", states=["x"], controls=["w"])
    with pytest.raises(ValueError, match="neither states"):
        homogeneity(w * x + b, controls=(w,), states=(x,))
    with pytest.raises(ValueError, match="controls"):
        homogeneity(w * x, controls=())
