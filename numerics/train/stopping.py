r"""The authors' early-stopping rule, for reproducing their numbers (THEORY.md section 5, T5).

instadeepai/scaling-resnets trains each depth until its epoch-mean training MSE falls below
``threshold`` (1e-3) or it has gone ``patience`` (5) epochs without improving its best
epoch-mean by ``min_improvement`` (1%, relative). Here the rule is applied to every (depth,
seed) model of a stacked ladder: a model that stops is frozen (its parameters are restored
after every later step, so neither SGD nor Adam's moments move it) while the others go on,
and training ends when every model has stopped or after ``max_epochs``.

Early stopping makes depths incomparable (each stops at its own training time): the suite's
claims use one step count for every depth; this rule exists to reproduce the authors' code,
and its results are reported apart (the stop epoch of every model is returned).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from numerics.train.config import TrainConfig
from numerics.train.data import Task
from numerics.train.result import TrainedLadder
from numerics.train.stacked import Observer, StackedTrainer

__all__ = ["AuthorsStopping", "train_with_stopping"]


@dataclass(frozen=True)
class AuthorsStopping:
    """The stopping rule of the authors' code (defaults: theirs), per model."""

    threshold: float = 1e-3
    patience: int = 5
    min_improvement: float = 0.01
    max_epochs: int = 100

    def __post_init__(self) -> None:
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise ValueError(f"threshold={self.threshold!r} must be > 0, e.g. 1e-3")
        if not (isinstance(self.patience, int) and self.patience >= 1):
            raise ValueError(f"patience={self.patience!r} must be an int >= 1, e.g. 5")
        if not (0 <= self.min_improvement < 1):
            raise ValueError(f"min_improvement={self.min_improvement!r} must lie in [0, 1)")
        if not (isinstance(self.max_epochs, int) and self.max_epochs >= 1):
            raise ValueError(f"max_epochs={self.max_epochs!r} must be an int >= 1")


def train_with_stopping(task: Task, config: TrainConfig, rule: AuthorsStopping = AuthorsStopping(),
                        *, at_epochs: Iterable[int] = (), observe: Observer | None = None
                        ) -> tuple[TrainedLadder, np.ndarray]:
    """Train epoch by epoch, stopping each model by ``rule``: (the weights, the number of
    epochs each model trained, ``(n_depths, n_seeds)``; ``rule.max_epochs`` for a model the
    rule never stopped). ``observe`` sees the weights (stopped models as they stopped) at the
    end of each epoch of ``at_epochs`` before training ends."""
    checkpoints = {int(e) for e in at_epochs}
    trainer = StackedTrainer(task, config)
    per_epoch = task.n_train // config.batch_size
    nd, ns = len(config.depths), len(config.seeds)
    stopped = torch.zeros(nd * ns, dtype=torch.bool)
    epochs = np.full(nd * ns, rule.max_epochs, dtype=np.int64)
    best = torch.full((nd * ns,), math.inf, dtype=torch.float64)
    waited = torch.zeros(nd * ns, dtype=torch.int64)
    for epoch in range(1, rule.max_epochs + 1):
        mean = trainer.run(per_epoch).to(torch.float64).mean(dim=0).reshape(-1)
        improved = mean < best * (1 - rule.min_improvement)
        best = torch.minimum(best, mean)
        waited = torch.where(improved, torch.zeros_like(waited), waited + 1)
        stop = ~stopped & ((mean < rule.threshold) | (waited >= rule.patience))
        if bool(stop.any()):
            epochs[stop.numpy()] = epoch
            stopped |= stop
            trainer.freeze(stopped)
        if bool(stopped.all()):
            break
        if observe is not None and epoch in checkpoints and epoch < rule.max_epochs:
            observe(trainer.result())
    return trainer.result(), epochs.reshape(nd, ns)
