"""Operating characteristics of the claim checks: false-alarm rate and power.

For each regime, ``n_seeds`` instances are drawn (activation cycling through the family,
parameters uniform on the typical domain, width 2..5, a seed, bias alternating off/on where
the regime allows both), each checked twice on the same
budget: the true claim (a false alarm is any verdict other than consistent; inconclusive
counts against it) and its generic negative control from :func:`verify.claims.control` (power
is the fraction judged inconsistent). Every instance derives from (base seed, regime, index),
so a run replays exactly::

    python -m verify.power --profile ci --seeds 50 [--regime R5 ...] [--out power.json]

Targets (issue 4): false alarms <= 2%, power >= 95% on the ci budget.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import TextIO

import numpy as np

from verify.profiles import get_profile

WIDTHS = (2, 5)


@dataclass(frozen=True)
class Instance:
    regime: str
    index: int
    sigma: str
    parameters: dict[str, float]
    width: int
    seed: int
    bias: bool | None = None


def draw_instances(regime_name: str, n_seeds: int, base_seed: int = 0) -> list[Instance]:
    """The instances of one regime, reproducible from (base_seed, regime name, index)."""
    from theory.regimes import get

    regime = get(regime_name)
    out = []
    for i in range(n_seeds):
        rng = np.random.default_rng([base_seed, zlib.crc32(regime_name.encode()), i])
        params = {name: round(float(rng.uniform(*dom.typical)), 3)
                  for name, dom in regime.parameters.items()}
        out.append(Instance(regime_name, i, regime.activations[i % len(regime.activations)],
                            params, int(rng.integers(WIDTHS[0], WIDTHS[1] + 1)),
                            int(rng.integers(0, 2**31 - 1)),
                            bool(i % 2) if regime.bias_optional else None))
    return out


def _run(args: tuple[Instance, str]) -> dict:
    import torch

    torch.set_num_threads(1)
    from theory.regimes import get
    from verify.claims import check_claim, control

    inst, profile = args
    regime, budget = get(inst.regime), get_profile(profile).budget
    claim = check_claim(regime, inst.sigma, inst.parameters, width=inst.width, seed=inst.seed,
                        budget=budget, bias=inst.bias)
    wrong, transform, label = control(regime, inst.sigma, inst.parameters)
    ctrl = check_claim(regime, inst.sigma, inst.parameters, width=inst.width, seed=inst.seed,
                       budget=budget, claimed_rate=wrong, transform=transform, bias=inst.bias)
    return {**asdict(inst), "claim": claim.verdict.status, "claim_estimate": claim.verdict.estimate,
            "control": ctrl.verdict.status, "control_label": label}


def measure(regimes: list[str], n_seeds: int, profile: str = "ci", base_seed: int = 0,
            workers: int | None = None, log: TextIO | None = None) -> dict[str, dict]:
    """Per regime: false-alarm rate, power, counts and the failing instances."""
    tasks = [(inst, profile) for name in regimes for inst in draw_instances(name, n_seeds,
                                                                             base_seed)]
    workers = workers or max(1, min(os.cpu_count() or 1, 8))
    rows = []
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(_run, task) for task in tasks]
        for done, future in enumerate(as_completed(futures), 1):
            row = future.result()
            rows.append(row)
            if log is not None:  # one line per instance as it finishes: nothing lost
                log.write(json.dumps(row, default=float) + "\n")
                log.flush()
            print(f"[{done}/{len(tasks)}] {row['regime']} {row['sigma']} claim={row['claim']} "
                  f"control={row['control']}", file=sys.stderr, flush=True)
    summary: dict[str, dict] = {}
    for name in regimes:
        mine = [r for r in rows if r["regime"] == name]
        alarms = [r for r in mine if r["claim"] != "consistent"]
        missed = [r for r in mine if r["control"] != "inconsistent"]
        summary[name] = {
            "n": len(mine),
            "false_alarm_rate": len(alarms) / len(mine),
            "power": 1 - len(missed) / len(mine),
            "false_alarms": alarms,
            "missed_controls": missed,
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    from theory.regimes import registry

    parser = argparse.ArgumentParser(prog="python -m verify.power", description=__doc__)
    parser.add_argument("--regime", action="append", default=[])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--base-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", default=None, help="write the full result as JSON")
    args = parser.parse_args(argv)
    names = args.regime or list(registry())
    log = open(args.out + ".jsonl", "a", encoding="utf-8") if args.out else None
    try:
        result = measure(names, args.seeds, args.profile, args.base_seed, args.workers, log)
    finally:
        if log is not None:
            log.close()
    print(f"{'regime':<10} {'n':>4} {'false alarms':>13} {'power':>7}")
    for name, s in result.items():
        print(f"{name:<10} {s['n']:>4} {s['false_alarm_rate']:>13.1%} {s['power']:>7.1%}")
        for r in s["false_alarms"]:
            print(f"    false alarm: {r['sigma']} {r['parameters']} d={r['width']} "
                  f"seed={r['seed']} -> {r['claim']} (estimate {r['claim_estimate']:.3f})")
        for r in s["missed_controls"]:
            print(f"    missed control ({r['control_label']}): {r['sigma']} {r['parameters']} "
                  f"d={r['width']} seed={r['seed']} -> {r['control']}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
