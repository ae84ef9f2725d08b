"""False alarms and power of every claim check, measured over many seeded instances.

For each claim id (``R5/strong``, ``R5/weak``, ``R1/grad-weight``, ...) ``n_seeds`` instances
are drawn by the SAME rules as the property tests (:func:`verify.strategies.draw_instance`,
here with a numpy generator seeded by (base seed, index, claim id): reproducible and
independent of the order and the number of workers), each checked with its twins on one
simulation (:func:`verify.check.check`), always in both stages of the retest rule. A claim
record whose deciding stage is not ``consistent`` is a false alarm (inconclusive counts: the
run would fail); a control (a wrong claim of the same shape) is caught only if it is
``inconsistent`` in both stages, as a wrong claim must be to be refuted under the rule.
Targets: false alarms <= 2% and power >= 95% per claim and control.

One (claim id, index) is one :class:`verify.sweep.Task` (:func:`power_tasks`), run by
:func:`verify.sweep.sweep` in this process, on local processes or on Dask, with every record
appended to a schema-2 ledger as it arrives (:class:`verify.sweep_ledger.LedgerStore`);
rerunning with the same ledger computes only the tasks that did not finish::

    resnet-limits power [--claim R5/weak ...] [--seeds 50] [--profile ci]
                        [--executor inline|process:N|dask-local:N] [--scheduler ADDRESS]
                        [--ledger PATH] [--json PATH]
    python -m verify.power ...          (the same command)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from verify.record import Record
from verify.sweep import Task

__all__ = ["Tally", "add_arguments", "claim_ids", "draw", "main", "measure", "power_tasks",
           "print_table", "run_cli", "run_task", "tally"]

MAX_FALSE_ALARM = 0.02
MIN_POWER = 0.95


@dataclass
class Tally:
    """Counts for one (claim id, role): n judged, n missed (not the expected verdict)."""

    claim: str
    role: str
    n: int = 0
    missed: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def measure(self) -> str:
        """``false alarms`` for a claim, ``power`` for a control (a wrong twin)."""
        return "false alarms" if self.role == "claim" else "power"

    @property
    def rate(self) -> float:
        """The false-alarm rate (claims) or the power (controls); NaN before any count."""
        if self.n == 0:
            return float("nan")
        return self.missed / self.n if self.role == "claim" else 1 - self.missed / self.n

    @property
    def ok(self) -> bool:
        """The rate meets its target (false alarms <= 2%, power >= 95%)."""
        return self.n > 0 and (self.rate <= MAX_FALSE_ALARM if self.role == "claim"
                               else self.rate >= MIN_POWER)


def claim_ids(selected: list[str] | None = None) -> list[str]:
    """Every registered claim id, or the selected ones (``R5`` selects all of R5's)."""
    from theory.regimes import registry

    ids = [r.claim_id(c) for r in registry().values() for c in r.claims]
    if not selected:
        return ids
    chosen = [i for i in ids if i in selected or i.split("/")[0] in selected]
    unknown = [s for s in selected if s not in ids and s not in {i.split("/")[0] for i in ids}]
    if unknown:
        raise ValueError(f"unknown claims {unknown}; known: {', '.join(ids)}")
    return chosen


def draw(claim_id: str, index: int, profile: str,
         base_seed: int = 0) -> tuple[Any, Any, Any, int]:
    """Instance ``index`` of the study of ``claim_id``: (regime, claim, instance, seed)."""
    from theory.regimes import get
    from verify.claim_tests import NUMERIC_RANDOM_ACTIVATIONS
    from verify.strategies import RandomPicker, draw_instance

    regime_name, _, quantity = claim_id.rpartition("/")
    regime = get(regime_name)
    claim = regime.get_claim(quantity)
    rng = np.random.default_rng([20_251_201, base_seed, index, zlib.crc32(claim_id.encode())])
    instance = draw_instance(RandomPicker(rng), regime, claim,
                             include_random=profile in NUMERIC_RANDOM_ACTIVATIONS)
    return regime, claim, instance, int(rng.integers(0, 2**31 - 1))


TASK_FN = "verify.power:run_task"
"""The function every power task names (resolved on the worker, see :func:`run_task`)."""


def power_tasks(ids: Sequence[str], n_seeds: int, profile: str = "ci",
                base_seed: int = 0) -> list[Task]:
    """One task per (claim id, index < ``n_seeds``): names and numbers, picklable anywhere."""
    if n_seeds < 1:
        raise ValueError(f"--seeds={n_seeds}: give at least 1 instance per claim")
    return [Task.of(TASK_FN, claim=cid, index=i, profile=profile, base_seed=base_seed)
            for cid in ids for i in range(n_seeds)]


def run_task(claim: str, index: int, profile: str, base_seed: int) -> list[Record]:
    """Draw instance ``index`` of ``claim`` (:func:`draw`: its seed comes from the task's
    content) and check it with its twins on one simulation, always in both stages of the
    retest rule; one torch thread per task."""
    import torch

    from verify.check import check
    from verify.profiles import get_profile

    torch.set_num_threads(1)
    _, chosen, instance, seed = draw(claim, index, profile, base_seed)
    return check(instance, chosen, get_profile(profile).budget, seed=seed, profile=profile,
                 retest="always")


def _miss(rec: Record) -> dict[str, Any]:
    from verify.render.outcomes import describe_instance

    return {"claim": rec.claim, "role": rec.role, "status": rec.verdict.get("status"),
            "stages": [st.get("status") for st in rec.stages],
            "estimate": rec.verdict.get("estimate"), "column": (rec.table or {}).get("column"),
            "instance": describe_instance(rec.to_json()), "seed": rec.seed}


def _met(rec: Record) -> bool:
    """A claim record met when its deciding stage is consistent; a control (a wrong claim)
    only when it is inconsistent in every stage, as it must be to be refuted."""
    return rec.met if rec.role == "claim" else rec.met_in_every_stage


def tally(results: Iterable[Sequence[Record]]) -> dict[tuple[str, str], Tally]:
    """Tallies per (claim id, role): each task's records count once per role (every judged
    column of the instance must meet its expectation, see :func:`_met`)."""
    tallies: dict[tuple[str, str], Tally] = {}
    for records in results:
        seen: dict[tuple[str, str], bool] = defaultdict(lambda: True)
        for rec in records:
            seen[(rec.claim, rec.role)] &= _met(rec)
        for key, met in seen.items():
            t = tallies.setdefault(key, Tally(*key))
            t.n += 1
            if not met:
                t.missed += 1
                t.misses.append(_miss(next(r for r in records
                                           if (r.claim, r.role) == key and not _met(r))))
    return tallies


def measure(ids: Sequence[str], n_seeds: int, profile: str = "ci", base_seed: int = 0, *,
            executor: Any = None, ledger: str | Path | None = None,
            progress: Any = None) -> dict[tuple[str, str], Tally]:
    """Tallies over ``n_seeds`` instances of each claim (see :func:`verify.sweep.sweep` for
    ``executor`` and ``progress``; with ``ledger`` the study is stored and resumable)."""
    from verify.sweep import sweep
    from verify.sweep_ledger import LedgerStore

    store = None if ledger is None else LedgerStore(
        ledger, profile=profile, regime_of=lambda t: str(t.kwargs["claim"]).rpartition("/")[0])
    tasks = power_tasks(ids, n_seeds, profile, base_seed)
    return tally(d.result for d in sweep(tasks, executor=executor, store=store,
                                         progress=progress))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``resnet-limits power`` (and ``python -m verify.power``)."""
    from verify.executors import add_executor_arguments

    parser.add_argument("--claim", action="append", default=[], metavar="ID",
                        help="a claim id (R5/weak) or a regime (R5); repeatable; default all")
    parser.add_argument("--seeds", type=int, default=50, help="instances per claim (50)")
    parser.add_argument("--profile", default="ci", choices=("dev", "ci", "thorough"),
                        help="budget (default ci)")
    parser.add_argument("--base-seed", type=int, default=0,
                        help="another set of instances (default 0: the README's figures)")
    add_executor_arguments(parser)
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="the same as --executor process:N (kept for old scripts)")
    parser.add_argument("--ledger", metavar="PATH",
                        help="ledger (.json); an existing one is resumed: only unfinished tasks "
                             "run (default reports/runs/<time>-power-<profile>.json)")
    parser.add_argument("--json", metavar="PATH", help="also write the tallies as JSON")


def _executor_text(args: argparse.Namespace) -> str | None:
    if args.workers is None:
        return args.executor
    if args.executor is not None:
        raise ValueError("--workers N is --executor process:N: give one of them")
    if args.workers < 1:
        raise ValueError(f"--workers={args.workers}: give at least 1")
    return "inline" if args.workers == 1 else f"process:{args.workers}"


def print_table(tallies: dict[tuple[str, str], Tally], out: Any = None) -> None:
    """The false-alarm / power table (three misses shown under each missed target)."""
    out = out if out is not None else sys.stdout
    print(f"{'claim':<18} {'role':<22} {'n':>4} {'measure':<13} {'rate':>6}  target", file=out)
    for (cid, role), t in sorted(tallies.items()):
        target = f"<= {MAX_FALSE_ALARM:.0%}" if role == "claim" else f">= {MIN_POWER:.0%}"
        flag = "" if t.ok else "   <-- MISSED TARGET"
        print(f"{cid:<18} {role:<22} {t.n:>4} {t.measure:<13} {t.rate:>6.1%}  {target}{flag}",
              file=out)
        for miss in t.misses[:3] if not t.ok else []:
            print(f"    {miss['instance']} seed={miss['seed']} {miss['status']} "
                  f"stages={miss['stages']} est={miss['estimate']}", file=out)


def run_cli(args: argparse.Namespace, runs_dir: Path) -> int:
    """``resnet-limits power``: sweep, print the table, exit 0 when every target is met, 1
    when one is missed or the sweep stopped (the ledger keeps what finished)."""
    import datetime as _dt

    from verify.executors import ExecutorSpec
    from verify.ledger_writer import ensure_writable
    from verify.progress import Progress
    from verify.sweep import SweepError, sweep
    from verify.sweep_ledger import LedgerStore

    ids = claim_ids(args.claim)
    spec = ExecutorSpec.parse(_executor_text(args), args.scheduler)
    tasks = power_tasks(ids, args.seeds, args.profile, args.base_seed)
    if args.ledger:
        ledger = Path(args.ledger)
    else:
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        ledger = runs_dir / f"{stamp}-power-{args.profile}.json"
    ensure_writable(ledger)  # a bad path is a usage error before any work
    store = LedgerStore(ledger, profile=args.profile,
                        regime_of=lambda t: str(t.kwargs["claim"]).rpartition("/")[0])
    say = sys.stderr
    print(f"power study: {len(ids)} claim(s) x {args.seeds} instances = {len(tasks)} tasks, "
          f"profile {args.profile}, executor {spec.text}; ledger {ledger}", file=say)
    results: list[Sequence[Record]] = []
    start, computed = time.perf_counter(), 0
    try:
        for done in sweep(tasks, executor=spec, store=store, progress=Progress(len(tasks)),
                          announce=lambda line: print(line, file=say, flush=True)):
            results.append(done.result)
            computed += not done.cached
    except SweepError as exc:
        print(f"resnet-limits power: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nresnet-limits power: interrupted after {len(results)} of {len(tasks)} "
              f"tasks; resume with --ledger {ledger}", file=sys.stderr)
        return 130
    print(f"{computed} task(s) computed in {time.perf_counter() - start:.1f} s, "
          f"{store.resumed} taken from the ledger; ledger {ledger}", file=say)
    tallies = tally(results)
    print_table(tallies)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump([{"claim": t.claim, "role": t.role, "n": t.n, "missed": t.missed,
                        "rate": t.rate, "ok": t.ok, "misses": t.misses}
                       for t in tallies.values()], fh, indent=1)
    return 0 if all(t.ok for t in tallies.values()) else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m verify.power ARGS``: the same as ``resnet-limits power ARGS``."""
    from verify.cli import main as cli_main

    return cli_main(["power", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
