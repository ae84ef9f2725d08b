"""sympy -> torch: the formula derived is the formula simulated.

:func:`to_torch` prints an expression with sympy's torch printer (sympy >= 1.14) and returns a
callable on tensors. Numeric constants are folded to floats first (``torch.sqrt(2)`` is not
defined on Python numbers), quadrature-backed Gaussian expectations
(:mod:`theory.gaussian`) call their own implementation, and a constant result is broadcast to
the shape of the first argument. Results are cached on (expression, arguments).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import sympy as sp


@lru_cache(maxsize=1)
def _printer_class() -> type:
    """The torch printer, plus calls of implemented functions by name (imported lazily:
    theory/ itself needs no torch)."""
    from sympy.printing.pytorch import TorchPrinter

    class Printer(TorchPrinter):
        def _print_Function(self, expr):
            if hasattr(expr, "_imp_"):
                args = ", ".join(self._print(a) for a in expr.args)
                return f"{expr.func.__name__}({args})"
            return super()._print_Function(expr)

        _print_Application = _print_Function

    return Printer


def _fold_constants(expr: sp.Expr) -> sp.Expr:
    """Replace every constant sub-expression (sqrt(2), pi, Rational) by a Float."""
    return expr.xreplace(
        {
            sub: sp.Float(sub.evalf(17), 17)
            for sub in sp.preorder_traversal(expr)
            if isinstance(sub, sp.Expr) and sub.is_number and not sub.is_Float
            and not sub.is_Integer
        }
    )


@lru_cache(maxsize=1024)
def _compile(expr: sp.Expr, args: tuple[sp.Symbol, ...]) -> Callable:
    folded = _fold_constants(sp.sympify(expr, strict=True))  # built by the suite, not text
    fn = sp.lambdify(args, folded, modules="torch", printer=_printer_class()())
    if folded.free_symbols:
        return fn
    import torch

    def constant(*values):
        return torch.full_like(values[0], float(folded)) if values else float(folded)

    return constant


def to_torch(expr: sp.Expr, args: Sequence[sp.Symbol]) -> Callable:
    """A torch function of ``args`` (tensors broadcast together) computing ``expr``.

    Raises ValueError naming the symbols of ``expr`` that are not among ``args``.
    """
    expr = sp.sympify(expr)
    args = tuple(args)
    missing = expr.free_symbols - set(args)
    if missing:
        raise ValueError(
            f"to_torch: expression {expr} has symbols {sorted(map(str, missing))} that are not "
            f"arguments {list(map(str, args))}; substitute them or add them to args"
        )
    return _compile(expr, args)
