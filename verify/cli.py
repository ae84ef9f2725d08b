"""The ``resnet-limits`` command line.

    resnet-limits regimes [--latex]            every registered regime and its derived limit
    resnet-limits derive SIGMA --block I --alpha A [--beta B | --iid ...]   one derivation

Bad input (unknown regime, unparsable activation, malformed exponents) prints one line on
stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

import sympy as sp

from theory.activations import ActivationError, activation
from theory.limits import derive_limit
from theory.scaling import Block, Rough, Scaling, Smooth, WeightLaw


def _law(smooth: str | None, rough: str | None, variance: str) -> WeightLaw | None:
    if smooth is None and rough is None:
        return None
    return WeightLaw(
        Smooth(sp.sympify(smooth)) if smooth is not None else None,
        Rough(sp.sympify(rough), sp.sympify(variance)) if rough is not None else None,
    )


def _cmd_regimes(args: argparse.Namespace) -> int:
    from theory.regimes import get, registry

    regimes = [get(n) for n in args.names] if args.names else list(registry().values())
    for regime in regimes:
        print(f"{regime.name} [{regime.status}] block {regime.block.value}: {regime.claim}")
        print(f"  source: {regime.source}")
        if regime.parameters:
            doms = ", ".join(f"{k} in {v.interval()}" for k, v in regime.parameters.items())
            print(f"  parameters: {doms}")
        for name in regime.activations:
            limit = regime.limit(name)
            ok = "" if limit.kind == regime.claimed_kind else (
                f"  <-- derivation says {limit.kind}, regime claims {regime.claimed_kind}")
            equation = limit.latex() if args.latex else limit.equation()
            print(f"  sigma = {name}: [{limit.kind}] {equation}{ok}")
            for rate in limit.rates:
                print(f"    {rate.describe()}")
        print()
    return 0


def _cmd_derive(args: argparse.Namespace) -> int:
    block = Block.parse(args.block)
    inner = _law(args.inner_smooth, args.inner_rough, args.variance)
    outer = _law(args.outer_smooth, args.outer_rough, args.variance)
    if block is Block.I and inner is None:
        inner = WeightLaw.smooth_path(0)
    scaling = Scaling(sp.sympify(args.alpha), inner=inner if block is not Block.S else None,
                      outer=outer, bias=args.bias)
    limit = derive_limit(block, activation(args.sigma), scaling)
    print(limit.activation.describe())
    print(limit.summary())
    if args.latex:
        print(limit.latex())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resnet-limits", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("regimes", help="list registered regimes with their derived limits")
    p.add_argument("names", nargs="*", help="only these regimes")
    p.add_argument("--latex", action="store_true", help="print equations as LaTeX")
    p.set_defaults(func=_cmd_regimes)
    p = sub.add_parser("derive", help="derive the limit of one ResNet family")
    p.add_argument("sigma", help="activation: a library name or an expression, e.g. 'tanh(x)'")
    p.add_argument("--block", default="I", help="I, O or S")
    p.add_argument("--alpha", required=True, help="residual exponent, delta = L^-alpha")
    p.add_argument("--inner-smooth", help="beta of the smooth part of A (block I) or W (O)")
    p.add_argument("--inner-rough", help="beta of the rough part of A or W (1/2: Brownian)")
    p.add_argument("--outer-smooth", help="beta of the smooth part of V (blocks O, S)")
    p.add_argument("--outer-rough", help="beta of the rough part of V (blocks O, S)")
    p.add_argument("--variance", default="1/d", help="entry variance of rough parts")
    p.add_argument("--bias", action="store_true", help="block I with a smooth bias")
    p.add_argument("--latex", action="store_true")
    p.set_defaults(func=_cmd_derive)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ActivationError, ValueError, KeyError, sp.SympifyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"resnet-limits {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
