"""One safe parser for every expression that enters the suite as text.

Command-line arguments (``derive SIGMA``, ``--alpha``, ``--variance``, ``map --activation``),
regime files and ledgers hold expressions as strings. Such text is data, never code:
``sympy.sympify``/``parse_expr`` evaluate it with Python's ``eval`` (a
``__import__("os").system(...)`` payload runs), so nothing here calls them on text.

:func:`parse_expression` parses with ``ast.parse(text, mode="eval")`` and walks the tree with
an allow-list of node types: numbers (finite int and float literals, made exact rationals),
the declared variables, the constants ``pi`` and ``E``, ``+ - * / **`` (``^`` is read as
``**``), unary ``+ -`` and calls of allowed function names with positional arguments. The sympy
expression is built directly from the tree. Everything else (attributes, subscripts, names
starting with ``_``, lambdas, keywords, strings, comparisons, ...) is a :class:`ParseError`
naming the text, the offending token and its column, and how to fix it; unknown names come with
the closest known names. Text length, nesting depth, power exponents and the size of exact
numbers are bounded so that parsing is fast on any input; :func:`time_limit` bounds the
derivations that follow (a :class:`DerivationTimeout`).
"""

from __future__ import annotations

import ast
import difflib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from fractions import Fraction

import sympy as sp

MAX_LENGTH = 500
"""Longest text accepted (characters); the random activations of verify/strategies.py are
under 80."""

MAX_DEPTH = 50
"""Deepest nesting of operators and calls accepted (a chain ``a + b + c`` counts once)."""

MAX_CALL_DEPTH = 5
"""Deepest nesting of function calls: derivations grow exponentially with it (measured on 2
shared cores: tanh nested 3 deep 2.3 s, 4 deep 5 s, 5 deep 16 s; 35 deep > 120 s)."""

MAX_EXPONENT = 100
"""Largest |n| of a numeric power exponent (``x**n``)."""

MAX_BITS = 4096
"""Largest numerator or denominator of an exact number, in bits (about 1,200 digits)."""

DERIVATION_SECONDS = 30.0
"""Default wall-clock limit of one derivation from text (:func:`time_limit`): about 3 times the
slowest legitimate derivation measured on 2 shared cores (silu 7.9 s, a random activation of
verify/strategies.py 9.1 s; tanh 0.4 s)."""


def _relu(u: sp.Expr) -> sp.Expr:
    return sp.Max(0, u)


def _sigmoid(u: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-u))


def _softplus(u: sp.Expr) -> sp.Expr:
    return sp.log(1 + sp.exp(u))


Function = tuple[Callable[..., sp.Expr], int, int]
"""A callable building the sympy expression, and its least and largest number of arguments."""

ACTIVATION_FUNCTIONS: dict[str, Function] = {
    **{name: (getattr(sp, name), 1, 1) for name in (
        "tanh", "sin", "cos", "tan", "exp", "log", "sqrt", "atan", "asinh", "sinh", "cosh",
        "erf", "Abs", "sign")},
    "abs": (sp.Abs, 1, 1),
    "Max": (sp.Max, 2, 8),
    "Min": (sp.Min, 2, 8),
    "max": (sp.Max, 2, 8),
    "min": (sp.Min, 2, 8),
    "relu": (_relu, 1, 1),
    "sigmoid": (_sigmoid, 1, 1),
    "softplus": (_softplus, 1, 1),
}
"""Functions an activation may call: the activation library's building blocks."""

RATE_FUNCTIONS: dict[str, Function] = {
    name: ACTIVATION_FUNCTIONS[name] for name in ("Max", "Min", "max", "min", "Abs", "abs",
                                                  "sqrt", "log", "exp")}
"""Functions a rate or an exponent may call (``min(1, 2*beta)``)."""

CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}
"""Named constants."""

_NON_FINITE = ("inf", "infinity", "nan", "oo", "zoo", "Infinity", "NaN")

_OPERATORS = {ast.Add: sp.Add, ast.Mult: sp.Mul,
              ast.Sub: lambda a, b: sp.Add(a, -b), ast.Div: lambda a, b: a / b}

_REFUSED = {
    ast.Attribute: "attribute access ('.')", ast.Subscript: "indexing ('[...]')",
    ast.Lambda: "a lambda", ast.Compare: "a comparison", ast.BoolOp: "'and'/'or'",
    ast.IfExp: "'if ... else'", ast.Starred: "'*' unpacking", ast.Dict: "a dict",
    ast.Set: "a set", ast.List: "a list", ast.Tuple: "a tuple ('a, b')",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "an f-string", ast.NamedExpr: "':='", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "a slice",
}


class ParseError(ValueError):
    """Text that is not an expression of the allowed grammar.

    ``str(error)`` is one line: what was parsed, the text (truncated), what is wrong and where,
    and how to fix it. ``reason`` and ``column`` (1-based, or None) hold the parts.
    """

    def __init__(self, what: str, text: str, reason: str, column: int | None, fix: str,
                 expected: str = "a valid expression") -> None:
        self.what, self.text, self.reason, self.column, self.fix = what, text, reason, column, fix
        where = f" at column {column}" if column else ""
        super().__init__(f"{what}={shorten(text)!r} is not {expected}: {reason}{where}. "
                         f"Fix: {fix}")


class DerivationTimeout(ValueError):
    """A derivation from text that ran past its :func:`time_limit`."""


def shorten(text: str, width: int = 60) -> str:
    """``text`` cut to ``width`` characters (with its length) for error messages."""
    return text if len(text) <= width else f"{text[:width]}... ({len(text)} characters)"


def closest(name: str, known: Sequence[str], n: int = 3) -> list[str]:
    """The known names closest to ``name`` (difflib), case-insensitive first."""
    lower = {k.lower(): k for k in known}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.6)
    return [lower[h] for h in hits]


def parse_expression(text: str, *, variables: Mapping[str, sp.Symbol] | Sequence[str] = ("x",),
                     functions: Mapping[str, Function] = ACTIVATION_FUNCTIONS,
                     constants: Mapping[str, sp.Expr] = CONSTANTS, what: str = "expression",
                     expected: str = "a valid expression", fix: str | None = None,
                     max_length: int = MAX_LENGTH, max_depth: int = MAX_DEPTH,
                     max_calls: int = MAX_CALL_DEPTH) -> sp.Expr:
    """Parse ``text`` into a sympy expression without evaluating any code.

    ``variables`` maps the allowed names to their symbols (a sequence of names makes plain
    ``sympy.Symbol`` s); a variable shadows a function or constant of the same name, so a
    parameter called ``beta`` or ``gamma`` is the symbol. ``what`` names the input in errors
    (``"--alpha"``, ``"activation"``), ``expected`` says what it should be and ``fix`` how
    to write it. Raises :class:`ParseError` (a ValueError) for anything outside the grammar.
    """
    if isinstance(variables, Mapping):
        symbols = dict(variables)
    else:
        symbols = {name: sp.Symbol(name) for name in variables}
    known = sorted(set(symbols) | set(functions) | set(constants))
    hint = fix or (f"write an expression of {', '.join(sorted(symbols)) or 'numbers'} with "
                   f"+ - * / ** and {', '.join(sorted(functions)) or 'no functions'}")

    def fail(reason: str, column: int | None = None, fix_: str | None = None) -> ParseError:
        return ParseError(what, text, reason, column, fix_ or hint, expected)

    if not isinstance(text, str):
        raise fail(f"got a {type(text).__name__}, not text")
    if len(text) > max_length:
        raise fail(f"{len(text)} characters, more than the limit of {max_length}", None,
                   "write a shorter expression (factor repeated terms)")
    if not text.strip():
        raise fail("it is empty")
    source = text.replace("^", "**")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        at = exc.offset + len(source) - len(source.lstrip()) if exc.offset else None
        raise fail(f"syntax error ({exc.msg})", at) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise fail(f"cannot be read ({type(exc).__name__})") from None
    stripped = source.strip()
    lead = len(source) - len(source.lstrip())

    def column(node: ast.AST) -> int | None:
        offset = getattr(node, "col_offset", None)
        return None if offset is None else offset + lead + 1

    def number(value: object, node: ast.AST) -> sp.Expr:
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "a string" if isinstance(value, str | bytes) else type(value).__name__
            raise fail(f"{kind} ({shorten(repr(value), 20)}) is not allowed: only real numbers",
                       column(node))
        if isinstance(value, int):
            if value.bit_length() > MAX_BITS:
                raise fail(f"the integer {shorten(str(value), 20)} is too large", column(node))
            return sp.Integer(value)
        if not math.isfinite(value):
            raise fail(f"the number {ast.get_source_segment(stripped, node)} is not finite "
                       "(it overflows a float)", column(node),
                       fix or "give a finite number below 1e300 in absolute value")
        literal = ast.get_source_segment(stripped, node) or repr(value)
        exact = Fraction(literal.replace("_", ""))
        return sp.Rational(exact.numerator, exact.denominator)

    def size_bits(expr: sp.Expr) -> int:
        if isinstance(expr, sp.Rational):
            return max(abs(expr.p).bit_length(), expr.q.bit_length())
        return 0

    def power(base: sp.Expr, exponent: sp.Expr, node: ast.AST) -> sp.Expr:
        if exponent.is_number:
            if not exponent.is_Rational:
                raise fail(f"the power exponent {shorten(str(exponent), 20)} is not a rational "
                           "number", column(node))
            if abs(exponent) > MAX_EXPONENT:
                raise fail(f"the power exponent {shorten(str(exponent), 20)} is larger than "
                           f"{MAX_EXPONENT} in absolute value", column(node))
            if size_bits(base) * abs(exponent) > MAX_BITS:
                raise fail(f"{shorten(str(base), 20)}**{exponent} is too large", column(node))
        return sp.Pow(base, exponent)

    def build(node: ast.AST, depth: int, calls: int = 0) -> sp.Expr:
        if depth > max_depth:
            raise fail(f"nested more than {max_depth} levels deep", column(node),
                       "write a less deeply nested expression")
        if isinstance(node, ast.Expression):
            return build(node.body, depth + 1, calls)
        if isinstance(node, ast.Constant):
            return number(node.value, node)
        if isinstance(node, ast.Name):
            return name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = build(node.operand, depth + 1, calls)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            if op is ast.Pow:
                return power(build(node.left, depth + 1, calls),
                             build(node.right, depth + 1, calls), node)
            if op in _OPERATORS:
                # a chain a + b + c nests to the left: its length is not nesting
                left = build(node.left, depth, calls)
                right = build(node.right, depth + 1, calls)
                if max(size_bits(left), size_bits(right)) > MAX_BITS:
                    raise fail("a number in it is too large", column(node))
                return _OPERATORS[op](left, right)
            raise fail(f"the operator {_op_text(node.op)} is not allowed", column(node),
                       "use only + - * / ** (or ^)")
        if isinstance(node, ast.Call):
            return call(node, depth, calls)
        if isinstance(node, ast.UnaryOp):
            raise fail(f"the operator {_op_text(node.op)} is not allowed", column(node))
        label = _REFUSED.get(type(node), type(node).__name__)
        raise fail(f"{label} is not allowed", column(node))

    def name(node: ast.Name) -> sp.Expr:
        ident = node.id
        if ident.startswith("_"):
            raise fail(f"the name {ident!r} is not allowed (names starting with '_' never are)",
                       column(node))
        if ident in symbols:
            return symbols[ident]
        if ident in constants:
            return constants[ident]
        if ident in _NON_FINITE:
            raise fail(f"{ident!r} is not a finite number", column(node),
                       fix or "give a finite number")
        if ident in functions:
            raise fail(f"{ident!r} is a function", column(node), f"call it, e.g. {ident}(x)")
        return unknown(ident, node)

    def unknown(ident: str, node: ast.AST) -> sp.Expr:
        near = closest(ident, known)
        suggestion = f" (closest: {', '.join(near)})" if near else ""
        listed = f"use only the known names {', '.join(known)}" if known and not fix else None
        raise fail(f"unknown name {ident!r}{suggestion}", column(node), listed)

    def call(node: ast.Call, depth: int, calls: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            inner = _REFUSED.get(type(node.func), "calling an expression")
            raise fail(f"{inner} is not allowed", column(node.func))
        ident = node.func.id
        if ident.startswith("_"):
            raise fail(f"the name {ident!r} is not allowed (names starting with '_' never are)",
                       column(node))
        if ident not in functions:
            if ident in symbols or ident in constants:
                raise fail(f"{ident!r} is not a function", column(node),
                           f"write a product with '*', e.g. {ident}*(...)")
            return unknown(ident, node.func)
        if node.keywords:
            raise fail(f"keyword arguments to {ident}() are not allowed", column(node),
                       f"pass the arguments of {ident}() by position")
        builder, least, most = functions[ident]
        if not least <= len(node.args) <= most:
            count = str(least) if least == most else f"{least} to {most}"
            raise fail(f"{ident}() takes {count} argument(s), got {len(node.args)}",
                       column(node))
        if calls + 1 > max_calls:
            raise fail(f"function calls nested more than {max_calls} deep ({ident}(...) inside "
                       f"{calls} others); exact derivation time grows exponentially with it",
                       column(node), "write a less deeply nested expression")
        args = [build(a, depth + 1, calls + 1) for a in node.args]
        return builder(*args)

    try:
        result = build(tree, 0)
    except RecursionError:
        raise fail("nested too deeply", None, "write a less deeply nested expression") from None
    if result.has(sp.I):
        raise fail(f"it has a non-real value ({shorten(str(result), 30)}), e.g. the root of a "
                   "negative number")
    if result.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise fail(f"it evaluates to a non-finite value ({shorten(str(result), 30)}), e.g. a "
                   "division by zero")
    return result


def _op_text(op: ast.AST) -> str:
    texts = {ast.Mod: "'%'", ast.FloorDiv: "'//'", ast.MatMult: "'@'", ast.LShift: "'<<'",
             ast.RShift: "'>>'", ast.BitOr: "'|'", ast.BitAnd: "'&'", ast.BitXor: "'^'",
             ast.Invert: "'~'", ast.Not: "'not'"}
    return texts.get(type(op), type(op).__name__)


def parse_number(text: str, name: str, *, low: float | None = None, high: float | None = None,
                 example: str = "1/2") -> sp.Rational:
    """An exact rational number from text such as ``"1/2"``, ``"0.25"``, ``"-1"`` or ``"2**-3"``.

    ``name`` names the input in errors (``"--alpha"``); ``low``/``high`` bound it (inclusive).
    Raises :class:`ParseError` for anything that is not a finite rational number in range.
    """
    fix = f"write a finite number such as {example}, 0.25 or 1"
    expected = "a number"
    value = parse_expression(text, variables=(), functions={}, constants={}, what=name,
                             expected=expected, fix=fix)
    if not value.is_Rational:
        raise ParseError(name, text, f"it is {shorten(str(value), 30)}, not a rational number",
                         None, fix, expected)
    for bound, ok in ((low, low is None or value >= low), (high, high is None or value <= high)):
        if not ok:
            side = ">=" if bound == low else "<="
            raise ParseError(name, text, f"it is {float(value):.6g}; it must be {side} "
                             f"{bound:g}", None, fix, expected)
    return value


def as_expression(value: object, **kwargs: object) -> sp.Expr:
    """``value`` as a sympy expression: text goes through :func:`parse_expression` (with
    ``kwargs``); sympy objects and Python numbers are converted with
    ``sympify(strict=True)``, which refuses text. Raises ParseError or sympy.SympifyError."""
    if isinstance(value, str):
        return parse_expression(value, **kwargs)
    return sp.sympify(value, strict=True)


class _Expired(BaseException):
    """Raised by the alarm: a BaseException, so that sympy's ``except Exception`` blocks do
    not swallow it; :func:`time_limit` turns it into a DerivationTimeout."""

    def __init__(self, token: object) -> None:
        super().__init__()
        self.token = token


@contextmanager
def time_limit(seconds: float = DERIVATION_SECONDS, what: str = "the derivation") -> Iterator[None]:
    """Raise :class:`DerivationTimeout` in the block when it runs longer than ``seconds``.

    Uses ``SIGALRM`` (an interval timer that fires again every 0.25 s until the block has
    stopped, should code in it swallow the first alarm), so it works in the main thread of a
    POSIX process; elsewhere (other threads, Windows) the block runs unbounded. A nested limit
    keeps the earlier deadline of the two, and the outer timer is restored on exit.
    """
    usable = (hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return
    previous_remaining, previous_interval = signal.getitimer(signal.ITIMER_REAL)
    if previous_remaining and previous_remaining < seconds:
        yield  # an outer limit fires first
        return
    token = object()

    def on_alarm(signum: int, frame: object) -> None:
        raise _Expired(token)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)
    try:
        yield
    except _Expired as exc:
        if exc.token is not token:
            raise
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise DerivationTimeout(
            f"{what} took longer than {seconds:g} s and was stopped; the expression is too "
            "complex for exact derivation. Fix: write a simpler expression (fewer terms, "
            "less nesting) or allow more time (resnet-limits derive/map --time-limit SECONDS)"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if previous_remaining:  # the outer timer, less the time spent here
            left = previous_remaining - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), previous_interval)
