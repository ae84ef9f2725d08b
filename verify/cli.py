"""The ``resnet-limits`` command line.

    resnet-limits regimes [--latex]            every registered regime and its derived limit
    resnet-limits derive SIGMA --block I --alpha A [--beta B | --iid ...]   one derivation
    resnet-limits verify [--profile P] [--regime R ...] [--ledger PATH] [-n N] [-- PYTEST ARGS]
                                               run the claim tests, write the ledger
    resnet-limits report [LEDGER] [--out DIR] [--baseline LEDGER] [--format html,md]
                                               render a ledger (HTML + Markdown, never re-runs)
    resnet-limits compare BASELINE CURRENT     which regimes' verdicts changed (exit 1 if any)
    resnet-limits map [--out PNG] [--alphas 0:1.3:70] [--hursts 0.05:0.97:51] ...
                                               the regime map heatmap (BENCHMARKS B2)

Bad input (unknown regime, unparsable activation, malformed exponents, unreadable or
other-schema ledger) prints one line on stderr, writes nothing and exits with status 2.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import sympy as sp

from theory.activations import ActivationError, activation
from theory.limits import derive_limit
from theory.scaling import Block, Rough, Scaling, Smooth, WeightLaw
from verify.ledger import LedgerError

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this package runs from (holds ``tests/properties`` and ``reports/``)."""


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


def _runs_dir() -> Path:
    """Where ledgers go by default: ``reports/runs`` of the checkout (else of the cwd)."""
    base = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()
    return base / "reports" / "runs"


def _check_regimes(names: list[str]) -> None:
    from theory.regimes import get

    for name in names:
        get(name)  # KeyError: "unknown regime 'R99'; known: ..."


#: ``verify.plugin.LEDGER_ENV`` and ``verify.profiles.PROFILES``, repeated here: importing the
#: plugin (or hypothesis) before ``pytest.main`` would stop pytest from rewriting its asserts
#: (a PytestAssertRewriteWarning, an error under this project's filterwarnings). A test checks
#: that both agree with their sources.
LEDGER_ENV = "RESNET_LIMITS_LEDGER"
PROFILE_NAMES = ("ci", "dev", "thorough")


def _cmd_verify(args: argparse.Namespace) -> int:
    import os

    import pytest

    tests = REPO_ROOT / "tests" / "properties"
    if not tests.is_dir():
        raise ValueError(f"no claim tests at {tests}; run `resnet-limits verify` from a "
                         "checkout of resnet-limits (pip install -e .)")
    _check_regimes(args.regime)
    argv = [str(tests)]
    if args.profile:
        argv += ["--profile", args.profile]
    if args.ledger:
        ledger = Path(args.ledger)
        if ledger.suffix != ".json":
            raise ValueError(f"--ledger={args.ledger!r} must end in .json (the final ledger)")
        argv += ["--ledger", str(ledger.resolve())]
    for name in args.regime:
        argv += ["--regime", name]
    if args.workers is not None:
        argv += ["-n", args.workers]
    argv += list(args.pytest_args)
    print(f"resnet-limits verify: pytest {shlex.join(argv)}", flush=True)
    os.environ.pop(LEDGER_ENV, None)  # the plugin sets it to this run's ledger path
    code = int(pytest.main(argv))
    written = os.environ.get(LEDGER_ENV)
    if written and Path(written).is_file():
        print(f"render it: resnet-limits report {shlex.quote(written)}")
    return code


def _latest_ledger() -> Path:
    runs = _runs_dir()
    found = sorted((p for p in runs.glob("*.json") if p.is_file()),
                   key=lambda p: p.stat().st_mtime) if runs.is_dir() else []
    if not found:
        raise ValueError(f"no ledger given and none in {runs}; run `resnet-limits verify` "
                         "first or pass a ledger path")
    return found[-1]


def _cmd_report(args: argparse.Namespace) -> int:
    from verify.report import FORMATS, write_report

    ledger = Path(args.ledger) if args.ledger else _latest_ledger()
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        raise ValueError(f"--format={args.format!r}: use html, md or html,md")
    _check_regimes(args.regime)
    out = Path(args.out) if args.out else _runs_dir().parent / ledger.stem
    command = "resnet-limits report " + shlex.join(
        [str(ledger), "--out", str(out)] + (["--baseline", args.baseline] if args.baseline
                                            else []))
    written = write_report(ledger, out, baseline=args.baseline, formats=formats,
                           regimes=args.regime or None, command=command)
    for path in written:
        if path.suffix != ".png":
            print(path)
    print(f"{sum(p.suffix == '.png' for p in written)} figure(s) in {out / 'figures'}"
          if "md" in formats else "figures embedded in the HTML page")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from verify.compare import compare_ledgers, format_comparison

    changes = compare_ledgers(args.baseline, args.current)
    print(format_comparison(changes, args.baseline, args.current))
    return 1 if any(c.changed for c in changes) else 0


def _grid_values(text: str, name: str) -> tuple[float, ...]:
    """``START:STOP:N`` (N evenly spaced points, ends included) or a comma list."""
    import numpy as np

    try:
        if ":" in text:
            start, stop, n = text.split(":")
            if int(n) < 1:
                raise ValueError
            return tuple(float(v) for v in np.linspace(float(start), float(stop), int(n)))
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--{name}={text!r} is not START:STOP:N or a comma list of numbers; "
                         f"write e.g. 0:1.3:70 or 0.25,0.5,0.75") from None
    if not values:
        raise ValueError(f"--{name}={text!r} is empty; write e.g. 0:1.3:70")
    return values


def _cmd_map(args: argparse.Namespace) -> int:
    import time

    from verify.regime_map import MapGrid, compute_map, save_map

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out={args.out!r} must end in .png, e.g. reports/regime_map.png")
    activation(args.activation)  # ActivationError before any work
    grid = MapGrid(alphas=_grid_values(args.alphas, "alphas"),
                   hursts=_grid_values(args.hursts, "hursts") if args.hursts else (),
                   include_iid=not args.no_iid, include_smooth=not args.no_smooth,
                   depth=args.depth, width=args.width, n_draws=args.draws,
                   n_inputs=args.inputs, activation=args.activation, seed=args.seed,
                   dtype=args.dtype)
    rows = len(grid.rows())
    print(f"regime map: {rows} rows x {len(grid.alphas)} exponents, depth {grid.depth}, "
          f"width {grid.width}, {grid.n_draws} x {grid.n_inputs} samples per cell", flush=True)
    t0 = time.perf_counter()
    rmap = compute_map(grid, threads=args.threads,
                       progress=None if args.quiet else lambda line: print(line, flush=True))
    png, data = save_map(rmap, out)
    print(f"{png}\n{data}\ncomputed in {rmap.wall_time_s:.1f} s on {rmap.threads} thread(s); "
          f"total {time.perf_counter() - t0:.1f} s")
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

    p = sub.add_parser("verify", help="run the claim tests (tests/properties), write the ledger")
    p.add_argument("--profile", choices=PROFILE_NAMES, default=None,
                   help="budget and Hypothesis settings (default: $RESNET_LIMITS_PROFILE, CI, "
                        "dev)")
    p.add_argument("--regime", action="append", default=[], metavar="NAME",
                   help="verify only this regime (repeatable)")
    p.add_argument("--ledger", help="ledger path (default reports/runs/<time>-<profile>.json)")
    p.add_argument("-n", "--workers", metavar="N",
                   help="pytest-xdist workers (a number or 'auto'); default: one process")
    p.add_argument("pytest_args", nargs="*", metavar="-- PYTEST ARGS",
                   help="further pytest arguments, after --")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("report", help="render a ledger as HTML and Markdown (never re-runs)")
    p.add_argument("ledger", nargs="?", help="ledger (default: the newest in reports/runs)")
    p.add_argument("--out", help="output folder (default reports/<ledger name>/)")
    p.add_argument("--baseline", help="a second ledger to compare with (flags changed regimes)")
    p.add_argument("--format", default="html,md", help="html, md or html,md (default)")
    p.add_argument("--regime", action="append", default=[], metavar="NAME",
                   help="only this regime (repeatable)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("compare", help="which regimes' verdicts changed between two ledgers "
                                       "(exit 1 if any)")
    p.add_argument("baseline", help="the earlier ledger")
    p.add_argument("current", help="the later ledger")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("map", help="regime map heatmap: exponent x weight regularity (B2)")
    p.add_argument("--out", default=str(Path("reports") / "regime_map.png"),
                   help="PNG path; the numbers go beside it as .json")
    p.add_argument("--alphas", default="0:1.3:70", help="residual exponents: START:STOP:N or "
                                                        "a comma list")
    p.add_argument("--hursts", default="0.05:0.97:51", help="Hurst indices of the fBm rows "
                                                            "('' for none)")
    p.add_argument("--no-iid", action="store_true", help="leave out the i.i.d. row")
    p.add_argument("--no-smooth", action="store_true", help="leave out the smooth row")
    p.add_argument("--depth", type=int, default=1000)
    p.add_argument("--width", type=int, default=40)
    p.add_argument("--draws", type=int, default=5, help="weight draws per cell")
    p.add_argument("--inputs", type=int, default=10, help="inputs per weight draw")
    p.add_argument("--activation", default="relu", help="library name or expression in x")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: on a small shared CPU, more threads wait on "
                        "each other at every layer)")
    p.add_argument("--quiet", action="store_true", help="no per-row progress lines")
    p.set_defaults(func=_cmd_map)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ActivationError, ValueError, KeyError, sp.SympifyError, LedgerError,
            OSError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        line = " ".join(str(message).split())
        print(f"resnet-limits {args.command}: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
