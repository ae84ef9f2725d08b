"""Benchmark: training a whole depth x seed ladder as one stacked model, against the authors' way.

Run ``python -m numerics.bench_train [--quick] [--max-depth 850] [--seeds 4] [--steps 10]
[--threads 1]`` (the default run takes minutes, almost all of it in the loop). Workload
(THEORY.md section 5, the authors' configuration): block I, tanh, shared delta, Adam lr 1e-2,
batch 32, ``xavier-depth`` sd 0.01, the synthetic ODE task
(d = 10, 1024 training rows), depths ``floor(1.2^n)`` from 3 to ``--max-depth``, ``--seeds``
seeds, ``--steps`` steps for every depth. Measured side by side in this process:

* stacked: :class:`numerics.train.stacked.StackedTrainer`, every (depth, seed) model in one
  masked stack, a Python loop over layers only;
* loop (the authors' way, instadeepai/scaling-resnets ``FinalResNet``): one model per
  (depth, seed), a list of per-layer parameters and a Python loop over layers,
  ``torch.optim.Adam``, models trained one after the other
  (:func:`numerics.train.reference.train_single`).

Both timings include building the models (initialisation) and exclude one-time imports (a
warm-up run first). Prints both wall times, the ratio (target >= 10x) and the largest relative
weight difference between the two (the same trajectories, up to float32 rounding).
``--quick``: max depth 60, 2 seeds, 10 steps.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence

import torch

from numerics.train.config import TrainConfig
from numerics.train.data import ode_task
from numerics.train.reference import single_weights, train_single
from numerics.train.stacked import StackedTrainer

__all__ = ["TARGET_RATIO", "authors_depths", "main"]

TARGET_RATIO = 10.0


def authors_depths(max_depth: int, min_depth: int = 3, base: float = 1.2) -> tuple[int, ...]:
    """``sorted(set(floor(base^n)))`` in ``[min_depth, max_depth]`` (the authors' grid)."""
    n_max = int(math.log(max_depth) / math.log(base)) + 1
    return tuple(sorted({int(base**n) for n in range(n_max + 1)
                         if min_depth <= int(base**n) <= max_depth}))


def run(depths: Sequence[int], seeds: Sequence[int], steps: int) -> dict[str, float]:
    task = ode_task(0)
    cfg = TrainConfig(depths=tuple(depths), seeds=tuple(seeds))
    # one-time costs out of both timings: torch's fused Adam imports torch._dynamo (~2.5 s)
    warm = TrainConfig(depths=(2,), seeds=(0,))
    StackedTrainer(task, warm).run(1)
    train_single(task, 2, 0, warm, 1)
    t0 = time.perf_counter()
    tr = StackedTrainer(task, cfg)
    tr.run(steps)
    stacked = time.perf_counter() - t0
    res = tr.result()
    worst = 0.0
    t0 = time.perf_counter()
    models = [(L, s, train_single(task, L, s, cfg, steps)[0]) for L in depths for s in seeds]
    loop = time.perf_counter() - t0
    for L, s, m in models:
        A = single_weights(m)[0]
        worst = max(worst, float((res.model(L, s)[0] - A).abs().max() / A.abs().max()))
    return {"stacked_s": stacked, "loop_s": loop, "ratio": loop / stacked,
            "max_rel_weight_diff": worst}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m numerics.bench_train", description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--max-depth", type=int, default=850)
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    if a.quick:
        a.max_depth, a.seeds, a.steps = 60, 2, 10
    torch.set_num_threads(a.threads)
    depths = authors_depths(a.max_depth)
    seeds = tuple(range(a.seeds))
    print(f"depths {depths} ({len(depths)}, sum {sum(depths)}), seeds {len(seeds)}, "
          f"steps {a.steps}, threads {a.threads}", flush=True)
    out = run(depths, seeds, a.steps)
    print(f"stacked ladder          : {out['stacked_s']:8.2f} s")
    print(f"per-model loop (authors): {out['loop_s']:8.2f} s")
    print(f"ratio                   : {out['ratio']:8.1f}x (target >= {TARGET_RATIO:g}x)")
    print(f"max relative weight difference: {out['max_rel_weight_diff']:.1e}")
    print(json.dumps({"depths": list(depths), "seeds": len(seeds), "steps": a.steps, **out}))
    return 0 if out["ratio"] >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
