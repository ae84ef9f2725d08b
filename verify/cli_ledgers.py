"""The ledger commands of ``resnet-limits``: ``report`` (render a ledger), ``compare`` (what
changed between two) and ``runs`` (list, recover, prune the runs folder). Registered on the
main parser by :func:`add_commands`; each reads ledgers only and never re-runs numerics.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["add_commands", "compare", "latest_ledger", "report", "runs_command"]


def check_regimes(names: list[str]) -> None:
    """KeyError naming the known regimes for an unknown name."""
    from theory.regimes import get

    for name in names:
        get(name)  # KeyError: "unknown regime 'R99'; known: ..."


def latest_ledger(runs: Path) -> tuple[Path, list[str]]:
    """The ledger ``report`` renders by default: the newest *complete* final ledger of the
    runs folder (else the newest final one), and warnings about newer incomplete runs."""
    from verify.runs_folder import list_runs

    folder = runs
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


def report(args: argparse.Namespace, runs: Path) -> int:
    """``resnet-limits report``: render a ledger (the newest complete one of ``runs`` by
    default) as HTML and Markdown; never re-runs numerics."""
    import json

    from verify.ledger import load_ledger
    from verify.render.outcomes import summary_json
    from verify.report import FORMATS, build_report, write_report

    say = sys.stderr if args.json else sys.stdout
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        raise ValueError(f"--format={args.format!r}: use html, md or html,md")
    check_regimes(args.regime)
    warnings: list[str] = []
    if args.ledger:
        ledger = Path(args.ledger)
    else:
        ledger, warnings = latest_ledger(runs)
    led = load_ledger(ledger)
    out = Path(args.out) if args.out else runs.parent / ledger.stem.split(".")[0]
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


def compare(args: argparse.Namespace) -> int:
    """``resnet-limits compare``: which regimes' verdicts changed (exit status 1 if any)."""
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


def runs_command(args: argparse.Namespace, runs: Path) -> int:
    """``resnet-limits runs``: list the runs folder, recover a killed run, prune."""
    from verify.runs_folder import list_runs, prune_runs, recover_run

    folder = Path(args.dir) if args.dir else runs
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


def add_commands(sub: argparse._SubParsersAction, runs_dir: Callable[[], Path]) -> None:
    """Register ``report``, ``runs`` and ``compare``; ``runs_dir()`` is read when a command
    runs (the default runs folder)."""
    p = sub.add_parser("report", help="render a ledger as HTML and Markdown (never re-runs)")
    p.add_argument("ledger", nargs="?", help="ledger (default: the newest in reports/runs)")
    p.add_argument("--out", help="output folder (default reports/<ledger name>/)")
    p.add_argument("--baseline", help="a second ledger to compare with (flags changed regimes)")
    p.add_argument("--format", default="html,md", help="html, md or html,md (default)")
    p.add_argument("--regime", action="append", default=[], metavar="NAME",
                   help="only this regime (repeatable)")
    p.set_defaults(func=lambda args: report(args, runs_dir()))

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
    p.set_defaults(func=lambda args: runs_command(args, runs_dir()))

    p = sub.add_parser("compare", help="which regimes' verdicts changed between two ledgers "
                                       "(exit 1 if any)")
    p.add_argument("baseline", help="the earlier ledger")
    p.add_argument("current", help="the later ledger")
    p.set_defaults(func=compare)
