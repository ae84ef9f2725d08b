"""The ``resnet-limits`` command line.

    resnet-limits regimes [--latex]            every registered regime and its derived limit
    resnet-limits derive SIGMA --block I --alpha A [--beta B | --iid ...]   one derivation
    resnet-limits verify [--profile P] [--regime R ...] [--ledger PATH] [-n N] [-- PYTEST ARGS]
                                               run the claim tests, write the ledger
    resnet-limits report [LEDGER] [--out DIR] [--baseline LEDGER] [--format html,md]
                                               render a ledger (HTML + Markdown, never re-runs)
    resnet-limits compare BASELINE CURRENT     which regimes' verdicts changed (exit 1 if any)
    resnet-limits runs [recover [PARTIAL-OR-STEM] | prune --keep N [--older-than DAYS]]
                                               list runs with their state; recover; prune
    resnet-limits map [--out PNG] [--alphas 0:1.3:70] [--hursts 0.05:0.97:51] ...
                                               the regime map heatmap (BENCHMARKS B2)
    resnet-limits power [--claim ID ...] [--seeds N] [--profile P] [--ledger PATH]
                        [--executor inline|process:N|dask-local:N] [--scheduler ADDRESS]
                                               false alarms and power (a resumable sweep)

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
from theory.parse import DERIVATION_SECONDS, parse_expression, parse_number, shorten, time_limit
from theory.scaling import Block, Rough, Scaling, Smooth, WeightLaw, d
from verify.cli_ledgers import check_regimes
from verify.ledger import LedgerError

MAX_CLI_EXPONENT = 10**6
"""Largest |exponent| accepted from the command line (``--alpha``, ``--inner-rough``...)."""

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this package runs from (holds ``tests/properties`` and ``reports/``)."""


def _number(text: str, flag: str) -> sp.Rational:
    """A command-line exponent as an exact number (:func:`theory.parse.parse_number`: a
    grammar, never ``sympify``); a ParseError (ValueError) names the flag and the fix."""
    return parse_number(text, flag, low=-MAX_CLI_EXPONENT, high=MAX_CLI_EXPONENT)


def _variance(text: str) -> sp.Expr:
    """``--variance``: an expression in the width d, parsed safely."""
    return parse_expression(text, variables={"d": d}, functions={}, what="--variance",
                            expected="an entry variance",
                            fix="give a positive expression in the width d, e.g. 1/d or 2/d")


def _law(smooth: str | None, rough: str | None, variance: str,
         side: str = "inner") -> WeightLaw | None:
    """The weight law of ``--{side}-smooth``, ``--{side}-rough`` and ``--variance``."""
    if smooth is None and rough is None:
        return None
    return WeightLaw(
        Smooth(_number(smooth, f"--{side}-smooth")) if smooth is not None else None,
        Rough(_number(rough, f"--{side}-rough"), _variance(variance)) if rough is not None
        else None,
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
        if regime.protocol is not None:
            label = "trained" if regime.training is not None else "large time"
            print(f"  {label}: {regime.protocol.describe()}")
            for claim in regime.claims:
                print(f"    {regime.claim_id(claim)}: {claim.predicts}")
            print()
            continue
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
    inner = _law(args.inner_smooth, args.inner_rough, args.variance, "inner")
    outer = _law(args.outer_smooth, args.outer_rough, args.variance, "outer")
    if block is Block.I and inner is None:
        inner = WeightLaw.smooth_path(0)
    scaling = Scaling(_number(args.alpha, "--alpha"),
                      inner=inner if block is not Block.S else None, outer=outer, bias=args.bias)
    what = f"deriving the limit of sigma={shorten(args.sigma)!r}"
    with time_limit(_seconds(args.time_limit), what):
        limit = derive_limit(block, activation(args.sigma), scaling)
        lines = [limit.activation.describe(), limit.summary()]
        if args.latex:
            lines.append(limit.latex())
    print("\n".join(lines))
    return 0


def _runs_dir() -> Path:
    """Where ledgers go by default: ``reports/runs`` of the checkout (else of the cwd)."""
    base = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()
    return base / "reports" / "runs"


LEDGER_ENV = "RESNET_LIMITS_LEDGER"
"""``verify.plugin.LEDGER_ENV``, repeated: the CLI never imports the plugin (pytest runs in a
child process, which imports it fresh so that its asserts can be rewritten); a test checks
that both agree."""
PROFILE_NAMES = ("ci", "dev", "thorough")


def _cmd_verify(args: argparse.Namespace) -> int:
    import json
    import os
    import signal
    import subprocess

    from verify.ledger import load_ledger
    from verify.ledger_writer import ensure_writable
    from verify.render.outcomes import summary_json

    check_regimes(args.regime)
    profile = args.profile
    if args.ledger:
        ledger = Path(args.ledger).resolve()
        if ledger.suffix != ".json":
            raise ValueError(f"--ledger={args.ledger!r} must end in .json (the final ledger)")
    else:
        import datetime as _dt

        from verify.profiles import resolve_profile

        profile = resolve_profile(profile)
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        ledger = _runs_dir() / f"{stamp}-{profile}.json"
    ensure_writable(ledger)
    argv = [sys.executable, "-m", "pytest", "--pyargs", "verify.claim_tests",
            "-p", "verify.plugin", "--limits-ledger", str(ledger)]
    if profile:
        argv += ["--limits-profile", profile]
    for name in args.regime:
        argv += ["--limits-regime", name]
    if args.workers is not None:
        argv += ["-n", args.workers]
    argv += list(args.pytest_args)
    print(f"resnet-limits verify: {shlex.join(argv)}", flush=True)
    env = dict(os.environ)
    env.pop(LEDGER_ENV, None)  # the plugin sets it to this run's ledger path
    child = subprocess.Popen(argv, env=env)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child gets Ctrl-C itself
    try:
        code = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    if not ledger.is_file():
        print(f"resnet-limits verify: no ledger written at {ledger} (no claim test ran); "
              f"`resnet-limits runs` lists partial runs", file=sys.stderr)
        return code or 1
    summary = summary_json(load_ledger(ledger))
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    refuted = [r["regime"] for r in summary.get("regimes", [])
               if r.get("outcome") == "refuted"]
    if refuted and code == 0:
        print(f"resnet-limits verify: conjectures refuted: {', '.join(refuted)} (a finding, "
              "not a failure: exit 0); their counterexamples are in the summary above")
    print(f"render it: resnet-limits report {shlex.quote(str(ledger))}")
    return code


def _parse_set(items: list[str]) -> dict[str, float]:
    import math

    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not sep or not name.isidentifier() or not math.isfinite(value):
            raise ValueError(f"--set {item!r}: write NAME=NUMBER with a finite number, "
                             "e.g. --set beta=0.2")
        values[name] = value
    return values


def _cmd_check(args: argparse.Namespace) -> int:
    import json

    from theory.regimes import get
    from verify.check import check
    from verify.profiles import get_profile, resolve_profile

    regime_name, sep, quantity = args.claim.rpartition("/")
    if not sep:
        raise ValueError(f"claim={args.claim!r}: write REGIME/QUANTITY, e.g. R5/strong")
    regime = get(regime_name)
    claim = regime.get_claim(quantity)
    profile = get_profile(resolve_profile(args.profile))
    instance = regime.at(sigma=args.sigma, width=args.width, bias=args.bias,
                         **_parse_set(args.set))
    records = check(instance, claim, profile.budget, seed=args.seed, profile=profile.name,
                    retest=args.retest)
    for rec in records:
        if args.json:
            print(json.dumps(rec.to_json(), sort_keys=True))
            continue
        word = "ok" if rec.met else "MISSED"
        print(f"{word:6} {rec.claim} [{rec.role}] {rec.verdict.get('status')} "
              f"({rec.prediction.get('text')}; estimate {rec.verdict.get('estimate')})")
        if not rec.met:
            print("       " + rec.explain().replace("\n", "\n       "))
    return 0 if all(r.met for r in records) else 1



def _cmd_power(args: argparse.Namespace) -> int:
    from verify.power import run_cli

    return run_cli(args, _runs_dir())


def _version() -> str:
    """The installed distribution's version (``unknown`` when not installed)."""
    from importlib import metadata

    try:
        return metadata.version("resnet-limits")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _seconds(text: str) -> float:
    """``--time-limit``: seconds, parsed as a number (never code)."""
    return float(parse_number(text, "--time-limit", low=0.001, high=86400, example="30"))


def _time_limit_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--time-limit", default=f"{DERIVATION_SECONDS:g}", metavar="SECONDS",
                   help=f"stop the exact derivation after this long (default "
                        f"{DERIVATION_SECONDS:g}); complex expressions can take minutes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resnet-limits", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"resnet-limits {_version()}")
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
    _time_limit_option(p)
    p.set_defaults(func=_cmd_derive)

    p = sub.add_parser("check", help="check one claim on one instance (the replay command)")
    p.add_argument("claim", help="claim id REGIME/QUANTITY, e.g. R5/strong")
    p.add_argument("--sigma", required=True, help="activation: a library name or expression")
    p.add_argument("--width", type=int, required=True, help="width d")
    p.add_argument("--bias", action=argparse.BooleanOptionalAction, default=None,
                   help="bias on/off (where the regime allows both)")
    p.add_argument("--seed", type=int, required=True, help="the simulation's seed")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter value, e.g. --set beta=0.2 (repeatable)")
    p.add_argument("--profile", choices=PROFILE_NAMES, default=None, help="budget")
    p.add_argument("--retest", choices=("on-failure", "always", "never"), default="on-failure",
                   help="the retest rule (default on-failure, as the claim tests run it)")
    p.add_argument("--json", action="store_true", help="print the records as JSON lines")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("verify", help="run the claim tests (verify.claim_tests), write the "
                                      "ledger")
    p.add_argument("--profile", choices=PROFILE_NAMES, default=None,
                   help="budget and Hypothesis settings (default: $RESNET_LIMITS_PROFILE, CI, "
                        "dev)")
    p.add_argument("--regime", action="append", default=[], metavar="NAME",
                   help="verify only this regime (repeatable)")
    p.add_argument("--ledger", help="ledger path (default reports/runs/<time>-<profile>.json)")
    p.add_argument("-n", "--workers", metavar="N",
                   help="pytest-xdist workers (a number or 'auto'); default: one process")
    p.add_argument("--json", action="store_true",
                   help="print a machine-readable summary (JSON) at the end")
    p.add_argument("pytest_args", nargs="*", metavar="-- PYTEST ARGS",
                   help="further pytest arguments, after --")
    p.set_defaults(func=_cmd_verify)

    from verify import cli_ledgers, cli_map

    cli_ledgers.add_commands(sub, lambda: _runs_dir())  # looked up when run (tests patch it)
    p = sub.add_parser("map", help="regime map heatmap: exponent x weight regularity (B2)")
    cli_map.add_arguments(p)
    _time_limit_option(p)
    p.set_defaults(func=lambda args: cli_map.run(args, _seconds(args.time_limit)))

    from verify.power import add_arguments as power_arguments

    p = sub.add_parser("power", help="false alarms and power of the claim checks: a sweep "
                                     "over seeded instances, resumable from its ledger")
    power_arguments(p)
    p.set_defaults(func=_cmd_power)
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
