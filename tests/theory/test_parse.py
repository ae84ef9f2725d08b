"""The safe expression parser (theory/parse.py): what it accepts, builds and refuses."""

import signal
import threading
import time

import pytest
import sympy as sp
from hypothesis import given, settings

from theory.activations import ActivationError, activation, x
from theory.parse import (
    MAX_LENGTH,
    RATE_FUNCTIONS,
    DerivationTimeout,
    ParseError,
    as_expression,
    parse_expression,
    parse_number,
    time_limit,
)
from theory.scaling import Rough, Scaling, d
from verify.strategies import SMOOTH_BLOCKS, random_activation

X = {"x": x}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x + x**2/2", x + x**2 / 2),
        ("x + x^2/2", x + x**2 / 2),
        ("tanh(x) + x**3/3", sp.tanh(x) + x**3 / 3),
        ("(2)*(tanh(x)) + (-1)*(sin(x))/(1)", 2 * sp.tanh(x) - sp.sin(x)),
        ("log(1 + exp(x)) - log(2)", sp.log(1 + sp.exp(x)) - sp.log(2)),
        ("x/(1 + exp(-x))", x / (1 + sp.exp(-x))),
        ("sqrt(1 + x**2) - 1", sp.sqrt(1 + x**2) - 1),
        ("Max(0, x)**2", sp.Max(0, x) ** 2),
        ("relu(x) + sigmoid(x)", sp.Max(0, x) + 1 / (1 + sp.exp(-x))),
        ("x/2*(1 + erf(x/sqrt(2)))", x / 2 * (1 + sp.erf(x / sp.sqrt(2)))),
        ("pi*x + E", sp.pi * x + sp.E),
        ("  -x  ", -x),
    ],
)
def test_expressions_are_built_exactly(text, expected):
    assert sp.simplify(parse_expression(text, variables=X) - expected) == 0


@pytest.mark.parametrize(
    "text, value",
    [("1/2", sp.Rational(1, 2)), ("0.1", sp.Rational(1, 10)), ("1e-3", sp.Rational(1, 1000)),
     ("-1", sp.Integer(-1)), ("2**-3", sp.Rational(1, 8)), ("1_000", sp.Integer(1000)),
     ("0.25", sp.Rational(1, 4))],
)
def test_numbers_are_exact_rationals(text, value):
    parsed = parse_number(text, "--alpha")
    assert parsed == value and parsed.is_Rational


def test_every_building_block_of_the_random_activations_parses_like_sympy():
    for block in SMOOTH_BLOCKS:  # sympify on the suite's own constant strings is trusted
        assert parse_expression(block, variables={"x": sp.Symbol("x")}) == sp.sympify(block)


@settings(max_examples=25, derandomize=True, deadline=None)
@given(random_activation("smooth") | random_activation("odd"))
def test_random_activations_parse_and_build(text):
    parsed = parse_expression(text, variables={"x": sp.Symbol("x")})
    assert parsed == sp.sympify(text)  # trusted: the strategy's own output
    assert activation(text).expr == parsed.subs(sp.Symbol("x"), x)


def test_parameters_named_like_sympy_functions_are_symbols():
    names = ("beta", "gamma", "zeta", "E", "pi")
    symbols = {n: sp.Symbol(n, positive=True) for n in names}
    rate = parse_expression("min(1, 2*beta) + gamma/zeta + E*pi", variables=symbols,
                            functions=RATE_FUNCTIONS)
    assert rate.free_symbols == set(symbols.values())
    with pytest.raises(ParseError, match="unknown name 'gamma'"):  # undeclared: no function
        parse_expression("gamma", variables=(), functions=RATE_FUNCTIONS)


@pytest.mark.parametrize(
    "text, match",
    [
        ('__import__("os").system("true")', "attribute access"),
        ("__import__", "names starting with '_'"),
        ("().__class__", "attribute access"),
        ("lambda: 1", "lambda"),
        ("x[0]", "indexing"),
        ("tanh(x=1)", "keyword arguments"),
        ("tanh(*x)", "'\\*' unpacking"),
        ("x < 1", "comparison"),
        ("x and 1", "'and'/'or'"),
        ("x if x else 1", "'if ... else'"),
        ("'x'", "a string"),
        ("True", "bool"),
        ("1j", "complex"),
        ("[x]", "a list"),
        ("x, x", "a tuple"),
        ("x % 2", "'%'"),
        ("~x", "'~'"),
        ("f(x)", "unknown name 'f'"),
        ("tahn(x)", "closest: .*tanh"),
        ("tanh", "'tanh' is a function"),
        ("x(2)", "'x' is not a function"),
        ("tanh(x, x)", "takes 1 argument"),
        ("1e400", "not finite"),
        ("nan", "not a finite number"),
        ("1/0", "non-finite"),
        ("sqrt(-1)", "non-real"),
        ("9**9**9", "larger than 100"),
        ("x**x**x**0.5", "x"),
        ("(2**100)**100", "too large"),
        ("tanh(x", "syntax error"),
        ("", "empty"),
        ("x\x00", "null bytes"),
        ("tanh(" * 6 + "x" + ")" * 6, "nested more than 5 deep"),
    ],
)
def test_everything_outside_the_grammar_is_refused_with_the_reason(text, match):
    if text == "x**x**x**0.5":  # symbolic exponents are allowed: the grammar is not a blacklist
        assert parse_expression(text, variables=X).free_symbols == {x}
        return
    with pytest.raises(ParseError, match=match) as info:
        parse_expression(text, variables=X)
    assert "\n" not in str(info.value) and "Fix:" in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["(" * 10_000 + "x" + ")" * 10_000, "x" + "+x" * 100_000, "-" * 5_000 + "x"],
)
def test_huge_and_deep_text_is_refused_without_recursion_error(text):
    with pytest.raises(ParseError, match=f"more than the limit of {MAX_LENGTH}"):
        parse_expression(text, variables=X)
    with pytest.raises(ParseError):  # with no length limit: depth, never RecursionError
        parse_expression(text, variables=X, max_length=10**7)


def test_a_long_flat_sum_is_not_nesting_but_the_length_limit_holds():
    assert parse_expression("+".join(["x"] * 200), variables=X) == 200 * x
    thousand = "+".join(["tanh(x)"] * 125)  # 999 characters: issue 11's hang, now refused
    with pytest.raises(ParseError, match=f"999 characters, more than the limit of {MAX_LENGTH}"):
        parse_expression(thousand, variables=X)
    assert parse_expression(thousand, variables=X, max_length=1000) == 125 * sp.tanh(x)


@pytest.mark.parametrize(
    "text, match",
    [("abc", "unknown name 'abc'"), ("2**(1/2)", "not a rational number"),
     ("5", "it must be <= 1"), ("-1", "it must be >= 0")],
)
def test_parse_number_refuses_names_irrationals_and_out_of_range(text, match):
    with pytest.raises(ParseError, match=match) as info:
        parse_number(text, "--alpha", low=0, high=1)
    assert str(info.value).startswith(f"--alpha={text!r} is not a number")


def test_as_expression_parses_text_and_never_sympifies_it():
    assert as_expression("x + 1", variables=X) == x + 1
    assert as_expression(sp.Rational(1, 2)) == sp.Rational(1, 2)
    with pytest.raises(ParseError):
        as_expression('__import__("os")', variables=X)
    with pytest.raises(sp.SympifyError):
        as_expression(object())


def test_exponents_and_variances_from_text_go_through_the_parser():
    assert Scaling("1/2").alpha == sp.Rational(1, 2)
    assert Rough("1/2", "2/d").variance == 2 / d
    with pytest.raises(ParseError, match="names starting with '_'"):
        Scaling('__import__("os")')
    with pytest.raises(ValueError, match="must be > 0"):
        Rough("1/2", "-1/d")
    with pytest.raises(ValueError, match="finite"):
        Scaling(float("inf"))


@pytest.mark.parametrize(
    "spec, match",
    [
        ("sqrt(x)", "not real-valued on a neighbourhood of 0"),
        ("x**(1/3)", "not real-valued on a neighbourhood of 0"),
        ("tahn", "did you mean tanh"),
        ("NOPE", "not a library activation"),
        ("sigmoid", "write 'sigmoid\\(x\\)'"),
        ("tahn(x) + x", "unknown name 'tahn'"),
    ],
)
def test_bad_activations_name_the_problem(spec, match):
    with pytest.raises(ActivationError, match=match):
        activation(spec)


def test_real_activations_near_a_branch_point_are_kept():
    assert activation("sqrt(1 + x**2) - 1").s(2) == 1  # negative control of sqrt(x)
    assert activation("Abs(x)").smoothness == 0


main_thread_only = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread() or not hasattr(signal,
                                                                             "setitimer"),
    reason="time_limit uses SIGALRM, main thread only")


@main_thread_only
def test_time_limit_stops_a_long_computation_and_restores_the_timer():
    handler = signal.getsignal(signal.SIGALRM)
    start = time.monotonic()
    with pytest.raises(DerivationTimeout, match="took longer than 0.2 s"):
        with time_limit(0.2, "the busy loop"):
            while time.monotonic() - start < 30:
                pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is handler
    with time_limit(5):  # a quick block is untouched
        assert parse_expression("x", variables=X) == x


@main_thread_only
def test_nested_time_limits_keep_the_earlier_deadline():
    start = time.monotonic()
    with pytest.raises(DerivationTimeout, match="0.2 s"):
        with time_limit(0.2, "outer"), time_limit(60, "inner"):
            while time.monotonic() - start < 30:
                pass
    with pytest.raises(DerivationTimeout, match="inner"):
        with time_limit(60, "outer"), time_limit(0.2, "inner"):
            while time.monotonic() - start < 30:
                pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
