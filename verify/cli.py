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
from verify.ledger import LedgerError

MAX_CLI_EXPONENT = 10**6
"""Largest |exponent| accepted from the command line (``--alpha``, ``--inner-rough``...)."""

MAX_GRID_POINTS = 10_000
"""Most points in one ``map`` grid axis (``--alphas``, ``--hursts``)."""

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


def _check_regimes(names: list[str]) -> None:
    from theory.regimes import get

    for name in names:
        get(name)  # KeyError: "unknown regime 'R99'; known: ..."


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

    from verify.ledger import ensure_writable, load_ledger
    from verify.render.outcomes import summary_json

    _check_regimes(args.regime)
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


def _latest_ledger(runs: Path | None = None) -> tuple[Path, list[str]]:
    """The ledger ``report`` renders by default: the newest *complete* final ledger of the
    runs folder (else the newest final one), and warnings about newer incomplete runs."""
    from verify.runs_folder import list_runs

    folder = runs if runs is not None else _runs_dir()
    found = list_runs(folder)
    finals = [r for r in found if r.final is not None]
    if not finals:
        hint = (f"; {len(found)} run(s) have partial files only: `resnet-limits runs recover` "
                "merges the newest into a ledger" if found else "")
        raise ValueError(f"no ledger given and none in {folder}; run `resnet-limits verify` "
                         f"first or pass a ledger path{hint}")
    chosen = next((r for r in finals if r.complete), finals[0])
    warnings = []
    for r in found:
        if r is chosen:
            break
        if r.final is None:
            warnings.append(f"a newer run {r.stem} (created {r.created}) is incomplete: "
                            f"{r.state}, partial files only; `resnet-limits runs recover "
                            f"{r.stem}` makes it a ledger")
        else:
            warnings.append(f"a newer run {r.final} (created {r.created}) is {r.state}; "
                            f"render it with `resnet-limits report {r.final}`")
    return chosen.final, warnings  # type: ignore[return-value]


def _cmd_report(args: argparse.Namespace) -> int:
    import json

    from verify.ledger import load_ledger
    from verify.render.outcomes import summary_json
    from verify.report import FORMATS, build_report, write_report

    say = sys.stderr if args.json else sys.stdout
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        raise ValueError(f"--format={args.format!r}: use html, md or html,md")
    _check_regimes(args.regime)
    warnings: list[str] = []
    if args.ledger:
        ledger = Path(args.ledger)
    else:
        ledger, warnings = _latest_ledger()
    led = load_ledger(ledger)
    out = Path(args.out) if args.out else _runs_dir().parent / ledger.stem.split(".")[0]
    command = "resnet-limits report " + shlex.join(
        [str(ledger), "--out", str(out)] + (["--baseline", args.baseline] if args.baseline
                                            else []))
    report = build_report(led, baseline=args.baseline, regimes=args.regime or None,
                          command=command)
    if not args.ledger:
        print(f"rendering {ledger} (created {led.created})", file=say)
    for line in warnings:
        print(f"resnet-limits report: warning: {line}", file=sys.stderr)
    if not led.complete:
        print(f"resnet-limits report: warning: {led.state.headline()}", file=sys.stderr)
    written = write_report(report, out, formats=formats)
    if args.json:
        print(json.dumps(summary_json(led, ledger=str(ledger), written=[
            str(p) for p in written if p.suffix != ".png"]), indent=2, sort_keys=True))
        return 0
    for path in written:
        if path.suffix != ".png":
            print(path)
    print(f"{sum(p.suffix == '.png' for p in written)} figure(s) in {out / 'figures'}"
          if "md" in formats else "figures embedded in the HTML page")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from verify.compare import compare_ledgers, format_comparison
    from verify.ledger import load_ledger

    base, cur = load_ledger(args.baseline), load_ledger(args.current)
    for name, led in ((args.baseline, base), (args.current, cur)):
        if not led.complete:
            print(f"resnet-limits compare: warning: {name}: {led.state.headline()}",
                  file=sys.stderr)
    changes = compare_ledgers(base, cur)
    print(format_comparison(changes, args.baseline, args.current))
    return 1 if any(c.changed for c in changes) else 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from verify.runs_folder import list_runs, prune_runs, recover_run

    folder = Path(args.dir) if args.dir else _runs_dir()
    if args.action == "recover":
        if len(args.target) > 1:
            raise ValueError("runs recover takes one PARTIAL-OR-STEM at most")
        path = recover_run(folder, args.target[0] if args.target else None)
        from verify.ledger import load_ledger

        print(f"{path}\n{load_ledger(path).state.headline()}")
        return 0
    if args.action == "prune":
        if args.target:
            raise ValueError("runs prune takes no positional argument; use --keep N and/or "
                             "--older-than DAYS")
        doomed = prune_runs(folder, keep=args.keep, older_than_days=args.older_than,
                            dry_run=args.dry_run)
        verb = "would delete" if args.dry_run else "deleted"
        for f in doomed:
            print(f"{verb} {f}")
        print(f"{len(doomed)} file(s) {verb} in {folder}")
        return 0
    if args.action != "list" or args.target:
        raise ValueError(f"runs {args.action!r}: use `runs`, `runs recover [PARTIAL-OR-STEM]` "
                         "or `runs prune --keep N`")
    runs = list_runs(folder)
    print(f"{folder}: {len(runs)} run(s), newest first")
    for r in runs:
        name = r.final.name if r.final is not None else f"{r.stem} (partial files only)"
        regimes = ", ".join(r.regimes) or "-"
        print(f"  {name}  created {r.created}  profile {r.profile}  {r.state}  "
              f"{r.records} record(s)  regimes {regimes}")
    return 0


def _grid_values(text: str, name: str) -> tuple[float, ...]:
    """``START:STOP:N`` (N evenly spaced points, ends included) or a comma list."""
    import math

    import numpy as np

    shown = shorten(text)
    try:
        if ":" in text:
            start, stop, n = text.split(":")
            if not 1 <= int(n) <= MAX_GRID_POINTS:
                raise ValueError(f"--{name}={shown!r}: N={n} must be 1..{MAX_GRID_POINTS}; "
                                 "write e.g. 0:1.3:70")
            values = tuple(float(v) for v in np.linspace(float(start), float(stop), int(n)))
        else:
            values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        if str(exc).startswith(f"--{name}="):
            raise
        raise ValueError(f"--{name}={shown!r} is not START:STOP:N or a comma list of numbers; "
                         f"write e.g. 0:1.3:70 or 0.25,0.5,0.75") from None
    if not values:
        raise ValueError(f"--{name}={shown!r} is empty; write e.g. 0:1.3:70")
    if len(values) > MAX_GRID_POINTS or not all(math.isfinite(v) for v in values):
        raise ValueError(f"--{name}={shown!r} must be at most {MAX_GRID_POINTS} finite numbers "
                         "(no inf or nan); write e.g. 0:1.3:70")
    return values


def _cmd_map(args: argparse.Namespace) -> int:
    import os
    import time

    from verify.regime_map import MapGrid, compute_map, map_rows_store, save_map

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out={args.out!r} must end in .png, e.g. reports/regime_map.png")
    what = f"checking --activation={shorten(args.activation)!r}"
    with time_limit(_seconds(args.time_limit), what):
        activation(args.activation)  # ActivationError before any work
    grid = MapGrid(alphas=_grid_values(args.alphas, "alphas"),
                   hursts=_grid_values(args.hursts, "hursts") if args.hursts else (),
                   include_iid=not args.no_iid, include_smooth=not args.no_smooth,
                   depth=args.depth, width=args.width, n_draws=args.draws,
                   n_inputs=args.inputs, activation=args.activation, seed=args.seed,
                   dtype=args.dtype, block=args.block)
    from verify.executors import ExecutorSpec

    rows = len(grid.rows())
    if args.executor or args.scheduler:
        spec = ExecutorSpec.parse(args.executor, args.scheduler)
    else:
        workers = args.workers or (min(2, os.cpu_count() or 1) if rows >= 8 else 1)
        spec = ExecutorSpec.parse(f"process:{workers}" if workers > 1 else None)
    store = map_rows_store(args.resume) if args.resume else None
    print(f"regime map: {rows} rows x {len(grid.alphas)} exponents, depth {grid.depth}, "
          f"width {grid.width}, {grid.n_draws} x {grid.n_inputs} samples per cell", flush=True)
    t0 = time.perf_counter()
    rmap = compute_map(grid, threads=args.threads, executor=spec, store=store,
                       progress=None if args.quiet else lambda line: print(line, flush=True))
    png, data = save_map(rmap, out)
    print(f"{png}\n{data}\ncomputed in {rmap.wall_time_s:.1f} s on {rmap.threads} thread(s); "
          f"total {time.perf_counter() - t0:.1f} s")
    return 0


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

    p = sub.add_parser("report", help="render a ledger as HTML and Markdown (never re-runs)")
    p.add_argument("ledger", nargs="?", help="ledger (default: the newest in reports/runs)")
    p.add_argument("--out", help="output folder (default reports/<ledger name>/)")
    p.add_argument("--baseline", help="a second ledger to compare with (flags changed regimes)")
    p.add_argument("--format", default="html,md", help="html, md or html,md (default)")
    p.add_argument("--regime", action="append", default=[], metavar="NAME",
                   help="only this regime (repeatable)")
    p.set_defaults(func=_cmd_report)

    p.add_argument("--json", action="store_true",
                   help="print a machine-readable summary (JSON) to stdout; the report is "
                        "still written")

    p = sub.add_parser("runs", help="list runs in reports/runs; recover a killed run; prune")
    p.add_argument("action", nargs="?", default="list", choices=("list", "recover", "prune"),
                   help="list (default), recover [PARTIAL-OR-STEM], prune --keep N")
    p.add_argument("target", nargs="*", metavar="PARTIAL-OR-STEM",
                   help="recover: a partial file or run stem (default: the newest killed run)")
    p.add_argument("--dir", help="runs folder (default reports/runs)")
    p.add_argument("--keep", type=int, help="prune: keep the N newest runs")
    p.add_argument("--older-than", type=float, metavar="DAYS",
                   help="prune: delete runs older than DAYS (file time)")
    p.add_argument("--dry-run", action="store_true", help="prune: only list what would go")
    p.set_defaults(func=_cmd_runs)

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
    p.add_argument("--block", default="S", choices=("S", "O"),
                   help="S: MFBV's res-1 h + L^-alpha V sigma(h); O: their res-3 "
                        "h + L^-alpha V sigma(W h) (their Figure 7)")
    p.add_argument("--workers", type=int, default=None,
                   help="local processes sharing the rows, the same as --executor process:N "
                        "(default: 2 on a machine with 2+ cores for 8 rows or more, else 1)")
    from verify.executors import add_executor_arguments

    add_executor_arguments(p)
    p.add_argument("--resume", metavar="ROWS.jsonl",
                   help="keep each finished row in this file; rerunning with it computes only "
                        "the missing rows")
    p.add_argument("--quiet", action="store_true", help="no per-row progress lines")
    _time_limit_option(p)
    p.set_defaults(func=_cmd_map)

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
