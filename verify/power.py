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

    python -m verify.power --profile ci --seeds 50 [--claim R5/weak ...] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Tally", "claim_ids", "draw", "measure", "main"]

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
        return "false alarms" if self.role == "claim" else "power"

    @property
    def rate(self) -> float:
        if self.n == 0:
            return float("nan")
        return self.missed / self.n if self.role == "claim" else 1 - self.missed / self.n

    @property
    def ok(self) -> bool:
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


def draw(claim_id: str, index: int, profile: str, base_seed: int = 0):
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


def _run(task: tuple[str, int, str, int]) -> list[dict[str, Any]]:
    import torch

    from verify.check import check
    from verify.profiles import get_profile

    torch.set_num_threads(1)
    claim_id, index, profile, base_seed = task
    _, claim, instance, seed = draw(claim_id, index, profile, base_seed)
    records = check(instance, claim, get_profile(profile).budget, seed=seed, profile=profile,
                    retest="always")
    return [{"claim": r.claim, "role": r.role,
             "met": r.met if r.role == "claim" else r.met_in_every_stage,
             "stages": [st["status"] for st in r.stages], "status": r.verdict["status"],
             "estimate": r.verdict.get("estimate"), "column": (r.table or {}).get("column"),
             "instance": instance.describe(), "seed": seed} for r in records]


def measure(ids: list[str], n_seeds: int, profile: str = "ci", base_seed: int = 0,
            workers: int = 1) -> dict[tuple[str, str], Tally]:
    """Tallies per (claim id, role) over ``n_seeds`` instances of each claim."""
    tasks = [(cid, i, profile, base_seed) for cid in ids for i in range(n_seeds)]
    tallies: dict[tuple[str, str], Tally] = {}
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_run, tasks, chunksize=1))
    else:
        results = [_run(t) for t in tasks]
    for rows in results:
        seen: dict[tuple[str, str], bool] = defaultdict(lambda: True)
        for row in rows:  # one instance counts once per role (all its columns must be met)
            seen[(row["claim"], row["role"])] &= row["met"]
        for key, met in seen.items():
            tally = tallies.setdefault(key, Tally(*key))
            tally.n += 1
            if not met:
                tally.missed += 1
                tally.misses.append(next(r for r in rows if (r["claim"], r["role"]) == key
                                         and not r["met"]))
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify.power", description=__doc__)
    parser.add_argument("--profile", default="ci", choices=("dev", "ci", "thorough"))
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--base-seed", type=int, default=0)
    parser.add_argument("--claim", action="append", default=[], metavar="ID",
                        help="a claim id (R5/weak) or a regime (R5); repeatable; default all")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", metavar="PATH", help="also write the tallies as JSON")
    args = parser.parse_args(argv)
    try:
        ids = claim_ids(args.claim)
    except ValueError as exc:
        print(f"verify.power: error: {exc}", file=sys.stderr)
        return 2
    tallies = measure(ids, args.seeds, args.profile, args.base_seed, args.workers)
    print(f"{'claim':<18} {'role':<22} {'n':>4} {'measure':<13} {'rate':>6}  target")
    for (cid, role), t in sorted(tallies.items()):
        target = f"<= {MAX_FALSE_ALARM:.0%}" if role == "claim" else f">= {MIN_POWER:.0%}"
        flag = "" if t.ok else "   <-- MISSED TARGET"
        print(f"{cid:<18} {role:<22} {t.n:>4} {t.measure:<13} {t.rate:>6.1%}  {target}{flag}")
        for miss in t.misses[:3] if not t.ok else []:
            print(f"    {miss['instance']} seed={miss['seed']} {miss['status']} "
                  f"stages={miss['stages']} est={miss['estimate']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump([{"claim": t.claim, "role": t.role, "n": t.n, "missed": t.missed,
                        "rate": t.rate, "ok": t.ok, "misses": t.misses}
                       for t in tallies.values()], fh, indent=1)
    return 0 if all(t.ok for t in tallies.values()) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
